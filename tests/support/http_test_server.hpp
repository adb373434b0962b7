// Test fixture: an in-process HTTP or HTTPS server on a free loopback port that answers every
// request with the reply the test sets (status, body, headers), counts the requests and can
// leave a request unanswered (to exercise client timeouts). One Asio thread of its own.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace tokenauth::test {

class http_test_server {
 public:
  struct reply {
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string etag;   // sent as ETag; a request with a matching If-None-Match gets 304
    bool hang = false;  // read the request, never answer
  };

  // Plain HTTP.
  http_test_server() : http_test_server(nullptr) {}
  // HTTPS with this certificate (chain, PEM) and private key (PEM).
  http_test_server(const std::string& cert_chain_pem, const std::string& key_pem)
      : http_test_server(make_tls(cert_chain_pem, key_pem)) {}

  ~http_test_server() {
    boost::asio::post(ioc_, [this] {
      boost::beast::error_code ignored;
      acceptor_.close(ignored);
      ioc_.stop();
    });
    thread_.join();
  }
  http_test_server(const http_test_server&) = delete;
  http_test_server& operator=(const http_test_server&) = delete;

  unsigned short port() const { return port_; }
  std::string url(const std::string& path = "/jwks.json",
                  const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_) + path;
  }

  void set_reply(reply r) {
    const std::lock_guard<std::mutex> lock(mutex_);
    reply_ = std::move(r);
  }
  // Requests read so far (answered or not).
  std::size_t requests() const { return requests_; }
  std::string last_if_none_match() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return last_if_none_match_;
  }

 private:
  using tcp = boost::asio::ip::tcp;
  explicit http_test_server(std::unique_ptr<boost::asio::ssl::context> tls)
      : tls_(std::move(tls)),
        acceptor_(ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  static std::unique_ptr<boost::asio::ssl::context> make_tls(const std::string& chain,
                                                             const std::string& key) {
    auto ctx = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    ctx->use_certificate_chain(boost::asio::buffer(chain));
    ctx->use_private_key(boost::asio::buffer(key), boost::asio::ssl::context::pem);
    return ctx;
  }

  template <class Stream>
  class session : public std::enable_shared_from_this<session<Stream>> {
   public:
    session(http_test_server& server, Stream stream)
        : server_(server), stream_(std::move(stream)) {}

    void start() {
      if constexpr (std::is_same_v<Stream, boost::beast::tcp_stream>) {
        read();
      } else {
        stream_.async_handshake(boost::asio::ssl::stream_base::server,
                                [self = this->shared_from_this()](boost::beast::error_code ec) {
                                  if (!ec) self->read();
                                });
      }
    }

   private:
    void read() {
      boost::beast::http::async_read(
          stream_, buffer_, request_,
          [self = this->shared_from_this()](boost::beast::error_code ec, std::size_t) {
            if (!ec) self->respond();
          });
    }

    void respond() {
      namespace http = boost::beast::http;
      const reply r = server_.on_request(request_);
      if (r.hang) {
        server_.hung_.push_back(this->shared_from_this());  // io thread only
        return;
      }
      const bool not_modified = !r.etag.empty() && request_[http::field::if_none_match] == r.etag;
      response_.result(not_modified ? 304u : r.status);
      response_.version(11);
      for (const auto& [name, value] : r.headers) response_.set(name, value);
      if (!r.etag.empty()) response_.set(http::field::etag, r.etag);
      if (!not_modified) response_.body() = r.body;
      response_.prepare_payload();
      http::async_write(stream_, response_,
                        [self = this->shared_from_this()](boost::beast::error_code, std::size_t) {
                          boost::beast::error_code ignored;
                          boost::beast::get_lowest_layer(self->stream_)
                              .socket()
                              .shutdown(tcp::socket::shutdown_both, ignored);
                        });
    }

    http_test_server& server_;
    Stream stream_;
    boost::beast::flat_buffer buffer_;
    boost::beast::http::request<boost::beast::http::string_body> request_;
    boost::beast::http::response<boost::beast::http::string_body> response_;
  };

  reply on_request(const boost::beast::http::request<boost::beast::http::string_body>& request) {
    ++requests_;
    const std::lock_guard<std::mutex> lock(mutex_);
    last_if_none_match_ = std::string(request[boost::beast::http::field::if_none_match]);
    return reply_;
  }

  void accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed
      if (tls_) {
        using stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
        std::make_shared<session<stream>>(*this, stream(std::move(socket), *tls_))->start();
      } else {
        std::make_shared<session<boost::beast::tcp_stream>>(
            *this, boost::beast::tcp_stream(std::move(socket)))
            ->start();
      }
      accept();
    });
  }

  std::unique_ptr<boost::asio::ssl::context> tls_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::vector<std::shared_ptr<void>> hung_;  // unanswered sessions, kept open until the end

  mutable std::mutex mutex_;
  reply reply_;
  std::string last_if_none_match_;
  std::atomic<std::size_t> requests_{0};

  std::thread thread_;
};

}  // namespace tokenauth::test
