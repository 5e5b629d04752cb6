#!/bin/sh
# Add GCS Station to the desktop's application menu (for this user), pointing at this folder.
#   ./install-desktop-entry.sh            install
#   ./install-desktop-entry.sh --remove   remove the menu entry (the data folder is kept)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
entry="$apps/gcs-station.desktop"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry" "$icons/gcs-station.png"
    echo "removed $entry"
    exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/gcs.png" "$icons/gcs-station.png"
sed -e "s|^Exec=.*|Exec=\"$here/gcs\"|" -e "s|^Icon=.*|Icon=$icons/gcs-station.png|" \
    "$here/gcs.desktop" > "$entry"
chmod 644 "$entry"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" || true
echo "installed $entry"
