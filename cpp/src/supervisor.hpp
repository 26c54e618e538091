// Supervision as pure rules: when to abort, rotate, reconnect or give up
// (btclib/recorder/supervisor.py, backoff.py, continuity.py).
//
// A Supervisor holds the rules of one feed. It is told what happened (a connect attempt
// failed, a connection opened, delivered its first data, announced a shutdown, closed) and what
// time it is, and answers with actions the runner performs. It reads no clock, never sleeps
// and touches no socket. The rules:
// - connect within the exchange's budget (contract.hpp: Binance 300 attempts per 5 minutes,
//   Upbit 5 per second) with full-jitter exponential backoff, capped; HTTP 5xx and network errors are
//   retried, 418/429 a few times with a long backoff, other refusals stop the run with the
//   exchange's words and the feed's advice;
// - a connection that sends no data within first_data_within is replaced; after max_silent
//   such connections in a row the run stops with the feed's silence hint;
// - a stream with a stall limit that stays silent that long ends its connection (a dead
//   book while trades still flow);
// - before the server's connection lifetime runs out, or when it announces a shutdown, a
//   replacement is opened; the old one is retired once the new one delivers every stream the
//   old one did (or overlap_max after it opened): make before break;
// - a connection that ends unplanned is a gap, and is reconnected after a backoff delay.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "contract.hpp"

namespace btcrec {

// Exponential backoff with full jitter: delay n is uniform in [0, min(cap, base * 2^n)].
class Backoff {
public:
    Backoff(double base, double cap);
    double next_delay();
    void reset() { attempt = 0; }
    int attempt = 0;

private:
    double base_, cap_;
    std::mt19937_64 rng_;
};

// At most `limit` connection attempts in any `window` seconds.
class ConnectBudget {
public:
    ConnectBudget(int limit, double window) : limit_(limit), window_(window) {}
    double wait_time(double now);
    void spend(double now) { times_.push_back(now); }

private:
    int limit_;
    double window_;
    std::deque<double> times_;
};

// Write each numbered message unless ANOTHER connection already wrote that id
// (btclib/recorder/continuity.py, the model; tests/cpp/test_continuity.py holds the two to the
// same decisions). Two connections overlap during a make-before-break rotation and deliver the
// same messages; on one connection nothing is ever dropped: an id that goes backwards is
// written, counted and reported as an anomaly (a guess "at or below the highest, so a copy"
// would cost real trades). Contiguous streams (trade ids grow by one) count their holes; an id
// inside a hole fills it.
//
// Which connection wrote an id costs one comparison per message: ids written in order are
// covered by runs (the first id a connection wrote after another one did), found by bisection;
// the rare ids written out of order are kept in a small map.
class Continuity {
public:
    struct Anomaly {
        std::int64_t seq, after;
        int conn;
    };

    explicit Continuity(bool contiguous, std::size_t recent = contract::continuity_recent)
        : contiguous_(contiguous), recent_(recent) {}

    // True when the message (id `seq`, from connection `conn`) must be written.
    bool accept(std::int64_t seq, int conn) {
        if (!has_last_ || seq > last_) {  // the hot path: in order
            if (contiguous_) {
                if (has_last_ && seq > last_ + 1) open_hole(seq);
            } else {
                remember_in_order(seq);
            }
            last_ = seq;
            has_last_ = true;
            if (conn != writer_) new_run(seq, conn);
            return true;
        }
        return behind(seq, conn);
    }

    std::uint64_t duplicates = 0;
    std::uint64_t missing = 0;
    std::uint64_t anomalies = 0;
    std::vector<Anomaly> pending;  // anomalies not yet reported (the runner logs and clears)

private:
    bool contiguous_;
    std::size_t recent_;
    bool has_last_ = false;
    std::int64_t last_ = 0;
    int writer_ = -1;
    std::vector<std::int64_t> starts_;  // first id of each run of in-order ids ...
    std::vector<int> conns_;            // ... and the connection that wrote it
    std::deque<std::int64_t> seen_;     // in-order ids of non-contiguous streams, two generations
    std::size_t generation_ = 0;        // how many of seen_ are the current generation
    std::unordered_map<std::int64_t, int> written_late_;  // out-of-order ids -> connection
    std::map<std::int64_t, std::int64_t> holes_;          // first -> last of ids never seen

