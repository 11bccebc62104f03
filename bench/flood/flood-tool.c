// SPDX-License-Identifier: GPL-2.0-only
/*
 * flood-tool - the C half of bench/flood/flood.sh (which makes the
 * namespaces and drives the runs).  Verbs:
 *
 *   gen IFACE SECONDS DST_MAC [--sources N] [--dst ADDR]
 *	Run gen.bpf.c through BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
 *	for SECONDS (at most 10): ICMP echo requests from 198.18.0.1 (or from N
 *	sources 198.18.16.0 + i, N a power of two <= 4096) to ADDR (default
 *	198.19.254.2) redirected out of IFACE.  Prints "frames N ns T".
 *   attach IFACE drop|hash|txdrop [--block ADDR/LEN]...
 *	Attach a reference receiver of rcv.bpf.c (native XDP, netlink, so it
 *	outlives this process and goes with the interface); hash blocks each
 *	address of each ADDR/LEN.
 *   detach IFACE
 *
 * Only 198.18.0.0/15 is ever written into a frame.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/icmp.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gen.skel.h"
#include "rcv.skel.h"

#define PROG		"flood-tool"
#define SRC_ONE		0xc6120001U	/* 198.18.0.1 */
#define SRC_MANY	0xc6121000U	/* 198.18.16.0 */
#define DST_DEFAULT	"198.19.254.2"
#define PAYLOAD		56		/* as ping's default: a 98-byte frame */
#define MAX_SECONDS	10.0

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 198.18.0.0/15 only: 198.18.x.y and 198.19.x.y */
static bool in_bench_net(__u32 host_order)
{
	return (host_order & 0xfffe0000U) == 0xc6120000U;
}

static int parse_mac(const char *s, unsigned char *mac)
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -1;
		mac[i] = b[i];
	}
	return 0;
}

static int if_mac(const char *ifname, unsigned char *mac)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	r = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (r)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

static __u16 csum(const void *p, size_t len)
{
	const __u8 *b = p;
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

static size_t make_frame(__u8 *f, const unsigned char *dmac, const unsigned char *smac,
			 __u32 src, __u32 dst)
{
	struct ethhdr *eth = (void *)f;
	struct iphdr *ip = (void *)(eth + 1);
	struct icmphdr *icmp = (void *)(ip + 1);
	size_t len = sizeof(*eth) + sizeof(*ip) + sizeof(*icmp) + PAYLOAD;

	memset(f, 0, len);
	memcpy(eth->h_dest, dmac, 6);
	memcpy(eth->h_source, smac, 6);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(len - sizeof(*eth));
	ip->id = htons(1);
	ip->frag_off = htons(0x4000);	/* DF */
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->saddr = htonl(src);
	ip->daddr = htonl(dst);
	ip->check = csum(ip, sizeof(*ip));
	icmp->type = ICMP_ECHO;
	icmp->un.echo.id = htons(0x5057);
	icmp->un.echo.sequence = htons(1);
	for (int i = 0; i < PAYLOAD; i++)
		((__u8 *)(icmp + 1))[i] = 0x10 + i;
	icmp->checksum = csum(icmp, sizeof(*icmp) + PAYLOAD);
	return len;
}

static int do_gen(int argc, char **argv)
{
	unsigned char dmac[6], smac[6];
	unsigned long sources = 1;
	struct in_addr dst;
	struct gen_bpf *skel = NULL;
	__u8 frame[256];
	size_t len;
	double secs, t0, t, last;
	__u64 frames = 0, ns = 0;
	__u32 repeat = 1 << 16;
	int ifindex, ret = 1;
	const char *dst_s = DST_DEFAULT;

	if (argc < 3) {
		err("usage: gen IFACE SECONDS DST_MAC [--sources N] [--dst ADDR]");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--sources") && i + 1 < argc) {
			sources = strtoul(argv[++i], NULL, 0);
			if (!sources || sources > 4096 || (sources & (sources - 1))) {
				err("invalid source count '%s' (a power of two, 1..4096)", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--dst") && i + 1 < argc) {
			dst_s = argv[++i];
		} else {
			err("unknown argument '%s'", argv[i]);
			return 2;
		}
	}
	secs = strtod(argv[1], NULL);
	if (!(secs > 0 && secs <= MAX_SECONDS)) {
		err("invalid duration '%s' (0 < SECONDS <= 10)", argv[1]);
		return 2;
	}
	if (inet_pton(AF_INET, dst_s, &dst) != 1 || !in_bench_net(ntohl(dst.s_addr))) {
		err("invalid destination '%s' (must be in 198.18.0.0/15)", dst_s);
		return 2;
	}
	if (parse_mac(argv[2], dmac)) {
		err("invalid MAC address '%s'", argv[2]);
		return 2;
	}
	ifindex = if_nametoindex(argv[0]);
	if (!ifindex || if_mac(argv[0], smac)) {
		err("no interface '%s': %s", argv[0], strerror(errno));
		return 1;
	}
	len = make_frame(frame, dmac, smac, sources > 1 ? SRC_MANY : SRC_ONE,
			 ntohl(dst.s_addr));

	skel = gen_bpf__open();
	if (!skel) {
		err("cannot open the generator: %s", strerror(errno));
		return 1;
	}
	skel->rodata->out_ifindex = ifindex;
	skel->rodata->src_base = SRC_MANY;
	skel->rodata->src_mask = sources > 1 ? sources - 1 : 0;
	if (gen_bpf__load(skel)) {
		err("cannot load the generator: %s", strerror(errno));
		goto out;
	}
	t0 = last = now();
	while ((t = now()) - t0 < secs) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
		double left = secs - (t - t0), took;

		/* aim at ~50 ms a call so the run ends within ~50 ms of SECONDS */
		o.repeat = repeat;
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.flood_gen), &o)) {
			err("test_run on '%s': %s", argv[0], strerror(errno));
			goto out;
		}
		frames += repeat;
		last = now();
		took = last - t;
		if (took > 0) {
			double want = repeat * (left < 0.05 ? left : 0.05) / took;

			repeat = want < 1024 ? 1024 : want > (1 << 24) ? 1 << 24 : (__u32)want;
		}
	}
	ns = (__u64)((last - t0) * 1e9);
	printf("frames %llu ns %llu counted %llu\n", (unsigned long long)frames,
	       (unsigned long long)ns, (unsigned long long)skel->bss->frames);
	ret = 0;
