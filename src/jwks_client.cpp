// The JWKS client: the HTTP(S) fetch (Boost.Beast over Asio, OpenSSL TLS), the freshness rules
// and the atomically swapped key set. See include/tokenauth/jwks_client.hpp.
#include "tokenauth/jwks_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace tokenauth {

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using std::chrono::milliseconds;
using time_point = std::chrono::steady_clock::time_point;

constexpr std::uint32_t max_header_size = 16 * 1024;

// An http(s) URL taken apart; text is the URL as given, for messages.
struct url_parts {
  bool tls = false;
  std::string host;  // without the brackets of an IPv6 literal
  std::string port;
  std::string target;
  std::string host_header;
  std::string text;
};

// http(s)://host[:port][/path[?query]]: no user info, no fragment, printable ASCII only (the
// target goes into the request line as it is).
std::optional<url_parts> parse_url(std::string_view url) {
  for (const char c : url)
    if (c <= 0x20 || c >= 0x7f) return std::nullopt;
  url_parts out;
  out.text = std::string(url);
  std::string_view rest = url;
  if (rest.substr(0, 8) == "https://") {
    out.tls = true;
    rest.remove_prefix(8);
  } else if (rest.substr(0, 7) == "http://") {
    rest.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos || out.target.find('#') != std::string::npos)
    return std::nullopt;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return std::nullopt;
    if (!after.empty()) port = after.substr(1);
    boost::system::error_code ec;
    (void)net::ip::make_address_v6(out.host, ec);
    if (ec) return std::nullopt;
  } else {
    const std::size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return std::nullopt;
    const int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) return std::nullopt;
    out.port = std::to_string(n);
  }
  out.host_header = authority.front() == '[' ? "[" + out.host + "]" : out.host;
  if (out.port != (out.tls ? "443" : "80")) out.host_header += ":" + out.port;
  return out;
}

// The max-age of a Cache-Control value (RFC 9111 §5.2.2.1); no-store and no-cache count as 0.
std::optional<std::chrono::seconds> cache_max_age(std::string_view value) {
  std::optional<std::chrono::seconds> out;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    std::string lower(item);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "no-store" || lower == "no-cache") return std::chrono::seconds(0);
    if (lower.rfind("max-age=", 0) != 0) continue;
    std::string_view digits = std::string_view(lower).substr(8);
    if (digits.size() >= 2 && digits.front() == '"' && digits.back() == '"')
      digits = digits.substr(1, digits.size() - 2);
    if (digits.empty()) continue;
    std::int64_t n = 0;
    bool ok = true;
    for (const char c : digits) {
      if (!std::isdigit(static_cast<unsigned char>(c))) ok = false;
      if (!ok) break;
      n = std::min<std::int64_t>(n * 10 + (c - '0'), std::int64_t{1} << 40);  // saturate
    }
    if (ok) out = std::chrono::seconds(n);
  }
  return out;
}

// One HTTP exchange's outcome; error is empty on success (any status).
struct fetched {
  std::string error;
  unsigned status = 0;
  std::string body;
  std::string etag;
  std::optional<std::chrono::seconds> max_age;
};

