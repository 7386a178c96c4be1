/* SPDX-License-Identifier: MIT */
#ifndef PODGW_SETTINGS_TYPES_H
#define PODGW_SETTINGS_TYPES_H

/* The value types of the settings engine and the fields they fill. A
 * setting's min and max bound numbers, ports and prefix lengths; size is
 * its string field's. */

#include "common/addr.h"
#include "common/dnsmsg.h"
#include "common/settings.h"
#include "common/wire.h" /* PG_NAMESPACE_MAX: a k8s name with it is a DNS label */

#define PG_MAX_PREFIXES 64
#define PG_HOSTNAME_MAX 253
#define PG_MAX_DOMAINS	16

struct pg_prefix_list {
	unsigned n;
	struct pg_prefix items[PG_MAX_PREFIXES];
};

struct pg_domain_list {
	unsigned n;
	char items[PG_MAX_DOMAINS][PG_DNS_NAME_MAX + 1]; /* lower case, no final dot */
};

extern const struct pg_value_type pg_t_number;	     /* uint32_t in min..max */
extern const struct pg_value_type pg_t_opt_number;   /* the same, or empty: 0 */
extern const struct pg_value_type pg_t_port;	     /* uint16_t in min..max */
extern const struct pg_value_type pg_t_network;	     /* IPv4 CIDR, "a.b.c" is a /24 */
extern const struct pg_value_type pg_t_ifname;	     /* interface name */
extern const struct pg_value_type pg_t_host;	     /* DNS name or IP literal */
extern const struct pg_value_type pg_t_overlay_addr; /* IPv4, optional /len; "" unset */
extern const struct pg_value_type pg_t_cidr_list;    /* struct pg_prefix_list */
extern const struct pg_value_type pg_t_ip_list;	     /* struct pg_prefix_list */
extern const struct pg_value_type pg_t_opt_ipv4;     /* struct pg_prefix; "" unset */
extern const struct pg_value_type pg_t_opt_ip;	     /* IPv4 or IPv6; "" unset */
extern const struct pg_value_type pg_t_bool;	     /* true or false */
extern const struct pg_value_type pg_t_path;	     /* absolute path or "" */
extern const struct pg_value_type pg_t_level;	     /* enum pg_log_level */
extern const struct pg_value_type pg_t_k8s_name;     /* pod name, or label with max 63 */
extern const struct pg_value_type pg_t_domain_list;  /* struct pg_domain_list */
extern const struct pg_value_type pg_t_url;	     /* http(s) URL without credentials */
extern const struct pg_value_type pg_t_json;	     /* text checked by its user */
extern const struct pg_value_type pg_t_text;	     /* any text that fits */
extern const struct pg_value_type pg_t_log_format;   /* enum pg_log_format */
extern const struct pg_value_type pg_t_listen;	     /* "ADDR:PORT", ":PORT" or "" */

#endif
