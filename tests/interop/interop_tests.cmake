# Interop with Node's jsonwebtoken and jose, included by tests/CMakeLists.txt.
# interop.mjs drives jwt_tool (tokenauth) and the Node libraries installed in TOKENAUTH_NODE_DIR
# (./scripts/test npm-installs tests/interop/package.json there). Without node or the packages the
# test is skipped, except under CI=true where it fails: CI must exercise interop.
set(TOKENAUTH_NODE_DIR "" CACHE PATH "npm prefix holding jsonwebtoken and jose (node_modules/)")

add_executable(jwt_tool ${CMAKE_CURRENT_LIST_DIR}/jwt_tool.cpp)
target_link_libraries(jwt_tool PRIVATE tokenauth::tokenauth tokenauth_warnings)

find_program(TOKENAUTH_NODE_EXECUTABLE node)
if(TOKENAUTH_NODE_EXECUTABLE)
  add_test(NAME interop_jsonwebtoken_jose
    COMMAND ${TOKENAUTH_NODE_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/interop.mjs
            $<TARGET_FILE:jwt_tool> "${TOKENAUTH_NODE_DIR}")
  if(IS_DIRECTORY "${TOKENAUTH_NODE_DIR}")
    set_tests_properties(interop_jsonwebtoken_jose PROPERTIES
      WORKING_DIRECTORY "${TOKENAUTH_NODE_DIR}"
      ENVIRONMENT "NODE_PATH=${TOKENAUTH_NODE_DIR}/node_modules")
  endif()
else()
  # Decided when the test runs, so the CI environment of ctest is the one that counts.
  add_test(NAME interop_jsonwebtoken_jose COMMAND sh -c
    "echo 'node not found when configuring'; [ \"$CI\" = true ] && exit 1; exit 77")
endif()
set_tests_properties(interop_jsonwebtoken_jose PROPERTIES SKIP_RETURN_CODE 77 LABELS interop)
