# Consumption tests, included by tests/CMakeLists.txt:
#   package_install       cmake --install of this build tree into a fresh prefix (fixture setup)
#   package_find_package  consumer/ configured with find_package(tokenauth CONFIG REQUIRED), built, run
#   package_pkgconfig     consumer.cpp built with `pkg-config --cflags --libs tokenauth`, run
#   readme_example        the first ```cpp block of README.md, built against this tree and run
# Consumers are compiled with this build's compiler and flags, so sanitizer trees stay consistent.
set(tokenauth_pkg_dir ${CMAKE_CURRENT_BINARY_DIR}/package)
set(tokenauth_pkg_prefix ${tokenauth_pkg_dir}/prefix)
set(tokenauth_pkg_components "")
foreach(store sqlite redis)
  string(TOUPPER ${store} upper)
  if(TOKENAUTH_WITH_${upper})
    list(APPEND tokenauth_pkg_components ${store})
  endif()
endforeach()

add_test(NAME package_install COMMAND ${CMAKE_COMMAND}
  -DBUILD_DIR=${PROJECT_BINARY_DIR} -DPREFIX=${tokenauth_pkg_prefix}
  "-DREQUIRED_FILES=${TOKENAUTH_CMAKE_DIR}/tokenauthConfig.cmake;${TOKENAUTH_PC_DIR}/tokenauth.pc"
  -P ${CMAKE_CURRENT_LIST_DIR}/install_prefix.cmake)
set_tests_properties(package_install PROPERTIES FIXTURES_SETUP tokenauth_installed LABELS package)

add_test(NAME package_find_package COMMAND ${CMAKE_CTEST_COMMAND}
  --build-and-test ${CMAKE_CURRENT_LIST_DIR}/consumer ${tokenauth_pkg_dir}/find_package
  --build-generator ${CMAKE_GENERATOR}
  --build-makeprogram ${CMAKE_MAKE_PROGRAM}
  --build-options
    -DCMAKE_PREFIX_PATH=${tokenauth_pkg_prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DTOKENAUTH_EXPECTED_PREFIX=${tokenauth_pkg_prefix}
    "-DTOKENAUTH_EXPECTED_COMPONENTS=${tokenauth_pkg_components}"
    -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
    "-DCMAKE_CXX_FLAGS=${CMAKE_CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}"
  --test-command consumer)

find_program(TOKENAUTH_PKG_CONFIG pkg-config REQUIRED)
add_test(NAME package_pkgconfig COMMAND ${CMAKE_COMMAND}
  -DPKG_CONFIG=${TOKENAUTH_PKG_CONFIG} -DCXX=${CMAKE_CXX_COMPILER}
  "-DCXX_FLAGS=${CMAKE_CXX_FLAGS} ${CMAKE_EXE_LINKER_FLAGS}"
  -DPREFIX=${tokenauth_pkg_prefix} -DPC_DIR=${TOKENAUTH_PC_DIR}
  -DSOURCE=${CMAKE_CURRENT_LIST_DIR}/consumer/consumer.cpp -DOUT=${tokenauth_pkg_dir}/pkgconfig_consumer
  -P ${CMAKE_CURRENT_LIST_DIR}/pkgconfig_consumer.cmake)
set_tests_properties(package_find_package package_pkgconfig PROPERTIES
  FIXTURES_REQUIRED tokenauth_installed LABELS package)

# README.md's example is documentation that must not rot: extract its first ```cpp block when
# configuring (README.md edits re-run CMake) and build it, as its own test, against this tree.
set(tokenauth_readme ${PROJECT_SOURCE_DIR}/README.md)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${tokenauth_readme})
set(tokenauth_readme_code "")
if(EXISTS ${tokenauth_readme})
  file(READ ${tokenauth_readme} tokenauth_readme_text)
  string(FIND "${tokenauth_readme_text}" "```cpp\n" begin)
  if(begin GREATER -1)
    math(EXPR begin "${begin} + 7")
    string(SUBSTRING "${tokenauth_readme_text}" ${begin} -1 tokenauth_readme_code)
    string(FIND "${tokenauth_readme_code}" "\n```" end)
    math(EXPR end "${end} + 1")  # keep the final newline; -1 + 1 = 0 leaves nothing if unclosed
    string(SUBSTRING "${tokenauth_readme_code}" 0 ${end} tokenauth_readme_code)
  endif()
endif()
if(tokenauth_readme_code STREQUAL "")
  add_test(NAME readme_example COMMAND sh -c "echo 'README.md has no cpp code block'; exit 1")
else()
  set(tokenauth_readme_cpp ${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp)
  # Write only on change so an unrelated README edit does not rebuild the example.
  set(tokenauth_readme_old "")
  if(EXISTS ${tokenauth_readme_cpp})
    file(READ ${tokenauth_readme_cpp} tokenauth_readme_old)
  endif()
  if(NOT tokenauth_readme_old STREQUAL tokenauth_readme_code)
    file(WRITE ${tokenauth_readme_cpp} "${tokenauth_readme_code}")
  endif()
  add_executable(readme_example EXCLUDE_FROM_ALL ${tokenauth_readme_cpp})
  target_link_libraries(readme_example PRIVATE tokenauth::tokenauth tokenauth_warnings)
  add_test(NAME readme_example_build
    COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target readme_example)
  set_tests_properties(readme_example_build PROPERTIES FIXTURES_SETUP readme_example)
  add_test(NAME readme_example COMMAND readme_example)
  set_tests_properties(readme_example PROPERTIES FIXTURES_REQUIRED readme_example)
endif()
set_tests_properties(readme_example PROPERTIES LABELS package)

# consumer.cpp is built only by the tests above, in trees of their own. This never-built object
# library gives it an entry in compile_commands.json, with the stores this tree has, so that
# ./scripts/tidy checks it like every other source.
add_library(package_consumer_tidy OBJECT EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/consumer/consumer.cpp)
target_link_libraries(package_consumer_tidy PRIVATE tokenauth::tokenauth)
target_compile_options(package_consumer_tidy PRIVATE -Wall -Wextra -Wpedantic)  # as consumer/ has
foreach(store sqlite redis)
  if(TARGET tokenauth::${store})
    string(TOUPPER ${store} upper)
    target_link_libraries(package_consumer_tidy PRIVATE tokenauth::${store})
    target_compile_definitions(package_consumer_tidy PRIVATE TOKENAUTH_CONSUMER_${upper})
  endif()
endforeach()
