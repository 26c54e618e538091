// Upbit quotation WebSocket: the request to send and the line each frame becomes
// (btclib/exchanges/upbit.py; protocols.md section 2; SPEC.md section 1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "contract.hpp"
#include "feed.hpp"
#include "parsed.hpp"

namespace btcrec::upbit {


// "KRW-BTC" (lower case is upper-cased), or throws std::invalid_argument naming the problem.
std::string check_code(std::string_view code);

// "KRW-BTC" -> "btckrw@orderbook": base then quote, lower case.
std::string line_key(const std::string& code);

// [{"ticket":"<uuid>"},{"type":"orderbook","codes":["KRW-BTC"]},{"format":"DEFAULT"}]
// A fresh random ticket for every connection.
std::string subscription(const std::vector<std::string>& codes, const std::string& ticket);
std::string new_ticket();

class Parser final : public btcrec::Parser {
public:
    explicit Parser(const std::vector<std::string>& codes);
    Parsed parse(std::string_view frame) const override;
    const std::vector<Stream>& streams() const override { return streams_; }

private:
    std::vector<std::string> codes_;
    std::vector<std::string> heads_;  // {"type":"orderbook","code":"KRW-BTC",
    std::vector<Stream> streams_;
    Parsed general(std::string_view frame) const;
};

// Step B as the recorder runs it: one connection, one request, client pings every keepalive s.
FeedSpec feed(const std::string& url, const std::vector<std::string>& codes, double keepalive,
              std::optional<double> stall_after);

}  // namespace btcrec::upbit
