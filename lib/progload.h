/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * progload.h - prepare the pingwall BPF object for load, and reach its maps
 * after: the one way `pingwall attach`, the benches and the tests load
 * pingwall_xdp, so that what they measure and test is what the loader runs.
 */
#ifndef PW_PROGLOAD_H
#define PW_PROGLOAD_H

#include <stdbool.h>
#include <linux/types.h>

#include "maps.h"

struct bpf_object;

/* pw_prog_prepare(): clear every map's pin path, so that nothing is reused or
 * pinned (the maps say LIBBPF_PIN_BY_NAME); for tests and benches. */
#define PW_PROG_UNPINNED	(1U << 0)

/*
 * Before bpf_object__load() (pingwall__load()): size the maps for @capacity
 * rules and a @ring_size-byte event ring, as bpf/pingwall.h's PW_V4_*_CAP
 * say; with PW_PROG_UNPINNED unpin every map; and set *@have_coarse_ns (the
 * skeleton's rodata->have_coarse_ns) to pw_have_coarse_ns().  Returns 0, or -1
 * after printing the error.
 */
int pw_prog_prepare(struct bpf_object *obj, __u8 *have_coarse_ns, __u32 capacity,
		    __u32 ring_size, unsigned int flags);

/* Can an XDP program call bpf_ktime_get_coarse_ns()?  The event rate limit
 * reads that clock when it can: bpf_ktime_get_ns() costs ~20 ns on kvm-clock. */
bool pw_have_coarse_ns(void);

/* After load: write the first config, abi_version and max_entries = @capacity,
 * the rest 0.  Returns 0, or -1 after printing the error. */
int pw_prog_init_config(const struct bpf_object *obj, __u32 capacity);

/* After load: pw_maps_from_fds() on every map of the loaded object (checked,
 * mmapped, the fds dup'ed).  Returns 0, or -1 after printing the error. */
int pw_prog_maps(const struct bpf_object *obj, struct pw_maps *m);

#endif
