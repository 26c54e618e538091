// What an exchange parser makes of one frame: a data line or a notice (btclib.feed).
//
// A data line is not built here: the parser points at the frame's bytes it copies (`a`, `b`)
// and names the stream, whose fixed text around them the stream owns. Writing is then one
// append of four pieces, and a frame that is a duplicate (two overlapping connections) costs
// no copy at all.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace btcrec {

enum class Kind {
    data,        // market data: one line
    reply,       // an answer to a request ({"result":null,"id":1})
    status,      // a keep-alive answer (Upbit {"status":"UP"})
    shutdown,    // the server will close soon (Binance serverShutdown): rotate now
    unexpected,  // data of a stream nobody asked for
    malformed,   // not the JSON the exchange documents
};

const char* kind_name(Kind kind);

// One stream's line: key, then `head` + a + `middle` + b + "\n".
struct Stream {
    std::string key;     // btcusdt@trade
    std::string head;    // "btcusdt@trade, p:"
    std::string middle;  // ",q:"
    bool numbered;       // has a sequence number (Binance): duplicates are recognised
    bool contiguous;     // the numbers grow by one (trade ids): a jump is a gap
};

struct Parsed {
    Kind kind = Kind::malformed;
    int stream = -1;           // index into the parser's streams() for data
    bool has_seq = false;
    std::int64_t seq = 0;      // trade id or lastUpdateId
    std::string_view a, b;     // the copied bytes of the frame
    std::string detail;        // for notices

    static Parsed data(int stream, std::string_view a, std::string_view b) {
        Parsed p;
        p.kind = Kind::data;
        p.stream = stream;
        p.a = a;
        p.b = b;
        return p;
    }
    static Parsed data(int stream, std::int64_t seq, std::string_view a, std::string_view b) {
        Parsed p = data(stream, a, b);
        p.has_seq = true;
        p.seq = seq;
        return p;
    }
    static Parsed notice(Kind kind, std::string detail) {
        Parsed p;
        p.kind = kind;
        p.detail = std::move(detail);
        return p;
    }
};

// Append the line of a data frame (ends with '\n').
inline void append_line(std::string& out, const Stream& s, const Parsed& p) {
    out.append(s.head).append(p.a).append(s.middle).append(p.b).push_back('\n');
}

// The exchange answered with an error message: the run ends with its words.
struct ExchangeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The interface of both exchange parsers: pure, no I/O, frames in, Parsed out.
class Parser {
public:
    virtual ~Parser() = default;
    virtual Parsed parse(std::string_view frame) const = 0;  // throws ExchangeError
    virtual const std::vector<Stream>& streams() const = 0;
};

}  // namespace btcrec
