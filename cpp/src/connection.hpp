// One WebSocket client connection, ws:// or wss:// (the network, nothing else: what to send
// and when is the runner's and the feed's business).
//
// The opening handshake is Boost.Beast's HTTP (request, response, the body of a refusal such as
// Binance's 451 JSON); the frames after it are read here, RFC 6455 for a client: a read takes
// what the socket has (up to 256 KiB, hundreds of frames at a flood) and hands every complete
// message in it to the caller before the next read, one wake-up for all of them (Beast's own
// stream read 1.5 kB per system call and resumed the reader once per frame: most of btcrec's
// CPU at a flood, cpp/README.md "Where the time goes"). Text messages are checked to be UTF-8
// as Beast and websockets do; pings get pongs with their payload (all Binance gets from us);
// fragmented messages are joined; a server close is answered and reported with its code.
//
// wss:// uses OpenSSL through Boost.Asio's ssl::stream: the system's CA store, certificate
// verification on, the host name checked against the certificate, and SNI set (both
// exchanges sit behind CDNs that need it).
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "supervisor.hpp"

namespace btcrec {

// ws[s]://host[:port][/path][?query]; throws std::invalid_argument naming the problem.
struct Url {
    bool tls = false;
    std::string host, port, target;
    static Url parse(const std::string& url);
    std::string host_header() const;  // host, with the port unless it is the scheme's default
};

// A connect attempt failed; `failure` says how, for the supervisor's rules.
struct ConnectError : std::runtime_error {
    explicit ConnectError(Failure f) : std::runtime_error(f.text), failure(std::move(f)) {}
    Failure failure;
};

// The connection ended; what() says how ("closed by the server with code 1000", "connection
// lost without a close frame (1006)").
struct Closed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Connection {
public:
    virtual ~Connection() = default;
    static std::unique_ptr<Connection> make(boost::asio::any_io_executor ex,
                                            boost::asio::ssl::context& tls, const Url& url);

    // Resolve, connect, TLS handshake (wss), WebSocket upgrade; throws ConnectError.
    virtual boost::asio::awaitable<void> open(double timeout) = 0;
    // Wait for bytes, then hand every complete message received so far, text or binary, to
    // `on_message` in order (each view valid during its call); returns after the last complete
    // one. Throws Closed when the connection ends (messages before the end were handed over),
    // and whatever `on_message` throws.
    using OnMessage = std::function<void(std::string_view)>;
    virtual boost::asio::awaitable<void> read_some(const OnMessage& on_message) = 0;
    virtual boost::asio::awaitable<void> send_text(std::string text) = 0;
    virtual boost::asio::awaitable<void> ping() = 0;
    // The closing handshake, bounded by `timeout`; errors are ignored (the socket is closed).
    virtual boost::asio::awaitable<void> close(double timeout) = 0;
    // Drop the TCP connection at once, no close frame; a pending read ends with Closed.
    virtual void abort() = 0;
    // Give up on a dead or useless connection without a close frame, but read what already
    // arrived: our side of TCP is shut (the server sees the end and closes), and the socket
    // is closed for good after `grace` seconds at the latest.
    virtual void drop(double grace) = 0;
};

// The TLS settings both exchanges need: system CAs, peer verification. `load_cas` false
// leaves the CA store unread: a run with only ws:// URLs (the simulator, the bench) does not
// parse the system's ~150 certificates (a quarter of a second of CPU, callgrind).
boost::asio::ssl::context make_tls_context(bool load_cas = true);

}  // namespace btcrec