    void open_hole(std::int64_t seq);
    void remember_in_order(std::int64_t seq);
    void new_run(std::int64_t seq, int conn);
    bool behind(std::int64_t seq, int conn);
    std::optional<int> in_order_writer(std::int64_t seq) const;
    void remember_late(std::int64_t seq, int conn);
    bool fill(std::int64_t seq);
};

struct Failure {
    enum Kind { status, invalid_url, transient, fatal } kind;
    std::string text;
    int http_status = 0;
    // Why, in words a reader understands, the host named (btclib/recorder/failures.py
    // explain): "DNS lookup of stream.binance.com failed (...): no internet access?".
    std::string explained;
};

struct Action {
    enum Type { log, abort, rotate, retire, reconnect, retry, stop } type;
    int conn = 0;       // abort, retire (the old one), log
    int other = 0;      // retire: the new one
    double delay = 0;   // reconnect, retry
    std::string text;   // log: the event; abort/retire: the cause; stop: the error
};

// Timings and retry limits; the defaults suit the live exchanges, tests shorten them
// (btclib's RecorderOptions).
struct Timings {
    double backoff_base = contract::backoff_base;
    double backoff_cap = contract::backoff_cap;
    double open_timeout = contract::open_timeout;
    double close_timeout = contract::close_timeout;
    double check_interval = contract::check_interval;
    double rotate_before = contract::rotate_before;    // open the replacement this long before the lifetime ends
    double overlap_max = contract::overlap_max;        // retire the old connection at the latest this much later
    double rotation_retry = contract::rotation_retry;  // after a failed replacement, rotate again this much later
    int max_refusals = contract::max_refusals;         // HTTP 418/429 refusals in a row before giving up
    int max_silent = contract::max_silent;             // connections in a row without any data before giving up
    std::optional<double> first_data_within;  // overrides the feed's
};

struct Rules {
    std::string title;  // "Binance"
    std::string url;
    std::vector<std::string> streams;  // the line keys, by stream index
    std::map<int, double> stall_after;
    std::optional<double> lifetime;
    double first_data_within = 0;
    int connect_limit = 0;
    double connect_window = 0;
    std::string silence_hint;
    std::map<int, std::string> status_hints;
    Timings timings;
};

class Supervisor {
public:
    explicit Supervisor(Rules rules);

    // Seconds to wait before the next attempt; 0 spends one attempt of the budget now.
    double connect_wait(double now);
    std::vector<Action> connect_failed(const Failure& failure);

    // Connection `conn` is open; `counts` are its reader's data counters per stream.
    void opened(int conn, double now, const std::vector<std::uint64_t>* counts);
    void first_data(int conn, double now);
    void shutdown_notice(int conn);
    std::vector<Action> closed(int conn, double now, const std::string& cause);
    std::vector<Action> tick(double now);

    bool rotating() const { return replacement_.has_value(); }
    const Rules& rules() const { return rules_; }

private:
    struct Conn {
        int id;
        double opened;
        const std::vector<std::uint64_t>* counts;
        std::optional<double> rotate_at;
        std::optional<double> first_data;
        bool shutdown_notice = false;
        std::map<int, std::uint64_t> last_count;
        std::map<int, double> last_change;
    };

    Rules rules_;
    Backoff backoff_;
    ConnectBudget budget_;
    std::optional<Conn> current_, replacement_;
    std::string rotation_reason_;
    int refusals_ = 0;
    int silent_ = 0;
    bool ever_data_ = false;

    Conn* find(int conn);
    void watch_from(Conn& c, double now);
    std::vector<Action> take_over(double now);
};

}  // namespace btcrec
