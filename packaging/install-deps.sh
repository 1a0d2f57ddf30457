#!/usr/bin/env bash
# Installs every build, test and packaging dependency of pushgate from
# Debian 12's own archive. Idempotent; safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang-14 libclang-rt-14-dev
  clang-format-14
  # mold: links the ~80 test programs in a third of GNU ld's CPU time (CMake uses it when present)
  mold
  # libraries (the design card)
  libboost1.74-dev libboost-program-options1.74-dev libssl-dev libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev libhowardhinnant-date-dev tzdata
  libpaho-mqttpp-dev libpaho-mqtt-dev libmodbus-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real peers used by the integration tests
  mosquitto mosquitto-clients python3 python3-pymodbus libmodbus5
  # pymodbus imports its serial client at import time (a Recommends, not a Depends)
  python3-serial-asyncio
  # packaging (adduser: the package's postinst; systemd: systemd-analyze for
  # verify/security, also where systemd is not PID 1)
  debhelper devscripts lintian fakeroot dpkg-dev systemd adduser
  # system tests: the reference Prometheus text-format parser (for Debian's
  # /usr/bin/python3, tests/integration/system/metrics_test.py)
  python3-prometheus-client
  # the web console's browser test (tests/browser): a real headless Chromium
  chromium chromium-driver python3-selenium
  # misc test helpers
  curl openssl util-linux procps psmisc
  # zlib: the simulated Dahua device deflates and gzips its event pushes
  zlib1g-dev
  # the system-call survey behind the unit's SystemCallFilter (packaging/README.md)
  strace
)

if [ -z "${PUSHGATE_SKIP_APT_UPDATE:-}" ]; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
