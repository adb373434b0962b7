# ctest step: install the build tree BUILD_DIR into a fresh PREFIX (cmake -P).
# Also checks the install holds the library only: no test programs.
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} --prefix ${PREFIX} failed: ${rc}")
endif()
file(GLOB_RECURSE installed RELATIVE "${PREFIX}" "${PREFIX}/*")
list(FILTER installed INCLUDE REGEX "(_test|jwt_tool|consumer|readme_example)$")
if(installed)
  message(FATAL_ERROR "test programs were installed: ${installed}")
endif()
foreach(required include/tokenauth/jwt.hpp ${REQUIRED_FILES})
  if(NOT EXISTS "${PREFIX}/${required}")
    message(FATAL_ERROR "missing from the install: ${required}")
  endif()
endforeach()
message(STATUS "installed tokenauth into ${PREFIX}")
