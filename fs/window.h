/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One tracer's recent output: the last `backlog` bytes of JSON lines, kept in
 * 8 KiB blocks and evicted a whole block at a time from the front (SPEC §7).
 * Written by the pump, read by any number of readers, each with its own
 * position; a reader that falls out of the window gets an in-band
 * {"lost":N} line. No FUSE here: the callers park and wake requests.
 */
#ifndef IGFS_WINDOW_H
#define IGFS_WINDOW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util.h"

#define IGFS_WINDOW_BLOCK 8192u
#define IGFS_WINDOW_MIN	  (2 * IGFS_WINDOW_BLOCK)

struct igfs_window {
	pthread_mutex_t lock; /* guards everything below and the callers' waiter lists */
	char *buf;	 /* cap bytes, mapped twice in a row (2 * cap of address space) */
	size_t cap;	 /* bytes, a multiple of the block size */
	size_t nblocks;
	uint64_t start;	 /* first retained byte, block aligned */
	uint64_t end;	 /* bytes appended since the start (the file size) */
	uint64_t lines;	 /* lines appended */
	uint64_t *block_seq; /* per block slot: lines ended before the block; bit 63: starts a line */
	int64_t mtime_ns;	 /* CLOCK_REALTIME of the last append */
	bool closed;		 /* the gadget stopped: no more appends */
	void *waiters;		 /* the fs's parked reads, guarded by lock */
	void *polls;		 /* the fs's poll handles, guarded by lock */
	atomic_int refs;
};

/* Where one reader is. Zero-initialise at open. Guarded by the window's lock. */
struct igfs_wreader {
	uint64_t pos;	   /* file offset of the next sequential read */
	uint64_t real;	   /* the stream offset that @pos stands for */
	uint64_t seq;	   /* lines before @real */
	bool started;	   /* has read at least once */
	bool seq_known;	   /* @seq is valid (false after a seek) */
	bool midline;	   /* the last read ended inside a line */
	char pending[48];  /* rest of a {"lost":N} line not yet returned (IGFS_WINDOW_PEND) */
	uint8_t pending_len;
	uint64_t lost;	   /* lines this reader missed, in total */
};

/* A new window of at least @backlog bytes (rounded up to whole blocks), 1 ref. */
int igfs_window__new(size_t backlog, struct igfs_window **ret);
struct igfs_window *igfs_window__get(struct igfs_window *w);
/* Drop a reference; the last one frees. NULL-safe. */
void igfs_window__put(struct igfs_window *w);

/*
 * Writing in place: reserve evicts whole blocks from the front until @max
 * more bytes fit and returns where they go (contiguous: the ring is mapped
 * twice); the caller writes there without the lock (readers never look past
 * the end) and commit accounts @len bytes of @nlines whole lines. One writer
 * at a time. Both with w->lock held.
 */
char *igfs_window__reserve_locked(struct igfs_window *w, size_t max);
void igfs_window__commit_locked(struct igfs_window *w, size_t len, uint64_t nlines);

/*
 * Append @len bytes holding @nlines whole lines (ending in '\n'). Evicts whole
 * blocks from the front as needed. Caller holds w->lock.
 */
void igfs_window__append_locked(struct igfs_window *w, const char *data, size_t len,
				 uint64_t nlines);

/*
 * Read for reader @r at file offset @off, at most @size bytes, appended to
 * @out. Caller holds w->lock. Returns the number of bytes (> 0); 0 at the end
 * of a closed window (EOF); -EAGAIN when nothing is there yet; -ENODATA for a
 * seek before the window; -ENOMEM.
 *
 * A sequential reader (off == r->pos) that was overtaken continues at the
 * first whole line in the window after a {"lost":N} line; its first read
 * starts silently at the first whole line. Reads that would cut a line end at
 * the last whole line when there is one.
 */
ssize_t igfs_window__read_locked(struct igfs_window *w, struct igfs_wreader *r, uint64_t off,
				 size_t size, struct igfs_buf *out);

/*
 * Place a new reader at the first whole line in the window, so that what is
 * evicted before its first read is reported as lost. Caller holds w->lock.
 */
void igfs_window__reader_init_locked(const struct igfs_window *w, struct igfs_wreader *r);

#define IGFS_WINDOW_PEND 48

/*
 * The same read without copying: @iov (up to 3 entries, *ret_niov used) points
 * at @pend (the marker bytes, copied there) and into the window's memory, which
 * stays valid only until the next append. For the appending thread (the pump),
 * which answers parked reads between its appends.
 */
ssize_t igfs_window__read_iov_locked(struct igfs_window *w, struct igfs_wreader *r, uint64_t off,
				     size_t size, char pend[IGFS_WINDOW_PEND], struct iovec iov[3],
				     int *ret_niov);

/* Whether a read by @r at its position would return data now. Caller holds lock. */
bool igfs_window__readable_locked(const struct igfs_window *w, const struct igfs_wreader *r);

/* The lines ended before stream offset @off (start <= off <= end). Caller holds lock. */
uint64_t igfs_window__seq_at_locked(const struct igfs_window *w, uint64_t off);

#endif /* IGFS_WINDOW_H */
