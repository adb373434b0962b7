// result<T>: exactly one of a value or a tokenauth error code, for the no-throw API (verify,
// rotate, ...). Like std::expected, reduced to what the library needs. value() throws
// std::system_error when called on an error, which is the throwing convenience path.
// Building a result from an empty std::error_code ("no error") is a programming error: it would
// be neither a value nor an error, so the constructor throws std::invalid_argument.
#pragma once

#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "tokenauth/error.hpp"

namespace tokenauth {

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  // An error; throws std::invalid_argument when `ec` is empty.
  result(std::error_code ec) : error_(checked(ec)) {}  // NOLINT(google-explicit-constructor)
  result(errc e) : result(make_error_code(e)) {}       // NOLINT(google-explicit-constructor)

  bool has_value() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  // The error; an empty code when the result holds a value.
  [[nodiscard]] std::error_code error() const noexcept { return error_; }

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

  // The value, or `fallback` converted to T when the result holds an error.
  template <class U>
  T value_or(U&& fallback) const& {
    static_assert(std::is_copy_constructible_v<T> && std::is_convertible_v<U&&, T>,
                  "value_or: T must be copyable and U convertible to T");
    return value_ ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && {
    static_assert(std::is_move_constructible_v<T> && std::is_convertible_v<U&&, T>,
                  "value_or: T must be movable and U convertible to T");
    return value_ ? std::move(*value_) : static_cast<T>(std::forward<U>(fallback));
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
  [[nodiscard]] static std::error_code checked(std::error_code ec) {
    if (!ec) throw std::invalid_argument("tokenauth::result: built from an empty error_code");
    return ec;
  }

  std::optional<T> value_;
  std::error_code error_;
};

}  // namespace tokenauth
