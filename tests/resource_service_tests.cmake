# The resource service (examples/resource_service) and the auth server as real processes on
# loopback: JWKS verification end to end, key rotation, an issuer outage, the JWKS over HTTPS.
if(TOKENAUTH_BUILD_EXAMPLES AND TOKENAUTH_WITH_SQLITE AND TOKENAUTH_WITH_REDIS AND TARGET tokenauth_jwks)
  find_package(Threads REQUIRED)
  tokenauth_add_test(resource_service_test SOURCES server/resource_service_test.cpp
    LIBS tokenauth_test_http_server OpenSSL::Crypto Threads::Threads nlohmann_json::nlohmann_json)
  target_compile_definitions(resource_service_test PRIVATE
    TOKENAUTH_SERVER_BINARY="$<TARGET_FILE:tokenauth-server>"
    TOKENAUTH_RESOURCE_SERVICE_BINARY="$<TARGET_FILE:tokenauth-resource-service>")
  add_dependencies(resource_service_test tokenauth-server tokenauth-resource-service)
endif()
