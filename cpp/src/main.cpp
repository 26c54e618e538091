// btcrec: the C++ twin of btclib's recorder (issue 15). Records Binance depth5 + trade (Step A),
// the Upbit orderbook (Step B) or both into one file (Step C), line for line as btclib does.
//
// Exit status: 0 the run ended (duration reached), 1 an error ended it (the exchange's words
// on stderr), 2 a bad command line, 130 interrupted (SIGINT/SIGTERM); whole lines every time.
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cli.hpp"
#include "connection.hpp"
#include "feed_runner.hpp"
#include "parse_tool.hpp"
#include "sink.hpp"
#include "summary.hpp"

namespace asio = boost::asio;
using namespace btcrec;

namespace {

int record(const Options& o) {
    std::vector<FeedSpec> feeds = build_feeds(o);
    std::unique_ptr<LineSink> sink;
    try {
        sink = std::make_unique<LineSink>(o.out);
    } catch (const std::exception& e) {
        std::cerr << "btcrec: error: " << e.what() << std::endl;
        return 1;
    }
    Summary summary;
    summary.path = o.out;
    for (const auto& f : feeds)
        for (const auto& s : f.parser->streams()) summary.streams.push_back(s.key);
    summary.lines.assign(summary.streams.size(), 0);

    asio::io_context io(1);
    bool tls_needed = false;
    for (const auto& f : feeds) tls_needed = tls_needed || Url::parse(f.url).tls;
    asio::ssl::context tls = make_tls_context(tls_needed);
    Run run(io, tls, *sink, summary);
    std::vector<std::unique_ptr<FeedRunner>> runners;
    std::size_t first = 0;
    for (auto& f : feeds) {
        std::size_t n = f.parser->streams().size();
        runners.push_back(std::make_unique<FeedRunner>(run, std::move(f), o.timings, first));
        first += n;
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer deadline(io);
    bool interrupted = false;
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        interrupted = true;
        run.stop("interrupted");
    });
    if (o.duration) {
        deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(*o.duration)));
        deadline.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) run.stop("duration reached");
        });
    }
    double started = run.now();
    std::size_t running = runners.size();
    for (auto& r : runners)
        asio::co_spawn(io, r->run(), [&](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    run.fail(std::string("internal error: ") + ex.what());
                }
            }
            if (--running == 0) {  // every feed is done: nothing more to wait for
                signals.cancel();
                deadline.cancel();
            }
        });
    io.run();
    // Stopping now: a second SIGINT/SIGTERM (Ctrl+C again, or btclib's record_cpp forwarding
    // the one its whole process group got) has nothing left to stop. Ignored until exit: the
    // signal_set's destructor restores the default action, and a signal landing while btcrec
    // exited killed it (exit -SIGINT instead of 130, its summary already written).
    boost::system::error_code ignored;
    signals.clear(ignored);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);

    summary.elapsed = run.now() - started;
    std::string sink_error = sink->close();
    if (!sink_error.empty() && summary.errors.empty()) summary.errors.push_back("cannot write " + sink_error);
    std::cout << summary.text() << std::flush;
    if (!o.summary_json.empty()) std::ofstream(o.summary_json) << summary.json() << "\n";
    if (!summary.errors.empty()) {
        std::cerr << "btcrec: error: " << summary.errors.front() << std::endl;
        return 1;
    }
    if (auto problems = summary.problems(); !problems.empty()) {  // never connected, or nothing written
        std::string text;
        for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p;
        std::cerr << "btcrec: error: " << text << std::endl;
        return 1;
    }
    return interrupted ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    try {
        o = parse_args(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << usage() << "btcrec: error: " << e.what() << std::endl;
        return 2;
    }
    if (o.command == "help") {
        std::cout << usage() << help();
        return 0;
    }
    if (o.command == "parse") return parse_tool();
    if (o.command == "continuity") return continuity_tool(o.contiguous, o.recent);
    return record(o);
}
