#!/bin/sh
# Installs the Debian packages the test suite runs for real (PostgreSQL, Dovecot, Chromium for
# the browser tests, Node.js to build the agent web app), when they are missing and we are root.
# Without root, say what is missing and stop.
set -eu

missing=""
command -v dovecot >/dev/null 2>&1 || missing="$missing dovecot-imapd"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
# tests/e2e drive Debian's Chromium through Playwright (never `playwright install`).
[ -x /usr/bin/chromium ] || missing="$missing chromium"
# The frontend build (Vite) needs Node.js 20.19 or newer with npm.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs"

if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "missing Debian packages:$missing — install them (as root: apt-get install -y$missing)" >&2
    exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# The packages' own services are not needed: the tests start private instances.
apt-get install -y -q --no-install-recommends $missing
