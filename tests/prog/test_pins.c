// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pins.c - a map the tools open is checked before it is used: one of
 * another type, key or value size, name, flags, BTF key or value type, ABI
 * version or capacity is refused.  The maps are made here with bpf_map_create()
 * (and BTF built with libbpf) and handed to pw_maps_from_fds(), which makes the
 * checks pw_maps_open() makes on pins.  Root (CAP_BPF); skips otherwise.  TAP.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "maps.h"
#include "tap.h"

#define CAP	16	/* the blocklist capacity of the config made here */

/* One map: what bpf_map_create() gets.  NULL type names: no BTF. */
struct spec {
	__u32 type;
	const char *name;
	__u32 key_size, value_size, max_entries, flags;
	const char *key_type, *value_type;
};

/* A BTF with the two named types (a typedef of an int for "__u32"-like
 * names, a struct for the others), loaded; their ids in *kid, *vid. */
static int make_btf(const struct spec *s, int *kid, int *vid)
{
	struct btf *btf = btf__new_empty();
	const char *names[2] = { s->key_type, s->value_type };
	__u32 sizes[2] = { s->key_size, s->value_size };
	int ids[2], fd;

	if (!btf)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (!strncmp(names[i], "__u", 3)) {
			int base = btf__add_int(btf, "unsigned int", sizes[i], 0);

			ids[i] = btf__add_typedef(btf, names[i], base);
		} else {
			int byte = btf__add_int(btf, "unsigned char", 1, 0);
			int arr = btf__add_array(btf, byte, byte, sizes[i]);

			ids[i] = btf__add_struct(btf, names[i], sizes[i]);
			btf__add_field(btf, "raw", arr, 0, 0);
		}
	}
	if (btf__load_into_kernel(btf)) {
		btf__free(btf);
		return -1;
	}
	fd = dup(btf__fd(btf));
	btf__free(btf);
	*kid = ids[0];
	*vid = ids[1];
	return fd;
}

static int make_map(const struct spec *s)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = s->flags);
	int btf_fd = -1, kid = 0, vid = 0, fd;

	if (s->value_type) {
		btf_fd = make_btf(s, &kid, &vid);
		if (btf_fd < 0)
			return -1;
		o.btf_fd = btf_fd;
		o.btf_key_type_id = kid;
		o.btf_value_type_id = vid;
	}
	fd = bpf_map_create(s->type, s->name, s->key_size, s->value_size, s->max_entries, &o);
	if (btf_fd >= 0)
		close(btf_fd);
	return fd;
}

static const struct spec good_config = {
	BPF_MAP_TYPE_ARRAY, "config", 4, sizeof(struct pw_config), 1, BPF_F_MMAPABLE,
	"__u32", "pw_config",
};

static const struct spec good_blocklist = {
	BPF_MAP_TYPE_HASH, "blocklist", sizeof(struct pw_key), sizeof(struct pw_rule), CAP,
	0, "pw_key", "pw_rule",
};

/* A config map holding @abi, or -1. */
static int config_map(const struct spec *s, __u32 abi)
{
	struct pw_config cfg = { .abi_version = abi, .max_entries = CAP,
				  .v6_lens_bits = pw_v6_lens_bits(CAP) };
	__u32 zero = 0;
	int fd = make_map(s);

	if (fd >= 0 && bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Does pw_maps_from_fds() take a config @cs of ABI @abi and a blocklist @bs
 * (NULL: none)?  1 yes, 0 no, -1 the maps could not even be made. */
static int accepted(const struct spec *cs, __u32 abi, const struct spec *bs)
{
	int fds[PW_M_COUNT];
	struct pw_maps m;
	int r;

	for (int i = 0; i < PW_M_COUNT; i++)
		fds[i] = -1;
	fds[PW_M_CONFIG] = config_map(cs, abi);
	if (bs)
		fds[PW_M_BLOCKLIST] = make_map(bs);
	if (fds[PW_M_CONFIG] < 0 || (bs && fds[PW_M_BLOCKLIST] < 0)) {
		tap_diag("cannot make the maps: %s", strerror(errno));
		r = -1;
	} else {
		r = !pw_maps_from_fds(&m, fds);
		if (r)
			pw_maps_close(&m);
	}
	for (int i = 0; i < PW_M_COUNT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

int main(void)
{
	struct spec s;
	int probe;

	pw_prog = "test_pins";
	probe = make_map(&good_config);
	if (probe < 0)
		tap_skip_all(errno == EPERM ? "needs CAP_BPF (root)" : "cannot make a BPF map");
	close(probe);

	tap_ok(accepted(&good_config, PW_ABI_VERSION, NULL) == 1, "the right config is taken");
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &good_blocklist) == 1,
	       "with the right blocklist too");

	s = good_blocklist;
	s.type = BPF_MAP_TYPE_LRU_HASH;
	s.flags = 0;
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 0, "a blocklist of another type "
	       "(LRU hash) is refused");
	s = good_blocklist;
	s.key_size = 16;
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 0, "... of another key size (16)");
	s = good_blocklist;
	s.value_size = 4;
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 0, "... of another value size (4)");
	s = good_blocklist;
	s.name = "blocklist2";
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 0, "... of another name");
	s = good_blocklist;
	s.flags = BPF_F_NO_PREALLOC;
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 1,
	       "a blocklist with BPF_F_NO_PREALLOC is taken (no other layout)");
	s = good_blocklist;
	s.value_type = "pw_rule_v0";
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 0,
	       "... whose BTF value type is another struct of the same size (pw_rule_v0)");
	s = good_blocklist;
	s.key_type = "pw_key_v0";
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 0,
	       "... whose BTF key type is another struct (pw_key_v0)");
	s = good_blocklist;
	s.max_entries = CAP + 1;
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 0,
	       "... of another capacity than the config says");
	s = good_blocklist;
	s.key_type = s.value_type = NULL;
	tap_ok(accepted(&good_config, PW_ABI_VERSION, &s) == 1,
	       "a blocklist without BTF (made by hand) is judged on its sizes: taken");

	s = good_config;
	s.value_type = "pw_config_v0";
	tap_ok(accepted(&s, PW_ABI_VERSION, NULL) == 0,
	       "a config whose BTF value type is another struct (pw_config_v0) is refused");
	s = good_config;
	s.flags = 0;
	tap_ok(accepted(&s, PW_ABI_VERSION, NULL) == 0, "... one that is not mmapable");
	tap_ok(accepted(&good_config, PW_ABI_VERSION + 1, NULL) == 0,
	       "... one of ABI version %d", PW_ABI_VERSION + 1);
	tap_ok(accepted(&good_config, 0, NULL) == 0, "... one never initialised (ABI version 0)");
	return tap_done();
}
