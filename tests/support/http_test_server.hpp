// Test fixture: an in-process HTTP or HTTPS server on a free loopback port that answers every
// request with the reply the test sets (status, body, headers), counts the requests and can
// leave a request unanswered (to exercise client timeouts). One Asio thread of its own.
// Beast stays in http_test_server.cpp, compiled once for every test that links the fixture.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tokenauth::test {

class http_test_server {
 public:
  struct reply {
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string etag;   // sent as ETag; a request with a matching If-None-Match gets 304
    bool hang = false;  // read the request, never answer
  };

  // Plain HTTP.
  http_test_server();
  // HTTPS with this certificate (chain, PEM) and private key (PEM).
  http_test_server(const std::string& cert_chain_pem, const std::string& key_pem);
  ~http_test_server();
  http_test_server(const http_test_server&) = delete;
  http_test_server& operator=(const http_test_server&) = delete;

  [[nodiscard]] unsigned short port() const;
  [[nodiscard]] std::string url(const std::string& path = "/jwks.json",
                                const std::string& host = "127.0.0.1") const;

  void set_reply(reply r);
  // Requests read so far (answered or not).
  [[nodiscard]] std::size_t requests() const;
  [[nodiscard]] std::string last_if_none_match() const;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tokenauth::test
