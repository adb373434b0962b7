// bcrypt through libcrypt, and the bounded worker pool that keeps it off the I/O threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "password.hpp"
#include "worker_pool.hpp"

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

TEST_CASE("verify_evenly does one dummy-cost hash's work whatever the stored hash") {
  auto reference = bcrypt::hash("dummy", 7);
  auto low = bcrypt::hash("correct horse", 4);
  auto same = bcrypt::hash("correct horse", 7);
  auto high = bcrypt::hash("correct horse", 8);
  REQUIRE(reference);
  REQUIRE(low);
  REQUIRE(same);
  REQUIRE(high);
  CHECK(bcrypt::cost_of(*reference) == 7);
  CHECK(bcrypt::cost_of(*low) == 4);
  CHECK_FALSE(bcrypt::cost_of("$1$salt$qJH7.N4xYta3aEG/dfqo/0"));
  CHECK_FALSE(bcrypt::cost_of("$2b$99$" + reference->substr(7)));

  // Rounds the plan runs: 2^cost per setting.
  auto rounds = [](const std::vector<std::string>& plan) {
    std::uint64_t n = 0;
    for (const auto& setting : plan) n += std::uint64_t{1} << std::stoi(setting.substr(4, 2));
    return n;
  };
  const std::string salt = reference->substr(7, 22);

  // Not bcrypt (plaintext, another crypt scheme, empty): the dummy hash itself.
  for (const std::string stored : {"hunter2", "$1$salt$qJH7.N4xYta3aEG/dfqo/0", ""})
    CHECK(bcrypt::work_plan(stored, *reference) == std::vector<std::string>{*reference});
  // A cheaper bcrypt hash: itself, then padding at costs 4, 5, 6 with the dummy's salt.
  const auto low_plan = bcrypt::work_plan(*low, *reference);
  CHECK(low_plan ==
        std::vector<std::string>{*low, "$2b$04$" + salt, "$2b$05$" + salt, "$2b$06$" + salt});
  CHECK(rounds(low_plan) == rounds({*reference}));
  // The dummy's cost: itself alone. A dearer hash: itself alone (the documented residual case).
  CHECK(bcrypt::work_plan(*same, *reference) == std::vector<std::string>{*same});
  CHECK(bcrypt::work_plan(*high, *reference) == std::vector<std::string>{*high});

  // The answer is the stored hash's, never the padding's.
  CHECK(bcrypt::verify_evenly("correct horse", *low, *reference));
  CHECK_FALSE(bcrypt::verify_evenly("correct horsE", *low, *reference));
  CHECK(bcrypt::verify_evenly("correct horse", *same, *reference));
  CHECK_FALSE(bcrypt::verify_evenly("dummy", "hunter2", *reference));  // not the dummy's password
  CHECK_FALSE(bcrypt::verify_evenly("hunter2", "hunter2", *reference));
  CHECK_FALSE(bcrypt::verify_evenly("dummy", *reference + "x", *reference));
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
