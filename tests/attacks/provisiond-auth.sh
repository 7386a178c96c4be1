#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Attack (issue 14): provisiond created a crawler pod for anyone who reached
# it, whatever the Ce-Source. Now the event endpoint wants the bearer token
# of PROVISIOND_TOKEN_FILE: without it, or with another, 401 and no crawler;
# with it, the crawler.
# shellcheck source-path=SCRIPTDIR source=../ns/lib.sh
. "$PODGW_SRC/tests/ns/lib.sh"

command -v curl >/dev/null 2>&1 || {
	echo "SKIP: $T_NAME: needs curl"
	exit 77
}
LAB_PROVISIOND_LISTEN=127.0.0.1:$((20000 + ($$ + 3) % 20000))
URL=http://$LAB_PROVISIOND_LISTEN/

lab_create_base
lab_add_gateway foo 10.244.0.2
lab_start_gatewayd foo || fail "gatewayd did not become ready"
lab_start_provisiond foo || fail "provisiond did not start"

crawlers() { lab_list_ns "$T_PREFIX" | grep -c -- '-crawler-' || true; }
# post ID [CURL ARGS...]: an event for foo claiming a trusted source; the
# status in CODE, the body in STATE/ID.
post() {
	local id=$1
	shift
	CODE=$(curl -sS -m 60 -o "$LAB_STATE/$id" -w '%{http_code}' "$URL" "$@" -H "Ce-Id: $id" \
		-H 'Ce-Specversion: 1.0' -H 'Ce-Type: io.podgateway.client.pending' \
		-H 'Ce-Source: /podgw/gateways/foo' -H 'Content-Type: application/json' \
		-d '{"gateway_name":"foo"}')
}

refused=0
post no-token
info "no token: $CODE $(cat "$LAB_STATE/no-token")"
[[ $CODE == 401 ]] && refused=$((refused + 1)) || errors+=("an event without a token got $CODE, not 401")
post wrong-token -H "Authorization: Bearer not-the-lab-token-0123456789"
info "wrong token: $CODE $(cat "$LAB_STATE/wrong-token")"
[[ $CODE == 401 ]] && refused=$((refused + 1)) || errors+=("an event with a wrong token got $CODE, not 401")
made=$(crawlers)
echo "FIGURE: provisiond_unauthenticated_refused = $refused/2 events"
echo "FIGURE: provisiond_unauthenticated_crawlers = $made crawlers"
((made == 0)) || errors+=("unauthenticated events made $made crawler(s)")

post right-token -H "$(lab_provisiond_auth)"
info "right token: $CODE $(cat "$LAB_STATE/right-token")"
[[ $CODE == 200 ]] && grep -q '"pod_name"' "$LAB_STATE/right-token" ||
	errors+=("the event with the token got $CODE: $(cat "$LAB_STATE/right-token")")
echo "FIGURE: provisiond_authenticated_crawlers = $(crawlers) crawlers"
(($(crawlers) == 1)) || errors+=("the authenticated event made $(crawlers) crawlers, not 1")
t_report
pass "no token and a wrong token: 401, no crawler; the token: a crawler"
