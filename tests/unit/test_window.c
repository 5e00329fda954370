// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for fs/window.c: the tracer backlog (SPEC §7). Every test keeps a
 * reference copy of the whole stream and checks what readers get against it:
 * stream bytes, {"lost":N} markers with exact counts, ENODATA, EAGAIN and EOF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "window.h"

#define BLK IGFS_WINDOW_BLOCK

/* The whole stream as appended, and where each line ends. */
struct ref {
	struct igfs_buf s;
	uint64_t *ends; /* offset just past each '\n', ascending */
	size_t nends;
	size_t capends;
	uint64_t seq; /* lines generated so far, to number new ones */
};

static void ref_free(struct ref *ref)
{
	igfs_buf_free(&ref->s);
	free(ref->ends);
	memset(ref, 0, sizeof(*ref));
}

/* Lines ended at or before @off. */
static uint64_t ref_lines_before(const struct ref *ref, uint64_t off)
{
	size_t lo = 0, hi = ref->nends;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ref->ends[mid] <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first line start at or after @off (the stream end if none). */
static uint64_t ref_first_line(const struct ref *ref, uint64_t off)
{
	size_t i;

	if (off == 0)
		return 0;
	i = (size_t)ref_lines_before(ref, off - 1);
	return i < ref->nends ? ref->ends[i] : ref->s.len;
}

static bool ref_line_start(const struct ref *ref, uint64_t off)
{
	return off == 0 || ref->s.data[off - 1] == '\n';
}

/* Append one line of exactly @len bytes (>= 1, '\n' included) to @b. */
static void gen_line(struct igfs_buf *b, uint64_t seq, size_t len)
{
	char head[32];
	size_t i, hl;

	assert_true(len >= 1);
	hl = (size_t)snprintf(head, sizeof(head), "#%llu:", (unsigned long long)seq);
	assert_int_equal(igfs_buf_reserve(b, len), 0);
	for (i = 0; i + 1 < len; i++)
		igfs_buf_putc_unchecked(b, i < hl ? head[i] : (char)('a' + (seq * 7 + i) % 26));
	igfs_buf_putc_unchecked(b, '\n');
	b->data[b->len] = '\0';
}

/* Append @len bytes of whole lines to both the window and the reference. */
static void put(struct igfs_window *w, struct ref *ref, const char *data, size_t len)
{
	uint64_t nl = 0, base = ref->s.len;
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (ref->nends == ref->capends) {
			ref->capends = ref->capends ? 2 * ref->capends : 256;
			ref->ends = igfs_reallocarray(ref->ends, ref->capends, sizeof(*ref->ends));
			assert_non_null(ref->ends);
		}
		ref->ends[ref->nends++] = base + i + 1;
		nl++;
	}
	assert_int_equal(igfs_buf_append(&ref->s, data, len), 0);
	pthread_mutex_lock(&w->lock);
	igfs_window__append_locked(w, data, len, nl);
	pthread_mutex_unlock(&w->lock);
	assert_int_equal(w->end, ref->s.len);
	assert_int_equal(w->lines, ref->nends);
}

/* Append @count lines of @len bytes each, in one batch. */
static void put_lines(struct igfs_window *w, struct ref *ref, size_t count, size_t len)
{
	struct igfs_buf b = {};
	size_t i;

	for (i = 0; i < count; i++)
		gen_line(&b, ref->seq++, len);
	put(w, ref, b.data, b.len);
	igfs_buf_free(&b);
}

static ssize_t rd(struct igfs_window *w, struct igfs_wreader *r, uint64_t off, size_t size,
		  struct igfs_buf *out)
{
	ssize_t n;

	out->len = 0;
	pthread_mutex_lock(&w->lock);
	n = igfs_window__read_locked(w, r, off, size, out);
	pthread_mutex_unlock(&w->lock);
	if (n > 0)
		assert_int_equal(out->len, (size_t)n);
	return n;
}

static ssize_t rd_seq(struct igfs_window *w, struct igfs_wreader *r, size_t size,
		      struct igfs_buf *out)
{
	return rd(w, r, r->pos, size, out);
}

static void check_invariants(const struct igfs_window *w, const struct ref *ref)
{
	assert_int_equal(w->start % BLK, 0);
	assert_true(w->start <= w->end);
	assert_true(w->end - w->start <= w->cap);
	/* Only whole blocks are evicted, and only when needed. */
	if (w->start)
		assert_true(w->end - w->start > w->cap - BLK);
	assert_int_equal(w->end, ref->s.len);
	assert_int_equal(w->lines, ref->nends);
}

/* The retained bytes, read by a reader that seeks to the window start. */
static void check_content(struct igfs_window *w, const struct ref *ref)
{
	struct igfs_wreader r = {.pos = UINT64_MAX};
	struct igfs_buf out = {};
	uint64_t len = w->end - w->start;
	ssize_t n;

	if (!len)
		return;
	n = rd(w, &r, w->start, (size_t)len, &out);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(out.data, ref->s.data + w->start, (size_t)len);
	igfs_buf_free(&out);
}

