#include "upbit.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include <stdexcept>

#include "json.hpp"
#include "strings.hpp"

namespace btcrec::upbit {

namespace {

constexpr auto npos = std::string_view::npos;
constexpr std::string_view units_key = ",\"orderbook_units\":[";

bool all_of(std::string_view s, int (*pred)(int)) {
    return std::all_of(s.begin(), s.end(), [pred](unsigned char c) { return pred(c) != 0; });
}

}  // namespace

std::string check_code(std::string_view code) {
    std::string s = upper(trim(code));
    auto dash = s.find('-');
    bool ok = dash != std::string::npos;
    if (ok) {
        std::string_view quote = std::string_view(s).substr(0, dash);
        std::string_view base = std::string_view(s).substr(dash + 1);
        ok = quote.size() >= 2 && quote.size() <= 10 && all_of(quote, isupper) &&
             base.size() >= 1 && base.size() <= 15 && all_of(base, isalnum) &&
             std::none_of(base.begin(), base.end(), [](unsigned char c) { return std::islower(c); });
    }
    if (!ok)
        throw std::invalid_argument("unknown Upbit market code format '" + std::string(code) +
                                    "': expected QUOTE-BASE such as 'KRW-BTC'");  // not the contract: btclib's words
    return s;
}

std::string line_key(const std::string& code) {
    std::string c = check_code(code);
    auto dash = c.find('-');
    return lower(c.substr(dash + 1)) + lower(c.substr(0, dash)) + std::string(contract::upbit::key);
}

std::string new_ticket() {
    std::random_device rd;
    std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    std::uniform_int_distribution<int> hex(0, 15);
    std::string out;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
        int v = (i == 12) ? 4 : (i == 16) ? (8 | (hex(rng) & 3)) : hex(rng);  // a version-4 UUID
        out += "0123456789abcdef"[v];
    }
    return out;
}

std::string subscription(const std::vector<std::string>& codes, const std::string& ticket) {
    std::string out = "[{\"ticket\":\"" + ticket + "\"},{\"type\":\"orderbook\",\"codes\":[";
    for (std::size_t i = 0; i < codes.size(); ++i)
        out += (i ? ",\"" : "\"") + check_code(codes[i]) + "\"";
    return out + "]},{\"format\":\"DEFAULT\"}]";
}

Parser::Parser(const std::vector<std::string>& codes) {
    for (const auto& c : codes) {
        std::string code = check_code(c);
        std::string key = line_key(code);
        codes_.push_back(code);
        heads_.push_back("{\"type\":\"orderbook\",\"code\":\"" + code + "\",");
        streams_.push_back({key, key + std::string(contract::upbit::head), "", false, false});
    }
}

// Orderbook, DEFAULT format (a whole book each time; a binary frame):
//   {"type":"orderbook","code":"KRW-BTC","timestamp":1790134742106,
//    "total_ask_size":2.51469375,"total_bid_size":1.63815297,
//    "orderbook_units":[{"ask_price":1.16539E8,"bid_price":1.16538E8,
//      "ask_size":0.02054761,"bid_size":0.08120946}],"stream_type":"SNAPSHOT","level":0}
// -> btckrw@orderbook,[{"ask_price":1.16539E8,"bid_price":1.16538E8,...}]
// The documented layout: the head names the code, the units array is copied up to its first
// ']' (units hold only numbers) when a ',' or '}' follows. Anything else: the general path.
Parsed Parser::parse(std::string_view f) const {
    if (f.size() >= 1 && f.back() == '}') {
        for (std::size_t k = 0; k < heads_.size(); ++k) {
            const std::string& head = heads_[k];
            if (f.substr(0, head.size()) != head) continue;
            std::size_t start = f.find(units_key, head.size() - 2);
            if (start == npos) break;
            std::size_t stop = f.find(']', start);
            if (stop == npos || (f[stop + 1] != ',' && f[stop + 1] != '}')) break;
            std::size_t from = start + units_key.size() - 1;
            return Parsed::data(static_cast<int>(k), f.substr(from, stop + 1 - from), {});
        }
    }
    return general(f);
}

