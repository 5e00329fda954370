// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pump thread. A ring buffer wakes its consumer only when the consumer
 * had caught up, and each wake-up costs microseconds on a VM, so after a
 * wake-up the pump waits a short coalescing delay and then drains every
 * running tracer in one pass: at most one wake-up per delay, whatever the
 * event rate. Encoded lines go straight into the shared window (each event is
 * encoded once) and parked readers are answered once per batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "pump.h"

#define PUMP_COALESCE_NS  250000ull	      /* wait after a wake-up before draining */
#define PUMP_MIN_WAIT_NS  20000ull	      /* the shortest wait between passes */
#define PUMP_LOST_POLL_NS 1000000000ull	      /* <map>_lost_samples, as IG: once a second */
#define PUMP_BATCH_BYTES  (1u << 20)	      /* encoded bytes per tracer per pass */
#define PUMP_NICE	  (-10)
#define PUMP_DIRECT_MIN_CAP (1u << 20) /* windows this big take events in place */
#define PUMP_RESERVE	  (256u << 10)	      /* room reserved in the window per pass */
#define PUMP_MARGIN	  (64u << 10)	      /* a line never needs more than this */

struct igfs_pump {
	pthread_t thread;
	pthread_mutex_t lock; /* guards list and quit; held while draining */
	int epfd;
	int evfd;
	bool quit;
	bool started;
	struct igfs_dsrt **list;
	size_t n;
	struct igfs_buf scratch;
	unsigned int drain_errors;
	bool realtime;
};

static void pump_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Drain one tracer; returns the number of events. *delay shrinks to the time
 * in which, at the rate this pass saw over @elapsed ns, the ring would be half
 * full again. Caller holds pump->lock.
 */
static int pump_one(struct igfs_pump *p, struct igfs_dsrt *d, uint64_t now, uint64_t elapsed,
		    uint64_t *delay)
{
	struct igfs_gd *gd = d->gd;
	struct igfs_window *w = d->win;
	__u64 lost = 0;
	uint64_t nlines;
	size_t max = PUMP_BATCH_BYTES;
	struct igfs_buf out;
	int n;

	if (!w || !d->src)
		return 0;
	if (w->cap >= PUMP_DIRECT_MIN_CAP) {
		/* Encode straight into the window: each event is written once. */
		size_t room = IGFS_MIN((size_t)PUMP_RESERVE, w->cap / 4);

		pthread_mutex_lock(&w->lock);
		out = (struct igfs_buf){ .data = igfs_window__reserve_locked(w, room), .cap = room,
					 .fixed = true };
		pthread_mutex_unlock(&w->lock);
		max = room - PUMP_MARGIN;
	} else {
		if (max > w->cap / 2)
			max = w->cap / 2;
		p->scratch.len = 0;
		out = p->scratch;
	}
	n = igfs_source__drain(d->src, &d->ectx, &out, max, &lost);
	if (n < 0) {
		/* Never once per event: the first few, then every 1000th. */
		if (p->drain_errors++ < 5 || p->drain_errors % 1000 == 0)
			pr_warn("gadget '%s': reading tracer '%s' failed: %s", gd->name, d->ds->name,
				strerror(-n));
		n = 0;
	}
	if (now >= d->next_lost_ns) {
		lost += igfs_source__take_lost(d->src);
		d->next_lost_ns = now + PUMP_LOST_POLL_NS;
	}

	nlines = (uint64_t)n;
	if (n > 0 && d->ring_bytes && delay && elapsed) {
		/* Each ring record carries an 8-byte header, rounded to 8 bytes. */
		uint64_t cap = d->ring_bytes / ((d->ds->rec_size + 8 + 7) & ~7ull);
		uint64_t due = cap * 7 / 10 * elapsed / (uint64_t)n;

		*delay = IGFS_MIN(*delay, due);
	}
	if (lost) {
		/* Kernel-side losses, in-band where they were noticed (SPEC §7). */
		if (!igfs_buf_printf(&out, "{\"lost\":%llu}\n", (unsigned long long)lost))
			nlines++;
		atomic_fetch_add(&gd->lost_kernel, lost);
	}
	if (!out.fixed)
		p->scratch = out; /* it may have grown */
	if (!out.len)
		return n;
	pthread_mutex_lock(&w->lock);
	if (out.fixed)
		igfs_window__commit_locked(w, out.len, nlines);
	else
		igfs_window__append_locked(w, out.data, out.len, nlines);
	pthread_mutex_unlock(&w->lock);
	igfs_file__wake(w);
	atomic_fetch_add(&gd->events, (uint64_t)n);
	atomic_fetch_add(&gd->bytes, out.len);
	return n;
}

