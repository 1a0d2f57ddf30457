# Precompiled headers (PUSHGATE_PCH): the stable third-party headers nearly
# every translation unit parses (Boost.Asio/Beast, nlohmann/json, spdlog,
# GoogleTest and the standard library) are compiled once per flag set instead
# of once per .cpp. Included at the end of the top-level CMakeLists.txt: it
# walks every target the project defined and gives each the PCH of the flag
# set it compiles with, built once by a small donor target and shared through
# PRECOMPILE_HEADERS_REUSE_FROM.
#
# A PCH is only valid for the flags and macros it was built with. GCC checks
# that (-Winvalid-pch, which CMake passes and -Werror makes fatal), so a
# target that ends up with the wrong donor fails to build instead of
# silently compiling without the PCH.
#
# The donor is chosen from what a target links (directly or through other
# targets): spdlog (the gateway's own libraries and their tests), Boost
# without spdlog (the simulator, kept apart from the gateway), or neither
# (the rules and the JSON parser); each in a variant with GoogleTest for the
# targets that link it. A PCH only adds headers a target could include
# anyway: they are all installed system headers, and the macros they depend
# on come with the libraries the donor links.
#
# ccache caches a compile that uses a PCH only with
# `sloppiness = pch_defines,time_macros` (otherwise it runs the compiler every
# time, "could not use precompiled header"). With PUSHGATE_PCH on and ccache
# as the compiler launcher, the launcher is run with that sloppiness added to
# any CCACHE_SLOPPINESS of the configuring shell. A ccache build defaults to
# PUSHGATE_PCH=OFF (CMakeLists.txt): the PCH changes every compile command, so
# turning it on costs one full rebuild of a cache primed without it.
if(NOT PUSHGATE_PCH)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Only GCC's PCH rules (above) are checked here; clang (PUSHGATE_FUZZ) builds without.
  message(STATUS "PUSHGATE_PCH: precompiled headers are only set up for GCC; off for ${CMAKE_CXX_COMPILER_ID}")
  return()
endif()

set(_pushgate_pch_std
  <algorithm> <array> <atomic> <chrono> <condition_variable> <cstdint> <deque>
  <filesystem> <functional> <map> <memory> <mutex> <optional> <set> <span>
  <sstream> <string> <string_view> <thread> <unordered_map> <utility>
  <variant> <vector>)
set(_pushgate_pch_json <nlohmann/json.hpp>)
set(_pushgate_pch_asio
  <boost/asio/io_context.hpp> <boost/asio/post.hpp> <boost/asio/ip/tcp.hpp>
  <boost/asio/steady_timer.hpp> <boost/asio/strand.hpp>
  <boost/asio/executor_work_guard.hpp> <boost/asio/connect.hpp>
  <boost/asio/write.hpp> <boost/asio/bind_executor.hpp>
  <boost/beast/core.hpp> <boost/beast/http.hpp>)
set(_pushgate_pch_spdlog <spdlog/spdlog.h>)
set(_pushgate_pch_gtest <gtest/gtest.h> <gmock/gmock.h>)

# One donor: an object library compiling an empty file, linking only
# header/interface libraries (so no cycle with the targets that reuse it).
function(_pushgate_pch_donor name)
  cmake_parse_arguments(D "" "" "LIBS;HEADERS" ${ARGN})
  set(src ${PROJECT_BINARY_DIR}/pch/${name}.cpp)
  if(NOT EXISTS ${src})
    file(WRITE ${src} "// The translation unit that builds ${name}'s precompiled header.\n")
  endif()
  add_library(${name} OBJECT ${src})
  target_link_libraries(${name} PRIVATE ${D_LIBS} pushgate_warnings)
  target_precompile_headers(${name} PRIVATE ${D_HEADERS})
endfunction()

set(_pushgate_core_libs pushgate_boost spdlog::spdlog nlohmann_json::nlohmann_json
    tomlplusplus::tomlplusplus date::date date::date-tz OpenSSL::SSL OpenSSL::Crypto SQLite::SQLite3)
set(_pushgate_core_headers ${_pushgate_pch_std} ${_pushgate_pch_json} ${_pushgate_pch_asio} ${_pushgate_pch_spdlog})
set(_pushgate_sim_headers ${_pushgate_pch_std} ${_pushgate_pch_json} ${_pushgate_pch_asio})
set(_pushgate_plain_headers ${_pushgate_pch_std} ${_pushgate_pch_json})

