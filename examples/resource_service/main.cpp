// tokenauth-resource-service: a second service that trusts the auth server's access tokens
// without holding any secret. Settings in settings.hpp, routes in orders.hpp; this file is the
// HTTP/1.1 transport (Boost.Beast: a session per connection, timeouts and size limits on every
// request) and the wiring.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "orders.hpp"
#include "settings.hpp"
#include "tokenauth/jwks_client.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using namespace resource_service;

namespace {

constexpr auto request_timeout = std::chrono::seconds(30);
constexpr std::uint32_t max_header_size = 16 * 1024;
constexpr std::uint64_t max_body_size = 8 * 1024;  // only GETs are served

// One connection: read a request, answer it, repeat while the client keeps the connection.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, const orders_api& api) : stream_(std::move(socket)), api_(api) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(max_header_size);
    parser_->body_limit(max_body_size);
    stream_.expires_after(request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return close();
    if (ec) {  // malformed or oversized: answer once, then close
      respond({400,
               R"({"ok":false,"status":400,"message":"Bad Request"})",
               {{"Content-Type", "application/json"}}},
              false);
      return;
    }
    const auto& request = parser_->get();
    respond(
        api_.handle(request.method_string(), request.target(), request[http::field::authorization]),
        request.keep_alive());
  }

  void respond(const resource_service::response& r, bool keep_alive) {
    response_ = {};
    response_.result(r.status);
    response_.version(11);
    for (const auto& [name, value] : r.headers) response_.set(name, value);
    response_.body() = r.body;
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    stream_.expires_after(request_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
  const orders_api& api_;
};

void accept(tcp::acceptor& acceptor, const orders_api& api) {
  acceptor.async_accept(net::make_strand(acceptor.get_executor()),
                        [&acceptor, &api](beast::error_code ec, tcp::socket socket) {
                          if (!acceptor.is_open()) return;
                          if (!ec) std::make_shared<session>(std::move(socket), api)->read();
                          accept(acceptor, api);
                        });
}

tokenauth::jwks_client_options client_options(const settings& s) {
  tokenauth::jwks_client_options o;
  o.url = s.jwks_url;
  o.ca_file = s.ca_file;
  o.allow_http = s.allow_http;
  if (!s.issuer.empty()) o.verify.issuer = s.issuer;
  if (s.min_max_age) o.min_max_age = *s.min_max_age;
  if (s.refetch_interval) o.refetch_interval = *s.refetch_interval;
  if (s.max_stale) o.max_stale = *s.max_stale;
  if (s.retry_interval) o.retry_interval = *s.retry_interval;
  return o;
}

int fail(const std::string& what, const std::string& fix) {
  std::fprintf(stderr, "tokenauth-resource-service: %s (%s)\n", what.c_str(), fix.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto parsed = parse_settings({argv + 1, argv + argc}, [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  });
  if (!parsed.values) {
    std::fputs((parsed.message + "\n").c_str(), parsed.exit_code ? stderr : stdout);
    return parsed.exit_code;
  }
  const settings& s = *parsed.values;

  std::unique_ptr<tokenauth::jwks_client> keys;
  try {
    keys = std::make_unique<tokenauth::jwks_client>(client_options(s));
  } catch (const std::invalid_argument& e) {
    return fail(e.what(), "check --jwks-url, --ca-file and --allow-http");
  }
  orders_api api(*keys);

  const unsigned threads =
      s.threads ? s.threads : std::max(1u, std::thread::hardware_concurrency());
  net::io_context ioc(static_cast<int>(threads));
  tcp::acceptor acceptor(ioc);
  try {
    const tcp::endpoint endpoint(net::ip::make_address(s.host), s.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
  } catch (const boost::system::system_error& e) {
    return fail(
        "cannot listen on " + s.host + ":" + std::to_string(s.port) + ": " + e.code().message(),
        "choose another --listen or LISTEN");
  }
  accept(acceptor, api);

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    beast::error_code ignored;
    acceptor.close(ignored);
    ioc.stop();
  });

  std::printf("tokenauth-resource-service: listening on http://%s:%u, keys from %s\n",
              s.host.c_str(), static_cast<unsigned>(acceptor.local_endpoint().port()),
              s.jwks_url.c_str());
  std::fflush(stdout);

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  const auto c = api.cache_stats();
  std::printf(
      "tokenauth-resource-service: stopped (verified-token cache: %llu hits, %llu misses)\n",
      static_cast<unsigned long long>(c.hits), static_cast<unsigned long long>(c.misses));
}
