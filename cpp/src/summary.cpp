#include "summary.hpp"

#include <cstdio>
#include <numeric>

namespace btcrec {

namespace {

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    return out + "\"";
}

std::string list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + quoted(items[i]);
    return out + "]";
}

// The reason without its detail in brackets and its hint: it has to fit one line.
std::string short_reason(const std::string& error) {
    std::string head = error;
    if (error.find(" failed (") != std::string::npos) head = error.substr(0, error.find(" ("));
    auto hint = head.find(": no internet access?");
    return hint == std::string::npos ? head : head.substr(0, hint);
}

}  // namespace

std::string Link::failures() const {
    return std::to_string(failed) + " connection attempt" + (failed == 1 ? "" : "s") + " failed (" +
           short_reason(last_error) + ")";
}

std::vector<std::string> Summary::problems() const {
    std::vector<std::string> out;
    for (const auto& link : links)
        if (link.connections == 0)
            out.push_back(link.exchange + ": " + (link.failed ? link.failures() + "; " : "") + "never connected");
    if (total() == 0 && errors.empty() && out.empty()) out.push_back("no line was written");
    return out;
}

std::uint64_t Summary::total() const { return std::accumulate(lines.begin(), lines.end(), std::uint64_t{0}); }

std::string Summary::text() const {
    char buf[512];
    double rate = elapsed > 0 ? total() / elapsed : 0.0;
    std::snprintf(buf, sizeof buf, "Recorded %llu lines in %.1f s (%.1f lines/s) into %s; stopped: %s.\n",
                  static_cast<unsigned long long>(total()), elapsed, rate, path.c_str(), stopped.c_str());
    std::string out = buf;
    for (std::size_t i = 0; i < streams.size(); ++i) {
        std::snprintf(buf, sizeof buf, "  %-24s %9llu lines\n", streams[i].c_str(),
                      static_cast<unsigned long long>(lines[i]));
        out += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "  connections %llu, reconnects %llu, rotations %llu, gaps %zu, missed trades %llu, "
                  "duplicates dropped %llu, bad frames %llu, unexpected %llu\n",
                  static_cast<unsigned long long>(connections), static_cast<unsigned long long>(reconnects),
                  static_cast<unsigned long long>(rotations), gaps.size(),
                  static_cast<unsigned long long>(missed_trades), static_cast<unsigned long long>(duplicates),
                  static_cast<unsigned long long>(bad_frames), static_cast<unsigned long long>(unexpected));
    out += buf;
    if (anomalies) {  // as btclib's summary: ", ids out of order N"
        out.pop_back();
        out += ", ids out of order " + std::to_string(anomalies) + "\n";
    }
    for (const auto& g : gaps) out += "  gap: " + g + "\n";
    for (const auto& link : links)
        if (link.failed && link.connections) out += "  " + link.exchange + ": " + link.failures() + "\n";
    for (const auto& e : errors) out += "  error: " + e + "\n";
    for (const auto& p : problems()) out += "  FAILED: " + p + "\n";
    return out;
}

std::string Summary::json() const {
    std::string out = "{\"path\":" + quoted(path) + ",\"lines\":{";
    for (std::size_t i = 0; i < streams.size(); ++i)
        out += (i ? "," : "") + quoted(streams[i]) + ":" + std::to_string(lines[i]);
    auto field = [&](const char* name, std::uint64_t v) { out += ",\"" + std::string(name) + "\":" + std::to_string(v); };
    out += "}";
    field("total", total());
    field("connections", connections);
    field("reconnects", reconnects);
    field("rotations", rotations);
    field("bad_frames", bad_frames);
    field("unexpected", unexpected);
    field("duplicates", duplicates);
    field("missed_trades", missed_trades);
    field("anomalies", anomalies);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", elapsed);
    out += ",\"gaps\":" + list(gaps) + ",\"errors\":" + list(errors) + ",\"problems\":" + list(problems()) +
           ",\"stopped\":" + quoted(stopped) +
           ",\"elapsed\":" + buf + "}";
    return out;
}

}  // namespace btcrec
