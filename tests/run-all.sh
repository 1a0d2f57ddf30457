#!/usr/bin/env bash
# The whole test suite, as CI runs it (README: the second command).
#   1. a normal build (warnings are errors) and every CTest test:
#      unit, integration (real HTTP, real mosquitto/Modbus peers, the real
#      pushgated binary), fuzz-corpus replays, benchmark smoke runs;
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the Debian package built and checked with lintian, and installed
#      (packaging/build-deb.sh, packaging/test-install.sh) when present.
#      The package build (a compile of the gateway alone) runs at nice 19
#      from the start of step 1's build, beside the builds and the tests:
#      it takes only the CPU they leave idle.
# Environment: PUSHGATE_JOBS (default 2), PUSHGATE_SKIP_ASAN=1, PUSHGATE_SKIP_DEB=1,
# PUSHGATE_DEB_DEBUG=full (the package with full -g, see start_deb).
# Each phase's wall time is printed when it ends and again in a summary at
# the end (also when a phase fails), to see where CI's time goes.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${PUSHGATE_JOBS:-2}"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)

step() { printf '\n=== %s\n' "$*"; }

# phase NAME: ends the running phase (printing its wall time) and starts NAME.
PHASE="" PHASE_T0=0 RUN_T0=$SECONDS
PHASE_LINES=()
mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
phase_end() {
  [ -n "$PHASE" ] || return 0
  local s=$((SECONDS - PHASE_T0))
  PHASE_LINES+=("$(printf '  %-22s %6ds  %8s' "$PHASE" "$s" "$(mmss "$s")")")
  printf -- '--- %s: %ds (%s)\n' "$PHASE" "$s" "$(mmss "$s")"
  PHASE=""
}
phase() { phase_end; PHASE=$1 PHASE_T0=$SECONDS; }
summary() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$PHASE" ]; then PHASE="$PHASE (FAILED)"; fi
  phase_end
  local total=$((SECONDS - RUN_T0))
  printf '\n=== wall time per phase\n'
  [ ${#PHASE_LINES[@]} -eq 0 ] || printf '%s\n' "${PHASE_LINES[@]}"
  printf '  %-22s %6ds  %8s\n' total "$total" "$(mmss "$total")"
  return "$rc"
}
DEB_PID=""
stop_deb() { [ -z "$DEB_PID" ] || kill -- "-$DEB_PID" 2>/dev/null || kill "$DEB_PID" 2>/dev/null || true; }
trap 'stop_deb; summary' EXIT
WANT_DEB=""
if [ -z "${PUSHGATE_SKIP_DEB:-}" ] && [ -x packaging/build-deb.sh ]; then
  WANT_DEB=1
fi
# start_deb: the package build in the background, in its own process group
# (so a failing run can stop it), its output in build-deb/build.log.
# It appends -g1 to Debian's -g: line tables only, which is what a crash
# backtrace from the -dbgsym package needs, and a quarter less compile CPU
# (gateway/http/server.cpp at -O2: 74.3 s with -g, 53.3 s with -g1). The
# code is Debian's -O2 build all the same; set PUSHGATE_DEB_DEBUG=full for
# the full -g a release takes (packaging/build-deb.sh run by hand has it).
start_deb() {
  [ -n "$WANT_DEB" ] && [ -z "$DEB_PID" ] || return 0
  mkdir -p build-deb
  local append=-g1
  [ "${PUSHGATE_DEB_DEBUG:-}" != full ] || append=""
  set -m
  DEB_CFLAGS_APPEND=$append DEB_CXXFLAGS_APPEND=$append \
    nice -n 19 packaging/build-deb.sh build-deb >build-deb/build.log 2>&1 &
  DEB_PID=$!
  set +m
  printf -- '--- package build started in the background (nice 19, pid %s)\n' "$DEB_PID"
}

df -h . | tail -1 | awk '{print "disk: " $4 " free of " $2}'
step "build (-O1 -g1, -Werror)"
phase build
# The test tree is built -O1 with line tables only (-g1), the gateway too:
# what the suite checks does not depend on -O2, and full DWARF plus -O2 cost
# nearly half the compile time (gateway.cpp: 29.1 s of CPU at -O2 -g, 15.8 s
# at -O1 -g1; a test program 27.8 s at -O1 -g, 19.9 s at -g1). NDEBUG stays
# set, as in RelWithDebInfo. The packaged binary (step 3) is built with
# Debian's flags (-O2) and the install test runs it; benchmark figures come
# from a developer build (README, Benchmarks), not from this tree.
cmake -S . -B build "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPUSHGATE_TEST_OPTIMIZE=-O1 \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  >/dev/null
# The package build starts now, at nice 19: it takes only the CPU the other
# phases leave idle (links writing large files, CMake steps, test timers and
# sockets), from the first minute on.
start_deb
cmake --build build -j "$JOBS"

step "clang-format check"
phase clang-format
if command -v clang-format-14 >/dev/null; then
  files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || true)
  if [ -n "$files" ]; then
    # shellcheck disable=SC2086
    clang-format-14 --dry-run --Werror $files
  fi
fi

step "tests"
phase tests
ctest --test-dir build --output-on-failure -j "$JOBS" --timeout 900

if [ -z "${PUSHGATE_SKIP_ASAN:-}" ]; then
  # CI machines' disks vary: the normal tree has served its purpose there.
  if [ "${CI:-}" = true ]; then
    rm -rf build
  fi
  step "ASan+UBSan build and tests"
  phase "asan build"
  # -g1: line tables only, all a sanitizer report needs; with full -g the
  # ASan tree alone was 14 GB and filled a CI disk.
  # Precompiled headers (cmake/PushgatePch.cmake): at -O0 parsing Boost,
  # GoogleTest and spdlog is most of a test file's compile. The normal tree
  # and the package build without them, so every header is still checked
  # to compile on its own.
  cmake -S . -B build-asan "${GEN[@]}" -DCMAKE_BUILD_TYPE=Debug -DPUSHGATE_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DPUSHGATE_BUILD_BENCH=OFF -DPUSHGATE_PCH=ON >/dev/null
  cmake --build build-asan -j "$JOBS"
  phase "asan tests"
  # tests/lsan.supp: leaks proven to be inside a library (paho), with the evidence.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
    ctest --test-dir build-asan --output-on-failure -j "$JOBS" --timeout 900 -LE "system|bench"
fi

if [ -n "$WANT_DEB" ]; then
  step "Debian package"
  if [ -n "$DEB_PID" ]; then
    phase "deb build (rest)"
    deb_rc=0
    wait "$DEB_PID" || deb_rc=$?
    DEB_PID=""
    cat build-deb/build.log
    [ "$deb_rc" -eq 0 ] || { echo "packaging/build-deb.sh failed ($deb_rc)" >&2; exit "$deb_rc"; }
  else
    phase "deb build + lintian"
    packaging/build-deb.sh build-deb
  fi
  if [ -x packaging/test-install.sh ]; then
    phase "install test"
    packaging/test-install.sh build-deb
  fi
fi
phase_end
step "disk used by the build trees"
du -sh build build-asan build-deb 2>/dev/null || true
step "all tests passed"
