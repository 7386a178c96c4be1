/* SPDX-License-Identifier: MIT */
#include "gatewayd/stats.h"

static const char *const reject_names[PG_REJECT_COUNT] = {
    [PG_REJECT_AUTH] = "auth",
    [PG_REJECT_REPLAY] = "replay",
    [PG_REJECT_STALE] = "stale",
    [PG_REJECT_MALFORMED] = "malformed",
    [PG_REJECT_VERSION] = "version",
    [PG_REJECT_POOL_EXHAUSTED] = "pool_exhausted",
    [PG_REJECT_ADDRESS_TAKEN] = "address_taken",
    [PG_REJECT_OUTSIDE_POOL] = "outside_pool",
    [PG_REJECT_NO_LEASE] = "no_lease",
    [PG_REJECT_INTERNAL] = "internal",
    [PG_REJECT_LEASE_HELD] = "lease_held",
    [PG_REJECT_MAC_TAKEN] = "mac_taken",
    [PG_REJECT_POD_IP_LEASES] = "pod_ip_leases",
    [PG_REJECT_RATE] = "rate",
    [PG_REJECT_POD_IP] = "pod_ip",
};

static const char *const repair_names[PG_REPAIR_COUNT] = {
    [PG_REPAIR_LINK] = "link",	     [PG_REPAIR_LINK_UP] = "link_up",
    [PG_REPAIR_ADDRESS] = "address", [PG_REPAIR_TABLES] = "nftables",
    [PG_REPAIR_ROUTES] = "routes",   [PG_REPAIR_LEASE_ENTRIES] = "lease_entries",
};

const char *pg_reject_name(enum pg_reject r)
{
	return (unsigned)r < PG_REJECT_COUNT ? reject_names[r] : "unknown";
}

const char *pg_repair_name(enum pg_repair r)
{
	return (unsigned)r < PG_REPAIR_COUNT ? repair_names[r] : "unknown";
}

static const char *const dns_drop_names[PG_DNS_DROP_COUNT] = {
    [PG_DNS_DROP_CLIENT_QUOTA] = "client_quota",
    [PG_DNS_DROP_TABLE_FULL] = "table_full",
    [PG_DNS_DROP_EVICTED] = "evicted",
    [PG_DNS_DROP_MALFORMED] = "malformed",
    [PG_DNS_DROP_NOT_CLIENT] = "not_client",
    [PG_DNS_DROP_NO_SERVER] = "no_server",
    [PG_DNS_DROP_SEND] = "send",
    [PG_DNS_DROP_TIMEOUT] = "timeout",
    [PG_DNS_DROP_UNEXPECTED] = "unexpected_answer",
};

const char *pg_dns_drop_name(enum pg_dns_drop r)
{
	return (unsigned)r < PG_DNS_DROP_COUNT ? dns_drop_names[r] : "unknown";
}
