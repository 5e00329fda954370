// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tracer window: a byte ring of whole blocks plus, per block, how many
 * lines ended before it, so that a reader's line number is known from its
 * offset with at most one block scanned. GNU tail and less read 8 KiB-aligned
 * blocks; an unaligned window start makes `tail -n` loop (SPEC §7).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "window.h"

#define SEQ_LINE_START (UINT64_C(1) << 63)

/*
 * The ring's memory mapped twice, back to back: any cap bytes from any
 * offset are contiguous, so the pump encodes in place and replies are one
 * iovec. Both mappings are populated: no page fault in a busy pass.
 */
static char *window_map(size_t cap)
{
	char *base;
	int fd;

	fd = memfd_create("igfs-window", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)cap)) {
		close(fd);
		return NULL;
	}
	base = mmap(NULL, 2 * cap, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED ||
	    mmap(base, cap, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0) ==
		    MAP_FAILED ||
	    mmap(base + cap, cap, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE,
		 fd, 0) == MAP_FAILED) {
		if (base != MAP_FAILED)
			munmap(base, 2 * cap);
		close(fd);
		return NULL;
	}
	close(fd);
	return base;
}

int igfs_window__new(size_t backlog, struct igfs_window **ret)
{
	struct igfs_window *w;
	size_t cap;

	if (backlog < IGFS_WINDOW_MIN)
		backlog = IGFS_WINDOW_MIN;
	if (backlog > ((size_t)1 << 40))
		return -E2BIG;
	cap = (backlog + IGFS_WINDOW_BLOCK - 1) / IGFS_WINDOW_BLOCK * IGFS_WINDOW_BLOCK;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->buf = window_map(cap);
	w->nblocks = cap / IGFS_WINDOW_BLOCK;
	w->block_seq = calloc(w->nblocks, sizeof(*w->block_seq));
	if (!w->buf || !w->block_seq) {
		if (w->buf)
			munmap(w->buf, 2 * cap);
		free(w->block_seq);
		free(w);
		return -ENOMEM;
	}
	w->cap = cap;
	w->block_seq[0] = SEQ_LINE_START;
	pthread_mutex_init(&w->lock, NULL);
	atomic_init(&w->refs, 1);
	*ret = w;
	return 0;
}

struct igfs_window *igfs_window__get(struct igfs_window *w)
{
	atomic_fetch_add(&w->refs, 1);
	return w;
}

void igfs_window__put(struct igfs_window *w)
{
	if (!w || atomic_fetch_sub(&w->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&w->lock);
	munmap(w->buf, 2 * w->cap);
	free(w->block_seq);
	free(w);
}

static uint64_t *block_meta(const struct igfs_window *w, uint64_t off)
{
	return &w->block_seq[(off / IGFS_WINDOW_BLOCK) % w->nblocks];
}

static size_t count_nl(const char *p, size_t n)
{
	const char *end = p + n;
	size_t c = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		c++;
		p++;
	}
	return c;
}

/* Copy stream bytes [off, off + n) out of the ring. */
/* Stream offset @off in memory: up to cap bytes from there are contiguous. */
static char *ring_at(const struct igfs_window *w, uint64_t off)
{
	return w->buf + off % w->cap;
}

static void ring_copy(const struct igfs_window *w, uint64_t off, size_t n, char *dst)
{
	memcpy(dst, ring_at(w, off), n);
}

static size_t ring_count_nl(const struct igfs_window *w, uint64_t off, size_t n)
{
	return count_nl(ring_at(w, off), n);
}

uint64_t igfs_window__seq_at_locked(const struct igfs_window *w, uint64_t off)
{
	uint64_t bstart = off / IGFS_WINDOW_BLOCK * IGFS_WINDOW_BLOCK;

	if (off == w->end)
		return w->lines;
	if (bstart < w->start)
		bstart = w->start;
	return (*block_meta(w, bstart) & ~SEQ_LINE_START) +
	       ring_count_nl(w, bstart, (size_t)(off - bstart));
}

char *igfs_window__reserve_locked(struct igfs_window *w, size_t max)
{
	uint64_t new_end;

	/* Keeps start <= end: the window start rounds up to a block. */
	if (max > w->cap - w->end % IGFS_WINDOW_BLOCK)
		max = w->cap - w->end % IGFS_WINDOW_BLOCK;
	/* Evict whole blocks until @max more bytes fit. */
	new_end = w->end + max;
	if (new_end - w->start > w->cap) {
		uint64_t need = new_end - w->cap;

		w->start = (need + IGFS_WINDOW_BLOCK - 1) / IGFS_WINDOW_BLOCK * IGFS_WINDOW_BLOCK;
	}
	return ring_at(w, w->end);
}

