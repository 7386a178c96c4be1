# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The shell tests' result lines, sourced by tests/ns/lib.sh and
# tests/provisiond/lib.sh: "FAIL: NAME: why" on stderr and exit 1,
# "PASS: NAME[: what]" and exit 0, "NAME: note". T_NAME is the test's name.

fail() {
	echo "FAIL: $T_NAME: $*" >&2
	exit 1
}

pass() {
	echo "PASS: $T_NAME${1:+: $1}"
	exit 0
}

info() {
	echo "$T_NAME: $*"
}
