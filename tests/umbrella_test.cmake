# ctest step (cmake -P): include/tokenauth/tokenauth.hpp includes every public core header, so a
# new header cannot be forgotten. Not in the umbrella, on purpose: beast.hpp (needs Boost) and the
# stores and the JWKS client, which need a compiled library (sqlite_store.hpp, redis_store.hpp,
# jwks_client.hpp). Input: SOURCE_DIR.
cmake_minimum_required(VERSION 3.20)
set(not_core beast.hpp jwks_client.hpp sqlite_store.hpp redis_store.hpp tokenauth.hpp)
file(READ "${SOURCE_DIR}/include/tokenauth/tokenauth.hpp" umbrella)
file(GLOB headers RELATIVE "${SOURCE_DIR}/include/tokenauth" "${SOURCE_DIR}/include/tokenauth/*.hpp")
set(missing "")
foreach(h IN LISTS headers)
  if(NOT h IN_LIST not_core AND NOT umbrella MATCHES "#include \"tokenauth/${h}\"")
    list(APPEND missing ${h})
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "include/tokenauth/tokenauth.hpp does not include: ${missing}")
endif()
list(LENGTH headers n)
message(STATUS "tokenauth.hpp: checked against ${n} headers")
