# vcpkg port for tokenauth. UNTESTED with vcpkg itself (it cannot be installed where this was
# written); tests/package/recipes_test.cmake replays this file against the CMake project.
#
# TO BE FILLED AT RELEASE: REPO (the public repository) and SHA512 (of the v${VERSION} archive;
# with SHA512 0 the first `vcpkg install` fails and prints the right value).
vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO TO-BE-FILLED-AT-RELEASE/tokenauth
    REF "v${VERSION}"
    SHA512 0
    HEAD_REF main
)

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        jwks TOKENAUTH_WITH_JWKS
        redis TOKENAUTH_WITH_REDIS
        sqlite TOKENAUTH_WITH_SQLITE
)

# Without a compiled library the package is header-only: one (release) build, and
# cmake/install.cmake puts the architecture-independent CMake files under share/.
if("redis" IN_LIST FEATURES OR "sqlite" IN_LIST FEATURES OR "jwks" IN_LIST FEATURES)
    set(config_path lib/cmake/tokenauth)
else()
    set(VCPKG_BUILD_TYPE release)
    set(config_path share/cmake/tokenauth)
endif()

# The project finds hiredis through pkg-config (Debian's hiredis 0.14 has no CMake package).
set(pkgconfig_option "")
if("redis" IN_LIST FEATURES)
    vcpkg_find_acquire_program(PKGCONFIG)
    set(pkgconfig_option "-DPKG_CONFIG_EXECUTABLE=${PKGCONFIG}")
endif()

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${FEATURE_OPTIONS}
        ${pkgconfig_option}
        -DTOKENAUTH_BUILD_TESTS=OFF
        -DTOKENAUTH_BUILD_EXAMPLES=OFF
        -DTOKENAUTH_BUILD_BENCHMARKS=OFF
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME tokenauth CONFIG_PATH ${config_path})
vcpkg_fixup_pkgconfig()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
