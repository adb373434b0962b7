// redis_store: a pool of hiredis connections and five Lua scripts, one per store operation.
//
// Keys (P = key_prefix, G = the user's tag, the first 8 characters of every family id of that user,
// see store.hpp). Every key of a user carries {G}, so each script touches one Cluster slot, and
// every script names every key it touches in KEYS:
//   P{G}f:<family>   hash  user, created, used, fexp, texp, gen, rot, revoked, seq
//   P{G}t:<family>   hash  token digest (32 raw bytes) -> generation
//   P{G}i:<user id>  zset  the user's listed families, scored by creation sequence
//   P{G}x            zset  listed family -> when it ends (min(fexp, texp)); 0 once revoked. Per
//   tag,
//                          not per user, because a rotation or a logout knows only the family.
//   P{G}w            hash  n -> last creation sequence of the tag; w:<user id> -> the user's
//                          watermark: families with seq below it are revoked
// The f/t TTLs end `expired_record_retention` after the family ends (or is revoked); i, x, w
// after the newest family's absolute end. Scripts take `now` as an argument (injectable clock).
// Families revoked by the watermark (the cap, revoke_user) keep their records' TTL: a script may
// touch only the keys it names, and naming thousands would defeat the bounded work.
// Older versions kept P{G}u:<user id> (a list); revoke_user still covers those families
// (they have no seq, so any watermark revokes them) and deletes the list.
#include "tokenauth/redis_store.hpp"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

#include "tokenauth/detail/family_id.hpp"
#include "tokenauth/detail/openssl.hpp"
#include "tokenauth/detail/redis_slots.hpp"

namespace tokenauth {
namespace {

struct context_deleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

// Shared by the scripts that revoke: mark revoked, keep the records only `keep` seconds more, and
// mark the family ended in the tag's end index x (if it is still listed there).
constexpr std::string_view lua_prelude = R"lua(
local function revoke(f, t, x, id, keep)
  redis.call('HSET', f, 'revoked', 1)
  keep = tonumber(keep)
  for _, k in ipairs({f, t}) do
    local ttl = redis.call('TTL', k)
    if ttl == -1 or ttl > keep then redis.call('EXPIRE', k, keep) end
  end
  redis.call('ZADD', x, 'XX', 0, id)
end
)lua";

// KEYS f, t, i, x, w. ARGV family, user, digest, now, token exp, family exp, cap, retention,
// budget. Inserts the family; drops ended entries among the `budget` oldest of the user's index;
// walks at most cap + budget of the newest, dropping ended ones, and with a cap moves the
// watermark to the cap-th live one (revoking every older family at once). Work: O(cap + budget)
// commands, whatever the history.
constexpr std::string_view lua_create = R"lua(
local now, texp, fexp, keep = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[8])
local cap, budget, id = tonumber(ARGV[7]), tonumber(ARGV[9]), ARGV[1]
local i, x, w, wkey = KEYS[3], KEYS[4], KEYS[5], 'w:' .. ARGV[2]
local seq = redis.call('HINCRBY', w, 'n', 1)
local wm = tonumber(redis.call('HGET', w, wkey)) or 0
local ends = math.min(texp, fexp)
redis.call('HSET', KEYS[1], 'user', ARGV[2], 'created', now, 'used', now, 'fexp', fexp,
           'texp', texp, 'gen', 0, 'rot', 0, 'revoked', 0, 'seq', seq)
redis.call('HSET', KEYS[2], ARGV[3], 0)
redis.call('EXPIRE', KEYS[1], ends + keep - now)
redis.call('EXPIRE', KEYS[2], ends + keep - now)
redis.call('ZADD', i, seq, id)
redis.call('ZADD', x, ends, id)
local function live(member, s)
  return s >= wm and (tonumber(redis.call('ZSCORE', x, member)) or 0) > now
end
local function drop(member)
  redis.call('ZREM', i, member)
  redis.call('ZREM', x, member)
end
local old = redis.call('ZRANGE', i, 0, budget - 1, 'WITHSCORES')
for k = 1, #old, 2 do
  if not live(old[k], tonumber(old[k + 1])) then drop(old[k]) end
