# Sourced by scripts/run and scripts/test: finds Python >= 3.14.2 and creates or updates .venv.
# Sets ROOT and VENV. Re-installs only when pyproject.toml or constraints.txt changed.
set -Eeuo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PRINTERNIZER_VENV:-$ROOT/.venv}"
MIN_PY="3.14.2"

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.14; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c \
      'import sys; sys.exit(0 if sys.version_info[:3] >= (3, 14, 2) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# No suitable Python: get one, say how, and cache it (~/.cache/py314) for the next run.
get_python() {
  local found
  if command -v uv >/dev/null 2>&1; then
    echo "==> no Python >= $MIN_PY found: trying 'uv python install 3.14'" >&2
    if uv python install 3.14 >&2 && found="$(uv python find 3.14 2>/dev/null)" \
      && PYTHON="$found" find_python; then
      return 0
    fi
  fi
  if [ -x "${PY314_PREFIX:-$HOME/.cache/py314}/usr/bin/python3.14" ]; then
    PYTHON="${PY314_PREFIX:-$HOME/.cache/py314}/usr/bin/python3.14" find_python && return 0
  fi
  if [ "$(uname -m)" = x86_64 ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
    echo "==> no Python >= $MIN_PY found: installing a private one from Debian's packages into" \
      "${PY314_PREFIX:-$HOME/.cache/py314} (scripts/install-python314.sh; nothing system-wide)" >&2
    found="$(bash "$ROOT/scripts/install-python314.sh" | tail -n 1)" || return 1
    PYTHON="$found" find_python && return 0
  fi
  return 1
}

ensure_venv() {
  local want_extras="$1" stamp python
  stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)-$want_extras"
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.printernizer-stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    if ! python="$(find_python)" && ! python="$(get_python)"; then
      cat >&2 <<MSG
error: Python >= $MIN_PY is required (Home Assistant 2026.x needs it). None was found (\$PYTHON,
python3.14 on PATH, uv's or the cached private one) and none could be installed:
  - install Python 3.14 (python.org, your distribution, pyenv or 'uv python install 3.14'),
then run again with PYTHON=/path/to/python3.14 if it is not on PATH.
MSG
      exit 2
    fi
    echo "==> creating $VENV with $python ($("$python" -c 'import sys; print(sys.version.split()[0])'))" >&2
    "$python" -m venv "$VENV"
  fi
  echo "==> installing dependencies (pinned by constraints.txt) into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$ROOT/constraints.txt" -e "$ROOT[$want_extras]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
  "$VENV/bin/python" -c 'import homeassistant, litestar, receiver' \
    || { echo "error: dependency installation failed (see above)" >&2; exit 1; }
  echo "$stamp" >"$VENV/.printernizer-stamp"
}

# The dashboard's browser libraries (package.json + package-lock.json, from the npm registry): `npm ci`
# when node_modules or the copied files are missing or the package files changed; the built files are
# copied into the receiver's static folder (ignored by git, served by the receiver; no CDN).
# `ensure_dashboard_assets required` fails without npm (the tests need it); otherwise it only warns.
DASHBOARD_VENDOR="$ROOT/receiver/dashboard/static/vendor"
DASHBOARD_FILES=("chart.js/dist/chart.umd.min.js" "chart.js/LICENSE.md")

ensure_dashboard_assets() {
  local required="${1:-}" stamp file missing=0
  stamp="$(cat "$ROOT/package.json" "$ROOT/package-lock.json" | sha256sum | cut -c1-16)"
  for file in "${DASHBOARD_FILES[@]}"; do
    [ -f "$DASHBOARD_VENDOR/$(basename "$file")" ] || missing=1
  done
  if [ "$missing" = 0 ] && [ "$(cat "$ROOT/node_modules/.printernizer-stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "warning: npm not found, so the dashboard's chart library cannot be installed" \
      "(Debian/Ubuntu: apt-get install -y npm); the dashboard shows figures without charts" >&2
    [ "$required" = required ] && exit 1
    return 0
  fi
  echo "==> installing the dashboard's chart library (npm ci, pinned by package-lock.json)" >&2
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2) \
    || { echo "error: npm ci failed (see above)" >&2; exit 1; }
  mkdir -p "$DASHBOARD_VENDOR"
  for file in "${DASHBOARD_FILES[@]}"; do
    cp "$ROOT/node_modules/$file" "$DASHBOARD_VENDOR/"
  done
  echo "$stamp" >"$ROOT/node_modules/.printernizer-stamp"
}

# Debian's chromium for the dashboard's browser test (a test tool's own browser download does not work
# here). Installed with apt-get when missing and we may (root); otherwise the test says what to do.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's chromium for the dashboard's browser test (apt-get install chromium)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 \
      || echo "warning: chromium could not be installed; the browser test will fail" >&2
    return 0
  fi
  echo "warning: chromium is missing (sudo apt-get install -y chromium); the browser test will fail" >&2
}
