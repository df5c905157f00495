#!/bin/sh
# Installs the Debian packages the test suite runs for real (PostgreSQL, Dovecot),
# when they are missing and we are root. Without root, say what is missing and stop.
set -eu

missing=""
command -v dovecot >/dev/null 2>&1 || missing="$missing dovecot-imapd"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"

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
