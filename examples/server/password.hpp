// Password hashing with bcrypt through the system libcrypt. A cost-12 hash takes ~250 ms of CPU,
// so it must never run on an I/O thread: the server runs it on a low-priority worker_pool
// (worker_pool.hpp). Everything here is thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenauth_server {

namespace bcrypt {

// A new "$2b$<cost>$..." hash of password; nullopt when libcrypt fails (no entropy, bad cost).
std::optional<std::string> hash(std::string_view password, int cost);

// True when password matches `stored`, a $2a$/$2b$/$2y$ hash; compares in constant time. Any
// other or malformed hash is false.
bool verify(std::string_view password, std::string_view stored);

// The cost of a well-formed $2a$/$2b$/$2y$ hash; nullopt for anything else.
std::optional<int> cost_of(std::string_view hash);

// What verify_evenly() hashes for `stored`, in order: bcrypt settings (a full hash or its first 29
// characters) whose costs sum to the work of one hash at `reference`'s cost, so that a login
// takes as long whatever the account's stored hash (and as long as an unknown email's, which is
// verified against `reference` itself):
//  - stored is not bcrypt: {reference};
//  - stored has cost c below reference's C: {stored, then reference's salt at costs c .. C-1}
//    (2^c + 2^c + 2^(c+1) + ... + 2^(C-1) = 2^C rounds);
//  - stored has cost c >= C: {stored}. A cost above C takes longer than an unknown email; that
//    residual case only arises when --bcrypt-cost was lowered after users joined.
// reference must be a well-formed bcrypt hash.
std::vector<std::string> work_plan(std::string_view stored, std::string_view reference);

// True when password matches stored (as verify()), after running the whole work_plan().
bool verify_evenly(std::string_view password, std::string_view stored, std::string_view reference);

}  // namespace bcrypt
}  // namespace tokenauth_server
