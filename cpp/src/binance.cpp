#include "binance.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "json.hpp"
#include "strings.hpp"

namespace btcrec::binance {

namespace {

constexpr auto npos = std::string_view::npos;

bool starts_at(std::string_view f, std::size_t pos, std::string_view what) {
    return pos <= f.size() && f.substr(pos, what.size()) == what;
}

bool ends_with(std::string_view f, std::string_view what) {
    return f.size() >= what.size() && f.substr(f.size() - what.size()) == what;
}

// Advance `i` over one or more bytes accepted by `ok`; false when there is none.
template <class Pred>
bool some(std::string_view f, std::size_t& i, Pred ok) {
    std::size_t start = i;
    while (i < f.size() && ok(f[i])) ++i;
    return i > start;
}

bool digit(char c) { return c >= '0' && c <= '9'; }
bool upper_or_digit(char c) { return (c >= 'A' && c <= 'Z') || digit(c); }

}  // namespace

std::string check_symbol(std::string_view symbol) {
    std::string s = lower(trim(symbol));
    bool ok = s.size() >= 2 && s.size() <= 20 &&
              std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
    if (!ok)
        throw std::invalid_argument("unknown Binance symbol format '" + std::string(symbol) +
                                    "': expected letters and digits such as 'btcusdt' "  // not the contract: btclib's words
                                    "(base then quote, no separator)");
    return s;
}

const contract::binance::DepthSpeed& depth_speed(const std::string& name) {
    for (const auto& speed : contract::binance::depth_speeds)
        if (speed.name == name) return speed;
    std::string known;
    for (const auto& speed : contract::binance::depth_speeds)
        known += (known.empty() ? "" : ", ") + std::string(speed.name);
    throw std::invalid_argument("unknown depth speed '" + name + "': expected one of " + known);
}

std::string depth_stream(const std::string& symbol, const std::string& speed) {
    return symbol + std::string(contract::binance::depth_stream) + std::string(depth_speed(speed).suffix);
}

std::string trade_stream(const std::string& symbol) { return symbol + std::string(contract::binance::trade_stream); }

std::string stream_url(const std::string& base, const std::string& symbol,
                       const std::string& depth_speed) {
    std::string b = base;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b + "/stream?streams=" + depth_stream(symbol, depth_speed) + "/" + trade_stream(symbol);
}

Parser::Parser(const std::string& symbol, const std::string& depth_speed)
    : symbol_(check_symbol(symbol)),
      depth_name_(depth_stream(symbol_, depth_speed)),
      trade_name_(trade_stream(symbol_)),
      depth_head_("{\"stream\":\"" + depth_name_ + "\",\"data\":{\"lastUpdateId\":"),
      trade_head_("{\"stream\":\"" + trade_name_ + "\",\"data\":{\"e\":\"trade\",\"E\":"),
      kind_at_(std::string("{\"stream\":\"").size() + symbol_.size() + 1) {
    namespace c = contract::binance;
    streams_ = {
        {symbol_ + std::string(c::depth_key), symbol_ + std::string(c::depth_head), std::string(c::depth_middle),
         true, false},
        {symbol_ + std::string(c::trade_key), symbol_ + std::string(c::trade_head), std::string(c::trade_middle),
         true, true},
    };
}

// The documented compact layout first: one byte tells the two streams apart (the first letter
// after "<symbol>@"), then a fixed pattern (trade) or a prefix and two searches (book). Any
// frame they decline goes on to the general path, which decides whether it is valid at all.
Parsed Parser::parse(std::string_view f) const {
    Parsed out;
    char kind = f.size() > kind_at_ ? f[kind_at_] : 0;
    if (kind == 't' && fast_trade(f, out)) return out;
    if (kind == 'd' && fast_depth(f, out)) return out;
    if (routed_trade(f, out)) return out;
    return general(f);
}

// Trade:
//   {"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT",
//    "t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}}
// -> btcusdt@trade, p:0.001,q:100   (seq: the trade id t)
// The pattern is btclib's regular expression, matched from the start; the frame ends in "}}".
bool Parser::fast_trade(std::string_view f, Parsed& out) const {
    if (!starts_at(f, 0, trade_head_) || !ends_with(f, "}}")) return false;
    std::size_t i = trade_head_.size();
    if (!some(f, i, digit) || !starts_at(f, i, ",\"s\":\"")) return false;
    i += 6;
    if (!some(f, i, upper_or_digit) || !starts_at(f, i, "\",\"t\":")) return false;
    i += 6;
    // The id's digits, read as they are passed (18 digits at most fit; longer ones, never
    // seen, are left to the general path).
    std::size_t seq_at = i;
    std::int64_t seq = 0;
    while (i < f.size() && digit(f[i])) seq = seq * 10 + (f[i++] - '0');
    if (i == seq_at || i - seq_at > 18 || !starts_at(f, i, ",\"p\":\"")) return false;
    std::size_t p = i + 6, p_end = f.find('"', p);
    if (p_end == npos || !starts_at(f, p_end, "\",\"q\":\"")) return false;
    std::size_t q = p_end + 7, q_end = f.find('"', q);
    if (q_end == npos) return false;
    out = Parsed::data(trade, seq, f.substr(p, p_end - p), f.substr(q, q_end - q));
    return true;
}

// Partial book depth (<symbol>@depth5 or @depth5@100ms):
//   {"stream":"btcusdt@depth5","data":{"lastUpdateId":160,
//    "bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}
// -> btcusdt@orderbook,bids:[["0.0024","10"]],asks:[["0.0026","100"]]   (seq: lastUpdateId)
bool Parser::fast_depth(std::string_view f, Parsed& out) const {
    if (!starts_at(f, 0, depth_head_) || !ends_with(f, "]}}")) return false;
    std::size_t seq_at = depth_head_.size();
    std::size_t b = f.find(",\"bids\":[", seq_at);
    if (b == npos || b == 0) return false;
    std::size_t a = f.find("],\"asks\":[", b);
    if (a == npos || a == 0) return false;
    auto seq = json::py_int(f.substr(seq_at, b - seq_at));
    if (!seq) return false;
    out = Parsed::data(depth, *seq, f.substr(b + 8, a + 1 - (b + 8)),
                       f.substr(a + 9, f.size() - 2 - (a + 9)));
    return true;
}

// A trade of this stream whose fields come in another order or with others between them:
//   {"stream":"btcusdt@trade","data":{"e":"trade",...,"t":12345,...,"p":"0.001","q":"100",...}}
bool Parser::routed_trade(std::string_view f, Parsed& out) const {
    if (!starts_at(f, 0, "{\"stream\":\"")) return false;
    std::size_t end = f.find('"', 11);
    if (end == npos || f.substr(11, end - 11) != trade_name_) return false;
    std::size_t pos = end + 1;
    if (!starts_at(f, pos, ",\"data\":{\"e\":\"trade\",") || !ends_with(f, "}}")) return false;
    std::size_t t = f.find(",\"t\":", pos);
    if (t == npos) return false;
    std::size_t p = f.find(",\"p\":\"", t);
    if (p == npos) return false;
    std::size_t q = f.find("\",\"q\":\"", p);
    if (q == npos) return false;
    std::size_t q_end = f.find('"', q + 7);
    if (q_end == npos) return false;
    auto seq = json::py_int(f.substr(t + 5, p - (t + 5)));
    if (!seq) return false;
    out = Parsed::data(trade, *seq, f.substr(p + 6, q - (p + 6)), f.substr(q + 7, q_end - (q + 7)));
    return true;
}

// Any valid JSON layout, and every frame that is not market data:
//   {"result":null,"id":1}                                              -> reply
//   {"stream":"!serverShutdown","data":{"e":"serverShutdown","E":...}}  -> shutdown
//   {"stream":"ethusdt@trade","data":{...}}                             -> unexpected
//   {"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2} -> ExchangeError
// and a bare payload, as on /ws/<name>, is recognised by its keys.
Parsed Parser::general(std::string_view f) const {
    std::string why;
    auto loaded = json::load_object(f, why);
    if (!loaded) return Parsed::notice(Kind::malformed, why);
    const json::Object& message = *loaded;
    const json::Value* error = message.find("error");
    if (error || (message.has("code") && message.has("msg"))) {
        std::string text;
        if (!error || error->type == json::Type::object) {
            json::Object e = error ? json::members(f, *error) : message;
            auto field = [&](const char* key) {
                const json::Value* v = e.find(key);
                return v ? json::py_str(f, *v) : std::string("None");
            };
            text = "Binance error " + field("code") + ": " + field("msg");
        } else {
            text = "Binance error: " + json::py_str(f, *error);
        }
        const json::Value* id = message.find("id");
        if (id && id->type != json::Type::null) text += " (request id " + json::py_str(f, *id) + ")";
        throw ExchangeError(text);
    }
    if (message.has("result") && message.has("id"))
        return Parsed::notice(Kind::reply, json::excerpt(f));
    const json::Value* stream = message.find("stream");
    const json::Value* data = message.find("data");
    bool wrapped = stream && data;
    json::Value payload = wrapped ? *data : message.value;
    if (payload.type != json::Type::object)
        return Parsed::notice(Kind::malformed, "data is not an object: " + json::excerpt(f));
    json::Object inner = wrapped ? json::members(f, payload) : message;
    std::string name = wrapped && stream->type == json::Type::string ? json::text(f, *stream) : "";
    const json::Value* event = inner.find("e");
    bool is_string_event = event && event->type == json::Type::string;
    if ((is_string_event && json::text(f, *event) == "serverShutdown") ||
        (wrapped && name == "!serverShutdown"))
        return Parsed::notice(Kind::shutdown, json::excerpt(f));
    int key = -1;
    if (wrapped) {
        if (stream->type == json::Type::string) {
            if (name == depth_name_) key = depth;
            else if (name == trade_name_) key = trade;
        }
    } else if (inner.has("lastUpdateId")) {
        key = depth;
    } else if (is_string_event && json::text(f, *event) == "trade") {
        const json::Value* s = inner.find("s");
        if (s && s->type == json::Type::string && lower(json::text(f, *s)) == symbol_) key = trade;
    }
    if (key < 0) {
        std::string shown = wrapped ? "'" + json::py_str(f, *stream) + "'" : "None";
        return Parsed::notice(Kind::unexpected, "stream " + shown + " not subscribed: " + json::excerpt(f));
    }
    const std::string& k = streams_[key].key;
    if (key == depth) {
        const json::Value* bids = inner.find("bids");
        const json::Value* asks = inner.find("asks");
        const json::Value* id = inner.find("lastUpdateId");
        if (!bids || !asks || bids->type != json::Type::array || asks->type != json::Type::array)
            return Parsed::notice(Kind::malformed, k + " message without bids/asks arrays: " + json::excerpt(f));
        auto seq = id ? json::to_int(f, *id) : std::nullopt;
        if (!seq)
            return Parsed::notice(Kind::malformed, k + " message without lastUpdateId: " + json::excerpt(f));
        return Parsed::data(depth, *seq, json::raw(f, *bids), json::raw(f, *asks));
    }
    const json::Value* p = inner.find("p");
    const json::Value* q = inner.find("q");
    const json::Value* t = inner.find("t");
    if (!p || !q || p->type != json::Type::string || q->type != json::Type::string)
        return Parsed::notice(Kind::malformed, k + " message without p/q strings: " + json::excerpt(f));
    auto seq = t ? json::to_int(f, *t) : std::nullopt;
    if (!seq) return Parsed::notice(Kind::malformed, k + " message without t: " + json::excerpt(f));
    return Parsed::data(trade, *seq, f.substr(p->begin + 1, p->end - p->begin - 2),
                        f.substr(q->begin + 1, q->end - q->begin - 2));
}

FeedSpec feed(const std::string& base, const std::string& symbol, const std::string& depth_speed,
              std::optional<double> stall_after) {
    namespace c = contract::binance;
    auto parser = std::make_shared<Parser>(symbol, depth_speed);
    std::string sym = check_symbol(symbol);
    FeedSpec spec;
    spec.exchange = "binance";
    spec.title = "Binance";
    spec.url = stream_url(base, sym, depth_speed);
    spec.parser = parser;
    // The book ticks every period: silence for several periods means a dead connection even
    // while trades flow. Trades may pause legitimately: no limit on them.
    spec.stall_after = {{Parser::depth, stall_after.value_or(binance::depth_speed(depth_speed).stall_after)}};
    spec.ping_interval = c::limits.keepalive;  // none: Binance counts every client frame, pongs only
    spec.lifetime = c::limits.lifetime;
    spec.connect_limit = c::limits.connect_budget;  // one connection: the whole budget
    spec.connect_window = c::limits.connect_window;
    spec.first_data_within = c::limits.first_data_within;
    spec.silence_hint = fill(c::silence_hint, {{"{streams}", depth_stream(sym, depth_speed) + " and " + trade_stream(sym)},
                                               {"{symbol}", sym}});
    for (const auto& hint : c::status_hints) spec.status_hints[hint.status] = std::string(hint.text);
    return spec;
}

}  // namespace btcrec::binance
