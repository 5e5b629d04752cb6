#!/usr/bin/env bash
# Build the installable product with PyInstaller (packaging/gcs.spec) on the system it runs on.
#
#   bash packaging/build.sh [OUT]        (OUT defaults to dist/)
#
# Linux:   OUT/gcs-<version>-linux-<arch>/ (the onedir, a .desktop entry, the icon, licences)
#          and OUT/gcs-<version>-linux-<arch>.tar.gz
# macOS:   OUT/GCS-Station-<version>-macos-<arch>.dmg (the .app, codesigned and notarised when
#          GCS_CODESIGN_IDENTITY / GCS_NOTARY_* are set: packaging/macos/make_dmg.sh)
# Windows: OUT/gcs-<version>-windows-x64-setup.exe (Inno Setup's ISCC on PATH:
#          packaging/windows/gcs.iss), and the onedir as a .zip
#
# Needs a Python with `pip install -e ".[gui,test]"` done (`bash packaging/dev.sh bundle` does
# that first on Debian) and npm (Leaflet comes from the npm registry, at build time only).
# PYTHON selects the interpreter (default: .venv/bin/python, else python3). GCS_VENDOR_DIR
# chooses where Leaflet is installed (default resources/vendor).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
out="$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)"
work="$here/build/pyinstaller"

if [ -z "${PYTHON:-}" ]; then
    for c in "$here/.venv/bin/python" "$here/.venv/Scripts/python.exe" python3 python; do
        if command -v "$c" >/dev/null 2>&1; then PYTHON="$(command -v "$c")"; break; fi
    done
fi
"$PYTHON" -c 'import PyInstaller, PySide6' 2>/dev/null || {
    echo "error: $PYTHON lacks PyInstaller or PySide6: pip install -e \".[gui,test]\" first" >&2
    exit 2
}
version="$("$PYTHON" -c 'from gcs.version import version; print(version())')"
arch="$(uname -m)"
case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=macos ;;
    MINGW* | MSYS* | CYGWIN*) os=windows; arch=x64 ;;
    *) echo "error: unknown system $(uname -s)" >&2; exit 2 ;;
esac
name="gcs-$version-$os-$arch"
echo "building $name with $PYTHON" >&2

# Leaflet (and its licence) from the npm registry; nothing is fetched at run time.
"$PYTHON" -m gcs.ui.assets ${GCS_VENDOR_DIR:+"$GCS_VENDOR_DIR"} >/dev/null

"$PYTHON" -m PyInstaller --noconfirm --clean --log-level "${PYI_LOG_LEVEL:-WARN}" \
    --distpath "$work/dist" --workpath "$work/work" packaging/gcs.spec

case "$os" in
    linux)
        dest="$out/$name"
        rm -rf "$dest" "$dest.tar.gz"
        mv "$work/dist/gcs" "$dest"
        cp "$work/work/gcs/icons/gcs.png" "$work/work/gcs/icons/gcs.svg" "$dest/"
        cp packaging/THIRD-PARTY.md "$dest/"
        cp packaging/linux/gcs.desktop packaging/linux/install-desktop-entry.sh "$dest/"
        chmod +x "$dest/install-desktop-entry.sh"
        ln -s _internal/licenses "$dest/licenses"
        # links PyInstaller made to Qt libraries the spec left out
        find "$dest" -xtype l -delete
        tar -C "$out" -czf "$dest.tar.gz" "$name"
        echo "$dest"
        echo "$dest.tar.gz"
        ;;
    macos)
        app="$work/dist/GCS Station.app"
        bash packaging/macos/make_dmg.sh "$app" "$out/GCS-Station-$version-macos-$arch.dmg"
        ;;
    windows)
        dest="$out/$name"
        rm -rf "$dest"
        mv "$work/dist/gcs" "$dest"
        cp packaging/THIRD-PARTY.md "$dest/"
        (cd "$out" && powershell -NoProfile -Command \
            "Compress-Archive -Force -Path '$name' -DestinationPath '$name.zip'")
        iscc="${ISCC:-iscc}"
        "$iscc" //Qp "//DAppVersion=$version" "//DSourceDir=$(cygpath -w "$dest")" \
            "//DIconFile=$(cygpath -w "$work/work/gcs/icons/gcs.ico")" \
            "//DOutputDir=$(cygpath -w "$out")" "//DOutputBase=gcs-$version-windows-x64-setup" \
            packaging/windows/gcs.iss
        echo "$out/gcs-$version-windows-x64-setup.exe"
        ;;
esac
