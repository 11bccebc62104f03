// SPDX-License-Identifier: GPL-2.0-only
/* progload.c - prepare the pingwall BPF object for load, reach its maps after. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "progload.h"

/* The maps by their pin names, which are their names in bpf/pingwall.bpf.c. */
static struct bpf_map *map_of(const struct bpf_object *obj, enum pw_map_id id)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, pw_map_descs[id].name);

	if (!map)
		pw_err("the BPF object has no map '%s'", pw_map_descs[id].name);
	return map;
}

static int set_size(struct bpf_object *obj, enum pw_map_id id, __u32 n)
{
	struct bpf_map *map = map_of(obj, id);
	int err;

	if (!map)
		return -1;
	err = bpf_map__set_max_entries(map, n);
	if (err) {
		pw_err("cannot size map '%s' to %u: %s", pw_map_descs[id].name, n, strerror(-err));
		return -1;
	}
	return 0;
}

bool pw_have_coarse_ns(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns, NULL) > 0;
}

int pw_prog_prepare(struct bpf_object *obj, __u8 *have_coarse_ns, __u32 capacity,
		    __u32 ring_size, unsigned int flags)
{
	struct bpf_map *map;
	int err;

	if (flags & PW_PROG_UNPINNED)
		bpf_object__for_each_map(map, obj) {
			err = bpf_map__set_pin_path(map, NULL);
			if (err) {
				pw_err("cannot unpin map '%s': %s", bpf_map__name(map),
				       strerror(-err));
				return -1;
			}
		}
	if (set_size(obj, PW_M_BLOCKLIST, capacity) ||
	    set_size(obj, PW_M_HITS, capacity + 1) ||
	    set_size(obj, PW_M_V4_CHUNKS, 2 * PW_V4_CHUNK_CAP(capacity)) ||
	    /* two halves of PW_V4_RUN_CAP / 2 elements, each packing two runs */
	    set_size(obj, PW_M_V4_RUNS, PW_V4_RUN_CAP(capacity)) ||
	    set_size(obj, PW_M_V6_HOSTS, capacity) ||
	    set_size(obj, PW_M_V6_PREFIXES, capacity) ||
	    set_size(obj, PW_M_V6_LENS, 1U << pw_v6_lens_bits(capacity)) ||
	    set_size(obj, PW_M_EVENTS, ring_size))
		return -1;
	*have_coarse_ns = pw_have_coarse_ns();
	return 0;
}

int pw_prog_init_config(const struct bpf_object *obj, __u32 capacity)
{
	struct pw_config cfg = {
		.abi_version = PW_ABI_VERSION,
		.max_entries = capacity,
		.v6_lens_bits = pw_v6_lens_bits(capacity),
	};
	struct bpf_map *map = map_of(obj, PW_M_CONFIG);
	__u32 zero = 0;

	if (!map)
		return -1;
	if (bpf_map_update_elem(bpf_map__fd(map), &zero, &cfg, BPF_ANY)) {
		pw_err("cannot initialise the config map: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int pw_prog_maps(const struct bpf_object *obj, struct pw_maps *m)
{
	int fds[PW_M_COUNT];

	for (int id = 0; id < PW_M_COUNT; id++) {
		struct bpf_map *map = map_of(obj, id);

		if (!map)
			return -1;
		fds[id] = bpf_map__fd(map);
	}
	return pw_maps_from_fds(m, fds);
}
