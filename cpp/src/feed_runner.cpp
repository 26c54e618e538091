#include "feed_runner.hpp"

#include <chrono>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace btcrec {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

std::chrono::steady_clock::duration secs(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

Rules rules_of(const FeedSpec& spec, const Timings& t) {
    Rules r;
    r.title = spec.title;
    r.url = spec.url;
    for (const auto& s : spec.parser->streams()) r.streams.push_back(s.key);
    r.stall_after = spec.stall_after;
    r.lifetime = spec.lifetime;
    r.first_data_within = t.first_data_within.value_or(spec.first_data_within);
    r.connect_limit = spec.connect_limit;
    r.connect_window = spec.connect_window;
    r.silence_hint = spec.silence_hint;
    r.status_hints = spec.status_hints;
    r.timings = t;
    return r;
}

}  // namespace

void Run::stop(const std::string& reason) {
    if (stopping) return;
    stopping = true;
    summary.stopped = reason;
    for (auto* r : runners_) r->stop();
}

void Run::fail(const std::string& error) {
    summary.errors.push_back(error);
    stop("error");
}

double Run::now() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Run::log(const std::string& exchange, int conn, const std::string& text) const {
    std::cerr << "btcrec: " << exchange;
    if (conn) std::cerr << " #" << conn;
    std::cerr << ": " << text << std::endl;
}

FeedRunner::FeedRunner(Run& run, FeedSpec spec, const Timings& timings, std::size_t first_stream)
    : run_(run),
      spec_(std::move(spec)),
      timings_(timings),
      first_stream_(first_stream),
      url_(Url::parse(spec_.url)),
      supervisor_(rules_of(spec_, timings_)),
      tick_(run.io),
      sleep_(run.io) {
    for (const auto& s : spec_.parser->streams()) continuity_.emplace_back(s.contiguous);
    link_ = run_.summary.links.size();
    run_.summary.links.emplace_back().exchange = spec_.exchange;
    run_.add(this);
}

void FeedRunner::stop() {
    tick_.cancel();
    sleep_.cancel();
    if (connecting_) connecting_->abort();
    for (auto& [id, s] : sessions_)
        if (s->ping_timer) s->ping_timer->cancel();
}

asio::awaitable<void> FeedRunner::sleep(double seconds) {
    if (run_.stopping) co_return;
    sleep_.expires_after(secs(seconds));
    boost::system::error_code ec;
    co_await sleep_.async_wait(asio::redirect_error(use_awaitable, ec));
}

// Connect within the budget, retrying as the supervisor says; then start the connection's
// reader (and pinger). Returns without a connection only when the run is stopping.
asio::awaitable<void> FeedRunner::open() {
    while (!run_.stopping) {
        double wait = supervisor_.connect_wait(run_.now());
        if (wait > 0) {
            co_await sleep(wait);
            continue;
        }
        auto ws = Connection::make(run_.io.get_executor(), run_.tls, url_);
        connecting_ = ws.get();
        std::optional<Failure> failure;
        try {
            co_await ws->open(timings_.open_timeout);
        } catch (const ConnectError& e) {
            failure = e.failure;
        }
        connecting_ = nullptr;
        if (run_.stopping) co_return;
        if (failure) {
            Link& link = run_.summary.links[link_];
            ++link.failed;
            link.last_error = failure->explained.empty() ? failure->text : failure->explained;
            co_await perform(supervisor_.connect_failed(*failure));
            continue;
        }
        auto s = std::make_shared<Session>();
        s->id = next_id_++;
        s->ws = std::move(ws);
        s->counts.assign(spec_.parser->streams().size(), 0);
        supervisor_.opened(s->id, run_.now(), &s->counts);
        ++run_.summary.connections;
        ++run_.summary.links[link_].connections;
        log(s->id, "connected to " + spec_.url);
        sessions_[s->id] = s;
        asio::co_spawn(run_.io, pump(s), asio::detached);
        if (spec_.ping_interval) {
            s->ping_timer = std::make_unique<asio::steady_timer>(run_.io);
            asio::co_spawn(run_.io, keepalive(s), asio::detached);
        }
        co_return;
    }
}

// The hot loop: frame -> parser -> line. A read hands over every complete frame it brought
// (hundreds at a flood); their lines go to the sink together, one lock per read. A duplicate
// (two connections overlap while one replaces the other) is recognised by its number and not
// written twice.
asio::awaitable<void> FeedRunner::pump(std::shared_ptr<Session> s) {
    const Parser& parser = *spec_.parser;
    const auto& streams = parser.streams();
    auto& lines = run_.summary.lines;
    std::string batch;
    Connection::OnMessage on_message = [&](std::string_view frame) {
        Parsed p = parser.parse(frame);
        if (p.kind != Kind::data) {
            notice(*s, p);
            return;
        }
        ++s->counts[p.stream];
        if (!s->started) {
            s->started = true;
            supervisor_.first_data(s->id, run_.now());
        }
        if (p.has_seq) {
            Continuity& c = continuity_[p.stream];
            bool write = c.accept(p.seq, s->id);
            if (!c.pending.empty()) report_anomalies(p.stream);
            if (!write) return;
        }
        append_line(batch, streams[p.stream], p);
        ++lines[first_stream_ + p.stream];
    };
    try {
        if (spec_.requests)
            for (auto& request : spec_.requests()) co_await s->ws->send_text(request);
        while (true) {
            co_await s->ws->read_some(on_message);
            run_.sink.write_lines(batch);
        }
    } catch (const Closed& e) {
        if (s->end_cause.empty()) s->end_cause = e.what();
    } catch (const ExchangeError& e) {
        s->end_cause = e.what();
        run_.fail(e.what());
    } catch (const std::exception& e) {
        if (s->end_cause.empty()) s->end_cause = e.what();
    }
    run_.sink.write_lines(batch);  // what came before the end
    s->done = true;
    s->ws->abort();
    if (s->ping_timer) s->ping_timer->cancel();
    tick_.cancel();  // the loop looks at it now
}

