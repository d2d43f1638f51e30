#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/setup.sh - everything runbookd needs to build and test on Debian 12, idempotent:
#   1. installs the Debian packages below by name (apt only when one is missing);
#      (the Cockpit page's too, and `npm ci` in cockpit/: see setup_cockpit below);
#   2. creates the test and demo users and groups;
#   3. configures and builds with meson: build/ (or build-asan/ with --sanitize, build-fuzz/ with
#      --fuzz).
#
# usage: bash tools/setup.sh [--sanitize|--fuzz] [--no-build] [--deps-only]
#   --sanitize   build build-asan/ with -Db_sanitize=address,undefined instead of build/
#   --fuzz       also install clang and its libFuzzer runtime, and build build-fuzz/ with clang
#                and -Dfuzz=true (tests/fuzz/ linked with libFuzzer) instead of build/
#   --no-build   packages and users only (same as --deps-only)
# Run as root (apt-get, useradd). Prints the build directory on its last line.
set -euo pipefail

SOURCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

SANITIZE=0 FUZZ=0 BUILD=1
for a in "$@"; do
    case "$a" in
        --sanitize) SANITIZE=1 ;;
        --fuzz) FUZZ=1 ;;
        --no-build|--deps-only) BUILD=0 ;;
        -h|--help) sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$a'" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "must run as root (apt-get, useradd)"

