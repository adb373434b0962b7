# Fault and soak tests: the real tokenauth-server binary and redis-server
# processes on loopback. See docs/operations.md.
if(TOKENAUTH_BUILD_EXAMPLES AND TOKENAUTH_WITH_SQLITE AND TOKENAUTH_WITH_REDIS)
  find_package(Threads REQUIRED)
  tokenauth_add_test(fault_test SOURCES fault/fault_test.cpp
    LIBS SQLite::SQLite3 Threads::Threads LABELS fault)
  target_compile_definitions(fault_test
    PRIVATE TOKENAUTH_SERVER_BINARY="$<TARGET_FILE:tokenauth-server>")
  add_dependencies(fault_test tokenauth-server)

  # The soak is a plain program (`tokenauth_soak --help`); ctest runs its short form. Not under
  # ASan: its quarantine keeps freed memory resident, so the RSS bound means nothing there.
  add_executable(tokenauth_soak fault/soak.cpp)
  target_link_libraries(tokenauth_soak
    PRIVATE nlohmann_json::nlohmann_json Threads::Threads tokenauth_warnings)
  add_dependencies(tokenauth_soak tokenauth-server)
  add_test(NAME soak COMMAND tokenauth_soak --server $<TARGET_FILE:tokenauth-server>
    --seconds 15 --warmup 5)
  set_tests_properties(soak PROPERTIES LABELS "soak;nosan" SKIP_RETURN_CODE 77 RUN_SERIAL ON
    TIMEOUT 120)
  # A count that is not a whole number is a usage error, not 0 or its leading digits.
  add_test(NAME soak_rejects_a_bad_count COMMAND tokenauth_soak
    --server $<TARGET_FILE:tokenauth-server> --seconds 15s)
  set_tests_properties(soak_rejects_a_bad_count PROPERTIES LABELS soak TIMEOUT 30
    PASS_REGULAR_EXPRESSION "usage: tokenauth_soak")
endif()

# Start-up failures of the server binary: each message names the setting to fix.
if(TOKENAUTH_BUILD_EXAMPLES AND TOKENAUTH_WITH_SQLITE AND TOKENAUTH_WITH_REDIS)
  tokenauth_add_test(startup_test SOURCES fault/startup_test.cpp LABELS startup)
  target_compile_definitions(startup_test
    PRIVATE TOKENAUTH_SERVER_BINARY="$<TARGET_FILE:tokenauth-server>")
  add_dependencies(startup_test tokenauth-server)
endif()

# Two server instances behind one Redis (single node, Cluster, Sentinel) share sessions and
# reuse detection; a Sentinel failover seen over HTTP (the master killed during reissuance).
# Under CI=true a missing redis-server fails the cases rather than skipping them.
if(TOKENAUTH_BUILD_EXAMPLES AND TOKENAUTH_WITH_SQLITE AND TARGET PkgConfig::HIREDIS)
  foreach(name two_instances_test sentinel_failover_test)
    tokenauth_add_test(${name} SOURCES fault/${name}.cpp LIBS PkgConfig::HIREDIS LABELS fault)
    target_compile_definitions(${name}
      PRIVATE TOKENAUTH_SERVER_BINARY="$<TARGET_FILE:tokenauth-server>")
    add_dependencies(${name} tokenauth-server)
  endforeach()
  add_test(NAME two_instances_test_fails_without_redis_under_ci COMMAND two_instances_test)
  set_tests_properties(two_instances_test_fails_without_redis_under_ci PROPERTIES
    ENVIRONMENT "CI=true;REDIS_SERVER=/nonexistent/redis-server" WILL_FAIL TRUE TIMEOUT 60)
endif()
