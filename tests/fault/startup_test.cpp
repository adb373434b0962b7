// Start-up failures of the real tokenauth-server binary: each one exits non-zero with a message
// that names what failed and the setting that fixes it, and never a library's source location
// (docs/design.md, HTTP contract: configuration).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "process.hpp"

using namespace fault;

namespace {

struct exit_result {
  int status = -1;     // exit code; -1 when the process did not exit on its own
  std::string output;  // stdout and stderr
};

// Runs the server with `args` (and a private users file unless they name one) and waits for it
// to give up.
exit_result run_failing_server(const temp_dir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{TOKENAUTH_SERVER_BINARY, "--admin-listen", ""};
  if (std::find(args.begin(), args.end(), "--users") == args.end())
    argv.insert(argv.end(), {"--users", "sqlite:" + dir / "users.db"});
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = dir / "failing.log";
  child proc(argv, log, {"JWT_SECRET=" + std::string(test_jwt_secret())});
  exit_result out;
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < deadline && proc.running();
       std::this_thread::sleep_for(10ms)) {
  }
  const std::optional<int> status = proc.signal_and_wait(SIGKILL, 1s);
  if (status && WIFEXITED(*status)) out.status = WEXITSTATUS(*status);
  out.output = read_text(log);
  return out;
}

// No Boost/standard-library source locations such as "[system:98 at /usr/include/...hpp:161]".
void check_no_source_location(const std::string& text) {
  CHECK(text.find("/usr/include") == std::string::npos);
  CHECK(text.find(".hpp:") == std::string::npos);
  CHECK(text.find(" at /") == std::string::npos);
}

}  // namespace

TEST_CASE("a busy port names the address and the flags that change it", "[startup]") {
  temp_dir dir;
  server_process first(TOKENAUTH_SERVER_BINARY, {"--users", "sqlite:" + dir / "first.db"},
                       dir / "first.log");
  const std::string port = std::to_string(first.port());

  const exit_result second = run_failing_server(dir, {"--port", port});
  INFO(second.output);
  CHECK(second.status == 1);
  CHECK(second.output.find("cannot listen on 127.0.0.1:" + port + ": Address already in use") !=
        std::string::npos);
  CHECK(second.output.find("--port") != std::string::npos);
  CHECK(second.output.find("PORT") != std::string::npos);
  CHECK(second.output.find("--host") != std::string::npos);
  check_no_source_location(second.output);
  CHECK(first.process().running());  // the first server is untouched
}

TEST_CASE("a host that is not an IP address names --host", "[startup]") {
  temp_dir dir;
  const exit_result r = run_failing_server(dir, {"--port", "0", "--host", "no-such-host"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("cannot listen on 'no-such-host': not an IP address") != std::string::npos);
  CHECK(r.output.find("--host") != std::string::npos);
  check_no_source_location(r.output);
}

TEST_CASE("a refresh store that cannot be opened names --store", "[startup]") {
  temp_dir dir;
  const exit_result r =
      run_failing_server(dir, {"--port", "0", "--store", "sqlite:" + dir / "missing/dir/r.db"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("refresh store") != std::string::npos);
  CHECK(r.output.find("missing/dir/r.db") != std::string::npos);
  CHECK(r.output.find("--store") != std::string::npos);
  check_no_source_location(r.output);
}

TEST_CASE("a users database that cannot be opened names --users", "[startup]") {
  temp_dir dir;
  const exit_result r =
      run_failing_server(dir, {"--port", "0", "--users", "sqlite:" + dir / "no/u.db"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("users database") != std::string::npos);
  CHECK(r.output.find("no/u.db") != std::string::npos);
  CHECK(r.output.find("--users") != std::string::npos);
  check_no_source_location(r.output);
}
