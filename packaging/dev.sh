#!/usr/bin/env bash
# Set up a development environment on a fresh Debian machine (as root) and run something in it.
#
#   bash packaging/dev.sh demo [gcs demo options]   install the station and run the demo
#   bash packaging/dev.sh test [pytest options]      install everything the tests need and run pytest
#   bash packaging/dev.sh env                        only install, print the venv path
#   bash packaging/dev.sh bundle [OUT]               install, then build the Linux bundle and
#                                                    its tarball with PyInstaller (packaging/build.sh)
#
# Python >= 3.12 is required (PySide6 6.12 crashes on 3.11). The script looks for python3.12+
# on PATH and in pyenv's folder, and keeps a virtualenv in .venv/ beside this repository.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="$here/.venv"
what="${1:-env}"
shift || true

find_python() {
    local c
    for c in python3.13 python3.12 /root/.pyenv/versions/3.13*/bin/python3.13 \
             /root/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12 python3; do
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    echo "No Python >= 3.12 found. Install python3.12 (Debian trixie: apt-get install python3.12-venv)." >&2
    return 1
}

apt_install() {
    # Debian packages: Qt's system libraries (xcb, GL, fonts), Xvfb for screenshots,
    # mosquitto for the external-broker tests, chromium for the H5 page tests, ffmpeg (ffprobe)
    # for the live-video tests.
    [ "$(id -u)" = 0 ] || { echo "not root: skipping apt-get (install $* yourself)" >&2; return 0; }
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

qt_libs=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
         libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
         libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcomposite1 libxdamage1 libxrandr2 libxtst6
         libnss3 libasound2 fonts-noto-cjk)

vendor_assets() {
    # Leaflet, leaflet-geoman, topojson-client and world-atlas (the offline map and its world
    # overview) come from the npm registry at install time (never committed).
    command -v npm >/dev/null 2>&1 || apt_install npm
    "$venv/bin/python" -m gcs.ui.assets >/dev/null
}

py="$(find_python)"
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true

case "$what" in
    demo)
        apt_install "${qt_libs[@]}"
        "$venv/bin/python" -m pip install -q -e ".[gui]"
        vendor_assets
        exec "$venv/bin/gcs" demo "$@"
        ;;
    test)
        # binutils: PyInstaller's strip and objdump for the bundle built below; ffmpeg: the live
        # video tests read the station's playback URL with Debian's ffprobe.
        apt_install "${qt_libs[@]}" mosquitto chromium xvfb binutils ffmpeg
        # Tests start their own mosquitto on free ports; a system service would hold port 1883
        # that `gcs demo` needs.
        if [ "$(id -u)" = 0 ]; then
            (systemctl disable --now mosquitto || service mosquitto stop || true) >/dev/null 2>&1
        fi
        "$venv/bin/python" -m pip install -q -e ".[gui,test]"
        vendor_assets
        export PATH="$venv/bin:$PATH"
        ruff check gcs broker tests
        mypy
        lint-imports
        if [ $# -eq 0 ] && [ -z "${GCS_BUNDLE:-}" ]; then
            # A full run also builds the installable bundle; tests/packaging smoke-tests it.
            rm -rf build/bundle && mkdir -p build/bundle
            echo "building the bundle (log: build/bundle.log)" >&2
            PYTHON="$venv/bin/python" bash packaging/build.sh build/bundle >build/bundle.log 2>&1 ||
                { tail -40 build/bundle.log >&2; exit 1; }
            GCS_BUNDLE="$(find "$here/build/bundle" -mindepth 1 -maxdepth 1 -type d -name 'gcs-*')"
            export GCS_BUNDLE
        fi
        # pytest exit code 5 (no tests collected) is a failure here too.
        exec "$venv/bin/python" -m pytest -q "$@"
        ;;
    env)
        "$venv/bin/python" -m pip install -q -e ".[gui,test]"
        vendor_assets
        echo "$venv"
        ;;
    bundle)
        # Qt's system libraries must be on the build machine: PyInstaller copies them in.
        apt_install "${qt_libs[@]}" binutils
        "$venv/bin/python" -m pip install -q -e ".[gui,test]"
        vendor_assets
        PYTHON="$venv/bin/python" exec bash packaging/build.sh "$@"
        ;;
    *)
        echo "usage: $0 demo|test|env|bundle" >&2; exit 2 ;;
esac
