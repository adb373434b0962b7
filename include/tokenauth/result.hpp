// result<T>: a value or a tokenauth error code, for the no-throw API (verify, rotate, ...).
// Like std::expected, reduced to what the library needs. value() throws std::system_error when
// called on an error, which is the throwing convenience path.
#pragma once

#include <optional>
#include <system_error>
#include <utility>

#include "tokenauth/error.hpp"

namespace tokenauth {

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : value_(std::move(value)) {}   // NOLINT(google-explicit-constructor)
  result(std::error_code ec) : error_(ec) {}      // NOLINT(google-explicit-constructor)
  result(errc e) : error_(make_error_code(e)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  std::error_code error() const noexcept { return error_; }

  T& value() & {
    check();
    return *value_;
  }
  const T& value() const& {
    check();
    return *value_;
  }
  T&& value() && {
    check();
    return std::move(*value_);
  }

  // Unchecked access; only after testing has_value().
  T& operator*() noexcept { return *value_; }
  const T& operator*() const noexcept { return *value_; }
  T* operator->() noexcept { return &*value_; }
  const T* operator->() const noexcept { return &*value_; }

 private:
  void check() const {
    if (!value_) throw std::system_error(error_);
  }

  std::optional<T> value_;
  std::error_code error_;
};

}  // namespace tokenauth
