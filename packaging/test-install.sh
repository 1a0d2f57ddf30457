#!/usr/bin/env bash
# Installs, upgrades, removes and purges the pushgate package on this machine
# and checks each step the way a Debian admin would expect it to behave.
#
#   packaging/test-install.sh [--force] pushgate_<version>_<arch>.deb | OUTDIR
#
# Given build-deb.sh's output directory, it tests the newest pushgate_*.deb
# there (not the -dbgsym one).
#
# Run as root on Debian 12 (the CI machine or a throw-away VM/container): it
# installs the package for real, creates and deletes the pushgate user, and
# purges /var/lib/pushgate at the end. It refuses to start when pushgate is
# already installed, unless --force is given (which purges it first).
#
# Works with and without systemd as PID 1. Without it (a container), the
# maintainer scripts must still succeed, and the daemon is started by hand as
# the pushgate user with the installed config instead of by the unit.
#
# Steps: install; the binary, config, user, data dir, conffile, unit
# (systemd-analyze verify, security < 3.0); run the daemon and ask /healthz;
# log in as the first admin (its password file in the data dir, POST
# /api/v1/login) and call the API and the console with that
# session; an API call without a credential is refused (401);
# reinstall the same .deb and upgrade to a bumped version with a modified
# config (kept); upgrade with a changed shipped config (--force-confold: kept,
# the new one as .dpkg-dist); remove (data, config, user kept); purge (all
# gone).
set -euo pipefail

force=0
deb=""
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) deb=$arg ;;
  esac
done
if [ -n "$deb" ] && [ -d "$deb" ]; then
  arch=$(dpkg --print-architecture)
  deb=$(find "$deb" -maxdepth 1 -name "pushgate_*_${arch}.deb" | sort -V | tail -n 1)