void igfs_window__commit_locked(struct igfs_window *w, size_t len, uint64_t nlines)
{
	const char *data = ring_at(w, w->end);
	uint64_t new_end = w->end + len, b, counted;
	struct timespec ts;
	size_t seen;

	if (!len)
		return;
	/*
	 * Bookkeeping for every block that begins inside the new bytes, the one at
	 * the old end included. Not for a block at the new end: with a full
	 * window its slot is the first retained block's.
	 */
	b = (w->end + IGFS_WINDOW_BLOCK - 1) / IGFS_WINDOW_BLOCK * IGFS_WINDOW_BLOCK;
	for (seen = 0, counted = 0; b < new_end; b += IGFS_WINDOW_BLOCK) {
		size_t rel = (size_t)(b - w->end);
		uint64_t meta;

		/* Count from the previous boundary only: one pass over the batch. */
		counted += count_nl(data + seen, rel - seen);
		seen = rel;
		meta = w->lines + counted;
		if (rel == 0 || data[rel - 1] == '\n')
			meta |= SEQ_LINE_START;
		*block_meta(w, b) = meta;
	}
	w->end = new_end;
	w->lines += nlines;
	clock_gettime(CLOCK_REALTIME, &ts);
	w->mtime_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void igfs_window__append_locked(struct igfs_window *w, const char *data, size_t len,
				 uint64_t nlines)
{
	uint64_t first_meta = 0;
	size_t skip = 0;

	if (len > w->cap - w->end % IGFS_WINDOW_BLOCK) {
		/*
		 * A batch about as large as the window: keep only its tail, from a
		 * block boundary, and count the lines of what is dropped.
		 */
		uint64_t from = (w->end + len - w->cap + IGFS_WINDOW_BLOCK - 1) / IGFS_WINDOW_BLOCK *
				IGFS_WINDOW_BLOCK;
		uint64_t dropped;

		skip = (size_t)IGFS_MIN(from - w->end, (uint64_t)len);
		dropped = count_nl(data, skip);
		w->lines += dropped;
		nlines -= IGFS_MIN(nlines, dropped);
		w->end += skip;
		w->start = w->end;
		first_meta = w->lines | (data[skip - 1] == '\n' ? SEQ_LINE_START : 0);
	}
	memcpy(igfs_window__reserve_locked(w, len - skip), data + skip, len - skip);
	igfs_window__commit_locked(w, len - skip, nlines);
	/* The kept tail may start mid-line: commit cannot tell, it never saw the byte before. */
	if (skip)
		*block_meta(w, w->start) = first_meta;
}

/* The first whole line in the window and the lines before it. */
static uint64_t first_line(const struct igfs_window *w, uint64_t *ret_seq)
{
	uint64_t meta = *block_meta(w, w->start), off = w->start;

	*ret_seq = meta & ~SEQ_LINE_START;
	if (meta & SEQ_LINE_START)
		return off;
	/* Find the end of the partial line that opens the window. */
	if (off < w->end) {
		const char *at = ring_at(w, off);
		const char *nl = memchr(at, '\n', (size_t)(w->end - off));

		if (nl) {
			*ret_seq += 1;
			return off + (uint64_t)(nl - at) + 1;
		}
	}
	return w->end;
}

void igfs_window__reader_init_locked(const struct igfs_window *w, struct igfs_wreader *r)
{
	memset(r, 0, sizeof(*r));
	r->real = first_line(w, &r->seq);
	r->seq_known = true;
	r->started = true;
}

bool igfs_window__readable_locked(const struct igfs_window *w, const struct igfs_wreader *r)
{
	if (r->pending_len)
		return true;
	return r->real < w->end || r->real < w->start;
}

/* What one read returns: @pend bytes of r->pending, then ring bytes [real, real + n). */
struct wplan {
	size_t pend;
	uint64_t real;
	size_t n;
};

static uint8_t ring_byte(const struct igfs_window *w, uint64_t off)
{
	return (uint8_t)*ring_at(w, off);
}

/* The offset just past the last '\n' in [off, off + n), or @off when none. */
static uint64_t ring_after_last_nl(const struct igfs_window *w, uint64_t off, size_t n)
{
	const char *at = ring_at(w, off), *nl = memrchr(at, '\n', n);

	return nl ? off + (uint64_t)(nl - at) + 1 : off;
}

/*
 * Decide what a read of @size bytes at @off returns, updating the reader's
 * overtaken state (a new {"lost":N} when it fell out of the window). Returns
 * the bytes (> 0), 0 for EOF, -EAGAIN, -ENODATA. Caller holds w->lock.
 */
static ssize_t window_plan(struct igfs_window *w, struct igfs_wreader *r, uint64_t off, size_t size,
			   struct wplan *p)
{
	bool sequential = off == r->pos;
	uint64_t real, avail, cut;

	if (!size)
		return 0;
	if (sequential) {
		real = r->real;
	} else {
		/* A seek: offsets are stream offsets again (tail, less, bash `read`). */
		real = off;
		r->pending_len = 0;
		r->seq_known = false;
		if (real < w->start)
			return -ENODATA;
		if (real > w->end)
			real = w->end;
	}

	/* Overtaken again with a marker half out: the rest of it goes first. */
	if (sequential && real < w->start && !r->pending_len) {
		uint64_t seq, l0 = first_line(w, &seq);

		if (r->started) {
			uint64_t missed = r->seq_known && seq > r->seq ? seq - r->seq : 0;
			int len;

			/* A reader cut mid-line gets its fragment ended first. */
			len = snprintf(r->pending, sizeof(r->pending), "%s{\"lost\":%llu}\n",
				       r->midline ? "\n" : "", (unsigned long long)missed);
			r->midline = false;
			r->pending_len = (uint8_t)len;
			r->lost += missed;
		}
		real = l0;
		r->seq = seq;
		r->seq_known = true;
	}

	p->pend = IGFS_MIN((size_t)r->pending_len, size);
	p->real = real;
	p->n = 0;
	if (real < w->start)
		return (ssize_t)p->pend; /* still behind: only the rest of the marker */
	avail = w->end - real;
	if (p->pend == size || !avail) {
		if (!p->pend)
			return w->closed ? 0 : -EAGAIN;
		return (ssize_t)p->pend;
	}
	p->n = (size_t)IGFS_MIN((uint64_t)(size - p->pend), avail);
	/* Do not cut a line when a whole one fits: readers stay on line starts. */
	if (sequential && p->n < avail) {
		cut = ring_after_last_nl(w, real, p->n);
		if (cut > real)
			p->n = (size_t)(cut - real);
	}
	return (ssize_t)(p->pend + p->n);
}

/* Move the reader past what @p returned. Caller holds w->lock. */
static void window_commit(struct igfs_window *w, struct igfs_wreader *r, uint64_t off,
			  const struct wplan *p)
{
	uint64_t real = p->real;

	if (p->pend) {
		memmove(r->pending, r->pending + p->pend, r->pending_len - p->pend);
		r->pending_len -= (uint8_t)p->pend;
	}
	if (p->n) {
		r->midline = ring_byte(w, real + p->n - 1) != '\n';
		real += p->n;
		r->seq = igfs_window__seq_at_locked(w, real);
		r->seq_known = true;
	}
	r->started = true;
	r->pos = off + p->pend + p->n;
	r->real = real;
}

ssize_t igfs_window__read_locked(struct igfs_window *w, struct igfs_wreader *r, uint64_t off,
				 size_t size, struct igfs_buf *out)
{
	struct wplan p;
	ssize_t n;

	n = window_plan(w, r, off, size, &p);
	if (n <= 0)
		return n;
	if (igfs_buf_reserve(out, (size_t)n))
		return -ENOMEM;
	memcpy(out->data + out->len, r->pending, p.pend);
	ring_copy(w, p.real, p.n, out->data + out->len + p.pend);
	out->len += (size_t)n;
	out->data[out->len] = '\0';
	window_commit(w, r, off, &p);
	return n;
}

ssize_t igfs_window__read_iov_locked(struct igfs_window *w, struct igfs_wreader *r, uint64_t off,
				     size_t size, char pend[IGFS_WINDOW_PEND], struct iovec iov[3],
				     int *ret_niov)
{
	struct wplan p;
	ssize_t n;
	int k = 0;

	n = window_plan(w, r, off, size, &p);
	if (n <= 0)
		return n;
	if (p.pend) {
		memcpy(pend, r->pending, p.pend);
		iov[k++] = (struct iovec){ pend, p.pend };
	}
	if (p.n)
		iov[k++] = (struct iovec){ ring_at(w, p.real), p.n };
	window_commit(w, r, off, &p);
	*ret_niov = k;
	return n;
}
