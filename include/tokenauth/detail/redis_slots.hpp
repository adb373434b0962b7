// Redis Cluster key-to-slot routing (the Redis Cluster specification, "Keys distribution model"):
// CRC16/XMODEM of the key's hash tag, modulo 16384, and a map from slot to the master that
// serves it, as CLUSTER SLOTS reports it. hiredis 0.14 has no cluster support; this is the part
// of it redis_store needs, free of I/O so that it can be tested alone.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenauth::detail {

inline constexpr unsigned cluster_slots = 16384;

// CRC16 with polynomial 0x1021, initial value 0, no reflection (XMODEM). "123456789" -> 0x31C3.
inline std::uint16_t crc16_xmodem(std::string_view data) noexcept {
  static constexpr auto table = [] {
    std::array<std::uint16_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
      unsigned crc = i << 8;
      for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
      t[i] = static_cast<std::uint16_t>(crc);
    }
    return t;
  }();
  unsigned crc = 0;
  for (const char c : data)
    crc = (crc << 8) ^ table[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff];
  return static_cast<std::uint16_t>(crc);
}

// The part of a key that is hashed: between the first '{' and the first '}' after it, when that
// is non-empty; otherwise the whole key.
inline std::string_view hash_tag(std::string_view key) noexcept {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

inline unsigned key_slot(std::string_view key) noexcept {
  return crc16_xmodem(hash_tag(key)) % cluster_slots;
}

struct cluster_node {
  std::string host;
  int port = 0;
  bool operator==(const cluster_node& o) const { return port == o.port && host == o.host; }
};

// One entry of CLUSTER SLOTS: slots first..last (inclusive) are served by `master`.
struct slot_range {
  unsigned first = 0, last = 0;
  cluster_node master;
};

// Which master serves each slot. Slots no range covers have no node (the cluster is incomplete
// or the map is not loaded yet).
class slot_map {
 public:
  // Replaces the map. False (and the map unchanged) when a range is out of bounds or reversed.
  bool assign(const std::vector<slot_range>& ranges) {
    std::vector<cluster_node> nodes;
    std::vector<std::int32_t> owner(cluster_slots, -1);
    for (const auto& r : ranges) {
      if (r.first > r.last || r.last >= cluster_slots || r.master.host.empty() ||
          r.master.port <= 0 || r.master.port > 65535)
        return false;
      std::int32_t index = 0;
      while (index < static_cast<std::int32_t>(nodes.size()) && !(nodes[index] == r.master))
        ++index;
      if (index == static_cast<std::int32_t>(nodes.size())) nodes.push_back(r.master);
      for (unsigned s = r.first; s <= r.last; ++s) owner[s] = index;
    }
    nodes_ = std::move(nodes);
    owner_ = std::move(owner);
    return true;
  }

  // The master of `slot`, or nullptr.
  const cluster_node* master_of(unsigned slot) const noexcept {
    if (slot >= owner_.size() || owner_[slot] < 0) return nullptr;
    return &nodes_[static_cast<std::size_t>(owner_[slot])];
  }

  const std::vector<cluster_node>& masters() const noexcept { return nodes_; }
  bool empty() const noexcept { return nodes_.empty(); }

 private:
  std::vector<cluster_node> nodes_;
  std::vector<std::int32_t> owner_;
};

}  // namespace tokenauth::detail
