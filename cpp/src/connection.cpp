#include "connection.hpp"

#include "strings.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/http.hpp>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

namespace btcrec {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

Url Url::parse(const std::string& url) {
    Url u;
    std::string rest;
    if (url.rfind("wss://", 0) == 0) { u.tls = true; rest = url.substr(6); }
    else if (url.rfind("ws://", 0) == 0) { rest = url.substr(5); }
    else throw std::invalid_argument("'" + url + "' is not a ws:// or wss:// URL");
    auto slash = rest.find_first_of("/?");
    std::string authority = rest.substr(0, slash);
    u.target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (u.target[0] == '?') u.target = "/" + u.target;
    auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']') == std::string::npos) {
        u.host = authority.substr(0, colon);
        u.port = authority.substr(colon + 1);
    } else {
        u.host = authority;
        u.port = u.tls ? "443" : "80";
    }
    if (u.host.size() > 2 && u.host.front() == '[' && u.host.back() == ']')
        u.host = u.host.substr(1, u.host.size() - 2);
    if (u.host.empty()) throw std::invalid_argument("'" + url + "' names no host");
    if (u.port.empty() || u.port.find_first_not_of("0123456789") != std::string::npos ||
        u.port.size() > 5 || std::stoi(u.port) > 65535 || std::stoi(u.port) == 0)
        throw std::invalid_argument("'" + url + "' has an invalid port");
    return u;
}

std::string Url::host_header() const {
    bool default_port = (tls && port == "443") || (!tls && port == "80");
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return default_port ? h : h + ":" + port;
}

asio::ssl::context make_tls_context(bool load_cas) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    if (load_cas) ctx.set_default_verify_paths();
    ctx.set_verify_mode(asio::ssl::verify_peer);
    return ctx;
}

namespace {

std::chrono::steady_clock::duration secs(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// A connect error in plain words, and whether retrying may heal it; `explained` in the
// words of btclib's failures.explain, the host named.
Failure describe_connect(const boost::system::error_code& ec, const char* stage, const Url& url, double timeout) {
    const std::string& host = url.host;
    if (ec == beast::error::timeout)
        return {Failure::transient, std::string(stage) + ": no answer in time", 0,
                host + " did not answer within " + seconds(timeout) + " s"};
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED)
        return {Failure::fatal, "TLS certificate verification failed (" + ec.message() + ")", 0,
                host + ": certificate not trusted (" + ec.message() + ")"};
    std::string explained = host + ": " + ec.message();
    if (ec == asio::error::connection_refused)
        explained = "connection to " + host + " port " + url.port + " refused";
    else if (ec == asio::error::network_unreachable || ec == asio::error::host_unreachable)
        explained = "network unreachable for " + host + ": no internet access?";
    return {Failure::transient, std::string(stage) + ": " + ec.message(), 0, explained};
}

// Is `s` valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF)?
// ASCII, what the exchanges send, is checked 64 bytes at a time (SSE2 on x86-64), else 32.
bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const unsigned char* end = p + s.size();
    while (p < end) {
#if defined(__SSE2__)
        if (end - p >= 64) {
            auto load = [&](int i) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p) + i); };
            __m128i any = _mm_or_si128(_mm_or_si128(load(0), load(1)), _mm_or_si128(load(2), load(3)));
            if (_mm_movemask_epi8(any) == 0) {
                p += 64;
                continue;
            }
        }
