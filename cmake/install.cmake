# Install headers, targets, a CMake package config and a pkg-config file.
# Both are relocatable: `cmake --install build --prefix DIR` gives a working package under DIR.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/tokenauth DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ${TOKENAUTH_EXPORTED_TARGETS} EXPORT tokenauthTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# The core is header-only, so the package is architecture independent (and lives under share/)
# unless a compiled library is part of this install.
if(TOKENAUTH_WITH_REDIS OR TOKENAUTH_WITH_SQLITE OR TOKENAUTH_WITH_JWKS)
  set(tokenauth_arch_independent "")
  set(TOKENAUTH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tokenauth)
else()
  set(tokenauth_arch_independent ARCH_INDEPENDENT)
  set(TOKENAUTH_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/tokenauth)
endif()
install(EXPORT tokenauthTargets NAMESPACE tokenauth:: DESTINATION ${TOKENAUTH_CMAKE_DIR})
configure_package_config_file(cmake/tokenauthConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tokenauthConfig.cmake INSTALL_DESTINATION ${TOKENAUTH_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tokenauthConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ${tokenauth_arch_independent})
install(FILES ${PROJECT_BINARY_DIR}/tokenauthConfig.cmake ${PROJECT_BINARY_DIR}/tokenauthConfigVersion.cmake
  DESTINATION ${TOKENAUTH_CMAKE_DIR})

# tokenauth.pc describes the header-only core. With the usual relative install dirs it finds its
# prefix relative to itself (pkg-config's ${pcfiledir}), so the install tree can be moved.
set(TOKENAUTH_PC_DIR ${CMAKE_INSTALL_DATADIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_DATADIR}")
  set(TOKENAUTH_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH tokenauth_pc_up "/${TOKENAUTH_PC_DIR}" "/")
  string(REGEX REPLACE "/$" "" tokenauth_pc_up "${tokenauth_pc_up}")
  set(TOKENAUTH_PC_PREFIX "\${pcfiledir}/${tokenauth_pc_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(TOKENAUTH_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(TOKENAUTH_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(cmake/tokenauth.pc.in ${PROJECT_BINARY_DIR}/tokenauth.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tokenauth.pc DESTINATION ${TOKENAUTH_PC_DIR})