/* Map iterators: fetch every interval (SPEC §8); 0 pauses the schedule. */
static void pump_fetch(struct igfs_dsrt *d, uint64_t now)
{
	struct igfs_gd *gd = d->gd;
	uint64_t interval;

	pthread_mutex_lock(&gd->lock);
	interval = gd->interval_ms * 1000000ull;
	pthread_mutex_unlock(&gd->lock);
	if (interval != d->sched_interval_ns) {
		/* params/interval changed: the new one counts from now. */
		d->sched_interval_ns = interval;
		d->next_fetch_ns = now + interval;
		return;
	}
	if (!interval || now < d->next_fetch_ns)
		return;
	igfs_gd__fetch(gd, d->idx, true);
	d->next_fetch_ns = now + interval;
}

/* Milliseconds until the nearest deadline, -1 for none. Caller holds p->lock. */
static int pump_timeout(struct igfs_pump *p)
{
	uint64_t now = igfs_now_mono_ns(), next = UINT64_MAX;
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct igfs_dsrt *d = p->list[i];

		if (d->ds->kind == IGFS_DS_TRACER)
			next = IGFS_MIN(next, d->next_lost_ns);
		else if (d->sched_interval_ns)
			next = IGFS_MIN(next, d->next_fetch_ns);
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= now + PUMP_COALESCE_NS)
		return 0;
	return (int)IGFS_MIN((next - now - PUMP_COALESCE_NS) / 1000000 + 1, (uint64_t)INT32_MAX);
}

static void *pump_main(void *arg)
{
	struct igfs_pump *p = arg;
	struct epoll_event evs[16];
	uint64_t delay = PUMP_COALESCE_NS, last = igfs_now_mono_ns();
	bool busy = false;

	/*
	 * A ring buffer holds about a millisecond of a fast event source, and on
	 * a busy 2-CPU VM a normal thread's sleep overshoots by 1-4 ms now and
	 * then: the pump must get its CPU back first or the kernel drops events.
	 * SCHED_FIFO 1 (the lowest real-time priority; the kernel's RT throttling
	 * still leaves 5% to others), else nice -10. Needs CAP_SYS_NICE (root).
	 */
	if (p->realtime) {
		struct sched_param sp = { .sched_priority = 1 };
		int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);

		if (err)
			pr_info("pump: no real-time priority (%s), using nice %d", strerror(err),
				PUMP_NICE);
		else
			pr_debug("pump: SCHED_FIFO 1");
	}
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), PUMP_NICE))
		pr_debug("pump: cannot raise its priority: %s", strerror(errno));

	for (;;) {
		uint64_t now, next_delay = PUMP_COALESCE_NS;
		int n, total = 0, timeout;
		size_t i;

		pthread_mutex_lock(&p->lock);
		timeout = pump_timeout(p);
		pthread_mutex_unlock(&p->lock);
		/* Under load, skip waiting: the rings are not empty anyway. */
		n = busy ? 0 : epoll_wait(p->epfd, evs, IGFS_ARRAY_SIZE(evs), timeout);
		/* Events drained next arrived since the last pass, or since this wake-up. */
		if (!busy)
			last = igfs_now_mono_ns();
		if (n < 0 && errno != EINTR) {
			pr_err("pump: epoll_wait failed: %s", strerror(errno));
			pump_sleep_ns(PUMP_COALESCE_NS);
		}
		for (i = 0; i < (size_t)(n > 0 ? n : 0); i++) {
			if (evs[i].data.fd == p->evfd) {
				uint64_t v;

				if (read(p->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					pr_debug("pump: eventfd read: %s", strerror(errno));
			}
		}
		/* Let a burst accumulate: one pass per delay, not per event. */
		if (delay)
			pump_sleep_ns(delay);

		pthread_mutex_lock(&p->lock);
		if (p->quit) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		now = igfs_now_mono_ns();
		for (i = 0; i < p->n; i++) {
			if (p->list[i]->ds->kind == IGFS_DS_TRACER)
				total += pump_one(p, p->list[i], now, now - last, &next_delay);
			else
				pump_fetch(p->list[i], now);
		}
		pthread_mutex_unlock(&p->lock);
		last = now;
		/*
		 * Stay in timed passes while a pass finds a batch worth the wait,
		 * paced by the fastest ring: a 256 KiB ring holds ~1 ms of a fast
		 * syscall loop, so the next pass starts when it is half full again,
		 * counting the time this pass took.
		 */
		busy = total >= 16;
		if (busy) {
			uint64_t spent = igfs_now_mono_ns() - now;

			delay = next_delay > spent + PUMP_MIN_WAIT_NS ? next_delay - spent
								      : PUMP_MIN_WAIT_NS;
		} else {
			delay = PUMP_COALESCE_NS;
		}
	}
	return NULL;
}

int igfs_pump__new(bool realtime, struct igfs_pump **ret)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct igfs_pump *p;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->realtime = realtime;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->epfd < 0 || p->evfd < 0) {
		err = -errno;
		goto err_out;
	}
	ev.data.fd = p->evfd;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &ev)) {
		err = -errno;
		goto err_out;
	}
	err = -pthread_create(&p->thread, NULL, pump_main, p);
	if (err)
		goto err_out;
	p->started = true;
	*ret = p;
	return 0;
