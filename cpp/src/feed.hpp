// One subscription on one WebSocket connection, as the recorder runs it (btclib.feed.Feed).
// The runner knows no exchange: URL, requests, parser, keep-alive and limits come from here.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parsed.hpp"

namespace btcrec {

struct FeedSpec {
    std::string exchange;                 // "binance"
    std::string title;                    // "Binance"
    std::string url;                      // ws:// or wss://, the whole URL to open
    // The text frames to send right after connecting, made anew for each connection (Upbit:
    // a fresh ticket each time); empty for Binance, whose URL names the streams.
    std::function<std::vector<std::string>()> requests;
    std::shared_ptr<const Parser> parser;
    std::map<int, double> stall_after;    // stream index -> seconds of silence = dead connection
    std::optional<double> ping_interval;  // client pings (Upbit); none for Binance
    std::optional<double> lifetime;       // the server cuts connections after this (Binance: a day)
    int connect_limit = 0;                // at most this many attempts ...
    double connect_window = 0;            // ... in this many seconds (contract.hpp: each exchange's)
    double first_data_within = 0;         // a connection silent this long after opening is dead
    std::string silence_hint;             // what silence from the start means
    std::map<int, std::string> status_hints;  // HTTP status of a refused handshake -> advice
};

}  // namespace btcrec
