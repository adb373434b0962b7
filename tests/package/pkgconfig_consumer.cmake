# ctest step (cmake -P): build consumer.cpp with nothing but `pkg-config --cflags --libs tokenauth`
# from the install PREFIX (PC_DIR holds tokenauth.pc), then run it.
# Inputs: PKG_CONFIG, CXX, CXX_FLAGS (the build's own, e.g. sanitizers), PREFIX, PC_DIR, SOURCE, OUT.
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${PC_DIR}")
execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs tokenauth
  OUTPUT_VARIABLE flags RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs tokenauth failed (PKG_CONFIG_PATH=${PREFIX}/${PC_DIR})")
endif()
message(STATUS "pkg-config --cflags --libs tokenauth: ${flags}")
string(FIND "${flags}" "-I${PREFIX}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "tokenauth.pc does not point into ${PREFIX}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
execute_process(COMMAND "${CXX}" -std=c++17 -Wall -Wextra -Wpedantic -Werror ${cxx_flags}
                        "${SOURCE}" -o "${OUT}" ${flags}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling ${SOURCE} with the pkg-config flags failed")
endif()
execute_process(COMMAND "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OUT} failed: ${rc}")
endif()
