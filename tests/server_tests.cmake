# HTTP helpers and the example server.
tokenauth_add_test(http_test SOURCES http_test.cpp)

# The server tests link the example's library, which exists only when the examples are built.
if(TOKENAUTH_BUILD_EXAMPLES AND TOKENAUTH_WITH_SQLITE AND TOKENAUTH_WITH_REDIS)
  tokenauth_add_test(server_config_test SOURCES server/config_test.cpp LIBS tokenauth_server_lib)
  # The --help text is checked against the configuration table of docs/server.md.
  target_compile_definitions(server_config_test PRIVATE
    TOKENAUTH_SERVER_DOC="${PROJECT_SOURCE_DIR}/docs/server.md")
  tokenauth_add_test(server_signing_keys_test SOURCES server/signing_keys_test.cpp
    LIBS tokenauth_server_lib)
  tokenauth_add_test(server_password_test SOURCES server/password_test.cpp
    LIBS tokenauth_server_lib LABELS tsan)
  tokenauth_add_test(server_test SOURCES server/server_test.cpp LIBS tokenauth_server_lib LABELS tsan)
  tokenauth_add_test(server_throttle_test SOURCES server/throttle_test.cpp
    LIBS tokenauth_server_lib LABELS tsan)
  tokenauth_add_test(server_sessions_test SOURCES server/sessions_test.cpp
    LIBS tokenauth_server_lib LABELS tsan)
  tokenauth_add_test(server_health_test SOURCES server/health_test.cpp LIBS tokenauth_server_lib)
  tokenauth_add_test(server_logging_test SOURCES server/logging_test.cpp LIBS tokenauth_server_lib)
  tokenauth_add_test(server_metrics_test SOURCES server/metrics_test.cpp LIBS tokenauth_server_lib)
  tokenauth_add_test(server_user_store_test SOURCES server/user_store_test.cpp
    LIBS tokenauth_server_lib LABELS tsan)
endif()

# The MySQL user store against a real mariadbd the test starts itself. Each binary runs as one
# ctest test (not one per test case), so one server per binary serves all its test cases.
if(TOKENAUTH_BUILD_EXAMPLES AND TOKENAUTH_WITH_SQLITE AND TOKENAUTH_WITH_REDIS
   AND TOKENAUTH_SERVER_WITH_MYSQL)
  foreach(name mysql_users_test mysql_fault_test)
    add_executable(server_${name} server/${name}.cpp)
    target_link_libraries(server_${name} PRIVATE tokenauth::tokenauth tokenauth_catch_main
      tokenauth_warnings tokenauth_server_lib PkgConfig::MARIADB)
    add_test(NAME server_${name} COMMAND server_${name})
    set_tests_properties(server_${name} PROPERTIES LABELS mysql TIMEOUT 300)
  endforeach()
  set_property(TEST server_mysql_fault_test APPEND PROPERTY LABELS fault)
endif()

# Browser test of the demo page: headless Chromium through npm playwright-core (installed by
# ./scripts/test into TOKENAUTH_NODE_DIR). Exit 77 = skipped (missing tools), a failure under CI=true.
if(TOKENAUTH_BUILD_EXAMPLES AND TOKENAUTH_WITH_SQLITE AND TOKENAUTH_WITH_REDIS)
  set(TOKENAUTH_NODE_DIR "" CACHE PATH "Directory whose node_modules holds the npm test packages")
  find_program(TOKENAUTH_NODE node)
  if(TOKENAUTH_NODE)
    add_test(NAME server_browser_test
      COMMAND ${CMAKE_COMMAND} -E env NODE_PATH=${TOKENAUTH_NODE_DIR}/node_modules
        ${TOKENAUTH_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/server/browser_test.cjs
        $<TARGET_FILE:tokenauth-server> ${CMAKE_CURRENT_BINARY_DIR}/server-browser-test)
  else()
    add_test(NAME server_browser_test
      COMMAND sh -c "echo 'SKIPPED: node not found'; test \"$CI\" = true && exit 1; exit 77")
  endif()
  set_tests_properties(server_browser_test PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS browser)

  # The real server's JWKS verified by npm jose, and key rotation by SIGHUP (exit 77: no jose).
  if(TOKENAUTH_NODE)
    add_test(NAME server_jwks_test
      COMMAND ${CMAKE_COMMAND} -E env NODE_PATH=${TOKENAUTH_NODE_DIR}/node_modules
        ${TOKENAUTH_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/server/jwks_test.cjs
        $<TARGET_FILE:tokenauth-server> ${CMAKE_CURRENT_BINARY_DIR}/server-jwks-test)
    set_tests_properties(server_jwks_test PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  endif()
endif()
