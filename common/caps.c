/* SPDX-License-Identifier: MIT */
#include "common/caps.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>

int pg_caps_keep_net_admin(bool bind_service)
{
	const capng_type_t sets = CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET;

	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_update(CAPNG_ADD, sets, CAP_NET_ADMIN) < 0)
		return -EINVAL;
	if (bind_service && capng_update(CAPNG_ADD, sets, CAP_NET_BIND_SERVICE) < 0)
		return -EINVAL;
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -EPERM;
	return 0;
}
