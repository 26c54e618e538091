// What a run did, printed at its end (btclib/recorder/summary.py): lines per stream,
// connections, reconnects, rotations, gaps, bad frames, errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace btcrec {

// One exchange's connecting, for a run that never connected (btclib's LinkState).
struct Link {
    std::string exchange;
    std::uint64_t connections = 0;  // opened
    std::uint64_t failed = 0;       // connect attempts that failed
    std::string last_error;         // the last one's Failure::explained

    // "4 connection attempts failed (DNS lookup of stream.binance.com failed)"
    std::string failures() const;
};

struct Summary {
    std::string path;
    std::vector<std::string> streams;  // line keys, every feed's, in order
    std::vector<std::uint64_t> lines;  // per stream
    std::uint64_t connections = 0, reconnects = 0, rotations = 0;
    std::uint64_t bad_frames = 0, unexpected = 0, duplicates = 0, missed_trades = 0;
    std::uint64_t anomalies = 0;        // ids that went backwards on one connection (written)
    std::vector<std::string> gaps;     // the cause of each, "binance: stalled: ..."
    std::vector<std::string> errors;
    std::string stopped;               // "duration reached", "interrupted", "error"
    std::vector<Link> links;           // per feed, in order
    double elapsed = 0;

    std::uint64_t total() const;
    // Why the run failed, one sentence each; empty for a run that recorded: an exchange that
    // never connected, or no line written at all (btclib's RunSummary.problems). Exit 1.
    std::vector<std::string> problems() const;
    std::string text() const;  // the plain-text report
    std::string json() const;  // the same as one JSON object, for tests and tools
};

}  // namespace btcrec
