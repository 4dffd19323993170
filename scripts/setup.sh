#!/usr/bin/env bash
# Set up a fresh machine for tuilabel: a virtual environment with the package and its test
# tools, tmux for the terminal tests, and a running MariaDB for the MySQL backend tests.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  for cand in python3.13 python3.12 python3.11; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY=$cand; break
    fi
  done
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# The ray extra too, so that CI runs the Ray engine's tests (about 500 MB, 45 s).
.venv/bin/python -m pip install -q -e '.[dev,ray]'

# apt-get on a fresh machine with no terminal for debconf to ask on (CI has no stdin).
export DEBIAN_FRONTEND=noninteractive
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

# tmux drives the real-terminal test of `tuilabel score`.
if ! command -v tmux >/dev/null; then
  as_root apt-get update -qq && as_root apt-get install -y -qq tmux >/dev/null || echo "setup: could not install tmux" >&2
fi

# Real terminals that draw pixels, for the photo tests (tests/test_score_pixels.py): Xvfb,
# xterm (Sixel with -ti vt340), kitty (Kitty graphics; software OpenGL under Xvfb) and
# ImageMagick's `import` for the screenshots.
missing=()
for tool in Xvfb:xvfb xterm:xterm kitty:kitty import:imagemagick; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq && as_root apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "setup: could not install ${missing[*]}" >&2
fi

# MariaDB for the MySQL backend tests (127.0.0.1:3306, root, empty password on our machines).
# The server package also gives mariadb-install-db, with which the fault tests
# (tests/test_store_faults.py) make a private server they stop and start on its own port.
if ! command -v mariadb-install-db >/dev/null || [ ! -x /usr/sbin/mariadbd ]; then
  as_root apt-get update -qq && as_root apt-get install -y -qq mariadb-server >/dev/null \
    || echo "setup: could not install mariadb-server" >&2
fi
if [ -x /usr/sbin/mariadbd ] && ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 1 30); do
    (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break
    sleep 1
  done
fi
echo "setup: ready (.venv/bin/tuilabel)" >&2
