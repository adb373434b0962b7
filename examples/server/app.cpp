#include "app.hpp"

#include <algorithm>
#include <stdexcept>

#include "csp.hpp"
#include "services.hpp"
#include "tokenauth/redis_store.hpp"

namespace tokenauth_server {

namespace http = tokenauth::http;

app::app(const config& cfg, std::shared_ptr<tokenauth::refresh_store> refresh_store,
         std::shared_ptr<user_store> users, tokenauth::clock_fn clock, metrics* stats) {
  // Login counters live beside the sessions: in Redis (any topology), shared by every instance,
  // when the refresh store is Redis; in this process otherwise.
  const bucket_limits per_account{cfg.login_rate_account, cfg.login_rate_account};
  const bucket_limits per_address{cfg.login_rate_address, cfg.login_rate_address};
  std::unique_ptr<login_throttle> throttle;
  if (auto* redis = dynamic_cast<tokenauth::redis_store*>(refresh_store.get()))
    throttle = make_redis_throttle(std::shared_ptr<tokenauth::redis_store>(refresh_store, redis),
                                   per_account, per_address);
  else
    throttle = make_memory_throttle(per_account, per_address);
  tokenauth::refresh_options ro;
  ro.token_ttl = cfg.refresh_ttl;
  ro.family_lifetime = std::max<tokenauth::unix_seconds>(cfg.refresh_ttl, 90 * 86400);
  ro.grace = cfg.refresh_grace;
  ro.max_families_per_user = cfg.max_sessions_per_user;
  ro.clock = clock;
  std::shared_ptr<tokenauth::observer> observer;  // null with metrics off: no call at all
  if (stats) observer = stats->library();
  ro.observer = observer;
  http::cookie_options cookie;
  // A __Host- cookie must have Path=/ (and Secure, no Domain: config.cpp enforces Secure).
  cookie.path = cfg.cookie_name.rfind("__Host-", 0) == 0 ? "/" : "/auth";
  cookie.max_age = cfg.refresh_ttl;
  cookie.secure = cfg.cookie_secure;
  cookie.same_site = cfg.cookie_same_site;
  auto dummy = bcrypt::hash("tokenauth dummy password", cfg.bcrypt_cost);
  if (!dummy) throw std::runtime_error("bcrypt is not available from libcrypt");
  tokenauth::verify_cache_options cache_options;
  cache_options.clock = clock;
  // services is an aggregate: std::make_unique cannot brace-initialise one before C++20.
  services_.reset(new services{cfg,  // NOLINT(modernize-make-unique)
                               {cfg, clock, observer},
                               tokenauth::verify_cache(cache_options),
                               tokenauth::refresh_service(std::move(refresh_store), ro),
                               std::move(users),
                               std::move(cookie),
                               std::move(*dummy),
                               demo_page_csp(),
                               session_ids(cfg.jwt_secret),
                               cfg.demo || loopback_host(cfg.host),
                               clock,
                               std::move(throttle),
                               address_share(cfg.bcrypt_queue_per_address),
                               {cfg.bcrypt_threads, cfg.bcrypt_queue, /*low_priority=*/true},
                               nullptr,
                               stats});
  if (cfg.store_threads > 0)
    services_->store_pool =
        std::make_unique<worker_pool>(cfg.store_threads, cfg.store_queue, /*low_priority=*/false);
}

app::~app() = default;

tokenauth::verify_cache_stats app::verified_token_stats() const {
  return services_->verified.stats();
}

std::pair<bool, std::string> app::reload_keys() {
  auto outcome = services_->keys.reload();
  return {outcome.ok, std::move(outcome.message)};
}

void app::stop_workers() {
  services_->password_pool.stop();
  if (services_->store_pool) services_->store_pool->stop();
}

std::optional<response> app::handle(const request& req, const resume_fn& resume) {
  return dispatch(req, resume, *services_);
}

}  // namespace tokenauth_server