out:
	gen_bpf__destroy(skel);
	return ret;
}

static int do_attach(int argc, char **argv)
{
	struct rcv_bpf *skel;
	struct bpf_program *prog;
	int ifindex, ret = 1;
	__u32 one = 1;

	if (argc < 2) {
		err("usage: attach IFACE drop|hash|txdrop [--block ADDR/LEN]...");
		return 2;
	}
	ifindex = if_nametoindex(argv[0]);
	if (!ifindex) {
		err("no interface '%s': %s", argv[0], strerror(errno));
		return 1;
	}
	skel = rcv_bpf__open_and_load();
	if (!skel) {
		err("cannot load the receivers: %s", strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "drop")) {
		prog = skel->progs.flood_drop;
	} else if (!strcmp(argv[1], "hash")) {
		prog = skel->progs.flood_hash;
	} else if (!strcmp(argv[1], "txdrop")) {
		prog = skel->progs.flood_txdrop;
	} else {
		err("unknown receiver '%s' (drop, hash or txdrop)", argv[1]);
		ret = 2;
		goto out;
	}
	for (int i = 2; i < argc; i++) {
		char buf[64], *slash;
		struct in_addr a;
		unsigned long plen = 32;

		if (strcmp(argv[i], "--block") || i + 1 >= argc) {
			err("unknown argument '%s'", argv[i]);
			ret = 2;
			goto out;
		}
		snprintf(buf, sizeof(buf), "%s", argv[++i]);
		slash = strchr(buf, '/');
		if (slash) {
			*slash = 0;
			plen = strtoul(slash + 1, NULL, 10);
		}
		if (inet_pton(AF_INET, buf, &a) != 1 || plen < 16 || plen > 32) {
			err("invalid prefix '%s' (IPv4, /16../32)", argv[i]);
			ret = 2;
			goto out;
		}
		for (__u32 k = 0; k < 1U << (32 - plen); k++) {
			__u32 key = htonl((ntohl(a.s_addr) & ~((1ULL << (32 - plen)) - 1)) + k);

			if (bpf_map__update_elem(skel->maps.flood_blocked, &key, sizeof(key), &one,
						 sizeof(one), BPF_ANY)) {
				err("cannot fill the hash: %s", strerror(errno));
				goto out;
			}
		}
	}
	if (bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL)) {
		err("cannot attach to '%s': %s", argv[0], strerror(errno));
		goto out;
	}
	ret = 0;
out:
	rcv_bpf__destroy(skel);
	return ret;
}

static int do_detach(int argc, char **argv)
{
	int ifindex;

	if (argc != 1) {
		err("usage: detach IFACE");
		return 2;
	}
	ifindex = if_nametoindex(argv[0]);
	if (!ifindex) {
		err("no interface '%s': %s", argv[0], strerror(errno));
		return 1;
	}
	if (bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL)) {
		err("cannot detach from '%s': %s", argv[0], strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(quiet_print);
	if (argc < 2) {
		err("usage: gen|attach|detach ARGS (see bench/flood/README.md)");
		return 2;
	}
	if (!strcmp(argv[1], "gen"))
		return do_gen(argc - 2, argv + 2);
	if (!strcmp(argv[1], "attach"))
		return do_attach(argc - 2, argv + 2);
	if (!strcmp(argv[1], "detach"))
		return do_detach(argc - 2, argv + 2);
	err("unknown command '%s' (gen, attach or detach)", argv[1]);
	return 2;
}
