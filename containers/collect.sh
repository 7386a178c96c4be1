#!/bin/sh
# SPDX-License-Identifier: MIT
#
# collect.sh DEST FILE...: copies each FILE and, for executables and
# libraries, every library ldd resolves for it into DEST at the same paths
# (symlinks followed), plus the /lib, /lib64, /bin and /sbin symlinks of a
# merged /usr, so that DEST can be a FROM scratch image. Runs in the build
# stage of containers/Containerfile. A library ldd cannot find fails it.
set -eu

dest=$1
shift

# Copies a file to the real directory of its path, so that a merged /usr
# keeps one copy and no directory of DEST shadows one of its symlinks.
copy() { # path
	set -- "$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"
	[ -e "$dest$1" ] && return 0
	mkdir -p "$dest$(dirname "$1")"
	cp -L --preserve=mode "$1" "$dest$1"
}

for d in /lib /lib64 /bin /sbin; do
	if [ -L "$d" ] && [ ! -e "$dest$d" ]; then
		mkdir -p "$dest"
		ln -s "$(readlink "$d")" "$dest$d"
	fi
done

for f in "$@"; do
	copy "$f"
	# ldd exits non-zero for files that are not dynamic executables.
	libs=$(ldd "$f" 2>/dev/null) || continue
	if printf '%s\n' "$libs" | grep -q 'not found'; then
		echo "collect.sh: $f: $(printf '%s\n' "$libs" | grep 'not found' | tr -s ' \t\n' ' ')" >&2
		exit 1
	fi
	for lib in $(printf '%s\n' "$libs" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		copy "$lib"
	done
done