end
-- Also without a cap: logged-out families stay in i (a logout cannot name the user's keys), and
-- the newest are where a run of logouts leaves them.
local new = redis.call('ZREVRANGEBYSCORE', i, '+inf', wm, 'WITHSCORES', 'LIMIT', 0, cap + budget)
local n = 0
for k = 1, #new, 2 do
  local s = tonumber(new[k + 1])
  if not live(new[k], s) then
    drop(new[k])
  else
    n = n + 1
    if n == cap then
      if s > wm then redis.call('HSET', w, wkey, s) end
      break
    end
  end
end
local want = fexp + keep - now
for _, k in ipairs({i, x, w}) do
  if redis.call('TTL', k) < want then redis.call('EXPIRE', k, want) end
end
return 1
)lua";

// KEYS f, t, x, w. ARGV presented, successor, now, token ttl, grace, retention, family.
// Returns {1, user, exp} rotated, {2, user, exp} grace replay, {-1} unknown, {-2} expired,
// {-3} revoked, {-4} reuse detected (family revoked).
constexpr std::string_view lua_rotate = R"lua(
local gen = redis.call('HGET', KEYS[2], ARGV[1])
if not gen then return {-1} end
local f = redis.call('HMGET', KEYS[1], 'user', 'revoked', 'fexp', 'texp', 'gen', 'rot', 'seq')
if not f[1] then return {-1} end
if f[2] ~= '0' then return {-3} end
local wm = tonumber(redis.call('HGET', KEYS[4], 'w:' .. f[1])) or 0
if (tonumber(f[7]) or 0) < wm then return {-3} end
local now, fexp, texp = tonumber(ARGV[3]), tonumber(f[3]), tonumber(f[4])
if now >= math.min(fexp, texp) then return {-2} end
gen = tonumber(gen)
local cur = tonumber(f[5])
if gen == cur then
  local exp = math.min(now + tonumber(ARGV[4]), fexp)
  redis.call('HSET', KEYS[1], 'gen', cur + 1, 'texp', exp, 'rot', now, 'used', now)
  redis.call('HSET', KEYS[2], ARGV[2], cur + 1)
  local ttl = exp + tonumber(ARGV[6]) - now
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('ZADD', KEYS[3], 'XX', exp, ARGV[7])
  return {1, f[1], exp}
end
if gen + 1 == cur and now < tonumber(f[6]) + tonumber(ARGV[5]) then return {2, f[1], texp} end
revoke(KEYS[1], KEYS[2], KEYS[3], ARGV[7], ARGV[6])
return {-4}
)lua";

// KEYS f, t, x. ARGV digest ('' = any), retention, family. Returns 1, or -1 when unknown.
constexpr std::string_view lua_revoke_family = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[1] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return -1 end
revoke(KEYS[1], KEYS[2], KEYS[3], ARGV[3], ARGV[2])
return 1
)lua";

// KEYS w, legacy u. ARGV user. O(1): the watermark passes every sequence handed out so far (and
// seq-less families of older versions); the index entries left behind are dropped by later logins.
constexpr std::string_view lua_revoke_user = R"lua(
local legacy = redis.call('TTL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 and legacy < 0 then return 1 end
local n = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0
redis.call('HSET', KEYS[1], 'w:' .. ARGV[1], n + 1)
if legacy > redis.call('TTL', KEYS[1]) then redis.call('EXPIRE', KEYS[1], legacy) end
redis.call('UNLINK', KEYS[2])
return 1
)lua";