# Package -> what the project uses from it:
#   build-essential meson ninja-build pkg-config  compiler and build (gcc, meson, ninja)
#   libsystemd-dev liblmdb-dev libjansson-dev libssl-dev libcurl4-openssl-dev libssh2-1-dev  libraries
#   lmdb-utils       mdb_stat/mdb_dump to inspect a state dir
#   dbus dbus-daemon dbus-bin  the private system bus of the testbed
#   polkitd          /usr/lib/polkit-1/polkitd, pkcheck, pkaction
#   systemd          systemd-journald, journalctl, busctl, systemd-analyze, systemd-machine-id-setup
#   openssh-server openssh-client  the ssh connector's test peer (sshd on 127.0.0.1) and ssh-keygen
#   dropbear-bin tinysshd ucspi-tcp  the other SSH servers the connector is tested against
#                    (tests/testbed.sh peer-up; tcpserver runs tinysshd, which serves one connection)
#   jq               JSON from busctl --json and journalctl -o json; meson's testlog.json
#   libxml2-utils    xmllint (dist suite);  groff-base: groff, the man page check (dist suite)
#   (lint) shellcheck, for the project's shell scripts (dist suite)
#   util-linux       setpriv, setsid, unshare, flock;  mount: mount --bind (testbed namespaces)
#   bsdutils         logger --journald (testbed check)
#   tzdata           the time zone database change windows are read in (/usr/share/zoneinfo)
#   procps           pgrep/pkill/ps;  iproute2: ss
#   passwd           useradd/groupadd/usermod;  coreutils findutils grep sed mawk: the scripts
#   git ca-certificates
#   debhelper lintian  the Debian package (debian/: dpkg-buildpackage -b, lintian; deploy suite)
#   python3 openssl  the Azure fake (tests/fake-azure: Python stdlib HTTPS server; openssl makes its
#                    certificates and verifies JWT client assertions);  binutils: strings (secret checks)
PACKAGES=(
    build-essential meson ninja-build pkg-config
    libsystemd-dev liblmdb-dev lmdb-utils libjansson-dev libssl-dev libcurl4-openssl-dev libssh2-1-dev
    dbus dbus-daemon dbus-bin polkitd systemd
    openssh-server openssh-client dropbear-bin tinysshd ucspi-tcp
    jq libxml2-utils groff-base shellcheck
    util-linux mount bsdutils tzdata procps iproute2 passwd coreutils findutils grep sed mawk
    git ca-certificates
    python3 openssl binutils
    debhelper lintian
)

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || echo "$p"
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    if [ ${#missing[@]} -eq 0 ]; then
        say "all ${#PACKAGES[@]} packages installed"
        return 0
    fi
    say "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
               install --no-install-recommends)
    # apt-get update only when the package lists are missing, or when an install from the
    # lists we have fails (stale lists after a point release).
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
        apt-get -q update
    fi
    if ! "${apt[@]}" "${missing[@]}"; then
        say "install failed; refreshing the package lists and retrying"
        apt-get -q update
        "${apt[@]}" "${missing[@]}"
    fi
    mapfile -t missing < <(missing_packages)
    [ ${#missing[@]} -eq 0 ] || die "still not installed: ${missing[*]}"
}

ensure_group() { # name
    getent group "$1" >/dev/null || { groupadd --system "$1"; say "created group $1"; }
}
ensure_login_user() { # name home: a user with a shell and a home (SSH test peers log in as it)
    local u=$1 home=$2
    if ! getent passwd "$u" >/dev/null; then
        local grp=(--user-group)
        getent group "$u" >/dev/null && grp=(--gid "$u")
        useradd --system "${grp[@]}" --create-home --home-dir "$home" --shell /bin/sh \
                --comment "runbookd test user (SSH peers)" "$u"
        say "created user $u"
    fi
    home=$(getent passwd "$u" | cut -d: -f6)
    install -d -m 700 -o "$u" -g "$(id -g "$u")" "$home" "$home/.ssh"
}
ensure_user() { # name [supplementary group]...
    local u=$1 g; shift
    if ! getent passwd "$u" >/dev/null; then
        local grp=(--user-group)
        getent group "$u" >/dev/null && grp=(--gid "$u")   # left over from an earlier userdel
        useradd --system "${grp[@]}" --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin --comment "runbookd test/demo user" "$u"
        say "created user $u"
    fi
    for g in "$@"; do
        if ! id -nG "$u" | tr ' ' '\n' | grep -qx "$g"; then
            usermod -a -G "$g" "$u"
            say "added $u to group $g"
        fi
    done
}

create_users() {
    # tests: rbtest members are allowed every org.runbookd1.* action by
    # tests/polkit/50-runbookd-test.rules; rbtest-mallory is not a member and is refused.
    # All four are in systemd-journal, as operators would be in production, so that the Cockpit
    # page (run as them by tests/integration/test-cockpit.sh) can read the session's journal records.
    ensure_group rbtest
    ensure_group systemd-journal
    ensure_user rbtest-alice rbtest systemd-journal
    ensure_user rbtest-bob rbtest systemd-journal
    ensure_user rbtest-carol rbtest systemd-journal
    ensure_user rbtest-mallory systemd-journal
    # approver groups (tests/integration/test-approver-groups.sh): bob and dave in rbtest-dba,
    # carol in rbtest-sre
    ensure_group rbtest-dba
    ensure_group rbtest-sre
    ensure_user rbtest-dave rbtest systemd-journal rbtest-dba
    ensure_user rbtest-bob rbtest-dba
    ensure_user rbtest-carol rbtest-sre
    # the login user of the testbed's dropbear and tinysshd (tests/testbed.sh peer-up): they read
    # only ~/.ssh/authorized_keys, so it has a home of its own
    ensure_login_user rbtest-peer /var/lib/rbtest-peer
    # demo: the group policy/50-runbookd-example.rules grants
    ensure_group runbookd
    ensure_user demo-operator runbookd
    ensure_user demo-approver runbookd
}

# ---------------------------------------------------------------- Cockpit page (cockpit/)
# The page is built from npm packages (cockpit/package-lock.json) and tested end to end in
# Debian's Chromium against Debian's Cockpit (tests/integration/test-cockpit.sh):
#   nodejs npm       node runs esbuild (cockpit/build.mjs) and the playwright-core test scripts
#   cockpit-ws cockpit-bridge cockpit-system  the web server, the bridge to D-Bus, base1/cockpit.js
#   chromium         the browser (playwright-core drives it; Playwright's own browser download
#                    is not used)
# A node from elsewhere (e.g. NodeSource's nodejs, which bundles npm and conflicts with Debian's
# npm package) is kept: nodejs/npm are installed only when the node/npm commands are missing.
# `npm ci` runs only when cockpit/node_modules is older than package-lock.json (or missing).
COCKPIT_PACKAGES=(cockpit-ws cockpit-bridge cockpit-system chromium)

setup_cockpit() {
    local want=() p
    command -v node >/dev/null || want+=(nodejs)
    command -v npm >/dev/null || want+=(npm)
    for p in "${COCKPIT_PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || want+=("$p")
    done
    if [ ${#want[@]} -gt 0 ]; then
        say "installing (Cockpit page): ${want[*]}"
        local apt=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
                   install --no-install-recommends)
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${want[@]}" || {
            apt-get -q update
            DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${want[@]}"; }
    fi
    command -v npm >/dev/null || die "npm missing after installing it"
    local dir="$SOURCE_ROOT/cockpit" stamp="$SOURCE_ROOT/cockpit/node_modules/.package-lock.json"
    if [ ! -e "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ] || [ "$dir/package.json" -nt "$stamp" ]; then
        say "npm ci in cockpit/"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci in cockpit/ failed"
        touch "$stamp"
    else
        say "cockpit/node_modules up to date"
    fi
}

build() { # builddir meson-options...
    local dir=$1; shift
    cd "$SOURCE_ROOT"
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        meson setup --reconfigure "$dir" "$@" >"$dir/setup.log" 2>&1 || {
            cat "$dir/setup.log" >&2
            die "meson setup --reconfigure $dir failed (are all sources in src/ written yet?)"; }
    else
        mkdir -p "$dir"
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
            cat "$dir.setup.log" >&2
            rm -rf "$dir" "$dir.setup.log"
            die "meson setup $dir failed (are all sources in src/ written yet?)"; }
        mv "$dir.setup.log" "$dir/setup.log"
    fi
    if ! meson compile -C "$dir" >&2; then
        die "build failed in $dir (see the compiler output above)"
    fi
    say "built $dir"
}

# --fuzz: clang builds the tree instrumented for libFuzzer (tests/fuzz/)
#   clang libclang-rt-14-dev  the compiler, and its fuzzer/ASan/UBSan runtimes (libclang_rt.fuzzer)
[ $FUZZ = 0 ] || PACKAGES+=(clang libclang-rt-14-dev)
install_packages
setup_cockpit
[ -s /etc/machine-id ] || { systemd-machine-id-setup >/dev/null; say "created /etc/machine-id"; }
# a debootstrap'd root has no /etc/hosts, so "localhost" does not resolve (the ssh tests reach
# the testbed's sshd by name too); Debian's installer writes this one
[ -e /etc/hosts ] || { printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
                       say "created /etc/hosts (localhost)"; }
create_users

if [ $BUILD = 1 ]; then
    if [ $SANITIZE = 1 ]; then
        build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
        echo "$SOURCE_ROOT/build-asan"
    elif [ $FUZZ = 1 ]; then
        CC=clang build build-fuzz -Dfuzz=true -Dcockpit=disabled -Db_lundef=false
        echo "$SOURCE_ROOT/build-fuzz"
    else
        build build
        echo "$SOURCE_ROOT/build"
    fi
fi
