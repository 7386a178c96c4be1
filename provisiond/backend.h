/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_BACKEND_H
#define PODGW_PROVISIOND_BACKEND_H

/* Where crawlers are made. Each backend is a table of callbacks; provisiond
 * picks one at start and never looks inside it. */

#include <stdbool.h>

#include "provisiond/settings.h"

#define PV_NAME_MAX 63
/* A gateway replica's name (gatewayd's REPLICA_NAME): a DNS label. */
#define PV_REPLICA_MAX 63

struct pv_crawler_spec {
	const char *name; /* derived from the event: the same event, the same name */
	const char *gateway;
	bool wait_routed;
};

struct pv_crawler {
	char pod_name[PV_NAME_MAX + 1];
	char pod_namespace[64];
	char netns[128];		  /* netns backend: the namespace to exec in */
	char pod_ip[48];		  /* when known at creation (netns) */
	char overlay_address[48];	  /* routed: the crawler's tunnel address */
	char replica[PV_REPLICA_MAX + 1]; /* routed: the gateway replica it went through */
	char replica_pod_ip[48];	  /* routed: that replica's pod IP */
	bool existed;			  /* made by an earlier delivery */
};

struct pv_backend_ops {
	const char *name;
	/* Called once, before the HTTP server starts; 0 or a negative errno
	 * with one line in why. */
	int (*init)(const struct pv_settings *s, void **impl, char why[PV_WHY_MAX]);
	/* Makes one crawler; safe to call from several threads at once. On
	 * failure nothing is left behind and why says what failed. */
	int (*create)(void *impl, const struct pv_crawler_spec *spec, struct pv_crawler *out,
		      char why[PV_WHY_MAX]);
	void (*fini)(void *impl);
};

extern const struct pv_backend_ops pv_backend_netns;
extern const struct pv_backend_ops pv_backend_kubernetes;
extern const struct pv_backend_ops pv_backend_podman;

#endif
