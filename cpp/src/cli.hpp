// The command line, the same words as `python -m btclib record`:
//   btcrec record binance|upbit|both --duration S --out PATH [--binance-url BASE]
//          [--upbit-url URL] [--symbol S] [--code C]... [--depth-speed 1000ms|100ms]
//          [--keepalive S]
//   btcrec parse   (frames on stdin: see parse_tool.hpp)
//   btcrec continuity contiguous|increasing [RECENT]   (the duplicate rule alone; tests)
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "contract.hpp"
#include "feed_runner.hpp"

namespace btcrec {

struct Options {
    std::string command;  // "record", "parse", "continuity", "help"
    std::string step;     // binance, upbit, both
    std::optional<double> duration;
    std::string out;
    std::string binance_url;
    std::string upbit_url;
    std::string symbol{contract::binance::default_symbol};
    std::vector<std::string> codes;
    std::string depth_speed{contract::binance::default_depth_speed};
    double keepalive = *contract::upbit::limits.keepalive;
    std::optional<double> stall_after;  // seconds; the feeds' own limits when unset
    std::optional<double> lifetime;     // replaces a feed's connection lifetime (tests)
    std::string summary_json;           // also write the summary here, as JSON
    std::optional<std::string> upbit_request;  // replaces the Upbit request (tests: NO_CODES)
    Timings timings;
    bool contiguous = true;     // continuity: the stream's kind
    std::size_t recent = contract::continuity_recent;  // continuity: ids remembered
};

// A command line that cannot be run: main prints it with the usage and exits 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

Options parse_args(int argc, char** argv);  // throws UsageError
std::string usage();  // the synopsis
std::string help();   // what each option means

// The feeds of a step, as the Python recorder builds them; throws UsageError for bad values.
std::vector<FeedSpec> build_feeds(const Options& o);

}  // namespace btcrec
