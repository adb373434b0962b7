// bcrypt through libcrypt, and the bounded worker pool that keeps it off the I/O threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "password.hpp"

using namespace tokenauth_server;

TEST_CASE("bcrypt hashes with $2b$ at the requested cost and verifies") {
  auto h = bcrypt::hash("correct horse", 4);
  REQUIRE(h);
  CHECK(h->rfind("$2b$04$", 0) == 0);
  CHECK(h->size() == 60);
  CHECK(bcrypt::verify("correct horse", *h));
  CHECK_FALSE(bcrypt::verify("correct horsE", *h));
  CHECK_FALSE(bcrypt::verify("", *h));
  CHECK(*bcrypt::hash("correct horse", 4) != *h);  // fresh salt each time
}

TEST_CASE("bcrypt verifies existing $2a$, $2b$ and $2y$ hashes") {
  // The OpenBSD / crypt_blowfish test vector for "U*U".
  const std::string tail = "05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
  for (const char* prefix : {"$2a$", "$2b$", "$2y$"}) {
    CHECK(bcrypt::verify("U*U", prefix + tail));
    CHECK_FALSE(bcrypt::verify("U*V", prefix + tail));
  }
}

TEST_CASE("bcrypt refuses what it would silently truncate, and non-bcrypt hashes") {
  const std::string p72(72, 'a');
  auto h = bcrypt::hash(p72, 4);
  REQUIRE(h);
  CHECK(bcrypt::verify(p72, *h));
  CHECK_FALSE(bcrypt::verify(p72 + "b", *h));  // would match after truncation
  CHECK_FALSE(bcrypt::hash(p72 + "b", 4));
  CHECK_FALSE(bcrypt::hash(std::string("ab\0cd", 5), 4));
  auto abc = bcrypt::hash("ab", 4);
  REQUIRE(abc);
  CHECK_FALSE(bcrypt::verify(std::string("ab\0cd", 5), *abc));
  CHECK_FALSE(bcrypt::verify("x", "abJnggxhB/yWI"));  // DES crypt
  CHECK_FALSE(bcrypt::verify("x", "$1$salt$qJH7.N4xYta3aEG/dfqo/0"));
  CHECK_FALSE(bcrypt::verify("x", ""));
}

TEST_CASE("worker_pool refuses jobs beyond its queue bound", "[tsan]") {
  std::mutex m;
  std::condition_variable cv;
  bool release = false, started = false;
  std::atomic<int> done{0};
  {
    worker_pool pool(1, 1);
    REQUIRE(pool.try_post([&] {
      std::unique_lock lock(m);
      started = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      ++done;
    }));
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return started; });  // the only thread is busy now
    }
    CHECK(pool.try_post([&] { ++done; }));        // waits in the queue
    CHECK_FALSE(pool.try_post([&] { ++done; }));  // queue full
    {
      std::lock_guard lock(m);
      release = true;
    }
    cv.notify_all();
    pool.stop();  // runs what was queued
    CHECK_FALSE(pool.try_post([&] { ++done; }));
  }
  CHECK(done == 2);
}
