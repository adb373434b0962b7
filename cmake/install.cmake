# Install headers, targets, a CMake package config and a pkg-config file.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/tokenauth DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ${TOKENAUTH_EXPORTED_TARGETS} EXPORT tokenauthTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
set(TOKENAUTH_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/tokenauth)
install(EXPORT tokenauthTargets NAMESPACE tokenauth:: DESTINATION ${TOKENAUTH_CMAKE_DIR})

# The core is header-only, so the version file is architecture independent unless a compiled
# store is part of this install.
if(TOKENAUTH_WITH_REDIS OR TOKENAUTH_WITH_SQLITE)
  set(tokenauth_arch_independent "")
else()
  set(tokenauth_arch_independent ARCH_INDEPENDENT)
endif()
configure_package_config_file(cmake/tokenauthConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tokenauthConfig.cmake INSTALL_DESTINATION ${TOKENAUTH_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tokenauthConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ${tokenauth_arch_independent})
install(FILES ${PROJECT_BINARY_DIR}/tokenauthConfig.cmake ${PROJECT_BINARY_DIR}/tokenauthConfigVersion.cmake
  DESTINATION ${TOKENAUTH_CMAKE_DIR})

set(TOKENAUTH_PC_LIBS "")
configure_file(cmake/tokenauth.pc.in ${PROJECT_BINARY_DIR}/tokenauth.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tokenauth.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
