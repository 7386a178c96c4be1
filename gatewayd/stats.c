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
