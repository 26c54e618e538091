// Binance spot market streams: the URL to open and the line each frame becomes
// (btclib/exchanges/binance.py; protocols.md section 1; SPEC.md section 1).
#pragma once

#include <string>
#include <string_view>

#include "contract.hpp"
#include "feed.hpp"
#include "parsed.hpp"

namespace btcrec::binance {


// The stream symbol in lower case, or throws std::invalid_argument naming the problem.
std::string check_symbol(std::string_view symbol);

// "btcusdt@depth5" (1000ms) or "btcusdt@depth5@100ms", and "btcusdt@trade".
const contract::binance::DepthSpeed& depth_speed(const std::string& name);  // or throws
std::string depth_stream(const std::string& symbol, const std::string& depth_speed);
std::string trade_stream(const std::string& symbol);

// base + "/stream?streams=<depth>/<trade>": ONE connection carries both streams.
std::string stream_url(const std::string& base, const std::string& symbol,
                       const std::string& depth_speed);

class Parser final : public btcrec::Parser {
public:
    enum { depth = 0, trade = 1 };  // stream indexes
    Parser(const std::string& symbol, const std::string& depth_speed);
    Parsed parse(std::string_view frame) const override;
    const std::vector<Stream>& streams() const override { return streams_; }

private:
    std::string symbol_, depth_name_, trade_name_;
    std::string depth_head_;  // {"stream":"btcusdt@depth5","data":{"lastUpdateId":
    std::string trade_head_;  // {"stream":"btcusdt@trade","data":{"e":"trade","E":
    std::size_t kind_at_;     // where the first letter after "<symbol>@" sits
    std::vector<Stream> streams_;

    bool fast_trade(std::string_view f, Parsed& out) const;
    bool fast_depth(std::string_view f, Parsed& out) const;
    bool routed_trade(std::string_view f, Parsed& out) const;
    Parsed general(std::string_view f) const;
};

// Step A as the recorder runs it: one connection, depth5 + trade, nothing sent but pongs.
FeedSpec feed(const std::string& base, const std::string& symbol, const std::string& depth_speed,
              std::optional<double> stall_after);

}  // namespace btcrec::binance
