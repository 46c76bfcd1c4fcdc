#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium` package) for the web UI's
# end-to-end test (driver/tests/ui_browser.rs), unless a Chromium is already
# on the PATH. Needs root (or sudo) and the Debian package archive.
set -euo pipefail

for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then
    echo "install-chromium: found $(command -v "$candidate")"
    exit 0
  fi
done

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-chromium: not root and no sudo; install Debian's chromium package by hand" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "install-chromium: installed $(command -v chromium)"