// Runs one asynchronous operation to completion; the stream's expiry bounds it in time.
template <class Start>
beast::error_code run_op(net::io_context& ioc, Start start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

class fetcher {
 public:
  fetcher(url_parts url, const jwks_client_options& o)
      : url_(std::move(url)),
        timeout_(o.fetch_timeout),
        max_body_(o.max_response_size),
        tls_(ssl::context::tls_client) {
    if (!url_.tls) return;
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
    tls_.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (o.ca_file.empty())
      tls_.set_default_verify_paths(ec);
    else
      tls_.load_verify_file(o.ca_file, ec);
    if (ec)
      throw std::invalid_argument(
          "tokenauth: jwks_client: cannot load " +
          (o.ca_file.empty() ? std::string("the system CA store") : "ca_file " + o.ca_file) + ": " +
          ec.message());
  }

  const url_parts& url() const noexcept { return url_; }

  // GET the URL, with If-None-Match when etag is not empty.
  fetched get(const std::string& etag) {
    net::io_context ioc;
    const time_point deadline = std::chrono::steady_clock::now() + timeout_;
    tcp::resolver::results_type endpoints;
    if (std::string why = resolve(ioc, deadline, endpoints); !why.empty()) return fail(why);
    if (!url_.tls) {
      beast::tcp_stream stream(ioc);
      return exchange(ioc, stream, endpoints, deadline, etag);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, tls_);
    SSL* ssl_handle = stream.native_handle();
    beast::error_code ec;
    (void)net::ip::make_address(url_.host, ec);
    if (ec) {  // a name: SNI and a DNS name check
      SSL_set_tlsext_host_name(ssl_handle, url_.host.c_str());
      SSL_set1_host(ssl_handle, url_.host.c_str());
    } else {  // an IP literal: no SNI (RFC 6066 §3), the certificate must name the address
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url_.host.c_str());
    }
    return exchange(ioc, stream, endpoints, deadline, etag);
  }

 private:
  fetched fail(const std::string& why) const {
    fetched out;
    out.error = url_.text + ": " + why;
    return out;
  }

  std::string timed_out() const {
    return "timed out after " + std::to_string(timeout_.count()) + " ms";
  }

  std::string resolve(net::io_context& ioc, time_point deadline,
                      tcp::resolver::results_type& endpoints) {
    tcp::resolver resolver(ioc);
    net::steady_timer timer(ioc, deadline);
    bool done = false;
    beast::error_code ec;
    timer.async_wait([&](beast::error_code e) {
      if (!e && !done) resolver.cancel();
    });
    resolver.async_resolve(url_.host, url_.port,
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             done = true;
                             ec = e;
                             endpoints = std::move(r);
                             timer.cancel();
                           });
    ioc.run();
    if (ec == net::error::operation_aborted)
      return "cannot resolve " + url_.host + ": " + timed_out();
    if (ec) return "cannot resolve " + url_.host + ": " + ec.message();
    return {};
  }

  template <class Stream>
  fetched exchange(net::io_context& ioc, Stream& stream,
                   const tcp::resolver::results_type& endpoints, time_point deadline,
                   const std::string& etag) {
    constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;
    beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_at(deadline);
    auto why = [&](const char* step, beast::error_code ec) {
      if (ec == beast::error::timeout) return fail(std::string(step) + ": " + timed_out());
      return fail(std::string(step) + ": " + ec.message());
    };

    if (auto ec = run_op(ioc, [&](auto h) { tcp_layer.async_connect(endpoints, h); }))
      return why("cannot connect", ec);
    if constexpr (tls) {
      if (auto ec =
              run_op(ioc, [&](auto h) { stream.async_handshake(ssl::stream_base::client, h); })) {
        const long verify = SSL_get_verify_result(stream.native_handle());
        if (verify != X509_V_OK)
          return fail(std::string("TLS handshake: certificate verify failed (") +
                      X509_verify_cert_error_string(verify) + ")");
        return why("TLS handshake", ec);
      }
    }

    http::request<http::empty_body> request{http::verb::get, url_.target, 11};
    request.set(http::field::host, url_.host_header);
    request.set(http::field::user_agent, "tokenauth-jwks-client");
    request.set(http::field::accept, "application/jwk-set+json, application/json");
    request.set(http::field::connection, "close");
    if (!etag.empty()) request.set(http::field::if_none_match, etag);
    if (auto ec = run_op(ioc, [&](auto h) { http::async_write(stream, request, h); }))
      return why("cannot send the request", ec);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(max_header_size);
    parser.body_limit(max_body_);
    const auto ec = run_op(ioc, [&](auto h) { http::async_read(stream, buffer, parser, h); });
    if (ec == http::error::body_limit || ec == http::error::header_limit)
      return fail("response larger than " + std::to_string(max_body_) + " bytes");
    if (ec && !(parser.is_done() && ec == ssl::error::stream_truncated))
      return why("cannot read the response", ec);

    auto& response = parser.get();
    fetched out;
    out.status = response.result_int();
    out.etag = std::string(response[http::field::etag]);
    out.max_age = cache_max_age(response[http::field::cache_control]);
    out.body = std::move(response.body());
    return out;
  }

  url_parts url_;
  milliseconds timeout_;
  std::size_t max_body_;
  ssl::context tls_;
};

}  // namespace

class jwks_client::impl {
 public:
  explicit impl(jwks_client_options options)
      : options_(checked(std::move(options))), fetcher_(url_of(options_), options_) {
    if (options_.background_refresh) thread_ = std::thread([this] { run_background(); });
  }

