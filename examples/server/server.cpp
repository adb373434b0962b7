#include "server.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "request_id.hpp"
#include "wire.hpp"

namespace tokenauth_server {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct shared_state {
  const config& cfg;
  app& application;
  access_log& log;
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};  // requests read and not yet fully answered
  // Open connections, and the listener's pause at --max-connections: a closing connection
  // that sees the pause calls slot_freed (set once, before the first accept).
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> accept_paused{false};
  std::function<void()> slot_freed = {};
  metrics* stats = nullptr;  // null: metrics off
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, shared_state& state) : stream_(std::move(socket)), state_(state) {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) client_address_ = peer.address().to_string();
    if (state_.stats) state_.stats->connection_opened();
  }

  ~session() {
    if (state_.stats) state_.stats->connection_closed();
    --state_.connections;
    if (state_.accept_paused && !state_.stopping) state_.slot_freed();
  }

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::read, shared_from_this()));
  }

 private:
  void read() {
    forwarded_for_.clear();
    request_id_.clear();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_.cfg.header_limit));
    parser_->body_limit(state_.cfg.body_limit);
    stream_.expires_after(std::chrono::seconds(state_.cfg.read_timeout));
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    ++state_.active;
    started_ = clock_type::now();
    auto& req = parser_->get();
    request r;
    r.method = req.method_string();
    r.target = req.target();
    for (const auto& f : req) {  // one pass over the fields; the first of each kind wins
      auto set = [&](std::string_view& v) {
        if (v.empty()) v = f.value();
      };
      switch (f.name()) {
        case bhttp::field::authorization:
          if (!r.authorization) r.authorization = f.value();
          break;
        case bhttp::field::host:
          set(r.host);
          break;
        case bhttp::field::cookie:
          set(r.cookie);
          break;
        case bhttp::field::origin:
          set(r.origin);
          break;
        case bhttp::field::content_type:
          set(r.content_type);
          break;
        case bhttp::field::if_none_match:
          set(r.if_none_match);
          break;
        case bhttp::field::unknown:  // X-Forwarded-For: several fields form one list
          if (beast::iequals(f.name_string(), "x-forwarded-for")) {
            if (!forwarded_for_.empty()) forwarded_for_ += ',';
            forwarded_for_.append(f.value().data(), f.value().size());
          } else if (request_id_.empty() && beast::iequals(f.name_string(), "x-request-id") &&
                     safe_request_id(f.value())) {
            request_id_.assign(f.value().data(), f.value().size());
          }
          break;
        default:
          break;
      }
    }
    r.client_address = client_address_;
    r.forwarded_for = forwarded_for_;
    r.body = req.body();
    method_ = r.method;
    route_ = route_index(request_path(r.target));
    keep_alive_ = req.keep_alive();
    std::optional<response> res = state_.application.handle(r, [this](response later) {
      // On a worker thread: hand the response back to this connection's strand.
      net::post(stream_.get_executor(), [this, later = std::move(later)]() mutable {
        auto self = std::move(self_);
        guard_.reset();
        send(std::move(later));
      });
    });
    if (res) return send(std::move(*res));
    self_ = shared_from_this();  // kept alive until the worker has answered
    guard_.emplace(stream_.get_executor());
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::header_limit || ec == bhttp::error::body_limit ||
        (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)) {
      ++state_.active;
      started_ = clock_type::now();
      method_ = "-";
      route_ = -1;
      keep_alive_ = false;
      const unsigned status = ec == bhttp::error::header_limit ? 431
                              : ec == bhttp::error::body_limit ? 413
                                                               : 400;
      return send(error_response(status, status == 431   ? "Request header too large"
                                         : status == 413 ? "Request body too large"
                                                         : "Malformed HTTP request"));
    }
    close();  // end of stream, timeout, reset: nobody to answer
  }

  void send(response res) {
    if (state_.stopping) keep_alive_ = false;
    status_ = res.status;
    if (request_id_.empty()) new_request_id(request_id_);
    res.headers.emplace_back("X-Request-Id", request_id_);
    out_.clear();
    serialize(res, keep_alive_, out_);
    stream_.expires_after(std::chrono::seconds(state_.cfg.read_timeout));
    net::async_write(stream_, net::buffer(out_),
                     beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started_);
    state_.log.add({request_id_, client_address_, method_,
                    route_ < 0 ? unmatched_route : route_names()[static_cast<std::size_t>(route_)],
                    status_, static_cast<std::uint64_t>(micros.count())});
    if (state_.stats)
      state_.stats->request(route_, method_, status_, static_cast<std::uint64_t>(micros.count()));
    --state_.active;
    if (ec) return close();
    if (!keep_alive_ || state_.stopping) return linger_close();
    await_request();
  }

  // Between requests on a keep-alive connection: the idle timeout until the next request's first
  // bytes, then the read timeout for the rest of it.
  void await_request() {
    if (buffer_.size() > 0) return read();  // pipelined: already here
    stream_.expires_after(std::chrono::seconds(state_.cfg.idle_timeout));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec)
                                return self->close();  // idle too long, or the client went away
                              self->buffer_.commit(n);
                              self->read();
                            });
  }

  // Half-close, then drain what the client still sends (for a short while), so a response sent
  // before reading the whole request is not lost to a TCP reset.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    drain(0);
  }

  void drain(std::size_t total) {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this(), total](
                                                            beast::error_code ec, std::size_t n) {
      if (ec || total + n > (1u << 20)) return self->close();
      self->buffer_.commit(n);
      self->drain(total + n);
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  shared_state& state_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string out_;  // the serialized response; capacity reused across requests
  std::string client_address_;
  std::string forwarded_for_;
  std::string request_id_;  // X-Request-Id: the client's when safe, else generated
  std::string_view method_;
  int route_ = -1;  // route_index() of the request's path
  unsigned status_ = 0;
  bool keep_alive_ = false;
  clock_type::time_point started_;
  std::shared_ptr<session> self_;
  std::optional<net::executor_work_guard<beast::tcp_stream::executor_type>> guard_;
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, shared_state& state)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), state_(state) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void start() {
    state_.slot_freed = [weak = weak_from_this()] {
      if (auto self = weak.lock())
        net::post(self->acceptor_.get_executor(), [self] { self->resume(); });
    };
    accept();
  }

  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      self->backoff_timer_.cancel();
    });
  }

 private:
  // On the acceptor's strand, with no accept outstanding. At --max-connections it pauses: further
  // connections wait in the kernel's backlog until one closes (~session calls slot_freed).
  void accept() {
    state_.accept_paused = true;  // first, then the count: ~session decrements, then looks
    if (state_.connections >= max_connections_) return;
    state_.accept_paused = false;
    acceptor_.async_accept(connection_executor(),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void resume() {
    if (acceptor_.is_open() && state_.accept_paused.exchange(false)) accept();
  }

  // A connection's handlers must never run concurrently. With one I/O thread that holds by
  // itself; only with more does each connection need a strand (measured: the strand's
  // reference counting and locking cost ~7% of a /getnumber request on one thread).
  net::any_io_executor connection_executor() {
    if (state_.cfg.threads == 1) return ioc_.get_executor();
    return net::make_strand(ioc_);
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      backoff_ = {};
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      ++state_.connections;
      std::make_shared<session>(std::move(socket), state_)->start();
    } else if (out_of_resources(ec)) {
      // The connection stays in the backlog and the socket stays readable: accepting again at
      // once would spin a core until a descriptor frees up. Back off, doubling up to 1 s.
      backoff_ = std::min<std::chrono::milliseconds>(
          backoff_.count() == 0 ? std::chrono::milliseconds(10) : backoff_ * 2,
          std::chrono::seconds(1));
      backoff_timer_.expires_after(backoff_);
      backoff_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && self->acceptor_.is_open()) self->accept();
      });
      return;
    }
    accept();
  }

  static bool out_of_resources(const beast::error_code& ec) {
    namespace errc = boost::system::errc;
    return ec == errc::too_many_files_open || ec == errc::too_many_files_open_in_system ||
           ec == errc::no_buffer_space || ec == errc::not_enough_memory;
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  shared_state& state_;
  const std::size_t max_connections_ = connection_limit(state_.cfg);
  net::steady_timer backoff_timer_{acceptor_.get_executor()};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace

struct server::impl {
  impl(const config& cfg, app& application, access_log& log, metrics* stats)
      : state{cfg, application, log, {}, {}, {}, {}, {}, stats},
        ioc(static_cast<int>(cfg.threads)),
        signals(ioc),
        hangup(ioc),
        drain_timer(ioc),
        acceptor(std::make_shared<listener>(
            ioc, tcp::endpoint(net::ip::make_address(cfg.host), cfg.port), state)) {}

  void wait_for_hangup() {
    hangup.async_wait([this](beast::error_code ec, int) {
      if (ec) return;
      on_hangup();
      wait_for_hangup();
    });
  }

  void check_drained(clock_type::time_point deadline) {
    if (state.active == 0 || clock_type::now() >= deadline) return ioc.stop();
    drain_timer.expires_after(std::chrono::milliseconds(10));
    drain_timer.async_wait([this, deadline](beast::error_code) { check_drained(deadline); });
  }

  shared_state state;
  net::io_context ioc;
  net::signal_set signals;
  net::signal_set hangup;
  std::function<void()> on_hangup;
  net::steady_timer drain_timer;
  std::shared_ptr<listener> acceptor;
};

server::server(const config& cfg, app& application, access_log& log, metrics* stats)
    : impl_(std::make_unique<impl>(cfg, application, log, stats)) {
  impl_->acceptor->start();
}

server::~server() = default;

std::uint16_t server::port() const {
  return impl_->acceptor->port();
}

void server::stop_on_signals() {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.async_wait([this](beast::error_code ec, int) {
    if (!ec) stop();
  });
}

void server::on_hangup(std::function<void()> fn) {
  impl_->on_hangup = std::move(fn);
  impl_->hangup.add(SIGHUP);
  impl_->wait_for_hangup();
}

void server::run() {
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < impl_->state.cfg.threads; ++i)
    threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void server::stop() {
  net::post(impl_->ioc, [this] {
    if (impl_->state.stopping.exchange(true)) return;
    beast::error_code ignored;
    impl_->signals.cancel(ignored);
    impl_->hangup.cancel(ignored);
    impl_->acceptor->close();
    impl_->check_drained(clock_type::now() + std::chrono::seconds(10));
  });
}

}  // namespace tokenauth_server
