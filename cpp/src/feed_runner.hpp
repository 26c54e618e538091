// Keeps one feed connected and its lines flowing into the sink (btclib/recorder/runner.py).
//
// It performs what the feed's Supervisor decides and reports to it what the network does;
// the rules are there. Per connection one coroutine reads (frame -> parser -> sink), and for
// Upbit another pings; the runner's own loop wakes every check interval, or when a connection
// ends, to apply the rules. Everything runs on one I/O thread: no locks but the sink's.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "connection.hpp"
#include "feed.hpp"
#include "sink.hpp"
#include "summary.hpp"
#include "supervisor.hpp"

namespace btcrec {

// What every feed of a run shares: the sink, the summary, and the way to end the run.
class Run {
public:
    Run(boost::asio::io_context& io, boost::asio::ssl::context& tls, LineSink& sink, Summary& summary)
        : io(io), tls(tls), sink(sink), summary(summary) {}
    boost::asio::io_context& io;
    boost::asio::ssl::context& tls;
    LineSink& sink;
    Summary& summary;
    bool stopping = false;

    // End the run (duration reached, interrupted); the first reason is kept.
    void stop(const std::string& reason);
    // End the run with an error (the exchange's words); the program exits non-zero.
    void fail(const std::string& error);
    void add(class FeedRunner* runner) { runners_.push_back(runner); }
    double now() const;
    void log(const std::string& exchange, int conn, const std::string& text) const;

private:
    std::vector<class FeedRunner*> runners_;
};

class FeedRunner {
public:
    // `first_stream`: where this feed's streams start in the summary's list.
    FeedRunner(Run& run, FeedSpec spec, const Timings& timings, std::size_t first_stream);
    boost::asio::awaitable<void> run();
    void stop();  // wake the loop; it closes every connection and returns

private:
    struct Session {
        int id;
        std::unique_ptr<Connection> ws;
        std::vector<std::uint64_t> counts;  // data messages received per stream
        std::unique_ptr<boost::asio::steady_timer> ping_timer;  // Upbit keep-alive
        bool started = false;
        bool done = false;
        std::string end_cause;
    };

    Run& run_;
    FeedSpec spec_;
    Timings timings_;
    std::size_t first_stream_;
    Url url_;
    Supervisor supervisor_;
    std::vector<Continuity> continuity_;
    std::map<int, std::shared_ptr<Session>> sessions_;
    Connection* connecting_ = nullptr;
    boost::asio::steady_timer tick_, sleep_;
    int next_id_ = 1;
    std::size_t link_ = 0;  // this feed's entry in the summary's links

    boost::asio::awaitable<void> open();
    boost::asio::awaitable<void> pump(std::shared_ptr<Session> s);
    boost::asio::awaitable<void> keepalive(std::shared_ptr<Session> s);
    boost::asio::awaitable<void> perform(std::vector<Action> actions);
    boost::asio::awaitable<void> sleep(double seconds);
    void notice(Session& s, const Parsed& p);
    void report_anomalies(int stream);
    void log(int conn, const std::string& text) const { run_.log(spec_.exchange, conn, text); }
};

}  // namespace btcrec
