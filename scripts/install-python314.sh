#!/usr/bin/env bash
# install-python314.sh - a private CPython >= 3.14.2 for Debian 12 (bookworm), x86_64 (used by scripts/_env.sh when no Python >= 3.14.2 is found).
#
# Takes Debian sid's binary python3.14 packages, plus the sid libraries they
# need (glibc among them), and unpacks them into PREFIX with dpkg-deb -x.
# patchelf then points the python3.14 binary at PREFIX's own ld-linux (PT_INTERP)
# and library directory (DT_RPATH), so it runs natively. Nothing is installed
# into the system: no dpkg database change, no system libc change, no root needed.
#
# Usage:   bootstrap-python314.sh [PREFIX]
#          default PREFIX: $PY314_PREFIX, or else $HOME/.cache/py314
# Result:  PREFIX/usr/bin/python3.14 (also linked as PREFIX/bin/python3.14);
#          the interpreter path is the last line printed on stdout.
# Then:    "$(bootstrap-python314.sh)" -m venv .venv   # venv + ensurepip work
#
# Optional environment:
#   PY314_FORCE=1         rebuild even if PREFIX already holds a working interpreter
#   PY314_SUITES="sid testing"  Debian suites to try, in that order
#   PY314_MIRROR=URL      Debian archive to use (default: the first non-security Debian
#                         archive configured in this system's apt sources)
#   PY314_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
#   PY314_MIN_VERSION=3.14.2
#   PY314_DEB_VERSION=3.14.10-1   pin the python3.14* package version (must be in the suite's lists)
#   PY314_WITH_DEV=0      leave out the headers and libpython (default 1: C extensions can be built)
#   PY314_PATCHELF=/path  patchelf to use (default: bookworm's patchelf 0.14.3, downloaded
#                         with the same private apt and run from the work directory;
#                         sid's patchelf 0.18.0 writes a python3.14 binary that segfaults)
#   PY314_PATCHELF_SUITE=bookworm
#
# apt runs with a private configuration (its own sources.list, lists, cache and
# an empty package status); of the system's apt settings it keeps only proxies and
# Acquire::Check-Valid-Until / Check-Date (machines behind a snapshot mirror set
# these to false; the Release files are still checked against the Debian keyring).
#
# Safe to re-run: if PREFIX already holds a working interpreter made by this
# script, it prints the path and stops (no network). A rebuild happens in a
# staging directory next to PREFIX and only replaces PREFIX once it passes its
# self-test; if it fails, the old PREFIX is put back.
set -Eeuo pipefail