#endif
        if (end - p >= 32) {
            std::uint64_t w[4];
            std::memcpy(w, p, 32);
            if (((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull) == 0) {
                p += 32;
                continue;
            }
        }
        if (end - p >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            if ((word & 0x8080808080808080ull) == 0) {
                p += 8;
                continue;
            }
        }
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int n;
        std::uint32_t cp;
        if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
        else return false;
        if (end - p <= n) return false;
        for (int i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        static constexpr std::uint32_t least[] = {0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += n + 1;
    }
    return true;
}

// Sec-WebSocket-Accept for a key (RFC 6455 4.2.2): base64(SHA-1(key + GUID)).
std::string accept_for(const std::string& key) {
    std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
    return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

std::string new_key(std::mt19937& rng) {
    unsigned char raw[16];
    for (auto& b : raw) b = static_cast<unsigned char>(rng());
    unsigned char out[25];
    int n = EVP_EncodeBlock(out, raw, sizeof raw);
    return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

bool has_token(std::string_view value, std::string_view token) {
    // A comma-separated header value holds `token` (case-insensitive): "Upgrade", "keep-alive, Upgrade".
    std::string v = lower(std::string(value)), t = lower(std::string(token));
    std::size_t at = 0;
    while (at <= v.size()) {
        std::size_t comma = v.find(',', at);
        if (trim(std::string_view(v).substr(at, comma - at)) == t) return true;
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return false;
}

enum Opcode : unsigned char { cont = 0x0, text = 0x1, binary = 0x2, close_op = 0x8, ping_op = 0x9, pong_op = 0xA };
constexpr std::size_t max_message = 1u << 24;  // the largest message accepted (16 MiB)
constexpr std::size_t read_size = 1u << 18;    // bytes asked of the socket per read

template <class Stream>
class Impl final : public Connection {
public:
    template <class... Args>
    Impl(Url url, Args&&... args)
        : url_(std::move(url)),
          stream_(std::forward<Args>(args)...),
          grace_(stream_.get_executor()),
          close_wait_(stream_.get_executor()),
          rng_(std::random_device{}()) {
        in_.resize(read_size);
    }

    asio::awaitable<void> open(double timeout) override {
        auto& tcp_layer = beast::get_lowest_layer(stream_);
        tcp::resolver resolver(co_await asio::this_coro::executor);
        boost::system::error_code ec;
        auto endpoints = co_await resolver.async_resolve(
            url_.host, url_.port, asio::redirect_error(use_awaitable, ec));
        if (ec)
            throw ConnectError({Failure::transient, "cannot resolve " + url_.host + ": " + ec.message(), 0,
                                "DNS lookup of " + url_.host + " failed (" + ec.message() + "): no internet access?"});
        tcp_layer.expires_after(secs(timeout));
        co_await tcp_layer.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
        if (ec) throw ConnectError(describe_connect(ec, "connect", url_, timeout));
        tcp_layer.socket().set_option(tcp::no_delay(true));
        if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
            // SNI, and the certificate must name the host.
            if (!SSL_set_tlsext_host_name(stream_.native_handle(), url_.host.c_str()))
                throw ConnectError({Failure::fatal, "cannot set TLS SNI for " + url_.host, 0,
                                    url_.host + ": cannot set TLS SNI"});
            stream_.set_verify_callback(asio::ssl::host_name_verification(url_.host));
            co_await stream_.async_handshake(asio::ssl::stream_base::client,
                                             asio::redirect_error(use_awaitable, ec));
            if (ec) throw ConnectError(describe_connect(ec, "TLS handshake", url_, timeout));
        }
        // The upgrade (RFC 6455 4.1), within the same timeout.
        tcp_layer.expires_after(secs(timeout));
        http::request<http::empty_body> req{http::verb::get, url_.target, 11};
        std::string key = new_key(rng_);
        req.set(http::field::host, url_.host_header());
        req.set(http::field::upgrade, "websocket");
        req.set(http::field::connection, "Upgrade");
        req.set(http::field::sec_websocket_key, key);
        req.set(http::field::sec_websocket_version, "13");
        req.set(http::field::user_agent, "btcrec/1 (btclib C++ twin)");
        co_await http::async_write(stream_, req, asio::redirect_error(use_awaitable, ec));
        if (ec) throw ConnectError(describe_connect(ec, "WebSocket handshake", url_, timeout));
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(1u << 20);
        co_await http::async_read(stream_, buffer, parser, asio::redirect_error(use_awaitable, ec));
        if (ec && !parser.is_header_done()) throw ConnectError(describe_connect(ec, "WebSocket handshake", url_, timeout));
        const auto& res = parser.get();
        if (res.result_int() != 101) {
            std::string text = "HTTP " + std::to_string(res.result_int()) + " " + std::string(res.reason());
            std::string body = res.body();
            while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
            if (!body.empty()) text += ": " + body.substr(0, 300);  // not the contract: an excerpt
            int status = static_cast<int>(res.result_int());
            std::string explained = status == 451 ? url_.host + " refused with HTTP 451: the exchange blocks this region"  // not the contract: HTTP
                                                  : url_.host + " refused the WebSocket handshake with HTTP " +
                                                        std::to_string(status);
            throw ConnectError({Failure::status, text, status, explained});
        }
        if (!has_token(res[http::field::upgrade], "websocket") || !has_token(res[http::field::connection], "upgrade") ||
            res[http::field::sec_websocket_accept] != accept_for(key))
            throw ConnectError({Failure::transient, "WebSocket handshake: the server's answer is not an upgrade", 0,
                                url_.host + ": the answer to the WebSocket handshake is not an upgrade"});
        tcp_layer.expires_never();
        // Frames that came with the answer are the first to read.
        auto rest = buffer.cdata();
        if (rest.size() > in_.size()) in_.resize(rest.size());
        std::memcpy(in_.data(), rest.data(), rest.size());
        begin_ = 0;
        end_ = rest.size();
        open_ = true;
    }

    asio::awaitable<void> read_some(const OnMessage& on_message) override {
        while (true) {
            std::size_t handed = handle(on_message);
            if (!failure_.empty()) {  // a protocol error: say why with a close frame, then end
                queue(close_op, close_payload(failure_code_, ""));
                co_await flush();
                ended();
                throw Closed(failure_);
            }
            if (close_received_) {
                if (!close_sent_) {  // answer the server's close (RFC 6455 5.5.1)
                    close_sent_ = true;
                    queue(close_op, close_payload(close_code_, ""));
                }
                co_await flush();
                ended();
                std::string text = "closed by the server with code " + std::to_string(close_code_);
                if (!close_reason_.empty()) text += " (" + close_reason_ + ")";
                throw Closed(text);
            }
            if (!out_.empty()) co_await flush();  // pongs
            if (handed) co_return;
            co_await fill();
        }
    }

    asio::awaitable<void> send_text(std::string text) override {
        queue(text_op(), text);
        co_await flush();
    }

    asio::awaitable<void> ping() override {
        queue(ping_op, {});
        co_await flush();
    }

    asio::awaitable<void> close(double timeout) override {
        if (!open_ || close_received_) co_return;
        if (!close_sent_) {
            close_sent_ = true;
            queue(close_op, close_payload(1000, ""));
            co_await flush();
        }
        // The reader sees the server's answer and wakes us; at the latest after `timeout`.
        close_wait_.expires_after(secs(timeout));
        boost::system::error_code ec;
        if (open_ && !close_received_) co_await close_wait_.async_wait(asio::redirect_error(use_awaitable, ec));
        abort();
    }

    void abort() override {
        boost::system::error_code ec;
        grace_.cancel();
        close_wait_.cancel();
        open_ = false;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(stream_).socket().close(ec);
    }

    void drop(double grace) override {
        boost::system::error_code ec;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
        grace_.expires_after(secs(grace));
        grace_.async_wait([this](const boost::system::error_code& e) {
            if (!e) abort();
        });
    }

private:
    Url url_;
    Stream stream_;
    asio::steady_timer grace_, close_wait_;
    std::mt19937 rng_;
    std::vector<char> in_;          // received bytes; [begin_, end_) not yet handled
    std::size_t begin_ = 0, end_ = 0;
    std::string message_;           // a fragmented message being joined
    bool fragmented_ = false, fragmented_text_ = false;
    bool open_ = false, close_sent_ = false, close_received_ = false;
    int close_code_ = 0;
    std::string close_reason_;
    std::string failure_;           // a protocol error, and the close code that says so
    int failure_code_ = 0;
    std::string out_;               // frames to write; one writer at a time
    bool writing_ = false;

    static constexpr Opcode text_op() { return text; }

    void ended() {
        open_ = false;
        close_wait_.cancel();
    }

    bool fail(int code, std::string why) {
        failure_code_ = code;
        failure_ = "protocol error (sent close " + std::to_string(code) + "): " + why;
        return false;
    }

    // Every complete frame in [begin_, end_): messages to `on_message`, pings answered, a
    // close noted. Returns how many messages were handed over.
    std::size_t handle(const OnMessage& on_message) {
        std::size_t handed = 0;
        while (!close_received_ && failure_.empty()) {
            const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + begin_);
            std::size_t avail = end_ - begin_;
            if (avail < 2) break;
            bool fin = p[0] & 0x80;
            unsigned op = p[0] & 0x0F;
            std::uint64_t len = p[1] & 0x7F;
            std::size_t head = 2;
            if (len == 126) {
                if (avail < 4) break;
                len = (std::uint64_t{p[2]} << 8) | p[3];
                head = 4;
            } else if (len == 127) {
                if (avail < 10) break;
                len = 0;
                for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
                head = 10;
            }
            if (p[0] & 0x70) { fail(1002, "reserved bits set"); break; }
            if (p[1] & 0x80) { fail(1002, "masked frame from the server"); break; }
            if (len > max_message) { fail(1009, "message too big"); break; }
            if (avail < head + len) {
                grow(head + len);
                break;
            }
            std::string_view payload(in_.data() + begin_ + head, static_cast<std::size_t>(len));
            begin_ += head + static_cast<std::size_t>(len);
            if (op >= close_op) {
                if (!fin || len > 125) { fail(1002, "bad control frame"); break; }
                if (op == ping_op) queue(pong_op, payload);
                else if (op == close_op) closing(payload);
                else if (op != pong_op) fail(1002, "unknown opcode " + std::to_string(op));
                continue;
            }
            if (op == text || op == binary) {
                if (fragmented_) { fail(1002, "a new message inside a fragmented one"); break; }
                if (fin) {
                    if (op == text && !valid_utf8(payload)) { fail(1007, "text frame is not valid UTF-8"); break; }
                    ++handed;
                    on_message(payload);
                } else {
                    fragmented_ = true;
                    fragmented_text_ = op == text;
                    message_.assign(payload);
                }
            } else if (op == cont) {
                if (!fragmented_) { fail(1002, "a continuation without a message"); break; }
                if (message_.size() + payload.size() > max_message) { fail(1009, "message too big"); break; }
                message_.append(payload);
                if (fin) {
                    fragmented_ = false;
                    if (fragmented_text_ && !valid_utf8(message_)) { fail(1007, "text message is not valid UTF-8"); break; }
                    ++handed;
                    on_message(message_);
                }
            } else {
                fail(1002, "unknown opcode " + std::to_string(op));
            }
        }
        return handed;
    }

    void closing(std::string_view payload) {
        close_received_ = true;
        close_code_ = 0;  // no code given (RFC 6455 7.1.5: 1005, shown as Beast did: 0)
        if (payload.size() >= 2) {
            close_code_ = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
            close_reason_.assign(payload.substr(2));
        }
        close_wait_.cancel();
    }

    // Room for a frame of `need` bytes (a flood's frames fit the first buffer many times).
    void grow(std::size_t need) {
        if (need > in_.size()) in_.resize(std::max(need, 2 * in_.size()));
    }

    // Read more bytes after what is unhandled; throws Closed when the connection ends.
    asio::awaitable<void> fill() {
        if (begin_ > 0) {
            std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (end_ == in_.size()) grow(2 * in_.size());
        boost::system::error_code ec;
        std::size_t n = co_await stream_.async_read_some(asio::buffer(in_.data() + end_, in_.size() - end_),
                                                         asio::redirect_error(use_awaitable, ec));
        if (ec) {
            ended();
            throw Closed("connection lost without a close frame (1006): " + ec.message());
        }
        end_ += n;
    }

    static std::string close_payload(int code, std::string_view reason) {
        std::string out;
        if (code) {
            out.push_back(static_cast<char>((code >> 8) & 0xFF));
            out.push_back(static_cast<char>(code & 0xFF));
            out.append(reason);
        }
        return out;
    }

    // A client frame: FIN, the opcode, the mask bit and a fresh mask (RFC 6455 5.3).
    void queue(Opcode op, std::string_view payload) {
        out_.push_back(static_cast<char>(0x80 | op));
        std::size_t n = payload.size();
        if (n < 126) {
            out_.push_back(static_cast<char>(0x80 | n));
        } else if (n < (1u << 16)) {
            out_.push_back(static_cast<char>(0x80 | 126));
            out_.push_back(static_cast<char>(n >> 8));
            out_.push_back(static_cast<char>(n & 0xFF));
        } else {
            out_.push_back(static_cast<char>(0x80 | 127));
            for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(static_cast<char>((n >> shift) & 0xFF));
        }
        std::uint32_t mask = rng_();
        char key[4];
        std::memcpy(key, &mask, 4);
        out_.append(key, 4);
        std::size_t at = out_.size();
        out_.append(payload);
        for (std::size_t i = 0; i < n; ++i) out_[at + i] ^= key[i & 3];
    }

    // Write what is queued. One writer at a time: a second caller's frames are written by the
    // first, which loops until the queue is empty (its caller keeps the connection alive).
    asio::awaitable<void> flush() {
        if (writing_) co_return;
        writing_ = true;
        std::string chunk;
        while (!out_.empty() && open_) {
            chunk.clear();
            chunk.swap(out_);
            boost::system::error_code ec;
            co_await asio::async_write(stream_, asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
            if (ec) {
                out_.clear();  // the reader reports how the connection ended
                break;
            }
        }
        writing_ = false;
    }
};

using PlainWs = beast::tcp_stream;
using TlsWs = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

std::unique_ptr<Connection> Connection::make(asio::any_io_executor ex, asio::ssl::context& tls,
                                             const Url& url) {
    if (url.tls) return std::make_unique<Impl<TlsWs>>(url, ex, tls);
    return std::make_unique<Impl<PlainWs>>(url, ex);
}

}  // namespace btcrec
