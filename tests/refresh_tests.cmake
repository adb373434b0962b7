# Refresh tokens: the service, and the store contract run against every store.
tokenauth_add_test(refresh_test SOURCES refresh_test.cpp)
tokenauth_add_test(memory_store_test SOURCES memory_store_test.cpp LABELS tsan)
if(TARGET tokenauth::sqlite)
  tokenauth_add_test(sqlite_store_test SOURCES sqlite_store_test.cpp LIBS tokenauth::sqlite LABELS tsan)
endif()
if(TARGET tokenauth::redis)
  if(NOT TARGET PkgConfig::HIREDIS)  # the test fixture talks to redis-server directly
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
  endif()
  tokenauth_add_test(redis_store_test SOURCES redis_store_test.cpp
    LIBS tokenauth::redis PkgConfig::HIREDIS LABELS tsan)
endif()
tokenauth_add_test(redis_slots_test SOURCES redis_slots_test.cpp)
if(TARGET tokenauth::redis)
  # One three-master cluster serves every case, so the cases run in one process (one ctest
  # entry) rather than one process, and one cluster start-up, each. Not in the TSan tree: the
  # single-node Redis tests cover the client's threading.
  add_executable(redis_cluster_test redis_cluster_test.cpp)
  target_link_libraries(redis_cluster_test PRIVATE tokenauth::tokenauth tokenauth_catch_main
    tokenauth_warnings tokenauth::redis PkgConfig::HIREDIS)
  add_test(NAME redis_cluster_test COMMAND redis_cluster_test)
  set_tests_properties(redis_cluster_test PROPERTIES LABELS "redis-cluster" TIMEOUT 300)
endif()
if(TARGET tokenauth::redis)
  # Like the cluster: one Sentinel setup (master, replica, three sentinels) for every case.
  add_executable(redis_sentinel_test redis_sentinel_test.cpp)
  target_link_libraries(redis_sentinel_test PRIVATE tokenauth::tokenauth tokenauth_catch_main
    tokenauth_warnings tokenauth::redis PkgConfig::HIREDIS)
  add_test(NAME redis_sentinel_test COMMAND redis_sentinel_test)
  set_tests_properties(redis_sentinel_test PROPERTIES LABELS "redis-sentinel" TIMEOUT 300)

  # A measurement, not a test (ctest does not run it): acknowledged rotations lost at a Sentinel
  # failover, by master setting. Figures in docs/deployment.md.
  add_executable(failover_loss fault/failover_loss.cpp)
  target_link_libraries(failover_loss PRIVATE tokenauth::tokenauth tokenauth_catch_main
    tokenauth_warnings tokenauth::redis PkgConfig::HIREDIS)
  # Only its refusal of a bad setting runs (before any server starts).
  add_test(NAME failover_loss_rejects_a_bad_setting COMMAND failover_loss)
  set_tests_properties(failover_loss_rejects_a_bad_setting PROPERTIES
    ENVIRONMENT "FAILOVER_TRIALS=5x" TIMEOUT 30
    PASS_REGULAR_EXPRESSION "FAILOVER_TRIALS must be a positive whole number, not '5x'")
endif()
if(TARGET tokenauth::redis)
  # Under CI=true a missing redis-server fails the Redis tests rather than skipping them: each
  # suite is run once with no server to find, and must fail.
  foreach(suite redis_store_test redis_cluster_test redis_sentinel_test)
    add_test(NAME ${suite}_fails_without_redis_under_ci COMMAND ${suite} "[contract]")
    set_tests_properties(${suite}_fails_without_redis_under_ci PROPERTIES
      ENVIRONMENT "CI=true;REDIS_SERVER=/nonexistent/redis-server" WILL_FAIL TRUE TIMEOUT 60)
  endforeach()
endif()
