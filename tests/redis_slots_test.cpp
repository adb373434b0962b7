// Redis Cluster slot routing: CRC16 and hash tags against the Redis Cluster specification, and
// the slot map.
#include "tokenauth/detail/redis_slots.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tokenauth/detail/family_id.hpp"

using namespace tokenauth::detail;

TEST_CASE("crc16_xmodem: the specification's check value and edge cases") {
  CHECK(crc16_xmodem("123456789") == 0x31C3);  // the vector in the Redis Cluster specification
  CHECK(crc16_xmodem("") == 0);
  CHECK(crc16_xmodem(std::string(1, '\0')) == 0);
  CHECK(crc16_xmodem("A") == 0x58E5);
  CHECK(crc16_xmodem(std::string_view("\xff\xff", 2)) == 0x1D0F);  // bytes >= 0x80 are unsigned
}

TEST_CASE("key_slot: values Redis itself reports (CLUSTER KEYSLOT)") {
  CHECK(key_slot("foo") == 12182);
  CHECK(key_slot("bar") == 5061);
  CHECK(key_slot("hello") == 866);
  CHECK(key_slot("123456789") == 0x31C3 % 16384);
  CHECK(key_slot("") == 0);
}

TEST_CASE("hash_tag: the rules of the specification") {
  CHECK(hash_tag("{user1000}.following") == "user1000");
  CHECK(hash_tag("{user1000}.followers") == "user1000");
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  CHECK(hash_tag("foo{}{bar}") == "foo{}{bar}");  // empty first tag: the whole key
  CHECK(hash_tag("foo{{bar}}zap") == "{bar");     // from the first '{' to the first '}'
  CHECK(hash_tag("foo{bar}{zap}") == "bar");      // only the first tag counts
  CHECK(hash_tag("no tag") == "no tag");
  CHECK(hash_tag("open{only") == "open{only");
  CHECK(hash_tag("close}{") == "close}{");
  CHECK(hash_tag("}{x}") == "x");
}

TEST_CASE("key_slot: every key of one user lies in one slot") {
  const std::string tag = tokenauth::detail::user_tag("alice");
  const std::string p = "tokenauth:{" + tag + "}";
  const unsigned slot = key_slot(p + "f:" + tag + "xxxxxxxxxxxxxxxxxxxxxxxx");
  const std::vector<std::string> keys{
      p + "t:" + tag + "yyyy", p + "i:alice", p + "i:{odd}user", p + "x", p + "w", p + "u:alice"};
  for (const std::string& k : keys) CHECK(key_slot(k) == slot);
}

TEST_CASE("slot_map: assign, look up, replace, and bad ranges are refused") {
  slot_map m;
  CHECK(m.empty());
  CHECK(m.master_of(0) == nullptr);
  REQUIRE(m.assign({{0, 5460, {"127.0.0.1", 7000}},
                    {5461, 10922, {"127.0.0.1", 7001}},
                    {10923, 16383, {"127.0.0.1", 7002}}}));
  CHECK(m.masters().size() == 3);
  CHECK(m.master_of(0)->port == 7000);
  CHECK(m.master_of(5460)->port == 7000);
  CHECK(m.master_of(5461)->port == 7001);
  CHECK(m.master_of(16383)->port == 7002);
  CHECK(m.master_of(16384) == nullptr);
  CHECK(m.master_of(key_slot("foo"))->port == 7002);

  // After a failover or resharding: one master serves two ranges; part of the space is open.
  REQUIRE(m.assign({{0, 100, {"10.0.0.1", 7000}}, {200, 300, {"10.0.0.1", 7000}}}));
  CHECK(m.masters().size() == 1);
  CHECK(m.master_of(100)->host == "10.0.0.1");
  CHECK(m.master_of(150) == nullptr);
  CHECK(m.master_of(300)->port == 7000);

  for (const auto& bad :
       {slot_range{10, 5, {"h", 1}}, slot_range{0, 16384, {"h", 1}}, slot_range{0, 1, {"", 1}},
        slot_range{0, 1, {"h", 0}}, slot_range{0, 1, {"h", 70000}}}) {
    CHECK_FALSE(m.assign({bad}));
    CHECK(m.master_of(100)->host == "10.0.0.1");  // unchanged
  }
}
