#include "http_test_server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <thread>
#include <type_traits>

namespace tokenauth::test {

namespace {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
}  // namespace

class http_test_server::impl {
 public:
  explicit impl(std::unique_ptr<ssl::context> tls)
      : tls_(std::move(tls)),
        acceptor_(ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        port_(acceptor_.local_endpoint().port()) {
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~impl() {
    boost::asio::post(ioc_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      ioc_.stop();
    });
    thread_.join();
  }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  unsigned short port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }

  void set_reply(reply r) {
    const std::lock_guard<std::mutex> lock(mutex_);
    reply_ = std::move(r);
  }
  std::size_t requests() const { return requests_; }
  std::string last_if_none_match() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return last_if_none_match_;
  }

 private:
  template <class Stream>
  class session : public std::enable_shared_from_this<session<Stream>> {
   public:
    session(impl& server, Stream stream) : server_(server), stream_(std::move(stream)) {}

    void start() {
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        read();
      } else {
        stream_.async_handshake(ssl::stream_base::server,
                                [self = this->shared_from_this()](beast::error_code ec) {
                                  if (!ec) self->read();
                                });
      }
    }

   private:
    void read() {
      http::async_read(stream_, buffer_, request_,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec) self->respond();
                       });
    }

    void respond() {
      const reply r = server_.on_request(request_);
      if (r.hang) {
        server_.hung_.push_back(this->shared_from_this());  // io thread only
        return;
      }
      const bool not_modified = !r.etag.empty() && request_[http::field::if_none_match] == r.etag;
      response_.result(not_modified ? 304U : r.status);
      response_.version(11);
      for (const auto& [name, value] : r.headers) response_.set(name, value);
      if (!r.etag.empty()) response_.set(http::field::etag, r.etag);
      if (!not_modified) response_.body() = r.body;
      response_.prepare_payload();
      http::async_write(stream_, response_,
                        [self = this->shared_from_this()](beast::error_code, std::size_t) {
                          beast::error_code ignored;
                          beast::get_lowest_layer(self->stream_)
                              .socket()
                              .shutdown(tcp::socket::shutdown_both, ignored);
                        });
    }

    impl& server_;
    Stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
  };

  reply on_request(const http::request<http::string_body>& request) {
    ++requests_;
    const std::lock_guard<std::mutex> lock(mutex_);
    last_if_none_match_ = std::string(request[http::field::if_none_match]);
    return reply_;
  }

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed
      if (tls_) {
        using stream = beast::ssl_stream<beast::tcp_stream>;
        std::make_shared<session<stream>>(*this, stream(std::move(socket), *tls_))->start();
      } else {
        std::make_shared<session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)))
            ->start();
      }
      accept();
    });
  }

  std::unique_ptr<ssl::context> tls_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_;
  std::vector<std::shared_ptr<void>> hung_;  // unanswered sessions, kept open until the end

  mutable std::mutex mutex_;
  reply reply_;
  std::string last_if_none_match_;
  std::atomic<std::size_t> requests_{0};

  std::thread thread_;
};

namespace {
std::unique_ptr<ssl::context> make_tls(const std::string& chain, const std::string& key) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->use_certificate_chain(boost::asio::buffer(chain));
  ctx->use_private_key(boost::asio::buffer(key), ssl::context::pem);
  return ctx;
}
}  // namespace

http_test_server::http_test_server() : impl_(std::make_unique<impl>(nullptr)) {}
http_test_server::http_test_server(const std::string& cert_chain_pem, const std::string& key_pem)
    : impl_(std::make_unique<impl>(make_tls(cert_chain_pem, key_pem))) {}
http_test_server::~http_test_server() = default;

unsigned short http_test_server::port() const {
  return impl_->port();
}
std::string http_test_server::url(const std::string& path, const std::string& host) const {
  return std::string(impl_->tls() ? "https://" : "http://") + host + ":" +
         std::to_string(impl_->port()) + path;
}
void http_test_server::set_reply(reply r) {
  impl_->set_reply(std::move(r));
}
std::size_t http_test_server::requests() const {
  return impl_->requests();
}
std::string http_test_server::last_if_none_match() const {
  return impl_->last_if_none_match();
}

}  // namespace tokenauth::test
