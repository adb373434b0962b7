# The vcpkg port and conanfile.py cannot be run here (neither tool is installed): this checks them
# against the project instead (version, options, install paths, exported targets). See
# recipes_test.cmake and docs/packaging.md.
add_test(NAME package_recipes COMMAND ${CMAKE_COMMAND}
  -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package_recipes
  "-DGENERATOR=${CMAKE_GENERATOR}"
  -P ${CMAKE_CURRENT_LIST_DIR}/recipes_test.cmake)
set_tests_properties(package_recipes PROPERTIES LABELS package)
