//===- Status.h - errors as values for the attn runtime ---------*- C++ -*-===//
//
// The runtime reports every failure as a value with a message that names the
// problem (the tensor and dimension, the driver call, the compiler command),
// never as an exception or a crash, so hosts built with or without
// exceptions can use it alike.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_STATUS_H
#define ATTN_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace attn {

/// Success, or a failure with a message.
class Status {
public:
  /// Success.
  Status() = default;
  /// Success.
  static Status success() { return Status(); }
  /// A failure described by `message` (which must not be empty).
  static Status error(std::string message) {
    Status s;
    s.failed = true;
    s.text = std::move(message);
    return s;
  }
  /// True on success.
  bool ok() const { return !failed; }
  /// The failure's message; empty on success.
  const std::string &message() const { return text; }

private:
  bool failed = false;
  std::string text;
};

/// A value of type T, or the Status of why there is none.
template <typename T> class Expected {
public:
  /// Holds `value`.
  Expected(T value) : stored(std::move(value)) {}
  /// Holds the failure `status` (which must not be ok()).
  Expected(Status status) : failure(std::move(status)) {
    assert(!failure.ok() && "Expected needs a value or a failed Status");
  }
  /// True when a value is held.
  bool ok() const { return stored.has_value(); }
  /// True when a value is held.
  explicit operator bool() const { return ok(); }
  /// The value; only when ok().
  T &operator*() { return *stored; }
  /// The value; only when ok().
  const T &operator*() const { return *stored; }
  /// The value; only when ok().
  T *operator->() { return &*stored; }
  /// The value; only when ok().
  const T *operator->() const { return &*stored; }
  /// The failure (success when a value is held).
  const Status &status() const { return failure; }
  /// The failure's message; empty when a value is held.
  const std::string &message() const { return failure.message(); }

private:
  std::optional<T> stored;
  Status failure;
};

} // namespace attn

#endif // ATTN_STATUS_H