static void check_seq_at(const struct igfs_window *w, const struct ref *ref, uint64_t off)
{
	uint64_t got = igfs_window__seq_at_locked(w, off);

	if (got != ref_lines_before(ref, off))
		fail_msg("seq_at(%llu) = %llu, want %llu (start %llu end %llu)",
			 (unsigned long long)off, (unsigned long long)got,
			 (unsigned long long)ref_lines_before(ref, off),
			 (unsigned long long)w->start, (unsigned long long)w->end);
}

static void check_seq_all(const struct igfs_window *w, const struct ref *ref)
{
	uint64_t off;

	for (off = w->start; off <= w->end; off++)
		check_seq_at(w, ref, off);
}

static struct igfs_window *win_new(size_t backlog)
{
	struct igfs_window *w = NULL;

	assert_int_equal(igfs_window__new(backlog, &w), 0);
	assert_non_null(w);
	return w;
}

static void marker(char *dst, size_t len, bool midline, uint64_t n)
{
	snprintf(dst, len, "%s{\"lost\":%llu}\n", midline ? "\n" : "", (unsigned long long)n);
}

static void test_window_new_sizes(void **state)
{
	struct igfs_window *w = NULL;

	(void)state;
	w = win_new(0);
	assert_int_equal(w->cap, IGFS_WINDOW_MIN);
	assert_int_equal(w->nblocks, IGFS_WINDOW_MIN / BLK);
	assert_int_equal(w->start, 0);
	assert_int_equal(w->end, 0);
	assert_false(w->closed);
	igfs_window__put(w);

	w = win_new(20000);
	assert_int_equal(w->cap, 3 * BLK);
	igfs_window__put(w);

	w = win_new(4 * BLK);
	assert_int_equal(w->cap, 4 * BLK);
	igfs_window__put(w);

	w = NULL;
	assert_int_equal(igfs_window__new(((size_t)1 << 40) + 1, &w), -E2BIG);
	assert_null(w);
}

static void test_window_refcount(void **state)
{
	struct igfs_window *w = win_new(0);

	(void)state;
	assert_int_equal(atomic_load(&w->refs), 1);
	assert_ptr_equal(igfs_window__get(w), w);
	assert_ptr_equal(igfs_window__get(w), w);
	assert_int_equal(atomic_load(&w->refs), 3);
	igfs_window__put(w);
	igfs_window__put(w);
	assert_int_equal(atomic_load(&w->refs), 1);
	/* The last put frees (ASan checks there is no leak); NULL is fine. */
	igfs_window__put(w);
	igfs_window__put(NULL);
}