log() { printf '[py314] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PREFIX="${1:-${PY314_PREFIX:-$HOME/.cache/py314}}"
case "$PREFIX" in /*) ;; *) PREFIX="$PWD/$PREFIX" ;; esac
while [ "${PREFIX%/}" != "$PREFIX" ]; do PREFIX="${PREFIX%/}"; done
[[ "$PREFIX" =~ ^/[A-Za-z0-9._/+-]+$ ]] || die "PREFIX must be an absolute path of [A-Za-z0-9._/+-] characters: $PREFIX"
[ "$PREFIX" != "/" ] && [ "$PREFIX" != "/usr" ] && [ "$PREFIX" != "/usr/local" ] || die "refusing PREFIX=$PREFIX"

SUITES="${PY314_SUITES:-sid testing}"
system_mirror() {  # the first non-security Debian archive URI in the system's apt sources
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{for (i=2;i<=NF;i++) print $i}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | sed -E 's/\[[^]]*\] //' | awk '{print $2}'
  } 2>/dev/null | grep -v -- '-security' | grep -E '/debian/?$' | head -n 1 || true
}
MIRROR="${PY314_MIRROR:-$(system_mirror)}"
[ -n "$MIRROR" ] || { printf '[py314] ERROR: no Debian archive found in the apt sources; set PY314_MIRROR\n' >&2; exit 1; }
KEYRING="${PY314_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
MIN_VERSION="${PY314_MIN_VERSION:-3.14.2}"
WITH_DEV="${PY314_WITH_DEV:-1}"
FORCE="${PY314_FORCE:-0}"
PINNED="${PY314_DEB_VERSION:-}"

MA=x86_64-linux-gnu
PY="$PREFIX/usr/bin/python3.14"
LIBDIR="$PREFIX/usr/lib/$MA"
LOADER="$LIBDIR/ld-linux-x86-64.so.2"
STAMP="$PREFIX/.py314-bootstrap"    # manifest, written once the self-test passed
OWNED="$PREFIX/.py314-owned"        # marks a tree made by this script

# Packages. "a|b" = first of a, b that the suite has (library packages get renamed).
PY_PKGS=(python3.14-minimal libpython3.14-minimal libpython3.14-stdlib python3.14
         python3.14-venv python3-pip-whl python3-setuptools-whl)
DEV_PKGS=(python3.14-dev libpython3.14-dev libpython3.14)
LIB_PKGS=(libc6 libgcc-s1 "libstdc++6" "libssl3t64|libssl3" libsqlite3-0 libffi8
          liblzma5 libbz2-1.0 zlib1g libexpat1 libuuid1 libzstd1 libncursesw6 libtinfo6
          "libreadline8t64|libreadline8" "libdb5.3t64|libdb5.3" libcrypt1)

[ "$(uname -m)" = x86_64 ] || die "only x86_64 is supported (uname -m: $(uname -m))"
for c in apt-get apt-cache dpkg dpkg-deb flock find sed mktemp; do
  command -v "$c" >/dev/null || die "missing command: $c"
done
[ -r "$KEYRING" ] || die "keyring $KEYRING not readable (Debian package debian-archive-keyring)"

quick_check() {  # is "$1" a working Python >= MIN_VERSION with the usual extension modules?
  [ -x "$1" ] || return 1
  PY314_MIN_VERSION="$MIN_VERSION" "$1" -I -c '
import os, sys
want = tuple(int(x) for x in os.environ["PY314_MIN_VERSION"].split("."))
assert sys.version_info[:3] >= want, sys.version
import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, hashlib, decimal, venv, ensurepip, pyexpat
' >/dev/null 2>&1
}

mkdir -p "$(dirname "$PREFIX")"
exec 9>"$PREFIX.lock"
flock 9 || die "could not lock $PREFIX.lock"

if [ "$FORCE" != 1 ] && [ -f "$STAMP" ] && quick_check "$PY"; then
  log "already installed: $("$PY" -c 'import sys; print(sys.version.split()[0])') in $PREFIX (PY314_FORCE=1 rebuilds)"
  echo "$PY"
  exit 0
fi
if [ -e "$PREFIX" ] && [ ! -f "$OWNED" ] && [ -n "$(ls -A "$PREFIX" 2>/dev/null)" ]; then
  die "$PREFIX exists, is not empty and was not made by this script; pick another PREFIX"
fi

T0=$(date +%s)
W=$(mktemp -d "${TMPDIR:-/tmp}/py314-bootstrap.XXXXXX")
STAGE="$PREFIX.staging.$$"
OLD="$PREFIX.old.$$"
cleanup() {
  rm -rf "$W" "$STAGE"
  if [ -e "$OLD" ]; then  # a swap was left half done: put the previous tree back
    rm -rf "$PREFIX"; mv "$OLD" "$PREFIX"
  fi
}
trap cleanup EXIT
chmod 755 "$W"
mkdir -p "$W/empty" "$W/state/lists/partial" "$W/cache/archives/partial" "$W/log" "$W/debs" "$W/tools"
: >"$W/state/status"
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$W/debs" "$W/tools"; fi

# A private apt configuration: it reads none of the system's apt config,
# sources, pins or package state, and writes only under $W.
cat >"$W/apt.conf" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$W/empty";
Dir::Etc::sourcelist "$W/sources.list";
Dir::Etc::sourceparts "$W/empty";
Dir::Etc::preferences "$W/empty/preferences";
Dir::Etc::preferencesparts "$W/empty";
Dir::State "$W/state";
Dir::State::lists "$W/state/lists";
Dir::State::status "$W/state/status";
Dir::Cache "$W/cache";
Dir::Log "$W/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::Retries "3";
EOF
# Carry over only the system's network/freshness settings (proxies, and the
# Valid-Until/Date switches that a machine behind a snapshot mirror needs).
apt-config dump 2>/dev/null \
  | grep -E '^Acquire::((https?|ftp)::Proxy|Check-Valid-Until|Check-Date|ForceIPv4|ForceIPv6)([: ]|$)' \
  >>"$W/apt.conf" || true
apt_get() { APT_CONFIG="$W/apt.conf" apt-get -q "$@"; }
apt_cache() { APT_CONFIG="$W/apt.conf" apt-cache "$@"; }
candidate() { apt_cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }
pick() {  # "a|b|c" -> first package name with a candidate version
  local alt c
  for alt in ${1//|/ }; do
    c=$(candidate "$alt")
    if [ -n "$c" ] && [ "$c" != "(none)" ]; then echo "$alt"; return 0; fi
  done
  return 1
}

fetch_from_suite() {  # $1 = suite; leaves the .debs in $W/debs and $W/tools
  local suite=$1 pyver p name want=() libs=()
  echo "deb [arch=amd64 signed-by=$KEYRING] $MIRROR $suite main" >"$W/sources.list"
  rm -rf "$W/state/lists"; mkdir -p "$W/state/lists/partial"
  log "apt-get update ($suite)"
  apt_get update >"$W/log/update-$suite.log" 2>&1 || { cat "$W/log/update-$suite.log" >&2; return 1; }
  pyver=$(candidate python3.14-minimal)
  if [ -z "$pyver" ] || [ "$pyver" = "(none)" ]; then log "$suite has no python3.14-minimal"; return 1; fi
  if [ -n "$PINNED" ]; then
    apt_cache madison python3.14-minimal | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$PINNED" \
      || { log "$suite does not have python3.14 $PINNED (it has $pyver)"; return 1; }
    pyver=$PINNED
  fi
  dpkg --compare-versions "$pyver" ge "$MIN_VERSION" \
    || { log "$suite has python3.14 $pyver < $MIN_VERSION"; return 1; }
  log "$suite: python3.14 $pyver"
  for p in "${PY_PKGS[@]}"; do
    case "$p" in python3-*-whl) want+=("$p") ;; *) want+=("$p=$pyver") ;; esac
  done
  if [ "$WITH_DEV" = 1 ]; then for p in "${DEV_PKGS[@]}"; do want+=("$p=$pyver"); done; fi
  for p in "${LIB_PKGS[@]}"; do
    name=$(pick "$p") || { log "$suite: none of $p found"; return 1; }
    libs+=("$name")
  done
  rm -f "$W"/debs/*.deb "$W"/tools/*.deb
  (cd "$W/debs" && apt_get download "${want[@]}" "${libs[@]}") >"$W/log/download-$suite.log" 2>&1 \
    || { tail -n 20 "$W/log/download-$suite.log" >&2; return 1; }
  return 0
}

fetch_patchelf() {  # bookworm's patchelf, unpacked under $W/tools/root (nothing is installed)
  local suite=${PY314_PATCHELF_SUITE:-bookworm}
  echo "deb [arch=amd64 signed-by=$KEYRING] $MIRROR $suite main" >"$W/sources.list"
  rm -rf "$W/state/lists"; mkdir -p "$W/state/lists/partial"
  log "apt-get update ($suite, for patchelf)"
  apt_get update >"$W/log/update-patchelf.log" 2>&1 || { cat "$W/log/update-patchelf.log" >&2; return 1; }
  (cd "$W/tools" && apt_get download patchelf) >>"$W/log/update-patchelf.log" 2>&1 \
    || { tail -n 20 "$W/log/update-patchelf.log" >&2; return 1; }
  dpkg-deb -x "$(ls "$W"/tools/patchelf_*.deb)" "$W/tools/root"
  "$W/tools/root/usr/bin/patchelf" --version >&2
}

if [ -n "${PY314_PATCHELF:-}" ]; then
  PATCHELF="$PY314_PATCHELF"
else
  fetch_patchelf || die "could not fetch patchelf"
  PATCHELF="$W/tools/root/usr/bin/patchelf"
fi

ok=0
for suite in $SUITES; do
  for attempt in 1 2; do  # a second try refreshes the lists (a mirror caught mid-update)
    if fetch_from_suite "$suite"; then ok=1; break 2; fi
    log "fetch from $suite failed (try $attempt)"
  done
done
[ "$ok" = 1 ] || die "could not download python3.14 from any of: $SUITES"

# Unpack into the staging tree (same filesystem as PREFIX, so the swap is a rename).
rm -rf "$STAGE"; mkdir -p "$STAGE"
for d in "$W"/debs/*.deb; do dpkg-deb -x "$d" "$STAGE"; done
S_LIBDIR="$STAGE/usr/lib/$MA"
S_LOADER="$S_LIBDIR/ld-linux-x86-64.so.2"
[ -f "$STAGE/usr/bin/python3.14" ] || die "python3.14 binary missing after unpacking"
[ -f "$S_LOADER" ] || die "ld-linux-x86-64.so.2 missing after unpacking"
rm -rf "$STAGE/usr/share/doc" "$STAGE/usr/share/man" "$STAGE/usr/share/lintian" "$STAGE/usr/share/bug"

"$PATCHELF" --set-interpreter "$LOADER" --force-rpath --set-rpath "$LIBDIR" "$STAGE/usr/bin/python3.14"
# DT_RPATH (not RUNPATH): it also applies to the libraries that extension modules
# and wheels load, so they resolve to PREFIX's libs before the system's.

# Absolute symlinks inside the packages (e.g. sitecustomize.py -> /etc/python3.14/...)
find "$STAGE" -type l -lname '/*' -print | while IFS= read -r l; do
  t=$(readlink "$l")
  if [ -e "$STAGE$t" ] || [ -L "$STAGE$t" ]; then ln -sfn "$PREFIX$t" "$l"; fi
done

# sysconfig: ensurepip's wheel directory and the header directory point into PREFIX.
for f in "$STAGE"/usr/lib/python3.14/_sysconfigdata_*.py "$STAGE"/usr/lib/python3.14/_sysconfig_vars_*.json; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  sed -E -i "s#^([[:space:]]*['\"](WHEEL_PKG_DIR|INCLUDEPY|CONFINCLUDEPY)['\"]: ['\"])/usr/#\1$PREFIX/usr/#" "$f"
done
grep -q "'WHEEL_PKG_DIR': '$PREFIX/usr/share/python-wheels/'" "$STAGE"/usr/lib/python3.14/_sysconfigdata__linux_$MA.py \
  || die "could not patch WHEEL_PKG_DIR in _sysconfigdata"

# Debian's pyconfig.h only includes <x86_64-linux-gnu/python3.14/pyconfig.h>, which
# a compiler finds only with -I/usr/include; put the real header in its place.
if [ "$WITH_DEV" = 1 ] && [ -f "$STAGE/usr/include/$MA/python3.14/pyconfig.h" ]; then
  cp -f "$STAGE/usr/include/$MA/python3.14/pyconfig.h" "$STAGE/usr/include/python3.14/pyconfig.h"
fi

# Scripts that name /usr/bin/python3.14 or a bare python3.14.
for s in pydoc3.14 pygettext3.14; do
  if [ -f "$STAGE/usr/bin/$s" ]; then sed -i "1s#^\#! */usr/bin/python3.14#\#!$PY#" "$STAGE/usr/bin/$s"; fi
done
if [ -f "$STAGE/usr/bin/pdb3.14" ]; then sed -i "s#^exec python3.14 #exec $PY #" "$STAGE/usr/bin/pdb3.14"; fi
mkdir -p "$STAGE/bin"
ln -sfn ../usr/bin/python3.14 "$STAGE/bin/python3.14"

echo "made by bootstrap-python314.sh" >"$STAGE/.py314-owned"

# Swap in (the previous tree is kept until the new one passes).
[ -e "$PREFIX" ] && mv "$PREFIX" "$OLD"
mv "$STAGE" "$PREFIX"

fail() { log "ERROR: $*"; exit 1; }  # the EXIT trap restores $OLD

# 1) it starts, and every ELF object finds its libraries inside PREFIX
"$PY" -I -c pass || fail "the patched python3.14 does not start"
bad=""
for f in "$PY" "$PREFIX"/usr/lib/python3.14/lib-dynload/*.so; do
  out=$("$LOADER" --inhibit-cache --library-path "$LIBDIR" --list "$f" 2>&1) || { bad+="$f: $out"$'\n'; continue; }
  miss=$(printf '%s\n' "$out" | grep '=>' | grep -v "=> $PREFIX/" || true)
  [ -z "$miss" ] || bad+="$f:"$'\n'"$miss"$'\n'
done
[ -z "$bad" ] || fail "libraries resolved outside $PREFIX:"$'\n'"$bad"

# 2) byte-compile the standard library once (PYTHONDONTWRITEBYTECODE would otherwise
#    make every start compile it again)
"$PY" -I -m compileall -q -j0 "$PREFIX/usr/lib/python3.14" >"$W/log/compileall.log" 2>&1 \
  || log "warning: compileall reported errors (see below)"$'\n'"$(tail -n 5 "$W/log/compileall.log")"

# 3) run it
PY314_MIN_VERSION="$MIN_VERSION" PY314_PREFIX="$PREFIX" "$PY" -I - <<'EOF' || fail "self-test failed"
import importlib, os, subprocess, sys, tempfile
pfx = os.environ["PY314_PREFIX"]
want = tuple(int(x) for x in os.environ["PY314_MIN_VERSION"].split("."))
assert sys.version_info[:3] >= want, sys.version
assert sys.prefix == pfx + "/usr", sys.prefix
for m in ("ssl sqlite3 ctypes lzma bz2 zlib uuid _uuid hashlib decimal _decimal zoneinfo "
          "pyexpat xml.etree.ElementTree asyncio multiprocessing ensurepip venv compression.zstd "
          "readline curses dbm termios mmap unicodedata").split():
    importlib.import_module(m)
import bz2, ctypes, hashlib, lzma, sqlite3, ssl, uuid, zlib
from compression import zstd
data = b"python 3.14 " * 100
for mod in (bz2, lzma, zlib, zstd):
    assert mod.decompress(mod.compress(data)) == data, mod
assert sqlite3.connect(":memory:").execute("select 6*7").fetchone() == (42,)
ctx = ssl.create_default_context()
if not ctx.cert_store_stats()["x509_ca"]:
    print("[py314] warning: no CA certificates found (Debian package ca-certificates)", file=sys.stderr)
libc = ctypes.CDLL("libc.so.6"); libc.gnu_get_libc_version.restype = ctypes.c_char_p
uuid.uuid1(); uuid.uuid4(); hashlib.sha3_256(data).hexdigest()
outside = sorted({l.split()[-1] for l in open("/proc/self/maps")
                  if ".so" in l and not l.split()[-1].startswith(pfx + "/") and "/gconv/" not in l})
assert not outside, f"loaded from outside the prefix: {outside}"
with tempfile.TemporaryDirectory() as d:
    subprocess.run([sys.executable, "-m", "venv", d + "/v"], check=True)
    pip = subprocess.run([d + "/v/bin/python", "-m", "pip", "--version"], check=True,
                         capture_output=True, text=True).stdout.strip()
print(f"[py314] self-test ok: Python {sys.version.split()[0]}, glibc {libc.gnu_get_libc_version().decode()}, "
      f"{ssl.OPENSSL_VERSION}, SQLite {sqlite3.sqlite_version}; venv pip: {pip.split(' from ')[0]}",
      file=sys.stderr)
EOF

{
  echo "# made by bootstrap-python314.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "prefix=$PREFIX"
  for d in "$W"/debs/*.deb; do
    printf '%s %s %s\n' "$(dpkg-deb -f "$d" Package)" "$(dpkg-deb -f "$d" Version)" "$(sha256sum "$d" | cut -d' ' -f1)"
  done
} >"$STAMP"
rm -rf "$OLD"
log "done in $(( $(date +%s) - T0 ))s: $PREFIX"
echo "$PY"
