// The tokenauth version, for #if checks and for logging which library a program was built with.
// Kept equal to project(VERSION) in CMakeLists.txt by tests/version_test.cpp.
#pragma once

#define TOKENAUTH_VERSION_MAJOR 0
#define TOKENAUTH_VERSION_MINOR 1
#define TOKENAUTH_VERSION_PATCH 0
#define TOKENAUTH_VERSION_STRING "0.1.0"
// MAJOR * 10000 + MINOR * 100 + PATCH: `#if TOKENAUTH_VERSION >= 200` means 0.2.0 or newer.
#define TOKENAUTH_VERSION \
  (TOKENAUTH_VERSION_MAJOR * 10000 + TOKENAUTH_VERSION_MINOR * 100 + TOKENAUTH_VERSION_PATCH)