// Upbit closes a socket idle for 60-120 s: a ping frame every keepalive seconds.
asio::awaitable<void> FeedRunner::keepalive(std::shared_ptr<Session> s) {
    asio::steady_timer& timer = *s->ping_timer;
    try {
        while (!s->done && !run_.stopping) {
            timer.expires_after(secs(*spec_.ping_interval));
            co_await timer.async_wait(use_awaitable);
            if (s->done || run_.stopping) break;
            co_await s->ws->ping();
        }
    } catch (const std::exception&) {
        // the connection ended: its reader reports how
    }
}

// A repeated event (an id out of order, a bad frame): the first few logged one by one, then
// every hundredth, so a misbehaving server cannot flood the log (btclib's worth_logging).
static bool worth_logging(std::uint64_t count) {
    return count <= static_cast<std::uint64_t>(contract::anomalies_logged) ||
           count % static_cast<std::uint64_t>(contract::logged_every) == 0;
}

// Ids that went backwards on their connection (written), logged as worth_logging says.
void FeedRunner::report_anomalies(int stream) {
    Continuity& c = continuity_[stream];
    std::uint64_t n = c.anomalies - c.pending.size();
    for (const auto& a : c.pending) {
        ++n;
        if (worth_logging(n))
            log(a.conn, "anomaly: " + spec_.parser->streams()[stream].key + " id " + std::to_string(a.seq) +
                            " after " + std::to_string(a.after) + " (written; " + std::to_string(n) +
                            " so far)");
    }
    c.pending.clear();
}

void FeedRunner::notice(Session& s, const Parsed& p) {
    auto& summary = run_.summary;
    switch (p.kind) {
        case Kind::malformed:
            ++summary.bad_frames;
            if (worth_logging(summary.bad_frames)) log(s.id, "bad frame: " + p.detail);
            break;
        case Kind::unexpected:
            ++summary.unexpected;
            log(s.id, "unexpected: " + p.detail);
            break;
        case Kind::shutdown:
            supervisor_.shutdown_notice(s.id);
            log(s.id, "server shutdown notice: " + p.detail);
            break;
        default:
            break;  // replies and status answers: nothing to do
    }
}

asio::awaitable<void> FeedRunner::perform(std::vector<Action> actions) {
    for (auto& a : actions) {
        if (run_.stopping && a.type != Action::log && a.type != Action::stop) continue;
        switch (a.type) {
            case Action::log:
                log(a.conn, a.text);
                break;
            case Action::abort: {
                auto it = sessions_.find(a.conn);
                if (it != sessions_.end()) {
                    it->second->end_cause = a.text;
                    it->second->ws->drop(timings_.close_timeout);
                }
                log(a.conn, "dropped: " + a.text);
                break;
            }
            case Action::rotate:
                co_await open();
                break;
            case Action::retire: {
                auto it = sessions_.find(a.conn);
                if (it != sessions_.end()) {
                    auto old = it->second;
                    sessions_.erase(it);
                    old->end_cause = a.text;
                    co_await old->ws->close(timings_.close_timeout);
                }
                ++run_.summary.rotations;
                break;
            }
            case Action::reconnect:
                ++run_.summary.reconnects;
                run_.summary.gaps.push_back(spec_.exchange + ": " + a.text);
                log(0, "reconnect in " + std::to_string(a.delay).substr(0, 5) + " s");
                co_await sleep(a.delay);
                co_await open();
                break;
            case Action::retry:
                co_await sleep(a.delay);
                break;
            case Action::stop:
                run_.fail(a.text);
                break;
        }
    }
}

asio::awaitable<void> FeedRunner::run() {
    co_await open();
    while (!run_.stopping) {
        double interval = timings_.check_interval / (supervisor_.rotating() ? 5 : 1);
        tick_.expires_after(secs(interval));
        boost::system::error_code ec;
        co_await tick_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (run_.stopping) break;
        std::vector<std::shared_ptr<Session>> ended;
        for (auto& [id, s] : sessions_)
            if (s->done) ended.push_back(s);
        for (auto& s : ended) {
            sessions_.erase(s->id);
            std::string cause = s->end_cause.empty() ? "connection closed" : s->end_cause;
            co_await perform(supervisor_.closed(s->id, run_.now(), cause));
        }
        co_await perform(supervisor_.tick(run_.now()));
        if (run_.sink.failed()) run_.fail("cannot write " + run_.sink.error());
    }
    // The run ends: close every connection politely (bounded), then report.
    for (auto& [id, s] : sessions_)
        if (!s->done) {
            s->end_cause = "run ended";
            co_await s->ws->close(timings_.close_timeout);
        }
    sessions_.clear();
    for (auto& c : continuity_) {
        run_.summary.duplicates += c.duplicates;
        run_.summary.missed_trades += c.missing;
        run_.summary.anomalies += c.anomalies;
    }
}

}  // namespace btcrec
