#!/usr/bin/env bash
# Installs what the end-to-end tests need, without internet beyond the npm registry and Debian's
# mirrors: Debian's Chromium (driven by playwright-core), the headers code-server's native
# modules build against, and code-server 4.100.x (VS Code 1.100) in a cache folder outside
# node_modules. Idempotent: a second run only checks. See shared/tools/code-server-setup.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
CS="${CODE_SERVER_DIR:-$PWD/.cache/code-server}"
VERSION=4.100.3
PACKAGES=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep chromium fonts-dejavu-core)

missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "e2e setup: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f "$CS/.installed-$VERSION" ]; then
  echo "e2e setup: code-server $VERSION already in $CS"
  exit 0
fi
echo "e2e setup: installing code-server $VERSION into $CS (about 3 minutes)"
rm -rf "$CS" && mkdir -p "$CS" && cd "$CS"
export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
# node-pty's install calls `npx node-gyp`; a local copy keeps it off the global prefix.
npm init -y >/dev/null
npm install --ignore-scripts "code-server@$VERSION" node-gyp@12.4.0 >/dev/null
export PATH="$CS/node_modules/.bin:$PATH"
cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts >/dev/null
npm rebuild node-pty @parcel/watcher kerberos @vscode/spdlog native-watchdog @vscode/deviceid >/dev/null
# @vscode/ripgrep downloads its binary from elsewhere; Debian's ripgrep does the same job.
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
ln -sfn node_modules node_modules.asar
cd "$CS" && npm rebuild argon2 >/dev/null
touch "$CS/.installed-$VERSION"
echo "e2e setup: done in ${SECONDS} s"
