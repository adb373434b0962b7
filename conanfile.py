# Conan 2 recipe for tokenauth. UNTESTED with Conan itself (it cannot be installed where this was
# written); tests/package/recipes_test.cmake checks that the version, the CMake options and the
# targets named here exist in the CMake project, whose install CI does test.
import os

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, rmdir
from conan.tools.gnu import PkgConfigDeps

required_conan_version = ">=2.0"


class TokenauthConan(ConanFile):
    name = "tokenauth"
    version = "0.1.0"  # must equal project(VERSION) in CMakeLists.txt (checked by ctest)
    description = "HS256 JWT and rotating refresh tokens for C++ services"
    license = "MIT"
    topics = ("jwt", "authentication", "refresh-token", "redis", "sqlite")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "shared": [True, False],
        "fPIC": [True, False],
        "with_redis": [True, False],
        "with_sqlite": [True, False],
        "with_jwks": [True, False],
    }
    default_options = {
        "shared": False,
        "fPIC": True,
        "with_redis": True,
        "with_sqlite": True,
        "with_jwks": True,
    }
    exports_sources = "CMakeLists.txt", "cmake/*", "include/*", "src/*", "LICENSE"

    @property
    def _header_only(self):
        return not (self.options.with_redis or self.options.with_sqlite or self.options.with_jwks)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self._header_only:
            self.package_type = "header-library"
            self.options.rm_safe("shared")
            self.options.rm_safe("fPIC")
        elif self.options.get_safe("shared"):
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # The header-only core includes and calls OpenSSL and nlohmann/json in consumers' code.
        self.requires("openssl/[>=3 <4]", transitive_headers=True, transitive_libs=True)
        self.requires("nlohmann_json/[>=3.10 <4]", transitive_headers=True)
        if self.options.with_sqlite:
            self.requires("sqlite3/[>=3.40 <4]")
        if self.options.with_redis:
            self.requires("hiredis/[>=1.0 <2]")
        if self.options.with_jwks:
            self.requires("boost/[>=1.81 <2]")

    def build_requirements(self):
        if self.options.with_redis:
            # CMakeLists.txt finds hiredis with pkg_check_modules; PkgConfigDeps writes hiredis.pc.
            self.tool_requires("pkgconf/[>=2.1 <3]")

    def validate(self):
        check_min_cppstd(self, 17)
        if self.options.with_redis and self.settings.os == "Windows":
            raise ConanInvalidConfiguration("tokenauth::redis uses POSIX sockets")

    def package_id(self):
        if not (self.info.options.with_redis or self.info.options.with_sqlite
                or self.info.options.with_jwks):
            self.info.clear()

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["TOKENAUTH_WITH_REDIS"] = bool(self.options.with_redis)
        tc.cache_variables["TOKENAUTH_WITH_SQLITE"] = bool(self.options.with_sqlite)
        tc.cache_variables["TOKENAUTH_WITH_JWKS"] = bool(self.options.with_jwks)
        tc.cache_variables["TOKENAUTH_BUILD_TESTS"] = False
        tc.cache_variables["TOKENAUTH_BUILD_EXAMPLES"] = False
        tc.cache_variables["TOKENAUTH_BUILD_BENCHMARKS"] = False
        tc.generate()
        CMakeDeps(self).generate()
        PkgConfigDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        CMake(self).install()
        # Conan's generators describe the package; the project's own config files would shadow them.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "share"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "tokenauth")
        # CMakeDeps makes an aggregate target for the whole package; keep it off the core's name so
        # that linking tokenauth::tokenauth never drags in the stores (as ConanCenter's hiredis does).
        self.cpp_info.set_property("cmake_target_name", "tokenauth::tokenauth_all_unofficial")
        self.cpp_info.set_property("pkg_config_name", "tokenauth_all_unofficial")

        self.cpp_info.components["tokenauth"].set_property("cmake_target_name", "tokenauth::tokenauth")
        self.cpp_info.components["tokenauth"].set_property("pkg_config_name", "tokenauth")
        self.cpp_info.components["tokenauth"].requires = ["openssl::crypto", "nlohmann_json::nlohmann_json"]
        self.cpp_info.components["tokenauth"].bindirs = []
        self.cpp_info.components["tokenauth"].libdirs = []

        if self.options.with_sqlite:
            self.cpp_info.components["sqlite"].set_property("cmake_target_name", "tokenauth::sqlite")
            self.cpp_info.components["sqlite"].libs = ["tokenauth_sqlite"]
            self.cpp_info.components["sqlite"].requires = ["tokenauth", "sqlite3::sqlite3"]

        if self.options.with_redis:
            self.cpp_info.components["redis"].set_property("cmake_target_name", "tokenauth::redis")
            self.cpp_info.components["redis"].libs = ["tokenauth_redis"]
            self.cpp_info.components["redis"].requires = ["tokenauth", "hiredis::hiredis"]

        if self.options.with_jwks:
            self.cpp_info.components["jwks"].set_property("cmake_target_name", "tokenauth::jwks")
            self.cpp_info.components["jwks"].libs = ["tokenauth_jwks"]
            self.cpp_info.components["jwks"].requires = ["tokenauth", "openssl::ssl", "boost::headers"]
            self.cpp_info.components["jwks"].system_libs = ["pthread"]
