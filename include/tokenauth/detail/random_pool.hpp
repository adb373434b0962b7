// The per-thread pool of CSPRNG bytes behind refresh.hpp's openssl_random. Internal: not API.
#pragma once

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstring>

namespace tokenauth::detail {

// Bumped in a forked child, so the child never hands out bytes its parent also buffered.
inline std::atomic<unsigned>& fork_generation() noexcept {
  static std::atomic<unsigned> generation{0};
  return generation;
}

// OpenSSL RAND_bytes, drawn 4 KiB at a time per thread: each RAND_bytes call costs ~1 us of DRBG
// overhead whatever its size, the largest single cost of a rotation otherwise. Bytes handed out
// are wiped from the buffer; a fork discards the child's copy.
inline bool pooled_random_bytes(unsigned char* out, std::size_t n) noexcept {
  struct pool {
    unsigned char bytes[4096];
    std::size_t used = sizeof bytes;
    unsigned generation = 0;
    ~pool() { OPENSSL_cleanse(bytes, sizeof bytes); }
  };
  static const bool registered = [] {
    return pthread_atfork(nullptr, nullptr, [] { ++fork_generation(); }) == 0;
  }();
  thread_local pool p;
  const unsigned generation = fork_generation().load(std::memory_order_relaxed);
  if (!registered || n > sizeof p.bytes / 4) return RAND_bytes(out, static_cast<int>(n)) == 1;
  if (p.generation != generation || sizeof p.bytes - p.used < n) {
    if (RAND_bytes(p.bytes, sizeof p.bytes) != 1) return false;
    p.used = 0;
    p.generation = generation;
  }
  std::memcpy(out, p.bytes + p.used, n);
  OPENSSL_cleanse(p.bytes + p.used, n);
  p.used += n;
  return true;
}

}  // namespace tokenauth::detail
