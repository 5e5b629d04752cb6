#!/usr/bin/env bash
# Put "GCS Station.app" in a .dmg with an Applications link (drag to install); codesign and
# notarise when a certificate is configured.
#
#   bash packaging/macos/make_dmg.sh "build/pyinstaller/dist/GCS Station.app" dist/GCS-Station-X.dmg
#
# Signing (all optional; without them the .dmg is unsigned and Gatekeeper asks the user to
# allow it in System Settings → Privacy & Security):
#   GCS_CODESIGN_IDENTITY   "Developer ID Application: Name (TEAMID)" in the login keychain
#   GCS_NOTARY_PROFILE      a `xcrun notarytool store-credentials` profile name, or
#   GCS_NOTARY_APPLE_ID, GCS_NOTARY_TEAM_ID, GCS_NOTARY_PASSWORD (app-specific password)
#
# Firewall: the first time the station listens, macOS asks "accept incoming network
# connections?" for a signed app once (an unsigned one at every update); the Info.plist's
# NSLocalNetworkUsageDescription is the text macOS 15 shows before local-network access.
set -euo pipefail
app="$1"
dmg="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -d "$app" ] || { echo "error: $app not found" >&2; exit 2; }
identity="${GCS_CODESIGN_IDENTITY:-}"

if [ -n "$identity" ]; then
    # Inside out: every library and executable, then the app, with the hardened runtime.
    find "$app/Contents" -type f \( -name "*.so" -o -name "*.dylib" -o -perm -u+x \) -print0 |
        xargs -0 codesign --force --timestamp --options runtime \
            --entitlements "$here/entitlements.plist" --sign "$identity"
    codesign --force --timestamp --options runtime --entitlements "$here/entitlements.plist" \
        --sign "$identity" "$app"
    codesign --verify --deep --strict --verbose=2 "$app"
else
    echo "GCS_CODESIGN_IDENTITY not set: the app and the .dmg are not signed" >&2
fi

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
rm -f "$dmg"
hdiutil create -volname "GCS Station" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg"

if [ -n "$identity" ]; then
    codesign --force --timestamp --sign "$identity" "$dmg"
    if [ -n "${GCS_NOTARY_PROFILE:-}" ]; then
        xcrun notarytool submit "$dmg" --keychain-profile "$GCS_NOTARY_PROFILE" --wait
    elif [ -n "${GCS_NOTARY_APPLE_ID:-}" ]; then
        xcrun notarytool submit "$dmg" --apple-id "$GCS_NOTARY_APPLE_ID" \
            --team-id "$GCS_NOTARY_TEAM_ID" --password "$GCS_NOTARY_PASSWORD" --wait
    else
        echo "no GCS_NOTARY_* settings: signed but not notarised" >&2
    fi
    if [ -n "${GCS_NOTARY_PROFILE:-}${GCS_NOTARY_APPLE_ID:-}" ]; then
        xcrun stapler staple "$dmg"
    fi
fi
echo "$dmg"
