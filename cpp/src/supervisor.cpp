#include "supervisor.hpp"

#include "strings.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace btcrec {

Backoff::Backoff(double base, double cap) : base_(base), cap_(cap), rng_(std::random_device{}()) {}

double Backoff::next_delay() {
    double ceiling = std::min(cap_, base_ * std::pow(2.0, attempt));  // not the contract: doubling
    ++attempt;
    return std::uniform_real_distribution<double>(0.0, ceiling)(rng_);
}

double ConnectBudget::wait_time(double now) {
    while (!times_.empty() && now - times_.front() >= window_) times_.pop_front();
    if (static_cast<int>(times_.size()) < limit_) return 0.0;
    return times_.front() + window_ - now;
}

void Continuity::open_hole(std::int64_t seq) {
    holes_[last_ + 1] = seq - 1;
    missing += static_cast<std::uint64_t>(seq - 1 - last_);
}

void Continuity::remember_in_order(std::int64_t seq) {
    // Two generations of `recent` ids at most, as btclib's two sets: the older one goes when
    // the current one is full. In-order ids only grow, so seen_ stays sorted.
    seen_.push_back(seq);
    if (++generation_ >= recent_) {
        seen_.erase(seen_.begin(), seen_.end() - static_cast<std::ptrdiff_t>(generation_));
        generation_ = 0;
    }
}

void Continuity::new_run(std::int64_t seq, int conn) {
    writer_ = conn;
    starts_.push_back(seq);
    conns_.push_back(conn);
    if (starts_.size() > 2 * recent_) {  // many switches in a long overlap: forget old runs
        auto n = static_cast<std::ptrdiff_t>(recent_);
        starts_.erase(starts_.begin(), starts_.begin() + n);
        conns_.erase(conns_.begin(), conns_.begin() + n);
    }
}

// An id at or below the highest: a copy from the other connection, a fill-in, or neither.
bool Continuity::behind(std::int64_t seq, int conn) {
    std::optional<int> writer;
    if (auto it = written_late_.find(seq); it != written_late_.end()) {
        writer = it->second;
    } else if (contiguous_) {
        if (fill(seq)) {
            remember_late(seq, conn);
            return true;
        }
        writer = in_order_writer(seq);
    } else if (std::binary_search(seen_.begin(), seen_.end(), seq)) {
        writer = in_order_writer(seq);
    }
    if (writer && *writer != conn) {
        ++duplicates;
        return false;
    }
    ++anomalies;
    pending.push_back({seq, last_, conn});
    remember_late(seq, conn);
    return true;
}

std::optional<int> Continuity::in_order_writer(std::int64_t seq) const {
    auto run = std::upper_bound(starts_.begin(), starts_.end(), seq);
    if (run == starts_.begin()) return std::nullopt;  // before every run, or forgotten
    return conns_[static_cast<std::size_t>(run - starts_.begin() - 1)];
}

void Continuity::remember_late(std::int64_t seq, int conn) {
    if (written_late_.size() >= recent_) written_late_.clear();
    written_late_[seq] = conn;
}

bool Continuity::fill(std::int64_t seq) {
    auto it = holes_.upper_bound(seq);
    if (it == holes_.begin()) return false;
    --it;
    auto [first, last] = *it;
    if (seq > last) return false;
    holes_.erase(it);
    if (first < seq) holes_[first] = seq - 1;
    if (seq < last) holes_[seq + 1] = last;
    --missing;
    return true;
}

namespace {

Action stop(std::string text) { return Action{Action::stop, 0, 0, 0, std::move(text)}; }
Action log(std::string event, int conn = 0) { return Action{Action::log, conn, 0, 0, std::move(event)}; }

template <std::size_t N>
bool among(int status, const int (&statuses)[N]) {
    return std::find(std::begin(statuses), std::end(statuses), status) != std::end(statuses);
}
bool retried_status(int s) { return among(s, contract::retried_statuses); }
bool throttle_status(int s) { return among(s, contract::throttle_statuses); }

}  // namespace

Supervisor::Supervisor(Rules rules)
    : rules_(std::move(rules)),
      backoff_(rules_.timings.backoff_base, rules_.timings.backoff_cap),
      budget_(rules_.connect_limit, rules_.connect_window) {}

double Supervisor::connect_wait(double now) {
    double wait = budget_.wait_time(now);
    if (wait <= 0) budget_.spend(now);
    return wait;
}

std::vector<Action> Supervisor::connect_failed(const Failure& f) {
    const std::string& title = rules_.title;
    if (f.kind == Failure::status) {
        bool retry = retried_status(f.http_status);
        if (throttle_status(f.http_status) && refusals_ < rules_.timings.max_refusals) {
            ++refusals_;
            backoff_.attempt = std::max(backoff_.attempt, contract::throttle_backoff_attempt);
            retry = true;
        }
        if (!retry) {
            auto hint = rules_.status_hints.find(f.http_status);
            std::string text = title + " refused the connection to " + rules_.url + ": " + f.text + ".";
            if (hint != rules_.status_hints.end()) text += " " + hint->second;
            return {stop(text)};
        }
    } else if (f.kind == Failure::invalid_url) {
        return {stop(title + ": invalid URL '" + rules_.url + "': " + f.text)};
    } else if (f.kind == Failure::fatal) {
        return {stop(title + ": cannot connect to " + rules_.url + ": " + f.text)};
    }
    double delay = backoff_.next_delay();
    return {log("connect failed (" + f.text + "), retry in " + seconds(std::round(delay * 1000) / 1000) + " s"),
            Action{Action::retry, 0, 0, delay, ""}};
}

