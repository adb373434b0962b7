// memory_store against the shared store contract, plus its own bounded-memory guarantee.
#include "tokenauth/memory_store.hpp"

#include <cstdint>
#include <memory>

namespace {
struct memory_fixture {
  std::shared_ptr<tokenauth::memory_store> backend = std::make_shared<tokenauth::memory_store>();
  bool ready() const { return true; }
  std::shared_ptr<tokenauth::refresh_store> store() const { return backend; }
  std::shared_ptr<tokenauth::refresh_store> second_handle() const { return backend; }
  std::uint64_t work() const { return backend->index_entries_examined(); }
  std::size_t history_size() const { return 20'000; }
};
}  // namespace

#define TOKENAUTH_CONTRACT_FIXTURE memory_fixture
#include "store_contract.hpp"

TEST_CASE("memory_store: ended families are swept, so memory stays bounded under churn") {
  using namespace tokenauth;
  auto store = std::make_shared<memory_store>();
  contract::manual_clock clock;
  refresh_options o = contract::options(clock);
  o.token_ttl = 60;
  o.family_lifetime = 600;
  const refresh_service svc(store, o);
  std::size_t peak = 0;
  for (int i = 0; i < 20'000; ++i) {
    auto t = svc.issue("user" + std::to_string(i % 50));
    REQUIRE(t);
    if (i % 3 == 0) {
      REQUIRE_FALSE(svc.revoke(t->token));
      REQUIRE(svc.rotate(t->token).error() == errc::refresh_family_revoked);
    } else {
      REQUIRE(svc.rotate(t->token));
    }
    clock.advance(30);  // every family ends within a few steps
    peak = std::max(peak, store->family_count());
  }
  // Families live 60 s + retention (86400 s) = ~2882 steps; the sweep keeps at most about twice
  // that.
  CHECK(peak < 2 * (86'460 / 30) + 1024);
  CHECK(store->family_count() < 20'000);
}
