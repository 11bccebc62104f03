// SPDX-License-Identifier: GPL-2.0-only
/* maps.c - open pinned maps, check they are the maps this build expects. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "maps.h"
#include "pins.h"

const struct pw_map_desc pw_map_descs[PW_M_COUNT] = {
	[PW_M_BLOCKLIST] = { PW_MAP_BLOCKLIST, BPF_MAP_TYPE_HASH, sizeof(struct pw_key),
			     sizeof(struct pw_rule), 0, "pw_key", "pw_rule" },
	[PW_M_HITS] = { PW_MAP_HITS, BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(__u64), 0, "__u32",
			"__u64" },
	[PW_M_CONFIG] = { PW_MAP_CONFIG, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pw_config),
			  BPF_F_MMAPABLE, "__u32", "pw_config" },
	[PW_M_STATS] = { PW_MAP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct pw_stats), 0,
			 "__u32", "pw_stats" },
	[PW_M_EVENTS] = { PW_MAP_EVENTS, BPF_MAP_TYPE_RINGBUF, 0, 0, 0, NULL, NULL },
	[PW_M_V4_L1] = { PW_MAP_V4_L1, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pw_u32x2),
			 BPF_F_MMAPABLE, "__u32", "pw_u32x2" },
	[PW_M_V4_CHUNKS] = { PW_MAP_V4_CHUNKS, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pw_v4_chunk),
			     BPF_F_MMAPABLE, "__u32", "pw_v4_chunk" },
	[PW_M_V4_RUNS] = { PW_MAP_V4_RUNS, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pw_u32x2),
			   BPF_F_MMAPABLE, "__u32", "pw_u32x2" },
	[PW_M_V4_NZ24] = { PW_MAP_V4_NZ24, BPF_MAP_TYPE_ARRAY, 4, sizeof(__u64), BPF_F_MMAPABLE,
			   "__u32", "__u64" },
	[PW_M_V6_HOSTS] = { PW_MAP_V6_HOSTS, BPF_MAP_TYPE_HASH, sizeof(struct pw_in6),
			    sizeof(__u32), BPF_F_NO_PREALLOC, "pw_in6", "__u32" },
	[PW_M_V6_PREFIXES] = { PW_MAP_V6_PREFIXES, BPF_MAP_TYPE_HASH,
			       sizeof(struct pw_v6_key), sizeof(__u32), BPF_F_NO_PREALLOC,
			       "pw_v6_key", "__u32" },
	[PW_M_V6_FILTER] = { PW_MAP_V6_FILTER, BPF_MAP_TYPE_ARRAY, 4, sizeof(__u64),
			     BPF_F_MMAPABLE, "__u32", "__u64" },
	[PW_M_V6_LENS] = { PW_MAP_V6_LENS, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pw_v6_lens),
			   BPF_F_MMAPABLE, "__u32", "pw_v6_lens" },
};

void pw_maps_init(struct pw_maps *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < PW_M_COUNT; i++)
		m->fd[i] = -1;
}

static size_t mmap_size(const struct pw_maps *m, int id)
{
	size_t elem = (pw_map_descs[id].value_size + 7) & ~7UL;
	size_t page = sysconf(_SC_PAGESIZE);

	return (elem * m->max_entries[id] + page - 1) & ~(page - 1);
}

static void *map_mmap(struct pw_maps *m, int id)
{
	void *p;

	if (m->fd[id] < 0)
		return NULL;
	p = mmap(NULL, mmap_size(m, id), PROT_READ | PROT_WRITE, MAP_SHARED, m->fd[id], 0);
	if (p == MAP_FAILED) {
		pw_err("cannot mmap map '%s': %s", pw_map_descs[id].name, strerror(errno));
		return MAP_FAILED;
	}
	return p;
}

/* Name of BTF type @type_id of @btf, "" when it has none or cannot be found. */
static const char *btf_name(const struct btf *btf, __u32 type_id)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	const char *n = t ? btf__name_by_offset(btf, t->name_off) : NULL;

	return n ? n : "";
}

/*
 * The key and value types a map was made with, by name: what sizes alone do
 * not tell (another struct of the same size, an older layout).  A map without
 * BTF (made by hand, or by a kernel that refused it) passes on sizes alone, and
 * so does one whose BTF we may not read (BPF_BTF_GET_FD_BY_ID needs
 * CAP_SYS_ADMIN; blockctl run with CAP_BPF only does without).
 */
static int check_btf(struct pw_maps *m, int id, const struct bpf_map_info *info,
		     const char *where)
{
	const struct pw_map_desc *d = &pw_map_descs[id];
	const char *k, *v;

	if (!info->btf_id || !info->btf_value_type_id || !d->value_type)
		return 0;
	if (m->btf_id != info->btf_id) {
		btf__free(m->btf);
		m->btf = btf__load_from_kernel_by_id(info->btf_id);
		m->btf_id = info->btf_id;
		if (!m->btf)
			pw_dbg(1, "cannot read the BTF of '%s' (%s): checking sizes only", where,
			       strerror(errno));
	}
	if (!m->btf)
		return 0;
	k = info->btf_key_type_id ? btf_name(m->btf, info->btf_key_type_id) : d->key_type;
	v = btf_name(m->btf, info->btf_value_type_id);
	if (strcmp(k, d->key_type) || strcmp(v, d->value_type)) {
		pw_err("map '%s' has another layout than this pingwall expects (key '%s' value "
		       "'%s', expected key '%s' value '%s')", where, k, v, d->key_type,
		       d->value_type);
		pw_hint(PW_MIGRATE_HINT);
		return -1;
	}
	return 0;
}