  ~impl() {
    {
      const std::lock_guard<std::mutex> lock(thread_mutex_);
      stopping_ = true;
    }
    thread_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  std::string refresh() {
    const std::lock_guard<std::mutex> lock(fetch_mutex_);
    const std::shared_ptr<const key_state> previous = std::atomic_load(&state_);
    ++fetches_;
    std::string error;
    std::shared_ptr<key_state> next;
    std::optional<std::chrono::seconds> max_age;
    try {
      fetched f = fetcher_.get(previous ? previous->etag : std::string());
      error = std::move(f.error);
      max_age = f.max_age;
      if (!error.empty()) {
        // the fetch failed
      } else if (f.status == 304 && previous) {
        ++not_modified_;
        next = std::make_shared<key_state>(*previous);
      } else if (f.status == 200) {
        next = build(f.body, previous.get(), error);
        if (next) next->etag = std::move(f.etag);
      } else if (f.status >= 300 && f.status < 400) {
        error =
            url() + ": HTTP status " + std::to_string(f.status) + " (redirects are not followed)";
      } else {
        error = url() + ": HTTP status " + std::to_string(f.status);
      }
    } catch (const std::exception& e) {
      error = url() + ": " + e.what();
      next.reset();
    }
    if (next) {
      const auto fresh_for =
          std::clamp<milliseconds>(max_age ? milliseconds(*max_age) : options_.default_max_age,
                                   options_.min_max_age, options_.max_max_age);
      next->fresh_for = fresh_for;
      next->usable_until = options_.clock() + fresh_for + options_.max_stale;
      std::atomic_store(&state_, std::shared_ptr<const key_state>(std::move(next)));
    } else {
      ++fetch_failures_;
    }
    const std::lock_guard<std::mutex> stats_lock(stats_mutex_);
    last_error_ = error;
    return error;
  }

  std::shared_ptr<const verifier> current() const {
    const auto s = std::atomic_load(&state_);
    return usable(s) ? s->checker : nullptr;
  }

  verify_result verify(std::string_view token, const verify_cache* cache) {
    auto seen = std::atomic_load(&state_);
    if (!usable(seen)) {
      seen = fetch_on_demand(seen);
      if (!usable(seen)) return errc::keys_unavailable;
    }
    verify_result r = verify_with(*seen->checker, token, cache);
    if (r || r.error() != errc::unknown_kid) return r;
    const auto fresh = fetch_on_demand(seen);
    if (!usable(fresh) || fresh->checker == seen->checker) return r;
    return verify_with(*fresh->checker, token, cache);
  }

  jwks_client_stats stats() const {
    jwks_client_stats out;
    out.fetches = fetches_;
    out.fetch_failures = fetch_failures_;
    out.not_modified = not_modified_;
    out.demand_fetches = demand_fetches_;
    out.demand_limited = demand_limited_;
    if (const auto s = std::atomic_load(&state_)) {
      out.keys = s->keys.size();
      out.skipped = s->skipped;
      out.fresh_for = s->fresh_for;
      out.usable = usable(s);
    }
    const std::lock_guard<std::mutex> lock(stats_mutex_);
    out.last_error = last_error_;
    return out;
  }

 private:
  // One fetched set; immutable once published.
  struct key_state {
    key_set keys;
    std::shared_ptr<const tokenauth::verifier> checker;  // built from keys
    std::vector<skipped_jwk> skipped;
    std::string etag;
    milliseconds fresh_for{0};
    time_point usable_until{};
  };

  static jwks_client_options checked(jwks_client_options o) {
    auto bad = [](const std::string& why) {
      return std::invalid_argument("tokenauth: jwks_client: " + why);
    };
    const auto url = parse_url(o.url);
    if (!url) throw bad("url must be http(s)://host[:port][/path], got '" + o.url + "'");
    if (!url->tls && !o.allow_http) throw bad("plain http:// needs allow_http: " + o.url);
    if (o.min_max_age <= milliseconds(0) || o.min_max_age > o.max_max_age)
      throw bad("need 0 < min_max_age <= max_max_age");
    if (o.retry_interval <= milliseconds(0) || o.fetch_timeout <= milliseconds(0) ||
        o.refetch_interval < milliseconds(0) || o.max_stale < milliseconds(0))
      throw bad("retry_interval and fetch_timeout must be positive, the others not negative");
    if (o.max_response_size == 0) throw bad("max_response_size must be positive");
    if (o.verify.algorithms.empty()) throw bad("verify.algorithms is empty");
    if (!o.clock) throw bad("clock is empty");
    return o;
  }

  static url_parts url_of(const jwks_client_options& o) { return *parse_url(o.url); }

  const std::string& url() const noexcept { return fetcher_.url().text; }

  bool usable(const std::shared_ptr<const key_state>& s) const {
    return s && options_.clock() < s->usable_until;
  }

  static verify_result verify_with(const verifier& v, std::string_view token,
                                   const verify_cache* cache) {
    return cache ? cache->verify(v, token) : v.verify(token);
  }

  // A state for the JWKS `body`, or nullptr with `error` set. Symmetric keys are dropped; keys
  // the previous set holds unchanged are carried over (their key::id() stays).
  std::shared_ptr<key_state> build(const std::string& body, const key_state* previous,
                                   std::string& error) const {
    auto parsed = parse_jwks(body, options_.jwk);
    if (!parsed) {
      error = url() + ": not a JWKS (" + parsed.error().message() + ")";
      return nullptr;
    }
    auto next = std::make_shared<key_state>();
    next->skipped = std::move(parsed->skipped);
    key_set asymmetric;
    for (const auto& [kid, k] : parsed->keys) {
      if (k.type() == key_type::oct)
        next->skipped.push_back({kid, "symmetric key: a JWKS client uses public keys only"});
      else
        asymmetric.add(kid, k);
    }
    if (asymmetric.empty()) {
      error = url() + ": the JWKS holds no usable key";
      if (!next->skipped.empty())
        error += " (" + next->skipped.front().kid + ": " + next->skipped.front().reason + ")";
      return nullptr;
    }
    next->keys = previous ? reuse_unchanged_keys(previous->keys, asymmetric) : asymmetric;
    next->checker = std::make_shared<const verifier>(next->keys, options_.verify);
    return next;
  }

  // After a request found `seen` lacking (no usable set, or not the token's kid): the state to
  // retry with. Fetches at most once per refetch_interval; callers arriving during that fetch
  // wait for it, the others get `seen` back at once.
  std::shared_ptr<const key_state> fetch_on_demand(const std::shared_ptr<const key_state>& seen) {
    std::unique_lock<std::mutex> lock(demand_mutex_);
    if (auto now_state = std::atomic_load(&state_); now_state != seen) return now_state;
    if (demand_in_flight_) {
      demand_cv_.wait(lock, [this] { return !demand_in_flight_; });
      return std::atomic_load(&state_);
    }
    const auto now = options_.clock();
    if (last_demand_ && now < *last_demand_ + options_.refetch_interval) {
      ++demand_limited_;
      return seen;
    }
    last_demand_ = now;
    demand_in_flight_ = true;
    ++demand_fetches_;
    lock.unlock();
    struct done_guard {  // wakes the waiters even if refresh() throws
      impl& self;
      ~done_guard() {
        {
          const std::lock_guard<std::mutex> l(self.demand_mutex_);
          self.demand_in_flight_ = false;
        }
        self.demand_cv_.notify_all();
      }
    } guard{*this};
    (void)refresh();
    return std::atomic_load(&state_);
  }

  void run_background() {
    std::unique_lock<std::mutex> lock(thread_mutex_);
    while (!stopping_) {
      lock.unlock();
      const bool ok = refresh().empty();
      const auto s = std::atomic_load(&state_);
      lock.lock();
      // Refetch when three quarters of the freshness have passed: the new set arrives before
      // the old one goes stale, even with a slow issuer.
      const milliseconds wait = ok && s ? s->fresh_for * 3 / 4 : options_.retry_interval;
      thread_cv_.wait_for(lock, wait, [this] { return stopping_; });
    }
  }

  const jwks_client_options options_;
  fetcher fetcher_;  // used under fetch_mutex_ only

  std::shared_ptr<const key_state> state_;  // std::atomic_load / std::atomic_store only

  std::mutex fetch_mutex_;  // one fetch at a time

  std::mutex demand_mutex_;
  std::condition_variable demand_cv_;
  bool demand_in_flight_ = false;
  std::optional<time_point> last_demand_;

  mutable std::mutex stats_mutex_;
  std::string last_error_;
  std::atomic<std::uint64_t> fetches_{0}, fetch_failures_{0}, not_modified_{0}, demand_fetches_{0},
      demand_limited_{0};

  std::mutex thread_mutex_;
  std::condition_variable thread_cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything above exists
};

jwks_client::jwks_client(jwks_client_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

jwks_client::~jwks_client() = default;

std::string jwks_client::refresh() {
  return impl_->refresh();
}

std::shared_ptr<const verifier> jwks_client::current() const {
  return impl_->current();
}

verify_result jwks_client::verify(std::string_view token) const {
  return impl_->verify(token, nullptr);
}

verify_result jwks_client::verify(std::string_view token, const verify_cache& cache) const {
  return impl_->verify(token, &cache);
}

jwks_client_stats jwks_client::stats() const {
  return impl_->stats();
}

}  // namespace tokenauth
