#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# containers.sh: the reference design's flow in real containers, with podman.
#
#   containers.sh up     images (scripts/images.sh when missing), a podman API
#                        service on a private socket, an internal pod network,
#                        a "node" container routing it to an "internet" container
#                        (203.0.113.10), gateway foo from the rendered manifests
#                        (k8s/overlays/foo), and provisiond in its container with
#                        the podman backend, CloudEvents on the host's loopback
#                        (PODGW_CT_LISTEN)
#   containers.sh demo   (up if needed) io.podgateway.client.pending for foo:
#                        provisiond makes the crawler pod through podman's API and
#                        answers once it is routed; the same for an unknown gateway
#                        (scheduling.failed); a ping from the crawler with tcpdump
#                        on gateway foo's eth0
#   containers.sh status what exists
#   containers.sh down   remove everything (safe after a crash, safe twice)
#
# Environment: PODGW_CT_PREFIX (names of every container, pod and network,
# "podgw-ct-"), PODGW_CT_LISTEN (127.0.0.1:8090), PODGW_BUILD (build
# directory for the runner, SRC/build). Needs root and podman.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=containers-lib.sh
. "$here/containers-lib.sh"
# shellcheck source-path=SCRIPTDIR source=flow-lib.sh
. "$here/flow-lib.sh"

usage() {
	sed -n '4,23s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

cmd_up() {
	if ct_is_up; then
		ct_log "already up (prefix $CT_PREFIX)"
		return 0
	fi
	ct_down
	CT_UP_DONE=0
	trap 'if ((CT_UP_DONE == 0)); then ct_log "up failed, removing what it made"; ct_down; fi' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ct_up foo
	# shellcheck disable=SC2034 # read by the EXIT trap
	CT_UP_DONE=1
	trap - EXIT INT TERM
	ct_log "up; try: $0 demo"
}

cmd_demo() {
	ct_is_up || cmd_up
	ct_flow_setup
	flow_demo foo nope "$CT_INTERNET_IP"
}

main() {
	local cmd=${1:-}
	case $cmd in
	-h | --help | help)
		usage
		return 0
		;;
	up | demo | status | down) ;;
	*)
		usage >&2
		exit 2
		;;
	esac
	ct_init "${PODGW_CT_PREFIX:-podgw-ct-}"
	case $cmd in
	up) cmd_up ;;
	demo) cmd_demo ;;
	status) ct_status ;;
	down)
		ct_down
		ct_log "down (prefix $CT_PREFIX)"
		;;
	esac
}

main "$@"
