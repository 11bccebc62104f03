// SPDX-License-Identifier: GPL-2.0-only
/* reader.c - the benches' event reader; see reader.h. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pingwall.h"
#include "reader.h"

static struct pw_evring ring = { .epfd = -1 };
static pthread_t tid;
static bool started;
static int want_active, is_active, stop_flag, cpu_of, poll_of;	/* __atomic */
static __u64 consumed;
static pw_evring_fn user_fn;
static void *user_ctx;

void bench_pin_cpu(int cpu)
{
	cpu_set_t s;

	if (cpu < 0)
		return;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static int on_record(void *ctx, void *data, size_t size)
{
	int err = user_fn ? user_fn(user_ctx, data, size) : 0;

	__atomic_store_n(&consumed, consumed + 1, __ATOMIC_RELEASE);
	return err;
}

static void *loop(void *arg)
{
	bench_pin_cpu(cpu_of);
	while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&want_active, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&is_active, 0, __ATOMIC_RELEASE);
			usleep(200);
			continue;
		}
		__atomic_store_n(&is_active, 1, __ATOMIC_RELEASE);
		pw_evring_poll(&ring, poll_of);
	}
	__atomic_store_n(&is_active, 0, __ATOMIC_RELEASE);
	return NULL;
}

int reader_start(int ring_fd, int cpu, int poll_ms, pw_evring_fn fn, void *ctx)
{
	user_fn = fn;
	user_ctx = ctx;
	cpu_of = cpu;
	poll_of = poll_ms;
	__atomic_store_n(&consumed, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&stop_flag, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&want_active, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&is_active, 0, __ATOMIC_RELEASE);
	if (pw_evring_open(&ring, ring_fd, on_record, NULL)) {
		pw_err("cannot open the event ring: %s", strerror(errno));
		return -1;
	}
	if (pthread_create(&tid, NULL, loop, NULL)) {
		pw_err("cannot start the reader thread");
		return -1;
	}
	started = true;
	return 0;
}

void reader_set(int active)
{
	__atomic_store_n(&want_active, active, __ATOMIC_RELEASE);
	while (__atomic_load_n(&is_active, __ATOMIC_ACQUIRE) != active)
		usleep(100);
}

__u64 reader_consumed(void)
{
	return __atomic_load_n(&consumed, __ATOMIC_ACQUIRE);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int reader_drain(const struct pw_maps *m)
{
	double t0 = now_s();
	struct pw_stats st;

	if (pw_stats_read(m, &st))
		return -1;
	while (reader_consumed() < st.c[PW_STAT_EVENTS]) {
		if (now_s() - t0 > 10) {
			pw_err("ring-buffer reader stuck: %llu of %llu events read",
			       (unsigned long long)reader_consumed(),
			       (unsigned long long)st.c[PW_STAT_EVENTS]);
			return -1;
		}
		usleep(200);
	}
	return 0;
}

pthread_t reader_thread(void)
{
	return tid;
}

void reader_stop(void)
{
	if (started) {
		__atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
		pthread_join(tid, NULL);
		started = false;
	}
	if (ring.prod)
		pw_evring_close(&ring);
}
