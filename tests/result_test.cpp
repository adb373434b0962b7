// result.hpp and clock.hpp: a value or an error code; value() on an error throws that code.
#include "tokenauth/result.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "tokenauth/clock.hpp"

using tokenauth::errc;
using tokenauth::result;

TEST_CASE("a result holds a value or an error, never both") {
  const result<std::string> ok(std::string("v"));
  REQUIRE(ok);
  CHECK(ok.has_value());
  CHECK(*ok == "v");
  CHECK(ok->size() == 1);
  CHECK_FALSE(ok.error());

  const result<std::string> bad(errc::store_unavailable);
  CHECK_FALSE(bad);
  CHECK(bad.error() == errc::store_unavailable);
  try {
    (void)bad.value();
    FAIL("value() of an error did not throw");
  } catch (const std::system_error& e) {
    CHECK(e.code() == errc::store_unavailable);
  }
  const result<int> from_std(std::make_error_code(std::errc::invalid_argument));
  CHECK(from_std.error() == std::errc::invalid_argument);
}

TEST_CASE("value() moves out of an rvalue result") {
  result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  const std::unique_ptr<int> p = std::move(r).value();
  REQUIRE(p);
  CHECK(*p == 7);
}

TEST_CASE("the system clock counts seconds since the epoch") {
  const tokenauth::unix_seconds now = tokenauth::system_clock_now();
  CHECK(now > 1'700'000'000);  // after November 2023
  CHECK(now < 4'102'444'800);  // before 2100: seconds, not milliseconds
  const tokenauth::clock_fn fixed = [] { return tokenauth::unix_seconds{42}; };
  CHECK(fixed() == 42);
}
