#include "connection.hpp"

#include <chrono>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>

namespace btcrec {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
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

asio::ssl::context make_tls_context() {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(asio::ssl::verify_peer);
    return ctx;
}

namespace {

std::chrono::steady_clock::duration secs(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// A connect error in plain words, and whether retrying may heal it.
Failure describe_connect(const boost::system::error_code& ec, const char* stage) {
    if (ec == beast::error::timeout) return {Failure::transient, std::string(stage) + ": no answer in time"};
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED)
        return {Failure::fatal, "TLS certificate verification failed (" + ec.message() + ")"};
    return {Failure::transient, std::string(stage) + ": " + ec.message()};
}

template <class WS>
class Impl final : public Connection {
public:
    template <class... Args>
    Impl(Url url, Args&&... args)
        : url_(std::move(url)), ws_(std::forward<Args>(args)...), grace_(ws_.get_executor()) {}

    asio::awaitable<void> open(double timeout) override {
        auto& tcp_layer = beast::get_lowest_layer(ws_);
        tcp::resolver resolver(co_await asio::this_coro::executor);
        boost::system::error_code ec;
        auto endpoints = co_await resolver.async_resolve(
            url_.host, url_.port, asio::redirect_error(use_awaitable, ec));
        if (ec) throw ConnectError({Failure::transient, "cannot resolve " + url_.host + ": " + ec.message()});
        tcp_layer.expires_after(secs(timeout));
        co_await tcp_layer.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
        if (ec) throw ConnectError(describe_connect(ec, "connect"));
        tcp_layer.socket().set_option(tcp::no_delay(true));
        if constexpr (!std::is_same_v<typename WS::next_layer_type, beast::tcp_stream>) {
            // SNI, and the certificate must name the host.
            if (!SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), url_.host.c_str()))
                throw ConnectError({Failure::fatal, "cannot set TLS SNI for " + url_.host});
            ws_.next_layer().set_verify_callback(asio::ssl::host_name_verification(url_.host));
            co_await ws_.next_layer().async_handshake(asio::ssl::stream_base::client,
                                                      asio::redirect_error(use_awaitable, ec));
            if (ec) throw ConnectError(describe_connect(ec, "TLS handshake"));
        }
        tcp_layer.expires_never();
        websocket::stream_base::timeout opts{};
        opts.handshake_timeout = secs(timeout);
        opts.idle_timeout = websocket::stream_base::none();
        opts.keep_alive_pings = false;  // Binance counts every client frame: pongs only
        ws_.set_option(opts);
        ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
            req.set(beast::http::field::user_agent, "btcrec/1 (btclib C++ twin)");
        }));
        ws_.read_message_max(1u << 24);
        websocket::response_type res;
        co_await ws_.async_handshake(res, url_.host_header(), url_.target,
                                     asio::redirect_error(use_awaitable, ec));
        if (ec == websocket::error::upgrade_declined || (ec && res.result_int() >= 300)) {  // not the contract: HTTP 3xx and up
            std::string text = "HTTP " + std::to_string(res.result_int()) + " " + std::string(res.reason());
            std::string body = res.body();
            while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
            if (!body.empty()) text += ": " + body.substr(0, 300);  // not the contract: an excerpt
            throw ConnectError({Failure::status, text, static_cast<int>(res.result_int())});
        }
        if (ec) throw ConnectError(describe_connect(ec, "WebSocket handshake"));
    }

    asio::awaitable<std::string_view> read() override {
        boost::system::error_code ec;
        co_await ws_.async_read(buffer_, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (ec == websocket::error::closed) {
                auto reason = ws_.reason();
                std::string text = "closed by the server with code " + std::to_string(reason.code);
                if (!reason.reason.empty()) text += " (" + std::string(reason.reason.c_str()) + ")";
                throw Closed(text);
            }
            throw Closed("connection lost without a close frame (1006): " + ec.message());
        }
        auto data = buffer_.cdata();
        co_return std::string_view(static_cast<const char*>(data.data()), data.size());
    }

    void consume() override { buffer_.consume(buffer_.size()); }

    asio::awaitable<void> send_text(std::string text) override {
        ws_.text(true);
        co_await ws_.async_write(asio::buffer(text), use_awaitable);
    }

    asio::awaitable<void> ping() override { co_await ws_.async_ping({}, use_awaitable); }

    asio::awaitable<void> close(double timeout) override {
        if (!ws_.is_open()) co_return;
        websocket::stream_base::timeout opts{};
        opts.handshake_timeout = secs(timeout);
        opts.idle_timeout = websocket::stream_base::none();
        opts.keep_alive_pings = false;
        ws_.set_option(opts);
        boost::system::error_code ec;
        co_await ws_.async_close(websocket::close_code::normal, asio::redirect_error(use_awaitable, ec));
        abort();
    }

    void abort() override {
        boost::system::error_code ec;
        grace_.cancel();
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(ws_).socket().close(ec);
    }

    void drop(double grace) override {
        boost::system::error_code ec;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_send, ec);
        grace_.expires_after(secs(grace));
        grace_.async_wait([this](const boost::system::error_code& e) {
            if (!e) abort();
        });
    }

private:
    Url url_;
    WS ws_;
    asio::steady_timer grace_;
    beast::flat_buffer buffer_;
};

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace

std::unique_ptr<Connection> Connection::make(asio::any_io_executor ex, asio::ssl::context& tls,
                                             const Url& url) {
    if (url.tls) return std::make_unique<Impl<TlsWs>>(url, ex, tls);
    return std::make_unique<Impl<PlainWs>>(url, ex);
}

}  // namespace btcrec