/* Check the open map @id against this build's ABI. */
static int check_map(struct pw_maps *m, int id, const char *where)
{
	const struct pw_map_desc *d = &pw_map_descs[id];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(m->fd[id], &info, &len)) {
		pw_err("'%s' is not a BPF map: %s", where, strerror(errno));
		return -1;
	}
	if (info.type != d->type || info.key_size != d->key_size ||
	    info.value_size != d->value_size) {
		pw_err("map '%s' has another layout than this pingwall expects "
		       "(type %u key %u value %u, expected type %u key %u value %u)",
		       where, info.type, info.key_size, info.value_size, d->type, d->key_size,
		       d->value_size);
		pw_hint(PW_MIGRATE_HINT);
		return -1;
	}
	if ((info.map_flags & d->flags) != d->flags || strcmp(info.name, d->name)) {
		pw_err("map '%s' has another layout than this pingwall expects (name '%s' flags "
		       "%#x, expected name '%s' flags %#x)", where, info.name, info.map_flags,
		       d->name, d->flags);
		pw_hint(PW_MIGRATE_HINT);
		return -1;
	}
	if (check_btf(m, id, &info, where))
		return -1;
	m->max_entries[id] = info.max_entries;
	return 0;
}

/* Sizes that depend on the capacity (pw_config.max_entries) must agree with it. */
static int check_sizes(struct pw_maps *m)
{
	__u32 n = m->cfg->max_entries;
	const struct {
		int id;
		__u32 want;
	} need[] = {
		{ PW_M_BLOCKLIST, n },
		{ PW_M_HITS, n + 1 },
		{ PW_M_CONFIG, 1 },
		{ PW_M_V4_L1, PW_V4_L1_SLOTS },
		{ PW_M_V4_CHUNKS, 2 * PW_V4_CHUNK_CAP(n) },
		{ PW_M_V4_RUNS, PW_V4_RUN_CAP(n) },
		{ PW_M_V4_NZ24, 2 * PW_V4_NZ24_WORDS },
		{ PW_M_V6_HOSTS, n },
		{ PW_M_V6_PREFIXES, n },
		{ PW_M_V6_FILTER, PW_V6_FILTER_WORDS },
		{ PW_M_V6_LENS, 1U << pw_v6_lens_bits(n) },
	};

	m->capacity = n;
	m->chunk_cap = PW_V4_CHUNK_CAP(n);
	m->run_cap = PW_V4_RUN_CAP(n);
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int id = need[i].id;

		if (m->fd[id] >= 0 && m->max_entries[id] != need[i].want) {
			pw_err("map '%s' holds %u entries, expected %u for a blocklist of %u",
			       pw_map_descs[id].name, m->max_entries[id], need[i].want, n);
			pw_hint("the pins are inconsistent: 'pingwall detach --all --purge' and "
				"attach again");
			return -1;
		}
	}
	if (m->cfg->v6_lens_bits != pw_v6_lens_bits(n)) {
		pw_err("config says v6_lens has 2^%u slots, expected 2^%u for a blocklist of %u",
		       m->cfg->v6_lens_bits, pw_v6_lens_bits(n), n);
		pw_hint("the pins are inconsistent: 'pingwall detach --all --purge' and "
			"attach again");
		return -1;
	}
	return 0;
}

static int finish(struct pw_maps *m)
{
	if (m->fd[PW_M_CONFIG] < 0) {
		pw_err("internal error: config map not open");
		return -1;
	}
	if (m->readonly) {
		/* a read-only fd cannot be mmapped MAP_SHARED: a copy of the
		 * config is all a reader needs, and nothing else is mapped */
		__u32 zero = 0;

		m->cfg = malloc(sizeof(*m->cfg));
		if (!m->cfg || bpf_map_lookup_elem(m->fd[PW_M_CONFIG], &zero, m->cfg)) {
			pw_err("cannot read map 'config': %s", strerror(m->cfg ? errno : ENOMEM));
			return -1;
		}
	} else {
		m->cfg = map_mmap(m, PW_M_CONFIG);
		if (m->cfg == MAP_FAILED)
			return m->cfg = NULL, -1;
	}
	if (m->cfg->abi_version == 0) {
		pw_err("the maps are not initialised: an attach did not complete");
		pw_hint("run 'pingwall attach IFACE' again");
		return -1;
	}
	if (m->cfg->abi_version != PW_ABI_VERSION) {
		pw_err("pinned maps have ABI version %u, this pingwall speaks %u",
		       m->cfg->abi_version, PW_ABI_VERSION);
		pw_hint(PW_MIGRATE_HINT);
		return -1;
	}
	if (check_sizes(m))
		return -1;
	if (m->readonly)
		return 0;
#define MMAP(id, field)                                                  \
	do {                                                             \
		void *p_ = map_mmap(m, id);                              \
		if (p_ == MAP_FAILED)                                    \
			return -1;                                       \
		m->field = p_;                                           \
	} while (0)
	MMAP(PW_M_V4_L1, v4_l1);
	MMAP(PW_M_V4_CHUNKS, v4_chunks);
	MMAP(PW_M_V4_RUNS, v4_runs);
	MMAP(PW_M_V4_NZ24, v4_nz24);
	MMAP(PW_M_V6_FILTER, v6_filter);
	MMAP(PW_M_V6_LENS, v6_lens);
#undef MMAP
	return 0;
}

