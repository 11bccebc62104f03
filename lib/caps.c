// SPDX-License-Identifier: GPL-2.0-only
/* caps.c - capability checks with libcap. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

#include "caps.h"
#include "log.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has(cap_t caps, cap_value_t c)
{
	cap_flag_value_t v = CAP_CLEAR;

	return cap_get_flag(caps, c, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET;
}

int pw_caps_require(unsigned need)
{
	cap_t caps = cap_get_proc();
	const char *missing = NULL;
	char setcap[64] = "";

	if (!caps) {
		pw_err("cannot read capabilities: %s", strerror(errno));
		return -1;
	}
	/* CAP_SYS_ADMIN stands in for CAP_BPF (kernels before 5.8 need it) */
	if ((need & PW_NEED_BPF) && !has(caps, CAP_BPF) && !has(caps, CAP_SYS_ADMIN))
		missing = "CAP_BPF";
	else if ((need & PW_NEED_NET_ADMIN) && !has(caps, CAP_NET_ADMIN))
		missing = "CAP_NET_ADMIN";
	cap_free(caps);
	if (!missing)
		return 0;
	snprintf(setcap, sizeof(setcap), "%s%s", need & PW_NEED_BPF ? "cap_bpf" : "",
		 need & PW_NEED_NET_ADMIN ? (need & PW_NEED_BPF ? ",cap_net_admin" :
				      "cap_net_admin") : "");
	pw_err("missing capability %s", missing);
	pw_hint("run as root, or grant it to the binary: setcap %s+ep $(command -v %s)", setcap,
		pw_prog);
	return -1;
}

int pw_caps_drop_all(void)
{
	cap_t none = cap_init();
	int err;

	if (!none)
		return -1;
	err = cap_set_proc(none);
	cap_free(none);
	if (err)
		pw_dbg(1, "cannot drop capabilities: %s", strerror(errno));
	return err ? -1 : 0;
}