fi
[ -n "$deb" ] && [ -f "$deb" ] || { echo "usage: $0 [--force] pushgate_<version>_<arch>.deb | OUTDIR" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "test-install.sh: run as root" >&2; exit 2; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")

CONFIG=/etc/pushgate/pushgate.toml
DATA=/var/lib/pushgate
UNIT=/lib/systemd/system/pushgate.service
WANTS=/etc/systemd/system/multi-user.target.wants/pushgate.service
export DEBIAN_FRONTEND=noninteractive

step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() { printf '   FAIL: %s\n' "$*" >&2; exit 1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
pkg_status() { dpkg-query -W -f='${db:Status-Abbrev}' pushgate 2>/dev/null | tr -d ' ' || true; }
pkg_version() { dpkg-query -W -f='${Version}' pushgate; }
main_pid() { systemctl show -p MainPID --value pushgate; }
# Whether invoke-rc.d/deb-systemd-invoke may run `$1` (start, stop, restart):
# Docker-style images ship a /usr/sbin/policy-rc.d that forbids all (101).
policy_allows() {
  [ -x /usr/sbin/policy-rc.d ] || return 0
  local rc=0
  /usr/sbin/policy-rc.d pushgate.service "$1" >/dev/null 2>&1 || rc=$?
  [ "$rc" != 101 ]
}

if [ -d /run/systemd/system ]; then
  systemd_running=1
  echo "systemd is running ($(systemctl is-system-running 2>/dev/null || true)): the unit is tested"
else
  systemd_running=0
  echo "systemd is not PID 1 here: maintainer scripts must cope, the daemon is started by hand"
fi

if [ -n "$(pkg_status)" ] && [ "$(pkg_status)" != "un" ]; then
  [ "$force" = 1 ] || { echo "pushgate is installed ($(pkg_status)); --force purges it first" >&2; exit 2; }
  dpkg --purge pushgate
fi

work=$(mktemp -d)
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then kill -TERM "$daemon_pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Another .deb of the same package at version $2, optionally with a
# different shipped config: what an upgrade looks like to dpkg.
repack() {
  local out=$1 version=$2 change_config=${3:-}
  local root="$work/repack"
  rm -rf "$root"
  dpkg-deb -R "$deb" "$root"
  sed -i "s/^Version: .*/Version: $version/" "$root/DEBIAN/control"
  if [ -n "$change_config" ]; then
    printf '\n# A comment a newer version added to the shipped file.\n' >>"$root/etc/pushgate/pushgate.toml"
    (cd "$root" && sed -i "/ etc\/pushgate\/pushgate.toml$/d" DEBIAN/md5sums &&
      md5sum etc/pushgate/pushgate.toml >>DEBIAN/md5sums)
  fi
  dpkg-deb --root-owner-group -b "$root" "$out" >/dev/null
}

# Prints /healthz once it answers (20 s at most).
healthz() {
  local i
  for i in $(seq 20); do
    curl -fs "http://127.0.0.1:$1/healthz" && return 0
    sleep 1
  done
  curl -fsS "http://127.0.0.1:$1/healthz"
}

# The first admin (api.auth = "required", the default): its password is in
# $DATA/initial-admin-password (pushgate's, 0600) and named in the log
# (the command "$2..." prints it); log in with it and call the API with the
# session.
first_login() {
  local port=$1 file=$DATA/initial-admin-password name password csrf code i
  shift
  check "the first admin's password file is pushgate's, 0600" \
    test "$(stat -c '%U %a' "$file" 2>/dev/null)" = "pushgate 600"
  for i in $(seq 10); do   # the journal may take a moment
    "$@" | grep "no account yet: created user \"admin\" with password .*$file" >/dev/null && break
    sleep 1
  done
  check "the log shows the first admin's password and names its file" \
    sh -c '"$@" | grep -q "no account yet: created user \"admin\" with password .*'"$file"'"' sh "$@"
  read -r name password <"$file"
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/terminals")
  check "an API call without a credential is refused ($code)" test "$code" = 401
  csrf=$(curl -fsS -c "$work/cookies" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$name\",\"password\":\"$password\"}" "http://127.0.0.1:$port/api/v1/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])') ||
    fail "POST /api/v1/login as $name"
  check "logged in as $name (a CSRF token came back)" test -n "$csrf"
  code=$(curl -s -o "$work/terminals.json" -w '%{http_code}' -b "$work/cookies" \
    "http://127.0.0.1:$port/api/v1/terminals")
  check "GET /api/v1/terminals with the session answers 200 ($code)" test "$code" = 200
  check "and is the terminal list" python3 -c \
    'import json,sys; assert "terminals" in json.load(open(sys.argv[1]))' "$work/terminals.json"
  code=$(curl -s -o /dev/null -w '%{http_code}' -b "$work/cookies" "http://127.0.0.1:$port/console/")
  check "the console's overview page answers 200 with the session ($code)" test "$code" = 200
}

# Free loopback ports for the hand-started daemon, defaults first.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --------------------------------------------------------------------------
step "dpkg -i $(basename "$deb")"
dpkg -i "$deb"
version=$(pkg_version)
check "package installed at $version" test "$(pkg_status)" = "ii"

step "the daemon, as the package installed it"
out=$(/usr/sbin/pushgated --version)
echo "   $out"
check "pushgated --version reports ${version%%[-+~]*}" test "$out" = "pushgated ${version%%[-+~]*}"
check "/usr/sbin/pushgated is root-owned and 0755" test "$(stat -c '%U %a' /usr/sbin/pushgated)" = "root 755"
check "man page installed" test -f /usr/share/man/man8/pushgated.8.gz

step "the configuration"
/usr/sbin/pushgated --check-config "$CONFIG"
check "installed config passes --check-config" /usr/sbin/pushgated --check-config "$CONFIG"
check "the pushgate user can read it" runuser -u pushgate -- /usr/sbin/pushgated --check-config "$CONFIG"
check "config is root:pushgate 0640" test "$(stat -c '%U:%G %a' "$CONFIG")" = "root:pushgate 640"
check "config is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' pushgate | grep -q ' $CONFIG '"
check "config matches pushgated --print-default-config" sh -c "/usr/sbin/pushgated --print-default-config | cmp -s - $CONFIG"

step "the system user and the data directory"
entry=$(getent passwd pushgate) || fail "no pushgate user"
echo "   $entry"
IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
check "uid $uid is a system uid" test "$uid" -lt 1000
check "home is $DATA, shell nologin" test "$home:$shell" = "$DATA:/usr/sbin/nologin"
check "group pushgate exists" test "$(getent group pushgate | cut -d: -f3)" = "$gid"
check "$DATA is pushgate:pushgate 0700" test "$(stat -c '%U:%G %a' "$DATA")" = "pushgate:pushgate 700"
check "sysusers.d entry shipped" test -f /usr/lib/sysusers.d/pushgate.conf

step "the unit"
check "unit installed" test -f "$UNIT"
check "unit enabled (multi-user.target.wants)" test -L "$WANTS"
verify=$(systemd-analyze verify "$UNIT" 2>&1) || { echo "$verify"; fail "systemd-analyze verify"; }
[ -z "$verify" ] || { echo "$verify"; fail "systemd-analyze verify printed warnings"; }
ok "systemd-analyze verify $UNIT"
score=$(systemd-analyze security --offline=true --threshold=29 --no-pager "$UNIT" 2>&1) ||
  { echo "$score"; fail "systemd-analyze security: exposure 3.0 or more"; }
echo "   $(echo "$score" | grep 'Overall exposure level')"
ok "exposure below 3.0"

# --------------------------------------------------------------------------
step "run it"
if [ "$systemd_running" = 1 ]; then
  if policy_allows start; then
    check "the postinst started pushgate.service" systemctl is-active --quiet pushgate
  else
    echo "   note: /usr/sbin/policy-rc.d forbids starting services here; starting it by hand"
    systemctl start pushgate
    check "pushgate.service is active" systemctl is-active --quiet pushgate
  fi
  api_port=8090
  healthz $api_port || fail "/healthz does not answer"
  echo
  ok "/healthz answers on 127.0.0.1:$api_port"
  first_login $api_port journalctl -u pushgate --no-pager -o cat
  systemctl reload pushgate
  check "still active after reload" systemctl is-active --quiet pushgate
  check "the database is pushgate's, 0600" test "$(stat -c '%U %a' "$DATA/pushgate.db")" = "pushgate 600"
else
  # The shipped ports, unless something on this shared machine holds them.
  api_port=8090 zk_port=8081
  port_free $api_port || api_port=$(free_port)
  port_free $zk_port || zk_port=$(free_port)
  echo "   runuser -u pushgate -- /usr/sbin/pushgated --config $CONFIG --set gateway.data_dir=$DATA" \
       "(API $api_port, terminals $zk_port)"
  runuser -u pushgate -- /usr/sbin/pushgated --config "$CONFIG" --set gateway.data_dir="$DATA" \
    --set api.port=$api_port --set zkpush.port=$zk_port >"$work/daemon.log" 2>&1 &
  runuser_pid=$!
  if ! healthz $api_port; then
    cat "$work/daemon.log"; fail "/healthz does not answer"
  fi
  echo
  ok "/healthz answers on 127.0.0.1:$api_port"
  # Signal the daemon itself: runuser would turn a SIGTERM of its own into
  # "session terminated" and a SIGKILL two seconds later.
  daemon_pid=$(pgrep -P "$runuser_pid" -x pushgated) || fail "no pushgated under runuser"
  check "pushgated runs as pushgate" test "$(ps -o user= -p "$daemon_pid")" = "pushgate"
  curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null && ok "/readyz answers"
  check "the package installs the web console" test -f /usr/share/pushgate/console/index.html
  check "the web console is served at /console/" \
    sh -c "curl -fsS http://127.0.0.1:$api_port/console/ | grep -q 'pushgate console'"
  first_login $api_port cat "$work/daemon.log"
  # One record from a terminal, so there is data for remove/purge to keep or delete.
  answer=$(curl -fsS "http://127.0.0.1:$zk_port/iclock/cdata?SN=INSTALL01&table=ATTLOG&Stamp=1" \
    --data-binary $'1\t2026-11-21 08:00:00\t0\t1\t0\t0\t0\t0\t0\t0\n')
  check "a terminal upload is answered OK ($answer)" test "${answer:0:2}" = "OK"
  kill -TERM "$daemon_pid"
  status=0; wait "$runuser_pid" || status=$?   # runuser exits with the daemon's status
  daemon_pid=""
  sed 's/^/   | /' "$work/daemon.log"
  check "SIGTERM: pushgated exited 0" test "$status" = 0
  check "the database is pushgate's" test "$(stat -c %U "$DATA/pushgate.db")" = "pushgate"
fi
check "a database exists in $DATA" test -s "$DATA/pushgate.db"

# --------------------------------------------------------------------------
step "edit the config, then reinstall and upgrade: the edit stays"
sed -i 's/^#level = "info"/level = "debug"/' "$CONFIG"
echo "# edited by test-install.sh" >>"$CONFIG"
check "the edited config is valid" /usr/sbin/pushgated --check-config "$CONFIG"
edited=$(sha256sum <"$CONFIG")

dpkg -i "$deb" </dev/null
check "reinstall of $version keeps the edited config" test "$(sha256sum <"$CONFIG")" = "$edited"

bumped="${version}+test1"
repack "$work/pushgate_${bumped}.deb" "$bumped"
[ "$systemd_running" = 1 ] && pid_before=$(main_pid)
dpkg -i "$work/pushgate_${bumped}.deb" </dev/null
check "upgraded to $(pkg_version)" test "$(pkg_version)" = "$bumped"
if [ "$systemd_running" = 1 ]; then
  if policy_allows restart; then
    check "the upgrade restarted pushgate.service" test "$(main_pid)" != "$pid_before" -a "$(main_pid)" != 0
  else
    echo "   note: policy-rc.d forbids the restart on upgrade; restarting by hand"
    systemctl restart pushgate
  fi
fi
check "upgrade keeps the edited config" test "$(sha256sum <"$CONFIG")" = "$edited"
check "upgrade keeps the data" test -s "$DATA/pushgate.db"
check "upgrade keeps the user ($uid)" test "$(id -u pushgate)" = "$uid"
check "upgrade keeps the config's mode" test "$(stat -c '%U:%G %a' "$CONFIG")" = "root:pushgate 640"

bumped2="${version}+test2"
repack "$work/pushgate_${bumped2}.deb" "$bumped2" change-config
dpkg -i --force-confold "$work/pushgate_${bumped2}.deb" </dev/null
check "upgraded to $(pkg_version), whose shipped config changed" test "$(pkg_version)" = "$bumped2"
check "--force-confold keeps the edited config" test "$(sha256sum <"$CONFIG")" = "$edited"
check "the new shipped config is left as .dpkg-dist" test -f "$CONFIG.dpkg-dist"
if [ "$systemd_running" = 1 ]; then
  check "pushgate.service active after the upgrades" systemctl is-active --quiet pushgate
fi

# --------------------------------------------------------------------------
step "dpkg --remove: program gone, data, config and user kept"
if [ "$systemd_running" = 1 ] && ! policy_allows stop; then
  # What the prerm would do on a normal system.
  echo "   note: policy-rc.d forbids the prerm's stop; stopping pushgate.service by hand"
  systemctl stop pushgate
fi
dpkg --remove pushgate
check "status rc (config-files)" test "$(pkg_status)" = "rc"
check "/usr/sbin/pushgated removed" test ! -e /usr/sbin/pushgated
check "unit removed" test ! -e "$UNIT"
check "the database is kept" test -s "$DATA/pushgate.db"
check "the edited config is kept" test "$(sha256sum <"$CONFIG")" = "$edited"
check "the user is kept" sh -c 'getent passwd pushgate >/dev/null'
if [ "$systemd_running" = 1 ]; then
  check "pushgate.service stopped" sh -c '! systemctl is-active --quiet pushgate'
fi

step "dpkg --purge: config, data and user gone"
dpkg --purge pushgate
check "package unknown to dpkg" test -z "$(pkg_status)" -o "$(pkg_status)" = "un"
check "/etc/pushgate removed" test ! -e /etc/pushgate
check "$DATA removed" test ! -e "$DATA"
check "user removed" sh -c '! getent passwd pushgate >/dev/null'
check "group removed" sh -c '! getent group pushgate >/dev/null'
check "statoverride removed" sh -c "! dpkg-statoverride --list $CONFIG >/dev/null"
check "enablement symlink removed" test ! -e "$WANTS"

printf '\nPASS: install, run, reinstall, upgrade, remove and purge behave\n'
