// result.hpp and clock.hpp: a result holds exactly one of a value or an error code; value() on an
// error throws that code; an empty code is refused; the system clock counts Unix seconds.
#include "tokenauth/result.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "tokenauth/clock.hpp"

using tokenauth::errc;
using tokenauth::result;

namespace {

result<std::string> lookup(bool found) {
  if (!found) return errc::refresh_token_unknown;
  return std::string("value");
}

}  // namespace

TEST_CASE("a result with a value has no error") {
  const result<std::string> ok = lookup(true);
  REQUIRE(ok);
  CHECK(ok.has_value());
  CHECK(*ok == "value");
  CHECK(ok->size() == 5);
  CHECK(ok.value() == "value");
  CHECK_FALSE(ok.error());
  CHECK(ok.value_or("fallback") == "value");
}

TEST_CASE("a result with an error has no value, and value() throws that error") {
  const result<std::string> bad = lookup(false);
  CHECK_FALSE(bad);
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error() == errc::refresh_token_unknown);
  CHECK(bad.error().message() == "refresh token unknown");
  CHECK(bad.value_or("fallback") == "fallback");
  try {
    (void)bad.value();
    FAIL("value() of an error did not throw");
  } catch (const std::system_error& e) {
    CHECK(e.code() == errc::refresh_token_unknown);
  }

  const result<int> from_std(std::make_error_code(std::errc::invalid_argument));
  CHECK_FALSE(from_std);
  CHECK(from_std.error() == std::errc::invalid_argument);
  CHECK(from_std.value_or(-1) == -1);
}

TEST_CASE("building a result from an empty error code is refused") {
  CHECK_THROWS_AS(result<int>(std::error_code{}), std::invalid_argument);
  CHECK_THROWS_AS(result<int>(errc{}), std::invalid_argument);
  // std::invalid_argument is a std::logic_error: a programming error, not a runtime condition.
  CHECK_THROWS_AS(result<std::string>(std::error_code(0, tokenauth::error_category())),
                  std::logic_error);
  // A non-empty code of any category is an error.
  CHECK_NOTHROW(result<int>(std::error_code(5, std::generic_category())));
}

TEST_CASE("value() and value_or() move out of an rvalue result") {
  result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  const std::unique_ptr<int> p = std::move(r).value();
  REQUIRE(p);
  CHECK(*p == 7);

  result<std::unique_ptr<int>> has(std::make_unique<int>(8));
  const std::unique_ptr<int> q = std::move(has).value_or(nullptr);
  REQUIRE(q);
  CHECK(*q == 8);

  result<std::unique_ptr<int>> none(errc::store_unavailable);
  // Catch2 spells its expression a second time (never evaluated), which clang-tidy reads as a use
  // after the move. (Outside CHECK, GCC 12 -O1 with ASan warns that `none` may be uninitialized.)
  CHECK(std::move(none).value_or(nullptr) == nullptr);  // NOLINT(bugprone-use-after-move)

  result<std::unique_ptr<int>> gone(errc::store_unavailable);
  CHECK_THROWS_AS(std::move(gone).value(), std::system_error);
}

TEST_CASE("a result is a value type: copies keep value or error") {
  const result<std::string> ok = lookup(true);
  const result<std::string> ok_copy = ok;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(*ok_copy == "value");
  const result<std::string> bad = lookup(false);
  result<std::string> assigned = lookup(true);
  assigned = bad;
  CHECK_FALSE(assigned);
  CHECK(assigned.error() == errc::refresh_token_unknown);
  static_assert(std::is_nothrow_move_constructible_v<result<std::string>>);
}

TEST_CASE("the system clock counts whole seconds since the Unix epoch") {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  using std::chrono::system_clock;
  const auto before = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  const tokenauth::unix_seconds now = tokenauth::system_clock_now();
  const auto after = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  CHECK(before <= now);
  CHECK(now <= after);
  CHECK(now > 1'700'000'000);  // after November 2023: seconds, not minutes or days
  CHECK(now < 4'102'444'800);  // before 2100: seconds, not milliseconds
}