static void test_window_append_read_whole_lines(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {};
	struct ref ref = {};
	static const char two[] = "{\"a\":1}\n{\"b\":22}\n";

	(void)state;
	assert_false(igfs_window__readable_locked(w, &r));
	assert_int_equal(rd_seq(w, &r, 4096, &out), -EAGAIN);
	put(w, &ref, two, strlen(two));
	assert_true(w->mtime_ns > 0);
	assert_int_equal(w->lines, 2);
	assert_true(igfs_window__readable_locked(w, &r));
	assert_int_equal(rd_seq(w, &r, 4096, &out), (ssize_t)strlen(two));
	assert_string_equal(out.data, two);
	assert_int_equal(r.pos, strlen(two));
	assert_false(r.midline);
	assert_int_equal(r.seq, 2);
	assert_false(igfs_window__readable_locked(w, &r));
	assert_int_equal(rd_seq(w, &r, 4096, &out), -EAGAIN);

	put_lines(w, &ref, 3, 10);
	assert_int_equal(rd_seq(w, &r, 4096, &out), 30);
	assert_memory_equal(out.data, ref.s.data + strlen(two), 30);
	assert_int_equal(r.lost, 0);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_read_truncates_to_line(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {};
	struct ref ref = {};

	(void)state;
	put(w, &ref, "aaaa\nbbbb\ncccc\n", 15);
	/* 12 bytes would cut "cccc": the read ends after "bbbb\n". */
	assert_int_equal(rd_seq(w, &r, 12, &out), 10);
	assert_string_equal(out.data, "aaaa\nbbbb\n");
	assert_false(r.midline);
	assert_int_equal(rd_seq(w, &r, 12, &out), 5);
	assert_string_equal(out.data, "cccc\n");
	assert_int_equal(r.pos, 15);

	/* Exactly up to a line end is not cut. */
	put(w, &ref, "dd\neeeeee\n", 10);
	assert_int_equal(rd_seq(w, &r, 3, &out), 3);
	assert_string_equal(out.data, "dd\n");
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_read_smaller_than_line(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {};
	struct ref ref = {};

	(void)state;
	put(w, &ref, "0123456789\nxy\n", 14);
	assert_int_equal(rd_seq(w, &r, 3, &out), 3);
	assert_string_equal(out.data, "012");
	assert_true(r.midline);
	assert_int_equal(r.seq, 0);
	assert_int_equal(rd_seq(w, &r, 4, &out), 4);
	assert_string_equal(out.data, "3456");
	/* The rest of the line fits: the read stops at its end. */
	assert_int_equal(rd_seq(w, &r, 6, &out), 4);
	assert_string_equal(out.data, "789\n");
	assert_int_equal(rd_seq(w, &r, 6, &out), 3);
	assert_string_equal(out.data, "xy\n");
	assert_false(r.midline);
	assert_int_equal(r.seq, 2);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_read_end_eagain_then_eof(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {}, late = {};
	struct igfs_buf out = {};
	struct ref ref = {};

	(void)state;
	put_lines(w, &ref, 4, 50);
	assert_int_equal(rd_seq(w, &r, 1 << 16, &out), 200);
	assert_int_equal(rd_seq(w, &r, 1 << 16, &out), -EAGAIN);
	assert_int_equal(rd_seq(w, &r, 1 << 16, &out), -EAGAIN);
	assert_int_equal(r.pos, 200);
	w->closed = true;
	assert_int_equal(rd_seq(w, &r, 1 << 16, &out), 0);
	assert_int_equal(rd_seq(w, &r, 1 << 16, &out), 0);
	/* A reader that has not read everything gets the rest first. */
	assert_int_equal(rd_seq(w, &late, 120, &out), 100);
	assert_int_equal(rd_seq(w, &late, 120, &out), 100);
	assert_memory_equal(out.data, ref.s.data + 100, 100);
	assert_int_equal(rd_seq(w, &late, 120, &out), 0);
	/* A seek at or past the end of a closed window is EOF too. */
	assert_int_equal(rd(w, &late, 7, 100, &out), 100);
	assert_memory_equal(out.data, ref.s.data + 7, 100);
	assert_int_equal(rd(w, &late, 50, 10, &out), 10);
	assert_memory_equal(out.data, ref.s.data + 50, 10);
	assert_int_equal(rd(w, &late, 200, 10, &out), 0);
	assert_int_equal(rd(w, &late, 999, 10, &out), 0);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_eviction_block_aligned(void **state)
{
	struct igfs_window *w = win_new(0);
	struct ref ref = {};
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		put_lines(w, &ref, 1, 100);
		check_invariants(w, &ref);
	}
	assert_int_equal(w->end, 100000);
	/* roundup(100000 - 16384, 8192) */
	assert_int_equal(w->start, 90112);
	check_content(w, &ref);
	check_seq_all(w, &ref);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_fresh_reader_after_eviction_silent(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {};
	struct ref ref = {};

	(void)state;
	put_lines(w, &ref, 1000, 100);
	assert_int_equal(w->start, 90112);
	/* No marker: the first line at or after 90112 is #902 at 90200. */
	assert_int_equal(rd_seq(w, &r, 1 << 20, &out), 100000 - 90200);
	assert_memory_equal(out.data, "#902:", 5);
	assert_memory_equal(out.data, ref.s.data + 90200, 100000 - 90200);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.seq, 1000);
	assert_int_equal(r.pos, 100000 - 90200);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_overtaken_reader_gets_lost(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {};
	struct ref ref = {};
	char m[64];

	(void)state;
	put_lines(w, &ref, 10, 100);
	assert_int_equal(rd_seq(w, &r, 300, &out), 300);
	put_lines(w, &ref, 990, 100);
	assert_true(igfs_window__readable_locked(w, &r));
	/* It read lines 0-2; the first whole line left is #902. */
	marker(m, sizeof(m), false, 899);
	assert_int_equal(rd_seq(w, &r, 1 << 20, &out), (ssize_t)strlen(m) + 100000 - 90200);
	assert_memory_equal(out.data, m, strlen(m));
	assert_memory_equal(out.data + strlen(m), ref.s.data + 90200, 100000 - 90200);
	assert_int_equal(r.lost, 899);
	assert_int_equal(r.pos, 300 + strlen(m) + 100000 - 90200);
	/* Caught up: nothing more, and no second marker. */
	assert_int_equal(rd_seq(w, &r, 1 << 20, &out), -EAGAIN);
	put_lines(w, &ref, 1, 100);
	assert_int_equal(rd_seq(w, &r, 1 << 20, &out), 100);
	assert_memory_equal(out.data, "#1000:", 6);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_lost_marker_midline(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {};
	struct ref ref = {};
	char m[64];

	(void)state;
	put_lines(w, &ref, 10, 100);
	assert_int_equal(rd_seq(w, &r, 5, &out), 5);
	assert_true(r.midline);
	put_lines(w, &ref, 990, 100);
	/* The fragment of line 0 is ended first, and line 0 counts as lost. */
	marker(m, sizeof(m), true, 902);
	assert_int_equal(m[0], '\n');
	assert_int_equal(rd_seq(w, &r, 1 << 20, &out), (ssize_t)strlen(m) + 100000 - 90200);
	assert_memory_equal(out.data, m, strlen(m));
	assert_memory_equal(out.data + strlen(m), ref.s.data + 90200, 100000 - 90200);
	assert_false(r.midline);
	assert_int_equal(r.lost, 902);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

/* Read with @size until EAGAIN; all bytes into @all. */
static void drain(struct igfs_window *w, struct igfs_wreader *r, size_t size, struct igfs_buf *all)
{
	struct igfs_buf out = {};
	ssize_t n;

	while ((n = rd_seq(w, r, size, &out)) > 0) {
		assert_true((size_t)n <= size);
		assert_int_equal(igfs_buf_append(all, out.data, (size_t)n), 0);
	}
	assert_int_equal(n, -EAGAIN);
	igfs_buf_free(&out);
}

static void test_window_lost_marker_tiny_reads(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {}, all = {}, want = {};
	struct ref ref = {};
	char m[64];

	(void)state;
	put_lines(w, &ref, 10, 100);
	assert_int_equal(rd_seq(w, &r, 300, &out), 300);
	put_lines(w, &ref, 990, 100);
	drain(w, &r, 3, &all);
	marker(m, sizeof(m), false, 899);
	assert_int_equal(igfs_buf_puts(&want, m), 0);
	assert_int_equal(igfs_buf_append(&want, ref.s.data + 90200, 100000 - 90200), 0);
	assert_int_equal(all.len, want.len);
	assert_memory_equal(all.data, want.data, want.len);
	assert_int_equal(r.lost, 899);
	igfs_buf_free(&out);
	igfs_buf_free(&all);
	igfs_buf_free(&want);
	ref_free(&ref);
	igfs_window__put(w);
}

/* Overtaken again while a marker is half returned: it still comes out whole. */
static void test_window_lost_marker_evicted_while_pending(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {}, all = {}, want = {};
	struct ref ref = {};
	char m[64];

	(void)state;
	put_lines(w, &ref, 10, 100);
	assert_int_equal(rd_seq(w, &r, 300, &out), 300);
	put_lines(w, &ref, 990, 100);
	assert_int_equal(rd_seq(w, &r, 3, &out), 3);
	assert_int_equal(igfs_buf_append(&all, out.data, 3), 0);
	/* 120000 - 16384 rounds up to 106496: the first whole line is #1065. */
	put_lines(w, &ref, 200, 100);
	assert_int_equal(w->start, 106496);
	assert_true(igfs_window__readable_locked(w, &r));
	drain(w, &r, 3, &all);
	marker(m, sizeof(m), false, 899);
	assert_int_equal(igfs_buf_puts(&want, m), 0);
	marker(m, sizeof(m), false, 1065 - 902);
	assert_int_equal(igfs_buf_puts(&want, m), 0);
	assert_int_equal(igfs_buf_append(&want, ref.s.data + 106500, 120000 - 106500), 0);
	assert_int_equal(all.len, want.len);
	assert_memory_equal(all.data, want.data, want.len);
	assert_int_equal(r.lost, 1065 - 3);
	igfs_buf_free(&out);
	igfs_buf_free(&all);
	igfs_buf_free(&want);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_seek_before_window_enodata(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {}, fresh = {};
	struct igfs_buf out = {};
	struct ref ref = {};

	(void)state;
	put_lines(w, &ref, 10, 100);
	assert_int_equal(rd_seq(w, &r, 300, &out), 300);
	put_lines(w, &ref, 990, 100);
	assert_int_equal(rd(w, &r, 0, 100, &out), -ENODATA);
	assert_int_equal(rd(w, &r, 8192, 100, &out), -ENODATA);
	assert_int_equal(rd(w, &r, w->start - 1, 100, &out), -ENODATA);
	assert_int_equal(rd(w, &fresh, 1, 100, &out), -ENODATA);
	assert_int_equal(rd(w, &fresh, w->start - BLK, BLK, &out), -ENODATA);
	/* At the window start it is the raw bytes there, mid-line or not. */
	assert_int_equal(rd(w, &fresh, w->start, 150, &out), 150);
	assert_memory_equal(out.data, ref.s.data + w->start, 150);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_seek_inside_window(void **state)
{
	struct igfs_window *w = win_new(5 * BLK);
	struct igfs_wreader r = {};
	struct igfs_buf out = {};
	struct ref ref = {};
	uint64_t off;
	ssize_t n;

	(void)state;
	put_lines(w, &ref, 900, 77);
	assert_true(w->start > 0);
	for (off = w->start; off < w->end; off += 1237) {
		size_t want = (size_t)IGFS_MIN((uint64_t)3000, w->end - off);

		/* A seek is never cut at a line: tools ask for exact ranges. */
		n = rd(w, &r, off, 3000, &out);
		assert_int_equal(n, (ssize_t)want);
		assert_memory_equal(out.data, ref.s.data + off, want);
		assert_int_equal(r.pos, off + want);
		/* Reading on from there is sequential again, cut at a line. */
		if (off + want < w->end) {
			uint64_t at = off + want;
			const char *nl;

			n = rd_seq(w, &r, 200, &out);
			assert_true(n > 0);
			assert_memory_equal(out.data, ref.s.data + at, (size_t)n);
			nl = memrchr(ref.s.data + at, '\n',
				     IGFS_MIN((size_t)200, (size_t)(w->end - at)));
			assert_non_null(nl);
			assert_int_equal(n, nl - (ref.s.data + at) + 1);
		}
	}
	/* Past the end of an open window: nothing yet. */
	assert_int_equal(rd(w, &r, w->end + 5, 100, &out), -EAGAIN);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

/* GNU tail -n: 8 KiB-aligned reads going backwards from the end. */
static void test_window_tail_backwards_blocks(void **state)
{
	struct igfs_window *w = win_new(6 * BLK);
	struct igfs_wreader r = {};
	struct igfs_buf out = {}, got = {};
	struct ref ref = {};
	uint64_t off, size;
	ssize_t n;
	int i;

	(void)state;
	for (i = 0; i < 700; i++)
		put_lines(w, &ref, 1, 30 + (size_t)(i * 37) % 400);
	assert_true(w->start > 0);
	size = w->end;
	off = (size - 1) / BLK * BLK;
	n = rd(w, &r, off, BLK, &out);
	assert_int_equal(n, (ssize_t)(size - off));
	assert_int_equal(igfs_buf_append(&got, out.data, (size_t)n), 0);
	while (off > w->start) {
		struct igfs_buf tmp = {};

		off -= BLK;
		n = rd(w, &r, off, BLK, &out);
		assert_int_equal(n, BLK);
		assert_int_equal(igfs_buf_append(&tmp, out.data, BLK), 0);
		assert_int_equal(igfs_buf_append(&tmp, got.data, got.len), 0);
		igfs_buf_free(&got);
		got = tmp;
	}
	assert_int_equal(off, w->start);
	assert_int_equal(got.len, w->end - w->start);
	assert_memory_equal(got.data, ref.s.data + w->start, got.len);
	/* One block further back is evicted history. */
	assert_int_equal(rd(w, &r, off - BLK, BLK, &out), -ENODATA);
	igfs_buf_free(&out);
	igfs_buf_free(&got);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_seq_at_blocks(void **state)
{
	static const size_t lens[] = {1, 8191, 1, 8192, 10000, 3, 5000, 8190, 2, 20000, 1, 1, 7};
	struct igfs_window *w = win_new(16 * BLK);
	struct ref ref = {};
	size_t i;

	(void)state;
	for (i = 0; i < IGFS_ARRAY_SIZE(lens); i++) {
		put_lines(w, &ref, 1, lens[i]);
		check_seq_all(w, &ref);
	}
	assert_int_equal(w->start, 0);
	check_seq_at(w, &ref, 0);
	check_seq_at(w, &ref, BLK);
	check_seq_at(w, &ref, w->end);
	/* And in one batch, in a window that evicts. */
	igfs_window__put(w);
	ref_free(&ref);
	w = win_new(0);
	for (i = 0; i < 4; i++) {
		struct igfs_buf b = {};
		size_t j;

		for (j = 0; j < IGFS_ARRAY_SIZE(lens); j++)
			if (lens[j] <= 10000)
				gen_line(&b, ref.seq++,
					 lens[(j + i) % IGFS_ARRAY_SIZE(lens)] % 9000 + 1);
		put(w, &ref, b.data, b.len);
		igfs_buf_free(&b);
		check_invariants(w, &ref);
		check_seq_all(w, &ref);
		check_content(w, &ref);
	}
	ref_free(&ref);
	igfs_window__put(w);
}

/* The window full to the byte with its end on a block boundary. */
static void test_window_full_aligned_window(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {}, fresh = {};
	struct igfs_buf out = {};
	struct ref ref = {};
	char m[64];
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		put_lines(w, &ref, 1, 64);
	assert_int_equal(w->end, w->cap);
	assert_int_equal(w->start, 0);
	check_invariants(w, &ref);
	check_seq_all(w, &ref);
	assert_int_equal(igfs_window__seq_at_locked(w, 64), 1);
	assert_int_equal(rd_seq(w, &r, 64, &out), 64);
	assert_int_equal(r.seq, 1);
	/* One more line evicts block 0 (128 lines); the reader read 1 of them. */
	put_lines(w, &ref, 1, 64);
	assert_int_equal(w->start, BLK);
	check_seq_all(w, &ref);
	marker(m, sizeof(m), false, 127);
	assert_true(rd_seq(w, &r, 1 << 20, &out) > 0);
	assert_memory_equal(out.data, m, strlen(m));
	assert_memory_equal(out.data + strlen(m), ref.s.data + BLK, w->end - BLK);
	/* Steady state: every append ends on a block boundary, the window full. */
	put_lines(w, &ref, 127, 64);
	assert_int_equal(w->end % BLK, 0);
	for (i = 0; i < 1000; i++) {
		put_lines(w, &ref, 128, 64);
		check_invariants(w, &ref);
		assert_int_equal(w->end - w->start, w->cap);
		check_seq_at(w, &ref, w->start);
		check_seq_at(w, &ref, w->start + 64);
		check_seq_at(w, &ref, w->start + BLK + 640);
		check_seq_at(w, &ref, w->end);
	}
	check_seq_all(w, &ref);
	check_content(w, &ref);
	marker(m, sizeof(m), false, ref_lines_before(&ref, w->start) - 257);
	assert_int_equal(rd_seq(w, &r, 64, &out), 64);
	assert_memory_equal(out.data, m, strlen(m));
	assert_memory_equal(out.data + strlen(m), ref.s.data + w->start, 64 - strlen(m));
	assert_int_equal(rd_seq(w, &fresh, 64, &out), 64);
	assert_memory_equal(out.data, ref.s.data + w->start, 64);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_batch_larger_than_window(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {}, fresh = {};
	struct igfs_buf out = {};
	struct ref ref = {};
	char m[64];

	(void)state;
	put_lines(w, &ref, 3, 100);
	assert_int_equal(rd_seq(w, &r, 100, &out), 100);
	/* 50000 bytes in one go: only the tail from roundup(53300 - 16384) stays. */
	put_lines(w, &ref, 500, 100);
	assert_int_equal(w->end, 50300);
	assert_int_equal(w->start, 40960);
	check_invariants(w, &ref);
	check_content(w, &ref);
	check_seq_all(w, &ref);
	assert_int_equal(rd_seq(w, &fresh, 1 << 20, &out), 50300 - 41000);
	assert_memory_equal(out.data, ref.s.data + 41000, 50300 - 41000);
	marker(m, sizeof(m), false, 410 - 1);
	assert_true(rd_seq(w, &r, 1 << 20, &out) > 0);
	assert_memory_equal(out.data, m, strlen(m));
	assert_memory_equal(out.data + strlen(m), ref.s.data + 41000, 50300 - 41000);
	/* And it goes on consistently, also with another huge batch ending aligned. */
	put_lines(w, &ref, 7, 33);
	check_invariants(w, &ref);
	check_content(w, &ref);
	check_seq_all(w, &ref);
	put_lines(w, &ref, 3, 1000);
	put_lines(w, &ref, 1, 8192 - w->end % 8192);
	assert_int_equal(w->end % BLK, 0);
	put_lines(w, &ref, 6, 8192);
	check_invariants(w, &ref);
	check_content(w, &ref);
	check_seq_all(w, &ref);
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_wraparound_byte_exact(void **state)
{
	struct igfs_window *w = win_new(20000);
	struct ref ref = {};
	int i;

	(void)state;
	assert_int_equal(w->cap, 3 * BLK);
	for (i = 0; i < 3000; i++) {
		put_lines(w, &ref, 1 + (size_t)i % 5, 1 + (size_t)(i * 131) % 700);
		check_invariants(w, &ref);
		if (i % 7 == 0)
			check_content(w, &ref);
		if (i % 101 == 0)
			check_seq_all(w, &ref);
	}
	check_content(w, &ref);
	assert_true(w->end > 50 * w->cap);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_readable(void **state)
{
	struct igfs_window *w = win_new(0);
	struct igfs_wreader r = {};
	struct igfs_buf out = {};
	struct ref ref = {};

	(void)state;
	assert_false(igfs_window__readable_locked(w, &r));
	put_lines(w, &ref, 2, 100);
	assert_true(igfs_window__readable_locked(w, &r));
	assert_int_equal(rd_seq(w, &r, 1000, &out), 200);
	assert_false(igfs_window__readable_locked(w, &r));
	put_lines(w, &ref, 400, 100);
	assert_true(igfs_window__readable_locked(w, &r));
	/* A half-returned marker is readable even when the stream is caught up. */
	assert_int_equal(rd_seq(w, &r, 2, &out), 2);
	assert_true(r.pending_len > 0);
	assert_true(igfs_window__readable_locked(w, &r));
	igfs_buf_free(&out);
	ref_free(&ref);
	igfs_window__put(w);
}

/* Deterministic PRNG so that a failure reproduces. */
static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static uint64_t rnd(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + rnd_next(s) % (hi - lo + 1);
}

/* A sequential reader and what it must see. */
struct vreader {
	struct igfs_wreader r;
	uint64_t sp;   /* next stream byte it must get */
	char pend[64]; /* marker bytes it must get first */
	size_t pend_len;
	bool started;
	uint64_t lost;
	unsigned int every; /* reads on one step in @every */
	int sizes;	    /* 0 tiny, 1 medium, 2 large, 3 any */
	uint64_t markers;
};

static size_t vr_size(uint64_t *s, const struct vreader *v)
{
	switch (v->sizes == 3 ? (int)rnd(s, 0, 2) : v->sizes) {
	case 0:
		return (size_t)rnd(s, 1, 5);
	case 1:
		return (size_t)rnd(s, 1, 3 * BLK);
	default:
		return 128 * 1024;
	}
}

/* Check one read against the model and advance it. */
static void vr_check(const struct igfs_window *w, const struct ref *ref, struct vreader *v,
		     size_t size, ssize_t n, const char *data)
{
	bool stream = false;
	size_t i = 0;

	if (n <= 0) {
		uint64_t sp = v->sp;

		assert_int_equal(n, w->closed ? 0 : -EAGAIN);
		assert_int_equal(v->pend_len, 0);
		if (sp < w->start) {
			/* Only a fresh reader with no whole line in the window. */
			assert_false(v->started);
			sp = ref_first_line(ref, w->start);
		}
		assert_int_equal(sp, w->end);
		return;
	}
	assert_true((size_t)n <= size);
	while (i < (size_t)n) {
		if (v->pend_len) {
			size_t k = IGFS_MIN(v->pend_len, (size_t)n - i);

			if (memcmp(data + i, v->pend, k))
				fail_msg("marker mismatch: got '%.*s', want '%.*s'", (int)k,
					 data + i, (int)k, v->pend);
			memmove(v->pend, v->pend + k, v->pend_len - k);
			v->pend_len -= k;
			i += k;
			continue;
		}
		if (v->sp < w->start) {
			uint64_t l0 = ref_first_line(ref, w->start);

			if (v->started) {
				uint64_t lost =
					ref_lines_before(ref, l0) - ref_lines_before(ref, v->sp);

				assert_true(lost > 0);
				marker(v->pend, sizeof(v->pend), !ref_line_start(ref, v->sp), lost);
				v->pend_len = strlen(v->pend);
				v->lost += lost;
				v->markers++;
			}
			v->sp = l0;
			continue;
		}
		{
			uint64_t avail = w->end - v->sp;
			size_t want = (size_t)IGFS_MIN((uint64_t)(size - i), avail);

			if (want < avail) {
				const char *nl = memrchr(ref->s.data + v->sp, '\n', want);

				if (nl)
					want = (size_t)(nl - (ref->s.data + v->sp)) + 1;
			}
			if ((size_t)n - i != want)
				fail_msg("stream part: got %zu bytes, want %zu (sp %llu size %zu)",
					 (size_t)n - i, want, (unsigned long long)v->sp, size - i);
			assert_memory_equal(data + i, ref->s.data + v->sp, want);
			v->sp += want;
			i = (size_t)n;
			stream = true;
		}
	}
	/* Whatever was available and asked for was returned. */
	if (!stream && !v->pend_len && v->sp >= w->start && v->sp < w->end)
		assert_int_equal((size_t)n, size);
	v->started = true;
}

static void vr_read(struct igfs_window *w, const struct ref *ref, struct vreader *v, uint64_t *s)
{
	struct igfs_buf out = {};
	size_t size = vr_size(s, v);
	bool readable;
	ssize_t n;

	pthread_mutex_lock(&w->lock);
	readable = igfs_window__readable_locked(w, &v->r);
	pthread_mutex_unlock(&w->lock);
	n = rd_seq(w, &v->r, size, &out);
	if (n > 0)
		assert_true(readable);
	else if (readable)
		assert_false(v->started);
	vr_check(w, ref, v, size, n, out.data);
	assert_int_equal(v->r.lost, v->lost);
	igfs_buf_free(&out);
}

/* A reader that seeks anywhere, then reads on once. */
static void seeker(struct igfs_window *w, const struct ref *ref, struct igfs_wreader *r,
		   uint64_t *s)
{
	uint64_t lo = w->start > 3 * BLK ? w->start - 3 * BLK : 0;
	uint64_t off = rnd(s, lo, w->end + 10);
	size_t size = (size_t)rnd(s, 1, 4 * BLK);
	struct igfs_buf out = {};
	ssize_t n;

	if (rnd(s, 0, 3) == 0)
		off = w->end - w->end % BLK; /* tail's first read */
	if (off == r->pos)
		off++;
	n = rd(w, r, off, size, &out);
	if (off < w->start) {
		assert_int_equal(n, -ENODATA);
	} else if (off >= w->end) {
		assert_int_equal(n, -EAGAIN);
	} else {
		size_t want = (size_t)IGFS_MIN((uint64_t)size, w->end - off);

		assert_int_equal(n, (ssize_t)want);
		assert_memory_equal(out.data, ref->s.data + off, want);
		off += want;
		if (off < w->end) {
			uint64_t avail = w->end - off;
			const char *nl;

			size = (size_t)rnd(s, 1, 2 * BLK);
			want = (size_t)IGFS_MIN((uint64_t)size, avail);
			nl = want < avail ? memrchr(ref->s.data + off, '\n', want) : NULL;
			if (nl)
				want = (size_t)(nl - (ref->s.data + off)) + 1;
			n = rd_seq(w, r, size, &out);
			assert_int_equal(n, (ssize_t)want);
			assert_memory_equal(out.data, ref->s.data + off, want);
		}
	}
	igfs_buf_free(&out);
}

static size_t rnd_line_len(uint64_t *s)
{
	uint64_t k = rnd(s, 0, 99);

	if (k < 70)
		return (size_t)rnd(s, 1, 120);
	if (k < 92)
		return (size_t)rnd(s, 121, 3000);
	return (size_t)rnd(s, 3001, 20000);
}

static void window_random_run(uint64_t seed)
{
	static const size_t backlogs[] = {0, 3 * BLK, 5 * BLK, 8 * BLK};
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	struct vreader v[5] = {
		{.every = 1, .sizes = 2},  {.every = 1, .sizes = 3}, {.every = 3, .sizes = 1},
		{.every = 20, .sizes = 3}, {.every = 4, .sizes = 0},
	};
	struct igfs_wreader sr = {};
	struct igfs_window *w;
	struct ref ref = {};
	size_t i, j;
	int step;

	w = win_new(backlogs[rnd(&s, 0, IGFS_ARRAY_SIZE(backlogs) - 1)]);
	for (step = 0; step < 600; step++) {
		struct igfs_buf b = {};
		size_t lines = rnd(&s, 0, 19) ? (size_t)rnd(&s, 1, 6) : (size_t)rnd(&s, 10, 40);

		/* Even seeds: lengths that often end an append on a block boundary. */
		for (i = 0; i < lines; i++)
			gen_line(&b, ref.seq++,
				 seed % 2 ? rnd_line_len(&s) : (size_t)1 << rnd(&s, 6, 14));
		put(w, &ref, b.data, b.len);
		igfs_buf_free(&b);
		check_invariants(w, &ref);
		check_seq_at(w, &ref, w->start);
		for (i = 0; i < 8; i++)
			check_seq_at(w, &ref, rnd(&s, w->start, w->end));
		for (i = 0; i < IGFS_ARRAY_SIZE(v); i++) {
			if (rnd(&s, 0, v[i].every - 1))
				continue;
			for (j = rnd(&s, 1, 3); j; j--)
				vr_read(w, &ref, &v[i], &s);
		}
		seeker(w, &ref, &sr, &s);
		if (step % 50 == 0)
			check_content(w, &ref);
	}
	/* Stopped: everyone gets the rest, then EOF. */
	w->closed = true;
	for (i = 0; i < IGFS_ARRAY_SIZE(v); i++) {
		struct igfs_buf out = {};
		ssize_t n;

		do {
			size_t size = vr_size(&s, &v[i]);

			n = rd_seq(w, &v[i].r, size, &out);
			vr_check(w, &ref, &v[i], size, n, out.data);
		} while (n > 0);
		assert_int_equal(n, 0);
		assert_int_equal(v[i].sp, w->end);
		assert_int_equal(v[i].r.lost, v[i].lost);
		igfs_buf_free(&out);
	}
	/* The slow readers were overtaken. */
	assert_true(v[3].markers > 0);
	assert_true(v[4].markers > 0);
	ref_free(&ref);
	igfs_window__put(w);
}

static void test_window_random_readers(void **state)
{
	uint64_t seed;

	(void)state;
	for (seed = 1; seed <= 4; seed++)
		window_random_run(seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_new_sizes),
		cmocka_unit_test(test_window_refcount),
		cmocka_unit_test(test_window_append_read_whole_lines),
		cmocka_unit_test(test_window_read_truncates_to_line),
		cmocka_unit_test(test_window_read_smaller_than_line),
		cmocka_unit_test(test_window_read_end_eagain_then_eof),
		cmocka_unit_test(test_window_eviction_block_aligned),
		cmocka_unit_test(test_window_fresh_reader_after_eviction_silent),
		cmocka_unit_test(test_window_overtaken_reader_gets_lost),
		cmocka_unit_test(test_window_lost_marker_midline),
		cmocka_unit_test(test_window_lost_marker_tiny_reads),
		cmocka_unit_test(test_window_lost_marker_evicted_while_pending),
		cmocka_unit_test(test_window_seek_before_window_enodata),
		cmocka_unit_test(test_window_seek_inside_window),
		cmocka_unit_test(test_window_tail_backwards_blocks),
		cmocka_unit_test(test_window_seq_at_blocks),
		cmocka_unit_test(test_window_full_aligned_window),
		cmocka_unit_test(test_window_batch_larger_than_window),
		cmocka_unit_test(test_window_wraparound_byte_exact),
		cmocka_unit_test(test_window_readable),
		cmocka_unit_test(test_window_random_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