err_out:
	zclose(&p->epfd);
	zclose(&p->evfd);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return err;
}

void igfs_pump__kick(struct igfs_pump *p)
{
	uint64_t one = 1;

	if (write(p->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("pump: eventfd write: %s", strerror(errno));
}

void igfs_pump__free(struct igfs_pump *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->quit = true;
		pthread_mutex_unlock(&p->lock);
		igfs_pump__kick(p);
		pthread_join(p->thread, NULL);
	}
	zclose(&p->epfd);
	zclose(&p->evfd);
	free(p->list);
	igfs_buf_free(&p->scratch);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int igfs_pump__add(struct igfs_pump *p, struct igfs_dsrt *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct igfs_dsrt **v;
	int fd = igfs_source__fd(d->src), err = 0;
	uint64_t interval;

	pthread_mutex_lock(&p->lock);
	v = igfs_reallocarray(p->list, p->n + 1, sizeof(*v));
	if (!v) {
		err = -ENOMEM;
		goto out;
	}
	p->list = v;
	if (fd >= 0) {
		/* The pump drains every tracer on any wake-up: the fd alone is enough. */
		ev.data.fd = fd;
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			err = -errno;
			goto out;
		}
	}
	d->next_lost_ns = igfs_now_mono_ns() + PUMP_LOST_POLL_NS;
	if (d->ds->kind == IGFS_DS_TRACER && p->scratch.cap < PUMP_BATCH_BYTES + 65536) {
		/* The batch buffer at full size and touched, before the first busy pass. */
		if (igfs_buf_reserve(&p->scratch, PUMP_BATCH_BYTES + 65536)) {
			err = -ENOMEM;
			goto out;
		}
		memset(p->scratch.data, 0, p->scratch.cap);
	}
	pthread_mutex_lock(&d->gd->lock);
	interval = d->gd->interval_ms * 1000000ull;
	pthread_mutex_unlock(&d->gd->lock);
	/* The first fetch one interval after start, as Inspektor Gadget does. */
	d->next_fetch_ns = igfs_now_mono_ns() + interval;
	d->sched_interval_ns = interval;
	p->list[p->n++] = d;
out:
	pthread_mutex_unlock(&p->lock);
	if (!err)
		igfs_pump__kick(p);
	return err;
}

void igfs_pump__remove(struct igfs_pump *p, struct igfs_dsrt *d)
{
	size_t i;
	int fd;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->n; i++) {
		if (p->list[i] != d)
			continue;
		/* Take what is left, so that stop loses nothing already in the ring. */
		if (d->ds->kind == IGFS_DS_TRACER)
			pump_one(p, d, UINT64_MAX, 0, NULL);
		fd = igfs_source__fd(d->src);
		if (fd >= 0)
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
		memmove(&p->list[i], &p->list[i + 1], (p->n - i - 1) * sizeof(*p->list));
		p->n--;
		break;
	}
	pthread_mutex_unlock(&p->lock);
}
