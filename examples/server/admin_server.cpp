#include "admin_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>

namespace tokenauth_server {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class admin_session : public std::enable_shared_from_this<admin_session> {
 public:
  admin_session(tcp::socket&& s, const metrics& m) : stream_(std::move(s)), metrics_(m) {}

  void start() {
    parser_.header_limit(8 * 1024);
    parser_.body_limit(0);
    stream_.expires_after(std::chrono::seconds(10));
    bhttp::async_read(stream_, buffer_, parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (!ec) self->answer();
                      });
  }

 private:
  void answer() {
    const auto& req = parser_.get();
    res_.version(11);
    res_.keep_alive(false);
    if (req.method() == bhttp::verb::get && req.target() == "/metrics") {
      res_.result(bhttp::status::ok);
      res_.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res_.body() = metrics_.exposition();
    } else {
      res_.result(bhttp::status::not_found);
      res_.set(bhttp::field::content_type, "text/plain; charset=utf-8");
      res_.body() = "only GET /metrics is served here\n";
    }
    res_.prepare_payload();
    bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  beast::tcp_stream stream_;
  const metrics& metrics_;
  beast::flat_buffer buffer_;
  bhttp::request_parser<bhttp::empty_body> parser_;
  bhttp::response<bhttp::string_body> res_;
};

}  // namespace

struct admin_server::impl {
  impl(const listen_address& where, const metrics& m)
      : acceptor(ioc, tcp::endpoint(net::ip::make_address(where.host), where.port)), stats(m) {}

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) std::make_shared<admin_session>(std::move(s), stats)->start();
      accept();
    });
  }

  net::io_context ioc{1};
  tcp::acceptor acceptor;
  const metrics& stats;
  std::thread thread;
};

admin_server::admin_server(const listen_address& where, const metrics& m)
    : impl_(std::make_unique<impl>(where, m)) {
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

admin_server::~admin_server() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t admin_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

}  // namespace tokenauth_server