# Every target defined in DIR and below.
function(_pushgate_targets_in dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    _pushgate_targets_in(${sub} sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# The targets TARGET links, directly or indirectly (aliases resolved).
function(_pushgate_link_closure target out)
  set(seen "")
  set(todo ${target})
  while(todo)
    list(POP_FRONT todo t)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" t "${t}")
    if(NOT TARGET "${t}")
      continue()
    endif()
    get_target_property(real ${t} ALIASED_TARGET)
    if(real)
      set(t ${real})
    endif()
    if(t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    get_target_property(type ${t} TYPE)
    set(props INTERFACE_LINK_LIBRARIES)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      list(APPEND props LINK_LIBRARIES)
    endif()
    foreach(p ${props})
      get_target_property(libs ${t} ${p})
      if(libs)
        list(APPEND todo ${libs})
      endif()
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

_pushgate_targets_in(${PROJECT_SOURCE_DIR} _pushgate_all_targets)
if(PUSHGATE_BUILD_TESTS)
  # tests/ found it in its own scope; the closure walk needs to see it here.
  find_package(GTest QUIET)
endif()

_pushgate_pch_donor(pushgate_pch_core LIBS ${_pushgate_core_libs} HEADERS ${_pushgate_core_headers})
_pushgate_pch_donor(pushgate_pch_sim LIBS pushgate_boost nlohmann_json::nlohmann_json HEADERS ${_pushgate_sim_headers})
_pushgate_pch_donor(pushgate_pch_plain LIBS nlohmann_json::nlohmann_json HEADERS ${_pushgate_plain_headers})
if(TARGET GTest::gtest)
  foreach(kind core sim plain)
    set(libs GTest::gtest GTest::gmock)
    if(kind STREQUAL "core")
      list(APPEND libs ${_pushgate_core_libs})
    elseif(kind STREQUAL "sim")
      list(APPEND libs pushgate_boost nlohmann_json::nlohmann_json)
    endif()
    _pushgate_pch_donor(pushgate_pch_${kind}_test LIBS ${libs}
                        HEADERS ${_pushgate_${kind}_headers} ${_pushgate_pch_gtest})
    # The test programs' optimisation (tests/CMakeLists.txt): a PCH is only
    # valid for the -O level it was built with.
    if(PUSHGATE_TEST_OPTIMIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
      target_compile_options(pushgate_pch_${kind}_test PRIVATE ${PUSHGATE_TEST_OPTIMIZE})
    endif()
  endforeach()
endif()

# The names the closure holds (aliases resolved).
foreach(lib spdlog::spdlog GTest::gtest pushgate_boost)
  string(REGEX REPLACE "::.*" "" short ${lib})
  set(_pushgate_real_${short} ${lib})
  if(TARGET ${lib})
    get_target_property(real ${lib} ALIASED_TARGET)
    if(real)
      set(_pushgate_real_${short} ${real})
    endif()
  endif()
endforeach()
set(_pushgate_sloppiness "pch_defines,time_macros")
if(NOT "$ENV{CCACHE_SLOPPINESS}" STREQUAL "")
  string(PREPEND _pushgate_sloppiness "$ENV{CCACHE_SLOPPINESS},")
endif()
foreach(t ${_pushgate_all_targets} pushgate_pch_core pushgate_pch_sim pushgate_pch_plain
        pushgate_pch_core_test pushgate_pch_sim_test pushgate_pch_plain_test)
  if(NOT TARGET ${t})
    continue()
  endif()
  get_target_property(launcher ${t} CXX_COMPILER_LAUNCHER)
  if(launcher MATCHES "ccache" AND NOT launcher MATCHES "CCACHE_SLOPPINESS")
    set_target_properties(${t} PROPERTIES CXX_COMPILER_LAUNCHER
      "${CMAKE_COMMAND};-E;env;CCACHE_SLOPPINESS=${_pushgate_sloppiness};${launcher}")
  endif()
  get_target_property(type ${t} TYPE)
  # Shared libraries compile with -fPIC, which the donors do not.
  if(NOT type MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$" OR t MATCHES "^pushgate_pch_")
    continue()
  endif()
  _pushgate_link_closure(${t} closure)
  if(_pushgate_real_spdlog IN_LIST closure)
    set(kind core)
  elseif(_pushgate_real_pushgate_boost IN_LIST closure)
    set(kind sim)
  else()
    set(kind plain)
  endif()
  # The *_test donors are built like the test programs (PUSHGATE_TEST_OPTIMIZE);
  # another target linking GoogleTest gets the donor without it.
  get_target_property(test_optimized ${t} PUSHGATE_TEST_OPTIMIZED)
  set(test_donor_matches TRUE)
  if(PUSHGATE_TEST_OPTIMIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug" AND NOT test_optimized)
    set(test_donor_matches FALSE)
  endif()
  if(TARGET GTest::gtest AND _pushgate_real_GTest IN_LIST closure AND test_donor_matches)
    string(APPEND kind _test)
  endif()
  set_target_properties(${t} PROPERTIES PRECOMPILE_HEADERS_REUSE_FROM pushgate_pch_${kind})
endforeach()