// KEYS i, x, w, then the f key of each family in ARGV[3..]. ARGV user, now, family ids.
// The live families are those of the index at or above the watermark whose end is in the future.
// When each has its f key declared: {1, id, created, used, expires, ...}, oldest first. Otherwise
// {0, id, ...}: the live ids, so that the caller can declare their keys and call again.
constexpr std::string_view lua_sessions = R"lua(
local wm = tonumber(redis.call('HGET', KEYS[3], 'w:' .. ARGV[1])) or 0
local now, declared, live, complete = tonumber(ARGV[2]), {}, {}, true
for k = 3, #ARGV do declared[ARGV[k]] = KEYS[k + 1] end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], wm, '+inf')) do
  local ends = tonumber(redis.call('ZSCORE', KEYS[2], id)) or 0
  if now < ends then
    live[#live + 1] = {id, ends}
    if not declared[id] then complete = false end
  end
end
local out = {complete and 1 or 0}
for _, e in ipairs(live) do
  out[#out + 1] = e[1]
  if complete then
    local st = redis.call('HMGET', declared[e[1]], 'created', 'used')
    out[#out + 1] = tonumber(st[1]) or 0
    out[#out + 1] = tonumber(st[2]) or 0
    out[#out + 1] = e[2]
  end
end
return out
)lua";

enum script_id { create_s, rotate_s, revoke_family_s, revoke_user_s, sessions_s, script_count };

struct script {
  std::string source;
  std::string sha1;  // hex, as EVALSHA wants it
};

script make_script(std::string_view body) {
  script s{std::string(lua_prelude) + std::string(body), {}};
  const detail::md_ptr md(EVP_MD_fetch(nullptr, "SHA1", nullptr));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!md || EVP_Digest(s.source.data(), s.source.size(), out, &n, md.get(), nullptr) != 1)
    return s;  // no SHA-1 available: every call uses EVAL
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < n; ++i) {
    s.sha1.push_back(hex[out[i] >> 4]);
    s.sha1.push_back(hex[out[i] & 15]);
  }
  return s;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// An idle pooled connection the server has closed (restart, timeout) shows EOF without blocking.
bool still_open(const redisContext& c) {
  char b;
  const ssize_t n = recv(c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

std::string_view bytes(const token_digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::optional<int> parse_int(std::string_view s, int lo, int hi) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::optional<std::string> percent_decode(std::string_view s) {
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = digit(s[i + 1]), lo = digit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// host[:port] or [v6]:port; the port is required when `port_required`.
std::optional<redis_endpoint> parse_endpoint(std::string_view authority, bool port_required) {
  std::string_view host = authority, port;
  const bool bracketed = !authority.empty() && authority[0] == '[';
  if (bracketed) {  // [IPv6]
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return std::nullopt;
  }
  if (host.empty() || (!bracketed && host.find_first_of(":@/[] ,") != std::string_view::npos))
    return std::nullopt;
  redis_endpoint e{std::string(host), 6379};
  if (port.empty() && port_required) return std::nullopt;
  if (!port.empty()) {
    const auto p = parse_int(port, 1, 65535);
    if (!p) return std::nullopt;
    e.port = *p;
  }
  return e;
}

}  // namespace

result<redis_options> redis_options::from_url(std::string_view url) {
  const auto bad = std::make_error_code(std::errc::invalid_argument);
  constexpr std::string_view single = "redis://", cluster = "redis-cluster://",
                             sentinel = "redis-sentinel://";
  const bool is_cluster = url.substr(0, cluster.size()) == cluster;
  const bool is_sentinel = url.substr(0, sentinel.size()) == sentinel;
  if (!is_cluster && !is_sentinel && url.substr(0, single.size()) != single) return bad;
  url.remove_prefix(is_cluster ? cluster.size() : is_sentinel ? sentinel.size() : single.size());
  redis_options o;
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (is_sentinel) {  // the master's name, required
    if (slash == std::string_view::npos) return bad;
    const std::string_view name = url.substr(slash + 1);
    if (name.empty() || name.find_first_of("/ ") != std::string_view::npos) return bad;
    o.sentinel_master = std::string(name);
  } else if (slash != std::string_view::npos) {
    if (is_cluster) return bad;  // a cluster has only database 0
    const auto db = parse_int(url.substr(slash + 1), 0, 1 << 20);
    if (!db) return bad;
    o.db = *db;
  }
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (userinfo.empty() || userinfo[0] != ':') return bad;  // only ":password@" (no ACL user)
    auto password = percent_decode(userinfo.substr(1));
    if (!password) return bad;
    o.password = std::move(*password);
    authority.remove_prefix(at + 1);
  }
  if (!is_cluster && !is_sentinel) {
    const auto e = parse_endpoint(authority, false);
    if (!e) return bad;
    o.host = e->host;
    o.port = e->port;
    return o;
  }
  auto& nodes = is_cluster ? o.cluster_nodes : o.sentinel_nodes;
  while (true) {
    const std::size_t comma = authority.find(',');
    const auto e = parse_endpoint(authority.substr(0, comma), true);
    if (!e) return bad;
    nodes.push_back(*e);
    if (comma == std::string_view::npos) break;
    authority.remove_prefix(comma + 1);
  }
  return o;
}

namespace {

// The connections to one Redis node: at most pool_size, opened lazily, reopened when broken.
struct node_pool {
  const redis_endpoint node;
  const redis_options& opt;
  std::mutex mutex;
  std::condition_variable freed;
  std::vector<context_ptr> idle;
  std::size_t open = 0;  // connections idle or lent out (or being connected)

  node_pool(redis_endpoint n, const redis_options& o) : node(std::move(n)), opt(o) {}

  context_ptr acquire() {
    {
      std::unique_lock<std::mutex> lock(mutex);
      const auto deadline = std::chrono::steady_clock::now() + opt.command_timeout;
      if (!freed.wait_until(lock, deadline, [&] { return !idle.empty() || open < opt.pool_size; }))
        return nullptr;
      if (!idle.empty()) {
        context_ptr c = std::move(idle.back());
        idle.pop_back();
        lock.unlock();
        if (still_open(*c)) return c;
      } else {
        ++open;
      }
    }
    // The slot counted in `open` is ours; a failed connect gives it back in release().
    return connect();
  }

  void release(context_ptr c) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (c && c->err == 0)
        idle.push_back(std::move(c));
      else
        --open;
    }
    freed.notify_one();
  }

  context_ptr connect() const {
    context_ptr c(
        redisConnectWithTimeout(node.host.c_str(), node.port, to_timeval(opt.connect_timeout)));
    if (!c || c->err) return nullptr;
    if (redisSetTimeout(c.get(), to_timeval(opt.command_timeout)) != REDIS_OK) return nullptr;
    if (!opt.password.empty() && !ok(c.get(), {"AUTH", opt.password})) return nullptr;
    if (opt.db != 0 && !ok(c.get(), {"SELECT", std::to_string(opt.db)})) return nullptr;
    if (!opt.sentinel_nodes.empty()) {  // what a sentinel named may have been demoted since
      const reply_ptr role = command(c.get(), {"ROLE"});
      if (!role || role->type != REDIS_REPLY_ARRAY || role->elements < 1 ||
          role->element[0]->type != REDIS_REPLY_STRING ||
          std::string_view(role->element[0]->str, role->element[0]->len) != "master")
        return nullptr;
    }
    return c;
  }

  static bool ok(redisContext* c, std::initializer_list<std::string_view> args) {
    const reply_ptr r = command(c, args);
    return r && r->type != REDIS_REPLY_ERROR;
  }

  static reply_ptr command(redisContext* c, std::initializer_list<std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto a : args) argv.push_back(a.data()), lens.push_back(a.size());
    return reply_ptr(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
  }
};

// A connection lent to one call; get() is null when the pool stayed exhausted for the command
// timeout or the node could not be reached.
class lease {
 public:
  explicit lease(node_pool& p) : p_(p), c_(p.acquire()) {}
  ~lease() { p_.release(std::move(c_)); }
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  redisContext* get() const { return c_.get(); }
  void discard() { c_.reset(); }  // broken: the pool opens a fresh one next time

 private:
  node_pool& p_;
  context_ptr c_;
};

std::string_view error_text(const redisReply& r) {
  return r.type == REDIS_REPLY_ERROR ? std::string_view(r.str, r.len) : std::string_view();
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" -> the node; nullopt otherwise.
std::optional<redis_endpoint> redirect_target(std::string_view error, std::string_view kind) {
  if (error.substr(0, kind.size()) != kind || error.size() <= kind.size() ||
      error[kind.size()] != ' ')
    return std::nullopt;
  const std::size_t space = error.find(' ', kind.size() + 1);
  if (space == std::string_view::npos) return std::nullopt;
  return parse_endpoint(error.substr(space + 1), true);
}

}  // namespace

struct redis_store::impl {
  redis_options opt;
  script scripts[script_count];

  // One pool per node: the single node, or each cluster master met so far.
  std::mutex nodes_mutex;
  std::map<std::pair<std::string, int>, std::unique_ptr<node_pool>> pools;
  detail::slot_map slots;       // cluster only; guarded by nodes_mutex
  node_pool* single = nullptr;  // one node: its pool
  node_pool* master = nullptr;  // sentinel: the current master's pool; guarded by nodes_mutex

  // eval_integer's scripts by source, with their SHA-1 computed once.
  std::mutex extra_mutex;
  std::map<std::string, script, std::less<>> extra_scripts;

  const script& extra_script(std::string_view lua) {
    std::lock_guard<std::mutex> lock(extra_mutex);
    auto it = extra_scripts.find(lua);
    if (it == extra_scripts.end()) it = extra_scripts.emplace(lua, make_script(lua)).first;
    return it->second;  // std::map nodes stay put
  }

  explicit impl(redis_options o)
      : opt(std::move(o)),
        scripts{make_script(lua_create), make_script(lua_rotate), make_script(lua_revoke_family),
                make_script(lua_revoke_user), make_script(lua_sessions)} {
    if (opt.pool_size == 0) opt.pool_size = 1;
    if (!cluster() && !sentinel()) single = &pool({opt.host, opt.port});
  }

  bool sentinel() const { return !opt.sentinel_nodes.empty(); }

  // Sentinel: the pool of the master the sentinels name, asking them when none is known.
  node_pool* current_master() {
    {
      std::lock_guard<std::mutex> lock(nodes_mutex);
      if (master) return master;
    }
    for (const auto& s : opt.sentinel_nodes) {
      context_ptr c(
          redisConnectWithTimeout(s.host.c_str(), s.port, to_timeval(opt.connect_timeout)));
      if (!c || c->err || redisSetTimeout(c.get(), to_timeval(opt.command_timeout)) != REDIS_OK)
        continue;
      const reply_ptr r =
          node_pool::command(c.get(), {"SENTINEL", "get-master-addr-by-name", opt.sentinel_master});
      if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
          r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING)
        continue;
      const auto port = parse_int({r->element[1]->str, r->element[1]->len}, 1, 65535);
      if (!port) continue;
      node_pool& p = pool({std::string(r->element[0]->str, r->element[0]->len), *port});
      std::lock_guard<std::mutex> lock(nodes_mutex);
      master = &p;
      return master;
    }
    return nullptr;
  }

  // After a lost connection or a READONLY answer: ask the sentinels again on the next call.
  void forget_master(node_pool* stale) {
    std::lock_guard<std::mutex> lock(nodes_mutex);
    if (master == stale) master = nullptr;
  }

  bool cluster() const { return !opt.cluster_nodes.empty(); }

  node_pool& pool(const redis_endpoint& node) {
    std::lock_guard<std::mutex> lock(nodes_mutex);
    auto& p = pools[{node.host, node.port}];
    if (!p) p = std::make_unique<node_pool>(node, opt);
    return *p;
  }

  std::string key(std::string_view tag, char kind, std::string_view id) const {
    std::string k;
    k.reserve(opt.key_prefix.size() + tag.size() + 4 + id.size());
    k.append(opt.key_prefix).append("{").append(tag).append("}").push_back(kind);
    k.append(":").append(id);
    return k;
  }
  std::string family_key(char kind, std::string_view family) const {
    return key(family.substr(0, family_tag_size), kind, family);
  }
  // P{G}x and P{G}w: one per tag.
  std::string tag_key(std::string_view tag, char kind) const {
    std::string k;
    k.reserve(opt.key_prefix.size() + tag.size() + 3);
    k.append(opt.key_prefix).append("{").append(tag).append("}").push_back(kind);
    return k;
  }

  // Reloads the slot map from the first node that answers CLUSTER SLOTS: the masters known so
  // far, then the configured nodes. False when none answers with a usable map.
  bool reload_slots() {
    std::vector<redis_endpoint> candidates;
    {
      std::lock_guard<std::mutex> lock(nodes_mutex);
      for (const auto& m : slots.masters()) candidates.push_back({m.host, m.port});
    }
    candidates.insert(candidates.end(), opt.cluster_nodes.begin(), opt.cluster_nodes.end());
    for (const auto& node : candidates) {
      lease conn(pool(node));
      if (!conn.get()) continue;
      const reply_ptr r = node_pool::command(conn.get(), {"CLUSTER", "SLOTS"});
      if (!r) {
        conn.discard();
        continue;
      }
      std::vector<detail::slot_range> ranges;
      if (!parse_slots(*r, node, ranges)) continue;
      std::lock_guard<std::mutex> lock(nodes_mutex);
      if (slots.assign(ranges) && !slots.empty()) return true;
    }
    return false;
  }

  // CLUSTER SLOTS: [[first, last, [host, port, id...], replicas...], ...]. An empty host means
  // the node that answered.
  static bool parse_slots(const redisReply& r, const redis_endpoint& asked,
                          std::vector<detail::slot_range>& out) {
    if (r.type != REDIS_REPLY_ARRAY) return false;
    for (std::size_t i = 0; i < r.elements; ++i) {
      const redisReply* e = r.element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
          e->element[0]->type != REDIS_REPLY_INTEGER ||
          e->element[1]->type != REDIS_REPLY_INTEGER || e->element[2]->type != REDIS_REPLY_ARRAY ||
          e->element[2]->elements < 2 || e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
          e->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
        return false;
      const redisReply* m = e->element[2];
      std::string host(m->element[0]->str, m->element[0]->len);
      if (host.empty() || host == "?") host = asked.host;
      if (e->element[0]->integer < 0 || e->element[1]->integer < 0 || m->element[1]->integer <= 0 ||
          m->element[1]->integer > 65535)
        return false;
      out.push_back({static_cast<unsigned>(e->element[0]->integer),
                     static_cast<unsigned>(e->element[1]->integer),
                     {std::move(host), static_cast<int>(m->element[1]->integer)}});
    }
    return true;
  }

  // The master of `slot`, loading the map when it has no entry for it.
  std::optional<redis_endpoint> master_of(unsigned slot) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      {
        std::lock_guard<std::mutex> lock(nodes_mutex);
        if (const auto* m = slots.master_of(slot)) return redis_endpoint{m->host, m->port};
      }
      if (attempt == 0 && !reload_slots()) break;
    }
    return std::nullopt;
  }

  // One script on one node: EVALSHA, and EVAL when the node does not know the script (restart,
  // flush, a node that has not seen it yet). With `asking`, ASKING first (an ASK redirect).
  // nullptr: no connection, or an I/O error or timeout (then `sent` tells whether the script may
  // have run).
  reply_ptr run(node_pool& p, const script& s, std::vector<const char*>& argv,
                std::vector<std::size_t>& lens, bool asking, bool& sent) {
    sent = false;
    lease conn(p);
    if (!conn.get()) return nullptr;
    const auto call = [&]() -> reply_ptr {
      if (asking) {
        const reply_ptr a = node_pool::command(conn.get(), {"ASKING"});
        if (!a || a->type == REDIS_REPLY_ERROR) return nullptr;
      }
      sent = true;
      return reply_ptr(static_cast<redisReply*>(
          redisCommandArgv(conn.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    };
    reply_ptr r = call();
    if (r && argv[0] == std::string_view("EVALSHA") && error_text(*r).substr(0, 8) == "NOSCRIPT") {
      argv[0] = "EVAL";
      lens[0] = 4;
      argv[1] = s.source.data();
      lens[1] = s.source.size();
      r = call();
    }
    if (!r) conn.discard();  // the connection state is unknown
    return r;
  }

  // One script call. nullptr: store_unavailable (no connection, I/O error or timeout, an error
  // reply, or a cluster that keeps redirecting).
  reply_ptr eval(script_id id, std::initializer_list<std::string_view> keys,
                 std::initializer_list<std::string_view> args) {
    return eval(id, keys.begin(), keys.size(), args.begin(), args.size());
  }
  reply_ptr eval(script_id id, const std::string_view* keys, std::size_t nkeys_,
                 const std::string_view* args, std::size_t nargs) {
    return eval(scripts[id], keys, nkeys_, args, nargs);
  }
  reply_ptr eval(const script& s, const std::string_view* keys, std::size_t nkeys_,
                 const std::string_view* args, std::size_t nargs) {
    const std::string nkeys = std::to_string(nkeys_);
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(3 + nkeys_ + nargs);
    lens.reserve(argv.capacity());
    const auto push = [&](std::string_view a) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    };
    const bool by_sha = !s.sha1.empty();
    push(by_sha ? "EVALSHA" : "EVAL");
    push(by_sha ? std::string_view(s.sha1) : std::string_view(s.source));
    push(nkeys);
    for (std::size_t i = 0; i < nkeys_; ++i) push(keys[i]);
    for (std::size_t i = 0; i < nargs; ++i) push(args[i]);
    bool sent = false;
    if (sentinel()) {
      for (int attempt = 0; attempt < 2; ++attempt) {
        node_pool* p = current_master();
        if (!p) return nullptr;
        reply_ptr r = run(*p, s, argv, lens, false, sent);
        // A demoted master answers READONLY without running the script: safe to send again.
        const bool readonly = r && error_text(*r).substr(0, 8) == "READONLY";
        if (r && !readonly) return r->type != REDIS_REPLY_ERROR ? std::move(r) : nullptr;
        forget_master(p);
        if (sent && !readonly) return nullptr;  // outcome unknown: never run a script twice
      }
      return nullptr;
    }
    if (!cluster()) {
      reply_ptr r = run(*single, s, argv, lens, false, sent);
      return r && r->type != REDIS_REPLY_ERROR ? std::move(r) : nullptr;
    }
    // Every key of a script lies in one slot (one user's hash tag).
    const unsigned slot = detail::key_slot(keys[0]);
    std::optional<redis_endpoint> node = master_of(slot);
    bool asking = false;
    for (int hop = 0; node && hop < 5; ++hop) {
      reply_ptr r = run(pool(*node), s, argv, lens, asking, sent);
      if (!r) {
        // The master is gone (failover) or slow. Reload the map for the next call; retry now
        // only if the script was never sent: after a timeout its outcome is unknown, and a
        // rotation run twice would look like reuse.
        reload_slots();
        if (sent) return nullptr;
        node = master_of(slot);
        asking = false;
        continue;
      }
      const std::string_view error = error_text(*r);
      if (error.empty()) return r;
      if (auto moved = redirect_target(error, "MOVED")) {  // the slot has a new owner
        reload_slots();
        node = std::move(moved);
        asking = false;
      } else if (auto ask = redirect_target(error, "ASK")) {  // the slot is being migrated
        node = std::move(ask);
        asking = true;
      } else {
        return nullptr;  // CLUSTERDOWN, TRYAGAIN, READONLY, a script error...
      }
    }
    return nullptr;
  }
};

redis_store::redis_store(redis_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

redis_store::~redis_store() = default;

const redis_options& redis_store::options() const noexcept {
  return impl_->opt;
}

std::error_code redis_store::create_family(const new_family& f) {
  const std::string_view tag = f.family_id.substr(0, family_tag_size);
  const reply_ptr r = impl_->eval(
      create_s,
      {impl_->key(tag, 'f', f.family_id), impl_->key(tag, 't', f.family_id),
       impl_->key(tag, 'i', f.user_id), impl_->tag_key(tag, 'x'), impl_->tag_key(tag, 'w')},
      {f.family_id, f.user_id, bytes(f.digest), num(f.now), num(f.token_expires_at),
       num(f.family_expires_at), num(static_cast<std::int64_t>(f.max_families)),
       num(expired_record_retention), num(static_cast<std::int64_t>(index_prune_budget))});
  if (!r || r->type != REDIS_REPLY_INTEGER) return errc::store_unavailable;
  return {};
}

result<rotate_outcome> redis_store::rotate(const rotate_request& r) {
  if (!detail::valid_family_id(r.family_id)) return errc::refresh_token_unknown;
  const std::string_view tag = r.family_id.substr(0, family_tag_size);
  const reply_ptr rep =
      impl_->eval(rotate_s,
                  {impl_->family_key('f', r.family_id), impl_->family_key('t', r.family_id),
                   impl_->tag_key(tag, 'x'), impl_->tag_key(tag, 'w')},
                  {bytes(r.presented), bytes(r.successor), num(r.now), num(r.token_ttl),
                   num(r.grace), num(expired_record_retention), r.family_id});
  if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
      rep->element[0]->type != REDIS_REPLY_INTEGER)
    return errc::store_unavailable;
  switch (rep->element[0]->integer) {
    case -1:
      return errc::refresh_token_unknown;
    case -2:
      return errc::refresh_token_expired;
    case -3:
      return errc::refresh_family_revoked;
    case -4:
      return errc::refresh_reuse_detected;
    case 1:
    case 2:
      break;
    default:
      return errc::store_unavailable;
  }
  if (rep->elements != 3 || rep->element[1]->type != REDIS_REPLY_STRING ||
      rep->element[2]->type != REDIS_REPLY_INTEGER)
    return errc::store_unavailable;
  return rotate_outcome{
      rep->element[0]->integer == 1 ? rotate_status::rotated : rotate_status::grace_replay,
      std::string(rep->element[1]->str, rep->element[1]->len), rep->element[2]->integer};
}

std::error_code redis_store::revoke_family(std::string_view family_id, const token_digest* digest,
                                           unix_seconds) {
  if (!detail::valid_family_id(family_id)) return errc::refresh_token_unknown;
  // No digest: an empty argument that still has a non-null pointer (hiredis copies from it).
  const reply_ptr r = impl_->eval(
      revoke_family_s,
      {impl_->family_key('f', family_id), impl_->family_key('t', family_id),
       impl_->tag_key(family_id.substr(0, family_tag_size), 'x')},
      {digest ? bytes(*digest) : std::string_view(""), num(expired_record_retention), family_id});
  if (!r || r->type != REDIS_REPLY_INTEGER) return errc::store_unavailable;
  return r->integer == 1 ? std::error_code{} : make_error_code(errc::refresh_token_unknown);
}

std::error_code redis_store::revoke_user(std::string_view user_id, unix_seconds) {
  const std::string tag = detail::user_tag(user_id);
  const reply_ptr r = impl_->eval(
      revoke_user_s, {impl_->tag_key(tag, 'w'), impl_->key(tag, 'u', user_id)}, {user_id});
  if (!r || r->type != REDIS_REPLY_INTEGER) return errc::store_unavailable;
  return {};
}

result<std::int64_t> redis_store::eval_integer(std::string_view lua,
                                               const std::vector<std::string>& keys,
                                               const std::vector<std::string>& args) {
  if (keys.empty()) return std::make_error_code(std::errc::invalid_argument);
  const unsigned slot = detail::key_slot(keys[0]);
  for (const auto& k : keys)  // one slot, or a Cluster would refuse the script (CROSSSLOT)
    if (detail::key_slot(k) != slot) return std::make_error_code(std::errc::invalid_argument);
  const std::vector<std::string_view> key_views(keys.begin(), keys.end()),
      arg_views(args.begin(), args.end());
  const reply_ptr r = impl_->eval(impl_->extra_script(lua), key_views.data(), key_views.size(),
                                  arg_views.data(), arg_views.size());
  if (!r || r->type != REDIS_REPLY_INTEGER) return errc::store_unavailable;
  return static_cast<std::int64_t>(r->integer);
}

// Two calls at most in the usual case: the first learns the live ids, the second declares their
// keys and reads them. A login between the two adds an id, hence a few attempts.
result<std::vector<session_info>> redis_store::sessions(std::string_view user_id,
                                                        unix_seconds now) {
  const std::string tag = detail::user_tag(user_id);
  std::vector<std::string> ids;
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::vector<std::string> keys{impl_->key(tag, 'i', user_id), impl_->tag_key(tag, 'x'),
                                  impl_->tag_key(tag, 'w')};
    const std::string when = num(now);
    std::vector<std::string_view> args{user_id, when};
    for (const auto& id : ids) {
      keys.push_back(impl_->family_key('f', id));
      args.push_back(id);
    }
    const std::vector<std::string_view> key_views(keys.begin(), keys.end());
    const reply_ptr r =
        impl_->eval(sessions_s, key_views.data(), key_views.size(), args.data(), args.size());
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
      return errc::store_unavailable;
    const std::size_t n = r->elements - 1;
    redisReply* const* e = r->element + 1;
    if (r->element[0]->integer == 0) {  // not every live family declared: learn them, go again
      ids.clear();
      for (std::size_t i = 0; i < n; ++i) {
        if (e[i]->type != REDIS_REPLY_STRING || e[i]->len != family_id_size)
          return errc::store_unavailable;
        ids.emplace_back(e[i]->str, e[i]->len);
      }
      continue;
    }
    if (n % 4 != 0) return errc::store_unavailable;
    std::vector<session_info> out;
    out.reserve(n / 4);
    for (std::size_t i = 0; i < n; i += 4) {
      if (e[i]->type != REDIS_REPLY_STRING || e[i + 1]->type != REDIS_REPLY_INTEGER ||
          e[i + 2]->type != REDIS_REPLY_INTEGER || e[i + 3]->type != REDIS_REPLY_INTEGER)
        return errc::store_unavailable;
      out.push_back({std::string(e[i]->str, e[i]->len), e[i + 1]->integer, e[i + 2]->integer,
                     e[i + 3]->integer});
    }
    return out;
  }
  return errc::store_unavailable;  // the live set kept changing under us
}

}  // namespace tokenauth