void Supervisor::opened(int conn, double now, const std::vector<std::uint64_t>* counts) {
    refusals_ = 0;
    Conn c{conn, now, counts, std::nullopt, std::nullopt, false, {}, {}};
    if (rules_.lifetime)
        c.rotate_at = now + *rules_.lifetime - std::min(rules_.timings.rotate_before, *rules_.lifetime / 2);
    watch_from(c, now);
    if (!current_) current_ = c;
    else replacement_ = c;
}

void Supervisor::first_data(int conn, double now) {
    if (Conn* c = find(conn)) c->first_data = now;
    ever_data_ = true;
    backoff_.reset();
}

void Supervisor::shutdown_notice(int conn) {
    if (Conn* c = find(conn)) c->shutdown_notice = true;
}

std::vector<Action> Supervisor::closed(int conn, double now, const std::string& cause) {
    if (replacement_ && replacement_->id == conn) {
        // The replacement died before taking over: keep the old one, try again later.
        replacement_.reset();
        if (current_) {
            current_->rotate_at = now + rules_.timings.rotation_retry;
            current_->shutdown_notice = false;
        }
        return {log("rotation failed: " + cause, conn)};
    }
    if (!current_ || current_->id != conn) return {};
    if (replacement_) return take_over(now);  // the old one ended first: the new one takes over
    Conn state = *current_;
    current_.reset();
    std::vector<Action> actions{log("closed: " + cause, conn)};
    if (state.first_data || ever_data_) {
        silent_ = 0;
    } else if (++silent_ >= rules_.timings.max_silent && !rules_.silence_hint.empty()) {
        actions.push_back(stop(rules_.silence_hint + " (" + std::to_string(silent_) +
                               " connections, no data at all)"));
        return actions;
    }
    double delay = backoff_.next_delay();
    actions.push_back(Action{Action::reconnect, 0, 0, delay, cause});
    return actions;
}

std::vector<Action> Supervisor::tick(double now) {
    if (!current_) return {};
    Conn& state = *current_;
    if (replacement_) {
        const Conn& fresh = *replacement_;
        bool ready = std::all_of(rules_.stall_after.begin(), rules_.stall_after.end(),
                                 [&](auto& kv) { return (*fresh.counts)[kv.first] > 0; });
        for (std::size_t s = 0; s < rules_.streams.size() && ready; ++s)
            ready = (*fresh.counts)[s] > 0 || (*state.counts)[s] == 0;
        if (!ready && now < fresh.opened + rules_.timings.overlap_max) return {};
        return take_over(now);
    }
    if (!state.first_data && now - state.opened > rules_.first_data_within) {
        std::string why = "no data within " + seconds(rules_.first_data_within) + " s of connecting";
        return {log("silent", state.id), Action{Action::abort, state.id, 0, 0, why}};
    }
    for (auto& [stream, limit] : rules_.stall_after) {
        std::uint64_t count = (*state.counts)[stream];
        if (count != state.last_count[stream]) {
            state.last_count[stream] = count;
            state.last_change[stream] = now;
        } else if (now - state.last_change[stream] > limit) {
            return {Action{Action::abort, state.id, 0, 0,
                           "stalled: no " + rules_.streams[stream] + " data for " + seconds(limit) + " s"}};
        }
    }
    bool due = state.rotate_at && now > *state.rotate_at;
    if (due || state.shutdown_notice) {
        rotation_reason_ = due ? "lifetime" : "server shutdown";
        state.shutdown_notice = false;
        state.rotate_at.reset();
        return {log("rotate (" + rotation_reason_ + ")", state.id),
                Action{Action::rotate, state.id, 0, 0, rotation_reason_}};
    }
    return {};
}

std::vector<Action> Supervisor::take_over(double now) {
    Conn old = *current_;
    current_ = *replacement_;
    replacement_.reset();
    watch_from(*current_, now);
    return {Action{Action::retire, old.id, current_->id, 0, "replaced (" + rotation_reason_ + ")"},
            log("rotated: #" + std::to_string(current_->id) + " replaces #" + std::to_string(old.id),
                current_->id)};
}

Supervisor::Conn* Supervisor::find(int conn) {
    if (current_ && current_->id == conn) return &*current_;
    if (replacement_ && replacement_->id == conn) return &*replacement_;
    return nullptr;
}

void Supervisor::watch_from(Conn& c, double now) {
    for (auto& [stream, limit] : rules_.stall_after) {
        c.last_count[stream] = (*c.counts)[stream];
        c.last_change[stream] = now;
    }
}

}  // namespace btcrec
