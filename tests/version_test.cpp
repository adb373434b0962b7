// version.hpp: the macros agree with each other and with project(VERSION) in CMakeLists.txt
// (passed in as TOKENAUTH_PROJECT_VERSION), so a release cannot bump one and forget the other.
#include "tokenauth/version.hpp"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("version.hpp equals the CMake project version") {
  CHECK(std::string(TOKENAUTH_VERSION_STRING) == TOKENAUTH_PROJECT_VERSION);
  const std::string parts = std::to_string(TOKENAUTH_VERSION_MAJOR) + "." +
                            std::to_string(TOKENAUTH_VERSION_MINOR) + "." +
                            std::to_string(TOKENAUTH_VERSION_PATCH);
  CHECK(parts == TOKENAUTH_VERSION_STRING);
  CHECK(TOKENAUTH_VERSION ==
        TOKENAUTH_VERSION_MAJOR * 10000 + TOKENAUTH_VERSION_MINOR * 100 + TOKENAUTH_VERSION_PATCH);
  static_assert(TOKENAUTH_VERSION_MINOR < 100 && TOKENAUTH_VERSION_PATCH < 100,
                "TOKENAUTH_VERSION packs minor and patch into two digits each");
}