int pw_maps_open(struct pw_maps *m, const char *pin_dir, unsigned which)
{
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	bool may_ro = which & PW_MAPS_READONLY;
	char path[PATH_MAX];

	pw_maps_init(m);
	if (pw_bpffs_ensure(pin_dir, false))
		return -1;
	/* config first: it tells whether pingwall ever ran here */
	which |= PW_MAPS_BIT(PW_M_CONFIG);
	for (int id = PW_M_CONFIG, n = 0; n < PW_M_COUNT; n++, id = (id + 1) % PW_M_COUNT) {
		if (!(which & PW_MAPS_BIT(id)))
			continue;
		if (pw_pin_path(path, sizeof(path), pin_dir, pw_map_descs[id].name))
			goto fail;
		m->fd[id] = m->readonly ? bpf_obj_get_opts(path, &ro) : bpf_obj_get(path);
		if (m->fd[id] < 0 && errno == EROFS && may_ro && !m->readonly) {
			m->readonly = true;
			m->fd[id] = bpf_obj_get_opts(path, &ro);
		}
		if (m->fd[id] < 0) {
			int e = errno;

			pw_err("cannot open pinned map '%s': %s", path, strerror(e));
			if (e == ENOENT)
				pw_hint("is pingwall attached? run 'pingwall attach IFACE'");
			else if (e == EPERM || e == EACCES)
				pw_hint("needs CAP_BPF (or CAP_SYS_ADMIN): run as root");
			else if (e == EROFS)
				pw_hint("its bpf file system is mounted read-only: changes need it "
					"read-write (mount -o remount,rw)");
			goto fail;
		}
		if (check_map(m, id, path))
			goto fail;
	}
	if (finish(m))
		goto fail;
	return 0;
fail:
	pw_maps_close(m);
	return -1;
}

int pw_maps_from_fds(struct pw_maps *m, const int *fds)
{
	pw_maps_init(m);
	for (int id = 0; id < PW_M_COUNT; id++) {
		if (fds[id] < 0)
			continue;
		m->fd[id] = fcntl(fds[id], F_DUPFD_CLOEXEC, 3);
		if (m->fd[id] < 0 || check_map(m, id, pw_map_descs[id].name))
			goto fail;
	}
	if (finish(m))
		goto fail;
	return 0;
fail:
	pw_maps_close(m);
	return -1;
}

void pw_maps_close(struct pw_maps *m)
{
	if (m->cfg && m->readonly)
		free(m->cfg);
	else if (m->cfg)
		munmap(m->cfg, mmap_size(m, PW_M_CONFIG));
	if (m->v4_l1)
		munmap(m->v4_l1, mmap_size(m, PW_M_V4_L1));
	if (m->v4_chunks)
		munmap(m->v4_chunks, mmap_size(m, PW_M_V4_CHUNKS));
	if (m->v4_runs)
		munmap(m->v4_runs, mmap_size(m, PW_M_V4_RUNS));
	if (m->v4_nz24)
		munmap(m->v4_nz24, mmap_size(m, PW_M_V4_NZ24));
	if (m->v6_filter)
		munmap(m->v6_filter, mmap_size(m, PW_M_V6_FILTER));
	if (m->v6_lens)
		munmap(m->v6_lens, mmap_size(m, PW_M_V6_LENS));
	for (int i = 0; i < PW_M_COUNT; i++)
		if (m->fd[i] >= 0)
			close(m->fd[i]);
	btf__free(m->btf);
	pw_maps_init(m);
}

int pw_hits_read(const struct pw_maps *m, __u32 id, __u64 *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *per;
	int err;

	*sum = 0;
	if (ncpu <= 0)
		return -1;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -1;
	err = bpf_map_lookup_elem(m->fd[PW_M_HITS], &id, per);
	for (int c = 0; !err && c < ncpu; c++)
		*sum += per[c];
	free(per);
	return err ? -1 : 0;
}

int pw_stats_read(const struct pw_maps *m, struct pw_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pw_stats *per;
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0 || m->fd[PW_M_STATS] < 0)
		return -1;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -1;
	if (bpf_map_lookup_elem(m->fd[PW_M_STATS], &zero, per)) {
		free(per);
		return -1;
	}
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < PW_STAT_MAX; i++)
			out->c[i] += per[c].c[i];
	free(per);
	return 0;
}
