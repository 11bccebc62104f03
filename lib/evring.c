// SPDX-License-Identifier: GPL-2.0-only
/*
 * evring.c - the event ring's reader.
 *
 * Wake-ups.  The program lets each CPU wake the reader at most once per
 * PW_WAKE_NS and submits the events in between with BPF_RB_NO_WAKEUP.  Such
 * an event always follows, by less than PW_WAKE_NS, one that could wake the
 * reader, and the reader saw that one.  So after seeing records the reader
 * polls on a tick of PW_READER_TICK_NS, and goes back to sleeping until woken
 * only once nothing has come for PW_READER_QUIET_NS (> PW_WAKE_NS): nothing is
 * left behind and an idle reader costs nothing.  The tick needs a timeout
 * finer than epoll_wait()'s milliseconds: epoll_pwait2() (Linux 5.11), else
 * 1 ms.
 *
 * Reading.  The ring's layout and protocol are the kernel's (see
 * kernel/bpf/ringbuf.c): a consumer page we write, a producer page and the
 * data pages (mapped twice, so a record never wraps) we read; each record has
 * an 8-byte header whose length carries a busy and a discard bit.  libbpf's
 * ring_buffer (1.1, Debian 12) publishes the consumer position after every
 * record; the producing CPU reads it on every reserve, so under a flood each
 * event cost it a cache miss.  Here the position is published once per batch
 * (and every PUBLISH_BYTES within a long one).
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "evring.h"
#include "pingwall.h"

#define PUBLISH_BYTES	(64 * 1024)

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int pw_evring_open(struct pw_evring *r, int map_fd, pw_evring_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct epoll_event ev = { .events = EPOLLIN };
	void *p;
	int err;

	memset(r, 0, sizeof(*r));
	r->epfd = -1;
	r->fn = fn;
	r->ctx = ctx;
	r->page = sysconf(_SC_PAGESIZE);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	r->mask = info.max_entries - 1;

	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->cons = p;
	p = mmap(NULL, r->page + 2 * (size_t)info.max_entries, PROT_READ, MAP_SHARED, map_fd,
		 r->page);
	if (p == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	r->prod = p;
	r->data = (const __u8 *)p + r->page;

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, map_fd, &ev)) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	pw_evring_close(r);
	return err;
}

int pw_evring_consume(struct pw_evring *r)
{
	unsigned long cons = *r->cons, prod, published = cons;
	int n = 0, err = 0;

	for (;;) {
		prod = __atomic_load_n(r->prod, __ATOMIC_ACQUIRE);
		if (cons >= prod)
			break;
		while (cons < prod) {
			const __u32 *hdr = (const __u32 *)(r->data + (cons & r->mask));
			__u32 len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out;	/* not committed yet: its submit wakes us */
			cons += ((len & ~BPF_RINGBUF_DISCARD_BIT) + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				n++;
				err = r->fn(r->ctx, (void *)(hdr + 2), len & ~BPF_RINGBUF_DISCARD_BIT);
				if (err < 0)
					goto out;
			}
			if (cons - published >= PUBLISH_BYTES) {
				__atomic_store_n(r->cons, cons, __ATOMIC_RELEASE);
				published = cons;
			}
		}
		/* publish, then look again: a record reserved meanwhile either
		 * shows up now or finds us caught up and wakes us */
		__atomic_store_n(r->cons, cons, __ATOMIC_RELEASE);
		published = cons;
	}
out:
	if (cons != published)
		__atomic_store_n(r->cons, cons, __ATOMIC_RELEASE);
	if (n)
		r->last_ns = mono_ns();
	return err < 0 ? err : n;
}

/* epoll_wait() with a timeout in nanoseconds (< 0: none). */
static int wait_ns(int epfd, long long ns)
{
	struct epoll_event ev;
	static int have_pwait2 = 1;
	int n;

#ifdef SYS_epoll_pwait2
	if (ns >= 0 && have_pwait2) {
		struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

		n = syscall(SYS_epoll_pwait2, epfd, &ev, 1, &ts, NULL, 0);
		if (n >= 0 || errno != ENOSYS)
			return n < 0 ? -errno : n;
		have_pwait2 = 0;
	}
#endif
	n = epoll_wait(epfd, &ev, 1, ns < 0 ? -1 : (int)((ns + 999999) / 1000000));
	return n < 0 ? -errno : n;
}

int pw_evring_poll(struct pw_evring *r, int timeout_ms)
{
	long long ns = timeout_ms < 0 ? -1 : timeout_ms * 1000000LL;
	int err;

	if (r->last_ns && mono_ns() - r->last_ns < PW_READER_QUIET_NS &&
	    (ns < 0 || ns > (long long)PW_READER_TICK_NS))
		ns = PW_READER_TICK_NS;
	err = wait_ns(r->epfd, ns);
	if (err < 0)
		return err;
	/* after a wake-up or a tick alike: records that came without a
	 * wake-up never show in epoll's answer */
	return pw_evring_consume(r);
}

void pw_evring_close(struct pw_evring *r)
{
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->cons)
		munmap(r->cons, r->page);
	if (r->prod)
		munmap((void *)r->prod, r->page + 2 * (r->mask + 1));
	memset(r, 0, sizeof(*r));
	r->epfd = -1;
}