// Any valid JSON layout (SIMPLE format's "obu" too), and every frame that is not market data:
//   {"status":"UP"}                                        -> status
//   {"method":"LIST_SUBSCRIPTIONS","result":[...],...}      -> reply
//   {"type":"trade",...} or an orderbook of another code    -> unexpected
//   {"error":{"name":"NO_CODES","message":"..."}}           -> ExchangeError
Parsed Parser::general(std::string_view f) const {
    std::string why;
    auto loaded = json::load_object(f, why);
    if (!loaded) return Parsed::notice(Kind::malformed, why);
    const json::Object& message = *loaded;
    if (const json::Value* error = message.find("error")) {
        if (error->type == json::Type::object) {
            json::Object e = json::members(f, *error);
            auto field = [&](const char* key) {
                const json::Value* v = e.find(key);
                return v ? json::py_str(f, *v) : std::string("None");
            };
            throw ExchangeError("Upbit error " + field("name") + ": " + field("message"));
        }
        throw ExchangeError("Upbit error UNKNOWN: " + json::py_str(f, *error));
    }
    if (message.has("status")) return Parsed::notice(Kind::status, json::excerpt(f));
    if (message.has("method") || message.has("mthd")) return Parsed::notice(Kind::reply, json::excerpt(f));
    const json::Value* type = message.find("type");
    if (!type) type = message.find("ty");
    const json::Value* code = message.find("code");
    if (!code) code = message.find("cd");
    if (!type || type->type != json::Type::string || json::text(f, *type) != "orderbook")
        return Parsed::notice(Kind::unexpected,
                              "type " + (type ? json::py_str(f, *type) : "None") +
                                  " not subscribed: " + json::excerpt(f));
    int key = -1;
    if (code && code->type == json::Type::string) {
        std::string c = json::text(f, *code);
        for (std::size_t k = 0; k < codes_.size(); ++k)
            if (codes_[k] == c) key = static_cast<int>(k);
    }
    if (key < 0)
        return Parsed::notice(Kind::unexpected,
                              "code " + (code ? json::py_str(f, *code) : "None") +
                                  " not subscribed: " + json::excerpt(f));
    const json::Value* units = message.find("orderbook_units");
    if (!units) units = message.find("obu");
    if (!units || units->type != json::Type::array)
        return Parsed::notice(Kind::malformed, "orderbook without orderbook_units: " + json::excerpt(f));
    return Parsed::data(key, json::raw(f, *units), {});
}

FeedSpec feed(const std::string& url, const std::vector<std::string>& codes, double keepalive,
              std::optional<double> stall_after) {
    namespace c = contract::upbit;
    if (keepalive <= 0 || keepalive > c::keepalive_max)
        throw std::invalid_argument("keepalive " + seconds(keepalive) + " s: must be above 0 and at most " +
                                    seconds(c::keepalive_max) + " s for Upbit");
    auto parser = std::make_shared<Parser>(codes);
    FeedSpec spec;
    spec.exchange = "upbit";
    spec.title = "Upbit";
    spec.url = url;
    spec.parser = parser;
    std::vector<std::string> checked;
    for (const auto& code : codes) checked.push_back(check_code(code));
    spec.requests = [checked] { return std::vector<std::string>{subscription(checked, new_ticket())}; };
    // A quiet book sends nothing: a long silence before the connection is replaced. With many
    // codes only the first is watched (among hundreds some are always quiet).
    std::size_t watched = checked.size() <= c::watched_codes ? checked.size() : 1;
    for (std::size_t k = 0; k < watched; ++k)
        spec.stall_after[static_cast<int>(k)] = stall_after.value_or(c::limits.stall_after);
    spec.ping_interval = keepalive;  // Upbit closes a socket left idle
    spec.lifetime = c::limits.lifetime;
    spec.connect_limit = c::limits.connect_budget;
    spec.connect_window = c::limits.connect_window;
    spec.first_data_within = c::limits.first_data_within;  // the snapshot comes right after the request
    std::string list;
    for (std::size_t k = 0; k < checked.size(); ++k) list += (k ? ", " : "") + checked[k];
    spec.silence_hint = fill(c::silence_hint, {{"{codes}", list}});
    for (const auto& hint : c::status_hints) spec.status_hints[hint.status] = std::string(hint.text);
    return spec;
}

}  // namespace btcrec::upbit
