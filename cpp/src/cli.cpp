#include "cli.hpp"

#include <cmath>
#include <cstdlib>

#include "binance.hpp"
#include "connection.hpp"
#include "strings.hpp"
#include "upbit.hpp"

namespace btcrec {

namespace {

double number(const std::string& flag, const std::string& text, bool positive = true) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v) || (positive && v <= 0))
        throw UsageError(flag + ": expected a positive number of seconds, got '" + text + "'");
    return v;
}

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

// The depth speeds btclib knows, joined by `sep` ("1000ms, 100ms").
std::string speeds(const char* sep) {
    std::string out;
    for (const auto& speed : contract::binance::depth_speeds)
        out += (out.empty() ? "" : sep) + std::string(speed.name);
    return out;
}

}  // namespace

std::string usage() {
    return "usage: btcrec record {binance,upbit,both} [--duration S] [--out PATH]\n"
           "                     [--binance-url BASE] [--upbit-url URL] [--symbol SYMBOL]\n"
           "                     [--code CODE]... [--depth-speed {" + speeds(",") + "}] [--keepalive S]\n"
           "       btcrec parse   (frames on stdin; see cpp/README.md)\n"
           "       btcrec continuity contiguous|increasing [RECENT]   (ids on stdin; tests)\n";
}

std::string help() {
    namespace b = contract::binance;
    namespace u = contract::upbit;
    return "\n"
           "  binance (Step A), upbit (Step B), both (Step C: two connections, one file)\n"
           "  --duration S      seconds to record (default: until Ctrl+C)\n"
           "  --out PATH        data file (default: outputs/stream-data-binance.txt, -upbit.txt,\n"
           "                    -multi.txt); lines are appended\n"
           "  --binance-url     Binance base URL (default " + std::string(b::live_url) + ", or\n"
           "                    env " + b::url_env + ")\n"
           "  --upbit-url       Upbit WebSocket URL (default " + std::string(u::live_url) + ",\n"
           "                    or env " + u::url_env + ")\n"
           "  --symbol          Binance symbol (default " + std::string(b::default_symbol) + ")\n"
           "  --code            Upbit market code, repeatable (default " + std::string(u::default_code) + ")\n"
           "  --depth-speed     Binance depth5 update speed (default " + std::string(b::default_depth_speed) + ")\n"
           "  --keepalive S     client ping interval for Upbit (default " + seconds(*u::limits.keepalive) +
           ", at most " + seconds(u::keepalive_max) + ")\n"
           "tuning (tests): --stall-after S, --first-data-within S, --backoff-base S,\n"
           "  --backoff-cap S, --check-interval S, --overlap-max S, --rotate-before S,\n"
           "  --lifetime S (the server's connection lifetime, as btcrec believes it),\n"
           "  --summary-json PATH,\n"
           "  --upbit-request TEXT (sent instead of the Upbit subscription)\n";
}

Options parse_args(int argc, char** argv) {
    Options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) throw UsageError("a command is required: record or parse");
    o.command = args[0];
    if (o.command == "-h" || o.command == "--help" || o.command == "help") {
        o.command = "help";
        return o;
    }
    if (o.command == "parse") {
        if (args.size() > 1) throw UsageError("parse takes no arguments (frames come on stdin)");
        return o;
    }
    if (o.command == "continuity") {
        if (args.size() < 2 || args.size() > 3 || (args[1] != "contiguous" && args[1] != "increasing"))
            throw UsageError("continuity takes contiguous|increasing [RECENT] (messages on stdin)");
        o.contiguous = args[1] == "contiguous";
        if (args.size() == 3) o.recent = static_cast<std::size_t>(number("RECENT", args[2]));
        return o;
    }
    if (o.command != "record") throw UsageError("unknown command '" + o.command + "': expected record or parse");
    o.binance_url = env_or(contract::binance::url_env, std::string(contract::binance::live_url));
    o.upbit_url = env_or(contract::upbit::url_env, std::string(contract::upbit::live_url));
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-h" || a == "--help") {
            o.command = "help";
            return o;
        }
        if (a.rfind("--", 0) != 0) {
            if (!o.step.empty()) throw UsageError("unexpected argument '" + a + "'");
            if (a != "binance" && a != "upbit" && a != "both")
                throw UsageError("invalid step '" + a + "': choose from binance, upbit, both");
            o.step = a;
            continue;
        }
        std::string flag = a, value;
        auto eq = a.find('=');
        if (eq != std::string::npos) {
            flag = a.substr(0, eq);
            value = a.substr(eq + 1);
        } else {
            if (i + 1 >= args.size()) throw UsageError(flag + ": expected a value");
            value = args[++i];
        }
        if (flag == "--duration") o.duration = number(flag, value);
        else if (flag == "--out") o.out = value;
        else if (flag == "--binance-url") o.binance_url = value;
        else if (flag == "--upbit-url") o.upbit_url = value;
        else if (flag == "--symbol") o.symbol = value;
        else if (flag == "--code") o.codes.push_back(value);
        else if (flag == "--depth-speed") {
            try {
                binance::depth_speed(value);
            } catch (const std::invalid_argument&) {
                throw UsageError("--depth-speed: invalid choice '" + value + "' (choose from " + speeds(", ") + ")");
            }
            o.depth_speed = value;
        } else if (flag == "--keepalive") o.keepalive = number(flag, value);
        else if (flag == "--stall-after") o.stall_after = number(flag, value);
        else if (flag == "--first-data-within") o.timings.first_data_within = number(flag, value);
        else if (flag == "--backoff-base") o.timings.backoff_base = number(flag, value);
        else if (flag == "--backoff-cap") o.timings.backoff_cap = number(flag, value);
        else if (flag == "--check-interval") o.timings.check_interval = number(flag, value);
        else if (flag == "--overlap-max") o.timings.overlap_max = number(flag, value);
        else if (flag == "--rotate-before") o.timings.rotate_before = number(flag, value);
        else if (flag == "--lifetime") o.lifetime = number(flag, value);
        else if (flag == "--summary-json") o.summary_json = value;
        else if (flag == "--upbit-request") o.upbit_request = value;
        else throw UsageError("unrecognized argument '" + flag + "'");
    }
    if (o.step.empty()) throw UsageError("the step is required: binance, upbit or both");
    if (o.codes.empty()) o.codes = {std::string(contract::upbit::default_code)};
    if (o.out.empty())
        o.out = "outputs/stream-data-" + std::string(o.step == "both" ? "multi" : o.step) + ".txt";
    build_feeds(o);  // check symbols, codes, URLs and keepalive now: exit 2, not a failed run
    return o;
}

std::vector<FeedSpec> build_feeds(const Options& o) {
    std::vector<FeedSpec> feeds;
    try {
        if (o.step == "binance" || o.step == "both")
            feeds.push_back(binance::feed(o.binance_url, o.symbol, o.depth_speed, o.stall_after));
        if (o.step == "upbit" || o.step == "both") {
            feeds.push_back(upbit::feed(o.upbit_url, o.codes, o.keepalive, o.stall_after));
            if (o.upbit_request)
                feeds.back().requests = [text = *o.upbit_request] { return std::vector<std::string>{text}; };
        }
        for (auto& f : feeds) {
            Url::parse(f.url);
            if (o.lifetime && f.lifetime) f.lifetime = o.lifetime;
        }
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    return feeds;
}

}  // namespace btcrec
