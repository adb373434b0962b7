# HTTP helpers and the example server (issue 4).
tokenauth_add_test(http_test SOURCES http_test.cpp)

# The server tests link the example's library, which exists only when the examples are built.
if(TOKENAUTH_BUILD_EXAMPLES AND TOKENAUTH_WITH_SQLITE AND TOKENAUTH_WITH_REDIS)
  tokenauth_add_test(server_config_test SOURCES server/config_test.cpp LIBS tokenauth_server_lib)
  tokenauth_add_test(server_password_test SOURCES server/password_test.cpp
    LIBS tokenauth_server_lib LABELS tsan)
  tokenauth_add_test(server_test SOURCES server/server_test.cpp LIBS tokenauth_server_lib LABELS tsan)
endif()
