#!/usr/bin/env bash
# pushgate.service is valid and hardened, without installing anything:
# - `systemd-analyze verify` accepts it and prints nothing (it exits 0 on an
#   unknown key, so any output fails the test), with ExecStart pointed at the
#   binary under test;
# - `systemd-analyze security --offline=true` rates its exposure below 3.0,
#   with and without the privileged-port drop-in.
# packaging/test-install.sh checks the installed unit the same way.
#
#   unit_file_test.sh UNIT_FILE DROPIN_FILE PUSHGATED
set -euo pipefail

unit=$1 dropin=$2 pushgated=$(readlink -f "$3")
# --threshold is the exposure level times ten: 29 accepts up to 2.9.
threshold=29

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is missing (the systemd package, packaging/install-deps.sh)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The unit as installed, but running the binary under test.
sed "s|^ExecStart=/usr/sbin/pushgated|ExecStart=$pushgated|" "$unit" >"$tmp/pushgate.service"
grep -q "^ExecStart=$pushgated " "$tmp/pushgate.service"

echo "== systemd-analyze verify"
# --man=no: the man page named in Documentation= is installed by the package.
if ! out=$(cd "$tmp" && systemd-analyze verify --man=no "$tmp/pushgate.service" 2>&1) || [ -n "$out" ]; then
  echo "$out"
  echo "FAIL: systemd-analyze verify complained about $unit" >&2
  exit 1
fi
echo "ok"

security() {
  local file=$1
  local out
  out=$(cd "$tmp" && systemd-analyze security --offline=true --threshold=$threshold --no-pager "$file" 2>&1) || {
    echo "$out"
    echo "FAIL: $file: exposure above $((threshold / 10)).$((threshold % 10))" >&2
    return 1
  }
  echo "$out" | grep -- "Overall exposure level"
}

echo "== systemd-analyze security (the unit as shipped)"
security "$tmp/pushgate.service"

# With the drop-in: the unit plus its [Service] lines, as systemd merges them.
echo "== systemd-analyze security (with $(basename "$dropin"))"
mkdir -p "$tmp/with-dropin"
{ cat "$tmp/pushgate.service"; echo; cat "$dropin"; } >"$tmp/with-dropin/pushgate.service"
out=$(security "$tmp/with-dropin/pushgate.service")
echo "$out"
# The drop-in must really grant the capability. (Output captured first: grep -q
# closing the pipe early would fail the pipeline under pipefail.)
report=$(cd "$tmp" && systemd-analyze security --offline=true --no-pager "$tmp/with-dropin/pushgate.service" 2>&1)
if ! grep -q "Service has elevated networking privileges" <<<"$report"; then
  echo "FAIL: the drop-in does not grant CAP_NET_BIND_SERVICE" >&2
  exit 1
fi
echo "PASS"
