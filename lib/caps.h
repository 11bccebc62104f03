/* SPDX-License-Identifier: GPL-2.0-only */
/* caps.h - check and drop capabilities with libcap (never geteuid() == 0). */
#ifndef PW_CAPS_H
#define PW_CAPS_H

#include <stdbool.h>

/* What a command needs. */
#define PW_NEED_BPF		0x1	/* CAP_BPF, or CAP_SYS_ADMIN on kernels without it */
#define PW_NEED_NET_ADMIN	0x2	/* CAP_NET_ADMIN */

/*
 * Check the effective set.  When something is missing prints e.g.
 *   "PROG: missing capability CAP_NET_ADMIN"
 *   "PROG: hint: run as root, or grant it: setcap cap_bpf,cap_net_admin+ep PATH"
 * and returns -1.
 */
int pw_caps_require(unsigned need);

/* Drop every capability from all sets (after the maps are open).  Returns 0 or -1. */
int pw_caps_drop_all(void);

#endif
