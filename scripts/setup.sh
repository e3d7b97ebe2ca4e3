#!/usr/bin/env bash
# Installs the system packages ComRec's Swift build needs (libpng, libjpeg-turbo, pkg-config) and
# its tests (djpeg from libjpeg-turbo-progs), only those that are missing, and checks that a Swift
# toolchain is on PATH. Silent when all is there. Safe to run any number of times. Needs root or
# sudo only when something is missing.
# (Training/setup.sh sets up the separate Python environment for training.)
set -euo pipefail

fail() { echo "scripts/setup.sh: $*" >&2; exit 1; }

if ! command -v swift >/dev/null 2>&1; then
    fail "no 'swift' on PATH: install Swift 6.0 or later (https://www.swift.org/install/linux/) and add its usr/bin to PATH"
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not Debian or Ubuntu: only check that the headers are there.
    for header in png.h jpeglib.h; do
        if ! echo "#include <stdio.h>
#include <$header>" | cc -E -x c - >/dev/null 2>&1; then
            fail "cannot find $header: install the libpng and libjpeg-turbo development packages"
        fi
    done
    exit 0
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
installed libpng-dev || missing+=(libpng-dev)
# Debian ships libjpeg-turbo as libjpeg62-turbo-dev, Ubuntu as libjpeg-turbo8-dev; libjpeg-dev
# pulls in whichever the distribution has.
installed libjpeg62-turbo-dev || installed libjpeg-turbo8-dev || installed libjpeg-dev || missing+=(libjpeg-dev)
installed pkg-config || installed pkgconf || missing+=(pkg-config)
# djpeg, for the test that every file ComRec writes is a JPEG libjpeg's own tool reads without a
# warning; cjpeg (the same package) and /usr/bin/time, for scripts/hostile-files.py.
command -v djpeg >/dev/null 2>&1 || installed libjpeg-turbo-progs || missing+=(libjpeg-turbo-progs)
[ -x /usr/bin/time ] || installed time || missing+=(time)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "scripts/setup.sh: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    fail "missing ${missing[*]}; run as root: apt-get install ${missing[*]}"
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
