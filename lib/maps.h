/* SPDX-License-Identifier: GPL-2.0-only */
/* maps.h - open pingwall's pinned maps, validate them, and access them. */
#ifndef PW_MAPS_H
#define PW_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "pingwall.h"

struct btf;

enum pw_map_id {
	PW_M_BLOCKLIST,
	PW_M_HITS,
	PW_M_CONFIG,
	PW_M_STATS,
	PW_M_EVENTS,
	PW_M_V4_L1,
	PW_M_V4_CHUNKS,
	PW_M_V4_RUNS,
	PW_M_V4_NZ24,
	PW_M_V6_HOSTS,
	PW_M_V6_PREFIXES,
	PW_M_V6_FILTER,
	PW_M_V6_LENS,
	PW_M_COUNT,
};

/* How to move a blocklist to a build of another layout or ABI version. */
#define PW_MIGRATE_HINT							\
	"to migrate, with the old version run 'blockctl save FILE' and "	\
	"'pingwall detach --all --purge', then with this one "			\
	"'pingwall attach IFACE... --blocklist FILE'"

/* Which maps to open: a bit per pw_map_id. */
#define PW_MAPS_ALL		((1U << PW_M_COUNT) - 1)
#define PW_MAPS_BIT(id)		(1U << (id))
/* What blockctl needs to change the blocklist. */
#define PW_MAPS_EDIT		(PW_MAPS_ALL & ~PW_MAPS_BIT(PW_M_EVENTS) & ~PW_MAPS_BIT(PW_M_STATS))
/* For readers only: on a bpffs mounted read-only (where a plain open of a pin
 * fails with EROFS) open the maps read-only and mmap them PROT_READ. */
#define PW_MAPS_READONLY	(1U << 31)

struct pw_maps {
	int fd[PW_M_COUNT];			/* -1 when not open */
	__u32 max_entries[PW_M_COUNT];
	struct pw_config *cfg;			/* mmap of config */
	__u32 *v4_l1;				/* mmap: 2 * PW_V4_L1_SLOTS */
	struct pw_v4_chunk *v4_chunks;		/* mmap: 2 * chunk_cap */
	__u32 *v4_runs;				/* mmap: 2 * run_cap */
	__u64 *v4_nz24;				/* mmap: 2 * PW_V4_NZ24_WORDS */
	__u64 *v6_filter;			/* mmap: PW_V6_FILTER_WORDS */
	struct pw_v6_lens *v6_lens;		/* mmap: 1 << cfg->v6_lens_bits */
	__u32 capacity;				/* blocklist max_entries */
	__u32 chunk_cap;			/* v4_chunks per half */
	__u32 run_cap;				/* v4_runs per half */
	bool readonly;				/* opened read-only (PW_MAPS_READONLY) */
	struct btf *btf;			/* the maps' BTF, loaded once to check them */
	__u32 btf_id;
};

/* Static description of each map, for validation: name, type, sizes, and the
 * names of its key and value types in BTF (as bpf/pingwall.bpf.c declares them). */
struct pw_map_desc {
	const char *name;
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 flags;		/* map_flags that must be set */
	const char *key_type;	/* NULL: no key (ring buffer) */
	const char *value_type;
};
extern const struct pw_map_desc pw_map_descs[PW_M_COUNT];

void pw_maps_init(struct pw_maps *m);

/*
 * Open the maps in @which from <pin_dir>/, check each one's name, type, flags,
 * key and value size, and (where the map carries BTF and we may read it: that
 * takes CAP_SYS_ADMIN) the names of its key and value types, against this
 * build's ABI and the config's abi_version, and mmap the mmapable ones.  On failure prints one error line (plus a hint, e.g.
 * "is pingwall attached? run 'pingwall attach IFACE'") and returns -1.
 */
int pw_maps_open(struct pw_maps *m, const char *pin_dir, unsigned which);

/*
 * Same checks for maps already open (the loader and the prog tests use the
 * skeleton's fds).  @fds has PW_M_COUNT entries.  Takes ownership of nothing:
 * the fds are dup()ed.
 */
int pw_maps_from_fds(struct pw_maps *m, const int *fds);

void pw_maps_close(struct pw_maps *m);

/* Sum of a per-CPU stats counter set; returns 0 and fills @out, or -1. */
int pw_stats_read(const struct pw_maps *m, struct pw_stats *out);

/* The hit count of rule @id, summed over the CPUs (hits is per-CPU). */
int pw_hits_read(const struct pw_maps *m, __u32 id, __u64 *sum);

#endif
