// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Integration tests of the map-iterator gadgets and their stats files
 * (SPEC §8): top_file's per-interval counts, identical tables for concurrent
 * readers, interval 0, sort and limit, autostart, status "tables"; and
 * profile_cpu's accumulated samples with symbolised kernel and user stacks.
 * Root, BPF and FUSE; each test mounts its own igfs (harness.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TOP_FILE      "top_file"
#define PROFILE_CPU   "profile_cpu"
#define IT_COMM	      "igfs-it-stats" /* this test's comm in top_file records */
#define WRITER_COMM   "igfs-it-bgw"   /* a background writer child */
#define BURNER_COMM   "igfs-it-burn"  /* profile_cpu's CPU-burning child */
#define INTERVAL      "500ms"	      /* params/interval of the top_file tests */
#define TABLE_WAIT_MS 8000	      /* a few intervals, on a loaded VM */
#define READ_WAIT_MS  5000
#define POLL_MS	      10

/* ----- small helpers ----- */

/*
 * Numbers are parsed as doubles (see feed_lines): exact below 2^53, which
 * covers every count, pid and inode here; larger values (kernel addresses)
 * only need to be non-zero.
 */
static json_int_t jint(json_t *obj, const char *path)
{
	json_t *v = ith_get(obj, path);
	double d;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (!json_is_real(v))
		return -1;
	d = json_real_value(v);
	return d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : (json_int_t)d;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return s && a >= b && !strcmp(s + a - b, suffix);
}

static int set_comm(const char *comm)
{
	return prctl(PR_SET_NAME, comm, 0, 0, 0) ? -errno : 0;
}

static void param_path(const struct ith_gadget *g, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", g->params, name);
}

/* Write @value to params/@name. 0 or -errno. */
static int set_param(const struct ith_gadget *g, const char *name, const char *value)
{
	char p[PATH_MAX + 64];

	param_path(g, name, p, sizeof(p));
	return ith_write_file(p, value, strlen(value));
}

/* params/@name as read back, without the newline. */
static void get_param(const struct ith_gadget *g, const char *name, char *buf, size_t len)
{
	char p[PATH_MAX + 64];
	struct ith_buf b = {};

	param_path(g, name, p, sizeof(p));
	buf[0] = '\0';
	if (!ith_read_file(p, &b, READ_WAIT_MS) && b.data)
		snprintf(buf, len, "%.*s", (int)strcspn(b.data, "\n"), b.data);
	ith_buf_free(&b);
}

static void stats_path(const struct ith_gadget *g, char *buf, size_t len)
{
	snprintf(buf, len, "%s/stats", g->dir);
}

/* status.tables.<ds>.time ("" when null or absent) into @buf. */
static void table_time(const struct ith_gadget *g, const char *ds, char *buf, size_t len)
{
	char path[128];
	json_t *st = ith_status(g);

	snprintf(path, sizeof(path), "tables.%s.time", ds);
	snprintf(buf, len, "%s", ith_jstr(st, path) ? ith_jstr(st, path) : "");
	json_decref(st);
}

/* status.error ("" for null) into @buf. */
static void status_error(const struct ith_gadget *g, char *buf, size_t len)
{
	json_t *st = ith_status(g);

	snprintf(buf, len, "%s", ith_jstr(st, "error") ? ith_jstr(st, "error") : "");
	json_decref(st);
}

/*
 * Like ith_stream_feed, but numbers become doubles: jansson refuses integers
 * above INT64_MAX ("too big integer"), and profile_cpu's kernel_ip is a u64
 * kernel address that igfs rightly prints in full.
 */
static void feed_lines(struct ith_stream *s, const char *data, size_t len)
{
	if (ith_buf_append(&s->raw, data, len))
		return;
	while (s->split < s->raw.len) {
		const char *line = s->raw.data + s->split;
		const char *nl = memchr(line, '\n', s->raw.len - s->split);
		json_error_t jerr;
		json_t *j;
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - line);
		s->split += n + 1;
		j = json_loadb(line, n, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
		if (!json_is_object(j)) {
			if (!s->bad++)
				snprintf(s->why, sizeof(s->why), "%s: '%.300s'",
					 j ? "not an object" : jerr.text, line);
			json_decref(j);
			continue;
		}
		json_array_append_new(s->lines, j);
	}
}

/*
 * Read the whole of an open stats fd into @raw and parse it into @s: every
 * line must be a JSON object and the table must end on a line end.
 */
static int read_fd_table(int fd, struct ith_buf *raw, struct ith_stream *s, char *why, size_t len)
{
	char chunk[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, len, "read stats: %s", strerror(errno));
			return -1;
		}
		if (!n)
			break;
		if (ith_buf_append(raw, chunk, (size_t)n)) {
			snprintf(why, len, "out of memory");
			return -1;
		}
	}
	feed_lines(s, raw->data ? raw->data : "", raw->len);
	if (s->bad) {
		snprintf(why, len, "%zu bad line(s): %s", s->bad, s->why);
		return -1;
	}
	if (s->split != s->raw.len) {
		snprintf(why, len, "the table ends inside a line");
		return -1;
	}
	return 0;
}

/* One table read with `open, read to EOF`: parsed lines in @s (initialised here). */
static int read_table(const struct ith_gadget *g, struct ith_stream *s, char *why, size_t len)
{
	struct ith_buf raw = {};
	char p[PATH_MAX + 16];
	int fd, err;

	ith_stream_init(s, -1);
	stats_path(g, p, sizeof(p));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "open stats: %s", strerror(errno));
		return -1;
	}
	err = read_fd_table(fd, &raw, s, why, len);
	close(fd);
	ith_buf_free(&raw);
	return err;
}

/*
 * A table whose interval is known: the status time does not change across
 * the open (a table is fixed at open, and status names the current one), so
 * the table is the interval ending at *@time. Waits for a time other than
 * @after (NULL: any non-null time). 0, or -1 with @why.
 */
static int take_table(const struct ith_gadget *g, const char *ds, const char *after,
		      struct ith_stream *s, char *time, size_t tlen, char *why, size_t len)
{
	int64_t deadline = ith_now_ms() + TABLE_WAIT_MS;
	char ta[64], tb[64], p[PATH_MAX + 16];

	ith_stream_init(s, -1);
	stats_path(g, p, sizeof(p));
	for (;;) {
		struct ith_buf raw = {};
		int fd, err;

		table_time(g, ds, ta, sizeof(ta));
		if (ta[0] && (!after || strcmp(ta, after))) {
			fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				snprintf(why, len, "open stats: %s", strerror(errno));
				return -1;
			}
			table_time(g, ds, tb, sizeof(tb));
			if (!strcmp(ta, tb)) {
				err = read_fd_table(fd, &raw, s, why, len);
				close(fd);
				ith_buf_free(&raw);
				if (!err)
					snprintf(time, tlen, "%s", ta);
				return err;
			}
			close(fd); /* an interval ended during the open: which table is unknown */
		}
		if (ith_now_ms() >= deadline) {
			snprintf(why, len,
				 "no new table after '%s' within %d ms (status time '%s')",
				 after ? after : "", TABLE_WAIT_MS, ta);
			return -1;
		}
		ith_sleep_ms(POLL_MS);
	}
}

/* The lines of @s with proc.pid @pid and a file ending in @suffix (NULL: any). */
static size_t matching(const struct ith_stream *s, pid_t pid, const char *suffix, json_t **first)
{
	size_t i, n = 0;

	if (first)
		*first = NULL;
	for (i = 0; i < json_array_size(s->lines); i++) {
		json_t *l = json_array_get(s->lines, i);

		if (jint(l, "proc.pid") != pid)
			continue;
		if (suffix && !ends_with(ith_jstr(l, "file"), suffix))
			continue;
		if (first && !*first)
			*first = l;
		n++;
	}
	return n;
}

/* ----- top_file: per-interval totals ----- */

struct counts {
	json_int_t reads, rbytes, writes, wbytes;
};

/* The record a test expects: its process and file (ino/dev -1: not checked). */
struct who {
	pid_t pid;
	const char *file;
	const char *comm;
	json_int_t ino, dev;
};

static bool counts_eq(const struct counts *a, const struct counts *b)
{
	return a->reads == b->reads && a->rbytes == b->rbytes && a->writes == b->writes &&
	       a->wbytes == b->wbytes;
}

static bool counts_over(const struct counts *a, const struct counts *b)
{
	return a->reads > b->reads || a->rbytes > b->rbytes || a->writes > b->writes ||
	       a->wbytes > b->wbytes;
}

static void counts_str(const struct counts *c, char *buf, size_t len)
{
	snprintf(buf, len, "reads %lld rbytes %lld writes %lld wbytes %lld", (long long)c->reads,
		 (long long)c->rbytes, (long long)c->writes, (long long)c->wbytes);
}

static void counts_of(json_t *l, struct counts *c)
{
	c->reads = jint(l, "reads");
	c->rbytes = jint(l, "rbytes");
	c->writes = jint(l, "writes");
	c->wbytes = jint(l, "wbytes");
}

/* Whether @l is @w's record: path, comm, thread, type, inode and device. */
static bool record_ok(json_t *l, const struct who *w, char *why, size_t len)
{
	char *dump;

	if (!strcmp(ith_show(ith_jstr(l, "file")), w->file) &&
	    !strcmp(ith_show(ith_jstr(l, "proc.comm")), w->comm) && jint(l, "proc.tid") == w->pid &&
	    !strcmp(ith_show(ith_jstr(l, "t")), "R") && jint(l, "t_raw") == 0 &&
	    (w->ino < 0 || jint(l, "inode") == w->ino) &&
	    (w->dev < 0 || jint(l, "dev") == w->dev) && !ith_get(l, "pid_tgid"))
		return true;
	dump = json_dumps(l, JSON_COMPACT);
	snprintf(why, len,
		 "wrong record (want file '%s', comm '%s', tid %d, t R, inode %lld, dev %lld, no "
		 "pid_tgid): %s",
		 w->file, w->comm, (int)w->pid, (long long)w->ino, (long long)w->dev, ith_show(dump));
	free(dump);
	return false;
}

/*
 * Sum @w's records over the intervals after *@time until they reach @want
 * (activity may straddle an interval boundary). One record per interval at
 * most, each well-formed. Fails when the sum overshoots (counts not per
 * interval) or does not arrive. *@time becomes the interval that completed it.
 */
static int sum_until(const struct ith_gadget *g, const struct who *w, const struct counts *want,
		     char *time, size_t tlen, char *why, size_t len)
{
	int64_t deadline = ith_now_ms() + TABLE_WAIT_MS;
	struct counts got = {}, c;
	char a[128], b[128];

	while (!counts_eq(&got, want)) {
		struct ith_stream s;
		json_t *l;
		size_t n;

		if (take_table(g, "file", time, &s, time, tlen, why, len))
			return -1;
		n = matching(&s, w->pid, w->file, &l);
		if (n > 1) {
			snprintf(why, len, "%zu lines for pid %d and '%s' in one interval", n,
				 (int)w->pid, w->file);
			ith_stream_free(&s);
			return -1;
		}
		if (l && !record_ok(l, w, why, len)) {
			ith_stream_free(&s);
			return -1;
		}
		if (l) {
			counts_of(l, &c);
			got.reads += c.reads;
			got.rbytes += c.rbytes;
			got.writes += c.writes;
			got.wbytes += c.wbytes;
		}
		ith_stream_free(&s);
		counts_str(&got, a, sizeof(a));
		counts_str(want, b, sizeof(b));
		if (counts_over(&got, want)) {
			snprintf(why, len, "'%s': %s, expected %s", w->file, a, b);
			return -1;
		}
		if (!counts_eq(&got, want) && ith_now_ms() >= deadline) {
			snprintf(why, len, "'%s': only %s after %d ms, expected %s", w->file, a,
				 TABLE_WAIT_MS, b);
			return -1;
		}
	}
	return 0;
}

/* @n writes of @size bytes appended to @path (created). 0 or -errno. */
static int write_n(const char *path, int n, size_t size)
{
	char buf[4096];
	int fd, i, err = 0;

	if (size > sizeof(buf))
		return -EINVAL;
	memset(buf, 'x', size);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (i = 0; i < n && !err; i++)
		if (write(fd, buf, size) != (ssize_t)size)
			err = -EIO;
	close(fd);
	return err;
}

/* A child that appends 16 bytes to @path every 5 ms until killed; its pid or -1. */
static pid_t spawn_writer(const char *path)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	set_comm(WRITER_COMM);
	for (;;) {
		write_n(path, 1, 16);
		usleep(5000);
	}
}

/* Wait until a table of @g shows a record of @pid for @file. 0 or -1 (@why). */
static int wait_record(const struct ith_gadget *g, pid_t pid, const char *file, char *why,
		       size_t len)
{
	int64_t deadline = ith_now_ms() + TABLE_WAIT_MS;
	char t[64] = "";

	for (;;) {
		struct ith_stream s;
		size_t n;

		if (take_table(g, "file", t[0] ? t : NULL, &s, t, sizeof(t), why, len))
			return -1;
		n = matching(&s, pid, file, NULL);
		ith_stream_free(&s);
		if (n)
			return 0;
		if (ith_now_ms() >= deadline) {
			snprintf(why, len, "no record of pid %d for '%s' within %d ms", (int)pid,
				 file, TABLE_WAIT_MS);
			return -1;
		}
	}
}

static int start_with_interval(const struct ith_gadget *g, const char *interval)
{
	int err = set_param(g, "interval", interval);

	return err ? err : ith_ctl(g, "start");
}

/* ----- sort checks ----- */

/* Compare two JSON values of one sort key: numbers numerically, strings byte-wise. */
static int jcmp(json_t *a, json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);

		return x < y ? -1 : x > y;
	}
	if (json_is_string(a) && json_is_string(b))
		return strcmp(json_string_value(a), json_string_value(b));
	return 0;
}

/*
 * Whether the lines of @s are ordered by @spec (IG syntax: "a,-b,c.d"):
 * each adjacent pair compares <= 0 under the keys in turn.
 */
static bool ordered_by(const struct ith_stream *s, const char *spec, char *why, size_t len)
{
	char keys[8][64];
	bool desc[8];
	size_t nk = 0, i, k;
	const char *p = spec;

	while (*p && nk < 8) {
		size_t n = strcspn(p, ",");

		desc[nk] = *p == '-';
		snprintf(keys[nk], sizeof(keys[nk]), "%.*s", (int)(n - desc[nk]), p + desc[nk]);
		nk++;
		p += n;
		if (*p == ',')
			p++;
	}
	for (i = 1; i < json_array_size(s->lines); i++) {
		json_t *a = json_array_get(s->lines, i - 1), *b = json_array_get(s->lines, i);

		for (k = 0; k < nk; k++) {
			int c = jcmp(ith_get(a, keys[k]), ith_get(b, keys[k]));

			if (desc[k])
				c = -c;
			if (c < 0)
				break;
			if (c > 0) {
				snprintf(why, len,
					 "lines %zu and %zu are not ordered by '%s' (key '%s')",
					 i - 1, i, spec, keys[k]);
				return false;
			}
		}
	}
	return true;
}

/* Index of the first line of @s whose file is @file, or -1. */
static long line_of(const struct ith_stream *s, const char *file)
{
	size_t i;

	for (i = 0; i < json_array_size(s->lines); i++)
		if (!strcmp(ith_show(ith_jstr(json_array_get(s->lines, i), "file")), file))
			return (long)i;
	return -1;
}

/* ----- top_file tests ----- */

/*
 * K writes of N bytes and L reads of N bytes (every counted syscall: read,
 * write, pread64, pwrite64, readv, writev) sum to exactly K, N, L, N over the
 * intervals after them, at most one record per interval, with the file's
 * path, inode and device; a later quiet interval has no record.
 */
static int test_top_file_counts(struct ith_mount *m)
{
	static const int K = 4, L = 4;
	static const size_t N = 2048;
	struct counts want = {.reads = L, .rbytes = N, .writes = K, .wbytes = N};
	char marker[128], t[64], why[1024], block[512];
	struct iovec iov[2];
	struct ith_gadget g;
	struct ith_stream s;
	struct stat st;
	struct who w;
	int ret = -1, fd = -1, err, i;

	ith_stream_init(&s, -1);
	ith_marker(marker, sizeof(marker));
	ith_gadget_paths(m, TOP_FILE, &g);
	ITH_CHECK(!set_comm(IT_COMM), "prctl: %m");
	err = start_with_interval(&g, INTERVAL);
	ITH_CHECK(!err, "start top_file: %s", strerror(-err));
	ITH_CHECK(!take_table(&g, "file", NULL, &s, t, sizeof(t), why, sizeof(why)),
		  "first table: %s", why);

	memset(block, 'a', sizeof(block));
	fd = open(marker, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ITH_CHECK(fd >= 0, "create marker: %m");
	/* write, write, writev (2 x 256), pwrite64: 4 calls, 2048 bytes. */
	ITH_CHECK(write(fd, block, 512) == 512, "write: %m");
	ITH_CHECK(write(fd, block, 512) == 512, "write: %m");
	iov[0] = (struct iovec){block, 256};
	iov[1] = (struct iovec){block + 256, 256};
	ITH_CHECK(writev(fd, iov, 2) == 512, "writev: %m");
	ITH_CHECK(pwrite(fd, block, 512, 1536) == 512, "pwrite: %m");
	ITH_CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek: %m");
	/* read, read, readv (2 x 256), pread64: 4 calls, 2048 bytes, no read at EOF. */
	ITH_CHECK(read(fd, block, 512) == 512, "read: %m");
	ITH_CHECK(read(fd, block, 512) == 512, "read: %m");
	ITH_CHECK(readv(fd, iov, 2) == 512, "readv: %m");
	ITH_CHECK(pread(fd, block, 512, 1536) == 512, "pread: %m");
	ITH_CHECK(!fstat(fd, &st), "fstat: %m");
	close(fd);
	fd = -1;

	w = (struct who){getpid(), marker, IT_COMM, (json_int_t)st.st_ino, (json_int_t)st.st_dev};
	ITH_CHECK(!sum_until(&g, &w, &want, t, sizeof(t), why, sizeof(why)), "%s", why);
	/* The next two intervals are quiet for this file: no record. */
	for (i = 0; i < 2; i++) {
		ith_stream_free(&s);
		ITH_CHECK(!take_table(&g, "file", t, &s, t, sizeof(t), why, sizeof(why)), "%s",
			  why);
		ITH_CHECK(!matching(&s, getpid(), marker, NULL),
			  "a quiet interval (%s) still shows '%s'", t, marker);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	unlink(marker);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/*
 * watch-style: each interval shows that interval's numbers only. Three
 * writes, then five: the second sum is five, not eight.
 */
static int test_top_file_per_interval(struct ith_mount *m)
{
	struct counts first = {.writes = 3, .wbytes = 300}, second = {.writes = 5, .wbytes = 50};
	char marker[128], t[64], why[1024];
	struct ith_gadget g;
	struct ith_stream s;
	struct stat st;
	struct who w;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	ith_marker(marker, sizeof(marker));
	ith_gadget_paths(m, TOP_FILE, &g);
	ITH_CHECK(!set_comm(IT_COMM), "prctl: %m");
	err = start_with_interval(&g, INTERVAL);
	ITH_CHECK(!err, "start top_file: %s", strerror(-err));
	ITH_CHECK(!take_table(&g, "file", NULL, &s, t, sizeof(t), why, sizeof(why)),
		  "first table: %s", why);

	ITH_CHECK(!write_n(marker, 3, 100), "write: %m");
	ITH_CHECK(!stat(marker, &st), "stat: %m");
	w = (struct who){getpid(), marker, IT_COMM, (json_int_t)st.st_ino, (json_int_t)st.st_dev};
	ITH_CHECK(!sum_until(&g, &w, &first, t, sizeof(t), why, sizeof(why)), "first burst: %s",
		  why);
	ITH_CHECK(!write_n(marker, 5, 10), "write: %m");
	ITH_CHECK(!sum_until(&g, &w, &second, t, sizeof(t), why, sizeof(why)), "second burst: %s",
		  why);
	ith_stream_free(&s);
	ITH_CHECK(!take_table(&g, "file", t, &s, t, sizeof(t), why, sizeof(why)), "%s", why);
	ITH_CHECK(!matching(&s, getpid(), marker, NULL), "a quiet interval (%s) still shows '%s'",
		  t, marker);
	ret = 0;
out:
	unlink(marker);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* Two fds opened at once, and two cat processes, read byte-identical tables. */
static int test_top_file_two_readers(struct ith_mount *m)
{
	char marker[128], why[1024], ta[64], tb[64], p[PATH_MAX + 16];
	struct ith_buf a = {}, b = {};
	struct ith_stream sa, sb;
	struct ith_gadget g;
	pid_t writer = -1;
	int ret = -1, err, try, fa = -1, fb = -1;
	bool same = false;

	ith_stream_init(&sa, -1);
	ith_stream_init(&sb, -1);
	ith_marker(marker, sizeof(marker));
	ith_gadget_paths(m, TOP_FILE, &g);
	stats_path(&g, p, sizeof(p));
	err = start_with_interval(&g, INTERVAL);
	ITH_CHECK(!err, "start top_file: %s", strerror(-err));
	writer = spawn_writer(marker);
	ITH_CHECK(writer > 0, "fork: %m");
	ITH_CHECK(!wait_record(&g, writer, marker, why, sizeof(why)), "%s", why);

	/* Two fds opened back to back, within one interval. */
	for (try = 0; try < 10 && !same; try++) {
		table_time(&g, "file", ta, sizeof(ta));
		fa = open(p, O_RDONLY | O_CLOEXEC);
		fb = open(p, O_RDONLY | O_CLOEXEC);
		table_time(&g, "file", tb, sizeof(tb));
		ITH_CHECK(fa >= 0 && fb >= 0, "open stats twice: %m");
		same = !strcmp(ta, tb);
		if (same) {
			ITH_CHECK(!read_fd_table(fa, &a, &sa, why, sizeof(why)), "%s", why);
			ITH_CHECK(!read_fd_table(fb, &b, &sb, why, sizeof(why)), "%s", why);
		}
		close(fa);
		close(fb);
		fa = fb = -1;
	}
	ITH_CHECK(same, "every try straddled an interval");
	ITH_CHECK(a.len > 0 && matching(&sa, writer, marker, NULL) == 1,
		  "the table does not show the writer once (%zu bytes)", a.len);
	ITH_CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len),
		  "two fds opened together read different tables (%zu and %zu bytes)", a.len,
		  b.len);

	/* Two cat processes at the same time. */
	same = false;
	for (try = 0; try < 10 && !same; try++) {
		const char *argv[] = {"cat", p, NULL};
		int oa = -1, ob = -1, sta = 0, stb = 0;
		pid_t ca, cb;

		ith_buf_free(&a);
		ith_buf_free(&b);
		table_time(&g, "file", ta, sizeof(ta));
		ca = ith_spawn(argv, &oa);
		cb = ith_spawn(argv, &ob);
		ITH_CHECK(ca > 0 && cb > 0, "spawn cat");
		{
			struct ith_stream xa, xb;

			ith_stream_init(&xa, oa);
			ith_stream_init(&xb, ob);
			err = ith_stream_to_eof(&xa, READ_WAIT_MS);
			if (!err)
				err = ith_stream_to_eof(&xb, READ_WAIT_MS);
			ith_buf_append(&a, xa.raw.data ? xa.raw.data : "", xa.raw.len);
			ith_buf_append(&b, xb.raw.data ? xb.raw.data : "", xb.raw.len);
			ith_stream_free(&xa);
			ith_stream_free(&xb);
		}
		close(oa);
		close(ob);
		ITH_CHECK(!ith_wait_pid(ca, READ_WAIT_MS, &sta) &&
				  !ith_wait_pid(cb, READ_WAIT_MS, &stb),
			  "cat did not finish");
		ITH_CHECK(!err, "reading cat's output: %s", strerror(-err));
		ITH_CHECK(WIFEXITED(sta) && !WEXITSTATUS(sta) && WIFEXITED(stb) &&
				  !WEXITSTATUS(stb),
			  "cat failed (0x%x, 0x%x)", sta, stb);
		table_time(&g, "file", tb, sizeof(tb));
		same = !strcmp(ta, tb);
	}
	ITH_CHECK(same, "every try straddled an interval");
	ITH_CHECK(a.len > 0 && a.len == b.len && !memcmp(a.data, b.data, a.len),
		  "two cats read different tables (%zu and %zu bytes)", a.len, b.len);
	ret = 0;
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	if (writer > 0)
		ith_kill_wait(writer);
	unlink(marker);
	ith_buf_free(&a);
	ith_buf_free(&b);
	ith_stream_free(&sa);
	ith_stream_free(&sb);
	ith_ctl(&g, "stop");
	return ret;
}

/*
 * interval 0: nothing drains; each open dumps the live map, so counts
 * accumulate across opens; after stop the last dump stays readable
 * (mounted with autostart=0, so that the open does not start it again).
 */
static int test_top_file_interval0(struct ith_mount *m)
{
	char marker[128], why[1024], v[64];
	struct ith_gadget g;
	struct ith_stream s;
	struct counts c;
	json_t *l;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	ith_marker(marker, sizeof(marker));
	ith_gadget_paths(m, TOP_FILE, &g);
	ITH_CHECK(!set_comm(IT_COMM), "prctl: %m");
	err = start_with_interval(&g, "0");
	ITH_CHECK(!err, "start top_file: %s", strerror(-err));
	get_param(&g, "interval", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "0ms"), "params/interval reads '%s', expected '0ms'", v);

	ITH_CHECK(!write_n(marker, 2, 64), "write: %m");
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(matching(&s, getpid(), marker, &l) == 1, "no single record for '%s'", marker);
	counts_of(l, &c);
	ITH_CHECK(c.writes == 2 && c.wbytes == 128,
		  "first open: writes %lld wbytes %lld, expected 2, 128", (long long)c.writes,
		  (long long)c.wbytes);

	ITH_CHECK(!write_n(marker, 3, 64), "write: %m");
	ith_stream_free(&s);
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(matching(&s, getpid(), marker, &l) == 1, "no single record for '%s'", marker);
	counts_of(l, &c);
	ITH_CHECK(c.writes == 5 && c.wbytes == 320,
		  "second open: writes %lld wbytes %lld, expected the sum 5, 320",
		  (long long)c.writes, (long long)c.wbytes);

	/* An open without activity in between does not drain either. */
	ith_stream_free(&s);
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(matching(&s, getpid(), marker, &l) == 1, "no single record for '%s'", marker);
	counts_of(l, &c);
	ITH_CHECK(c.writes == 5, "third open: writes %lld, expected 5", (long long)c.writes);
	table_time(&g, "file", v, sizeof(v));
	ITH_CHECK(v[0], "status.tables.file.time is null after a dump");

	/* Stopped: the last dump stays, and later writes do not change it. */
	err = ith_ctl(&g, "stop");
	ITH_CHECK(!err, "stop: %s", strerror(-err));
	ITH_CHECK(!write_n(marker, 1, 64), "write: %m");
	ith_stream_free(&s);
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "after stop: %s", why);
	ITH_CHECK(matching(&s, getpid(), marker, &l) == 1, "after stop: no record for '%s'",
		  marker);
	counts_of(l, &c);
	ITH_CHECK(c.writes == 5 && c.wbytes == 320,
		  "after stop: writes %lld wbytes %lld, expected 5, 320", (long long)c.writes,
		  (long long)c.wbytes);
	ITH_CHECK(ith_wait_status_str(&g, "state", "stopped", 1000) == 0,
		  "reading the kept table started the gadget");
	ret = 0;
out:
	unlink(marker);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* params/sort (IG syntax, one and two keys, dotted), params/limit, and a bad sort field. */
static int test_top_file_sort_limit(struct ith_mount *m)
{
	char ma[128], mb[128], mc[128], why[1024], v[64], err_msg[512], pid[32];
	struct ith_gadget g;
	struct ith_stream s;
	long ia, ib, ic;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	ith_marker(ma, sizeof(ma));
	ith_marker(mb, sizeof(mb));
	ith_marker(mc, sizeof(mc));
	ith_gadget_paths(m, TOP_FILE, &g);
	ITH_CHECK(!set_comm(IT_COMM), "prctl: %m");
	/* Only this process, dumped live: the table holds our files and nothing else moves. */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ITH_CHECK(!set_param(&g, "pid", pid), "set pid");
	err = start_with_interval(&g, "0");
	ITH_CHECK(!err, "start top_file: %s", strerror(-err));
	ITH_CHECK(!write_n(ma, 2, 100), "write: %m"); /* writes 2, wbytes 200 */
	ITH_CHECK(!write_n(mb, 2, 50), "write: %m");  /* writes 2, wbytes 100 */
	ITH_CHECK(!write_n(mc, 1, 300), "write: %m"); /* writes 1, wbytes 300 */

	err = set_param(&g, "sort", "-wbytes");
	ITH_CHECK(!err, "sort -wbytes: %s", strerror(-err));
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(ordered_by(&s, "-wbytes", why, sizeof(why)), "%s", why);
	ITH_CHECK(json_array_size(s.lines) >= 3, "only %zu lines", json_array_size(s.lines));
	ITH_CHECK(line_of(&s, mc) == 0 && line_of(&s, ma) == 1 && line_of(&s, mb) == 2,
		  "-wbytes: the markers are at lines %ld, %ld, %ld, expected 0, 1, 2",
		  line_of(&s, mc), line_of(&s, ma), line_of(&s, mb));

	err = set_param(&g, "sort", "-writes,wbytes");
	ITH_CHECK(!err, "sort -writes,wbytes: %s", strerror(-err));
	ith_stream_free(&s);
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(ordered_by(&s, "-writes,wbytes", why, sizeof(why)), "%s", why);
	ia = line_of(&s, ma);
	ib = line_of(&s, mb);
	ic = line_of(&s, mc);
	ITH_CHECK(ia >= 0 && ib >= 0 && ic >= 0 && ib < ia && ia < ic,
		  "-writes,wbytes: markers at %ld (a), %ld (b), %ld (c), expected b < a < c", ia,
		  ib, ic);

	err = set_param(&g, "sort", "proc.comm,-rbytes");
	ITH_CHECK(!err, "a dotted sort field: %s", strerror(-err));
	ith_stream_free(&s);
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(ordered_by(&s, "proc.comm,-rbytes", why, sizeof(why)), "%s", why);

	err = set_param(&g, "sort", "-wbytes");
	ITH_CHECK(!err, "sort -wbytes: %s", strerror(-err));
	err = set_param(&g, "limit", "2");
	ITH_CHECK(!err, "limit 2: %s", strerror(-err));
	ith_stream_free(&s);
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(json_array_size(s.lines) == 2 && line_of(&s, mc) == 0 && line_of(&s, ma) == 1,
		  "limit 2 with -wbytes: %zu lines, markers c at %ld, a at %ld",
		  json_array_size(s.lines), line_of(&s, mc), line_of(&s, ma));
	err = set_param(&g, "limit", "0");
	ITH_CHECK(!err, "limit 0: %s", strerror(-err));
	ith_stream_free(&s);
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(json_array_size(s.lines) >= 3, "limit 0 shows %zu lines",
		  json_array_size(s.lines));

	err = set_param(&g, "sort", "-nosuchfield");
	ITH_CHECK(err == -EINVAL, "an unknown sort field gave %s, expected EINVAL", strerror(-err));
	status_error(&g, err_msg, sizeof(err_msg));
	ITH_CHECK(strstr(err_msg, "nosuchfield"), "status.error does not name the field: '%s'",
		  err_msg);
	get_param(&g, "sort", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "-wbytes"), "params/sort changed to '%s' by a refused write", v);
	ret = 0;
out:
	unlink(ma);
	unlink(mb);
	unlink(mc);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/*
 * Opening stats of a stopped gadget starts it; the open returns after the
 * first interval (not before) with a table; the last close stops it again.
 */
static int test_top_file_autostart(struct ith_mount *m)
{
	char marker[128], why[1024], p[PATH_MAX + 16], state[32];
	struct ith_buf raw = {};
	struct ith_gadget g;
	struct ith_stream s;
	pid_t writer = -1;
	int64_t t0, took;
	int ret = -1, fd = -1;
	json_t *st = NULL;

	ith_stream_init(&s, -1);
	ith_marker(marker, sizeof(marker));
	ith_gadget_paths(m, TOP_FILE, &g);
	stats_path(&g, p, sizeof(p));
	ITH_CHECK(!set_param(&g, "interval", "1s"), "set interval");
	writer = spawn_writer(marker);
	ITH_CHECK(writer > 0, "fork: %m");

	t0 = ith_now_ms();
	fd = open(p, O_RDONLY | O_CLOEXEC);
	took = ith_now_ms() - t0;
	ITH_CHECK(fd >= 0, "open stats of a stopped gadget: %m");
	ITH_CHECK(took >= 950, "the open returned after %lld ms, before the first 1 s interval",
		  (long long)took);
	ITH_CHECK(took <= 1000 + 3000, "the open took %lld ms for a 1 s interval", (long long)took);
	st = ith_status(&g);
	snprintf(state, sizeof(state), "%s", ith_show(ith_jstr(st, "state")));
	ITH_CHECK(!strcmp(state, "running"), "state '%s' while stats is open", state);
	ITH_CHECK(ith_jstr(st, "tables.file.time"), "status has no table time after the open");
	ITH_CHECK(!read_fd_table(fd, &raw, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(matching(&s, writer, marker, NULL) == 1,
		  "the first table has no record of the writer (%zu lines)",
		  json_array_size(s.lines));
	ITH_CHECK(jint(st, "tables.file.entries") == (json_int_t)json_array_size(s.lines),
		  "status.tables.file.entries %lld, the table has %zu lines",
		  (long long)jint(st, "tables.file.entries"), json_array_size(s.lines));
	close(fd);
	fd = -1;
	ITH_CHECK(!ith_wait_status_str(&g, "state", "stopped", 5000),
		  "the autostarted gadget still runs after its last reader closed");

	/* A periodic table ends with its run: the next open starts the gadget afresh. */
	t0 = ith_now_ms();
	fd = open(p, O_RDONLY | O_CLOEXEC);
	took = ith_now_ms() - t0;
	ITH_CHECK(fd >= 0, "second open of stats: %m");
	ITH_CHECK(took >= 950, "the second open returned after %lld ms: it served the last run's table",
		  (long long)took);
	json_decref(st);
	st = ith_status(&g);
	snprintf(state, sizeof(state), "%s", ith_show(ith_jstr(st, "state")));
	ITH_CHECK(!strcmp(state, "running"), "state '%s' while stats is open again", state);
	close(fd);
	fd = -1;
	ITH_CHECK(!ith_wait_status_str(&g, "state", "stopped", 5000),
		  "the gadget still runs after its second reader closed");
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (writer > 0)
		ith_kill_wait(writer);
	unlink(marker);
	json_decref(st);
	ith_buf_free(&raw);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* status.tables: the time of the interval served and its entry and line counts. */
static int test_top_file_status_tables(struct ith_mount *m)
{
	char marker[128], why[1024], t[64], t2[64];
	struct ith_gadget g;
	struct ith_stream s;
	pid_t writer = -1;
	json_t *st = NULL;
	struct tm tm = {};
	int ret = -1, err, ms = 0;
	int64_t when, now;
	size_t n;

	ith_stream_init(&s, -1);
	ith_marker(marker, sizeof(marker));
	ith_gadget_paths(m, TOP_FILE, &g);
	err = start_with_interval(&g, INTERVAL);
	ITH_CHECK(!err, "start top_file: %s", strerror(-err));
	writer = spawn_writer(marker);
	ITH_CHECK(writer > 0, "fork: %m");
	ITH_CHECK(!wait_record(&g, writer, marker, why, sizeof(why)), "%s", why);

	/* A table and the status of that same interval. */
	for (;;) {
		ith_stream_free(&s);
		ITH_CHECK(!take_table(&g, "file", NULL, &s, t, sizeof(t), why, sizeof(why)), "%s",
			  why);
		json_decref(st);
		st = ith_status(&g);
		if (!strcmp(ith_show(ith_jstr(st, "tables.file.time")), t))
			break;
	}
	n = json_array_size(s.lines);
	ITH_CHECK(!strcmp(ith_show(ith_jstr(st, "tables.file.kind")), "mapiter"),
		  "status.tables.file.kind is '%s'", ith_show(ith_jstr(st, "tables.file.kind")));
	ITH_CHECK(jint(st, "tables.file.entries") == (json_int_t)n &&
			  jint(st, "tables.file.lines") == (json_int_t)n,
		  "status.tables.file entries %lld lines %lld, the table has %zu lines",
		  (long long)jint(st, "tables.file.entries"),
		  (long long)jint(st, "tables.file.lines"), n);
	/* The interval ended within the last few seconds. */
	ITH_CHECK(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7 &&
			  ends_with(t, "Z"),
		  "table time '%s' is not RFC 3339 UTC", t);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	when = (int64_t)timegm(&tm) * 1000 + ms;
	now = ith_realtime_ns() / 1000000;
	ITH_CHECK(when <= now + 50 && now - when < 5000, "table time '%s' is %lld ms from now", t,
		  (long long)(now - when));

	/* limit: lines is cut, entries still counts the whole interval. */
	ITH_CHECK(!set_param(&g, "limit", "1"), "limit 1");
	for (;;) {
		ith_stream_free(&s);
		ITH_CHECK(!take_table(&g, "file", NULL, &s, t2, sizeof(t2), why, sizeof(why)), "%s",
			  why);
		json_decref(st);
		st = ith_status(&g);
		if (!strcmp(ith_show(ith_jstr(st, "tables.file.time")), t2))
			break;
	}
	ITH_CHECK(json_array_size(s.lines) == 1 && jint(st, "tables.file.lines") == 1 &&
			  jint(st, "tables.file.entries") >= 1,
		  "limit 1: %zu lines, status lines %lld entries %lld", json_array_size(s.lines),
		  (long long)jint(st, "tables.file.lines"),
		  (long long)jint(st, "tables.file.entries"));
	ret = 0;
out:
	if (writer > 0)
		ith_kill_wait(writer);
	unlink(marker);
	json_decref(st);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* ----- profile_cpu ----- */

/*
 * The burner's user-space work: a plain loop, so that samples land in this
 * function itself (frame [0] is its own address, resolved from the test
 * binary's symbol table).
 */
__attribute__((noinline, used)) static void igfs_it_burn_user(int ms)
{
	int64_t end = ith_now_ms() + ms;
	volatile uint64_t x = 0;
	int i;

	while (ith_now_ms() < end)
		for (i = 0; i < 200000; i++)
			x += (uint64_t)i;
	(void)x; /* volatile: the loop must not be optimised away */
}

/* The burner's kernel work: reading /dev/zero (read_zero, vfs_read, ...). */
__attribute__((noinline, used)) static void igfs_it_burn_kernel(int fd, int ms)
{
	static char buf[65536];
	int64_t end = ith_now_ms() + ms;

	while (ith_now_ms() < end)
		if (read(fd, buf, sizeof(buf)) < 0)
			break;
}

/* A child burning CPU in user space and in the kernel until killed. */
static pid_t spawn_burner(void)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	set_comm(BURNER_COMM);
	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	for (;;) {
		igfs_it_burn_user(20);
		igfs_it_burn_kernel(fd, 20);
	}
}

struct burn_view {
	json_int_t samples; /* sum over the burner's lines */
	size_t lines;	    /* lines of the burner */
	bool user_symbol;   /* a user stack with [0]igfs_it_burn_user */
	bool kernel_read;   /* a kernel stack with [0]... and a read function */
	char bad[768];	    /* the first malformed line of the burner, if any */
};

/* What a profile_cpu table says about the burner @pid (exe inode @ino). */
static void burn_view(const struct ith_stream *s, pid_t pid, json_int_t ino, bool ustacks,
		      struct burn_view *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < json_array_size(s->lines); i++) {
		json_t *l = json_array_get(s->lines, i);
		const char *ks = ith_jstr(l, "kern_stack"), *us = ith_jstr(l, "user_stack_raw.symbols");
		json_int_t n = jint(l, "samples");
		bool ok;

		if (jint(l, "proc.pid") != pid)
			continue;
		v->lines++;
		v->samples += n > 0 ? n : 0;
		ok = n > 0 && jint(l, "proc.tid") == pid &&
		     !strcmp(ith_show(ith_jstr(l, "proc.comm")), BURNER_COMM) && ks && us &&
		     (ustacks ? jint(l, "user_stack_raw.exe_inode") == ino &&
					jint(l, "user_stack_raw.pid_level0") == pid
			      : jint(l, "user_stack_raw.exe_inode") == 0 && !*us &&
					!*ith_show(ith_jstr(l, "user_stack_raw.addresses"))) &&
		     /* A kernel frame comes with the sampled kernel address. */
		     (!*ks || (!strncmp(ks, "[0]", 3) && jint(l, "kernel_ip") != 0));
		if (!ok && !v->bad[0]) {
			char *dump = json_dumps(l, JSON_COMPACT);

			snprintf(v->bad, sizeof(v->bad), "%s", ith_show(dump));
			free(dump);
		}
		if (us && strstr(us, "[0]igfs_it_burn_user; "))
			v->user_symbol = true;
		if (ks && !strncmp(ks, "[0]", 3) && strstr(ks, "read") && !strstr(ks, "[unknown]"))
			v->kernel_read = true;
	}
}

/* Poll stats until the burner has @min samples and the stacks @want. */
static int wait_burn(const struct ith_gadget *g, pid_t pid, json_int_t ino, bool ustacks,
		     json_int_t min, struct burn_view *v, char *why, size_t len)
{
	int64_t deadline = ith_now_ms() + 15000;

	for (;;) {
		struct ith_stream s;

		if (read_table(g, &s, why, len)) {
			ith_stream_free(&s);
			return -1;
		}
		burn_view(&s, pid, ino, ustacks, v);
		ith_stream_free(&s);
		if (v->bad[0]) {
			snprintf(why, len, "malformed line for the burner: %s", v->bad);
			return -1;
		}
		if (v->samples >= min && v->kernel_read && (!ustacks || v->user_symbol))
			return 0;
		if (ith_now_ms() >= deadline) {
			snprintf(why, len,
				 "after 15 s: %lld samples in %zu lines, user symbol %s, kernel "
				 "read stack %s",
				 (long long)v->samples, v->lines, v->user_symbol ? "yes" : "no",
				 v->kernel_read ? "yes" : "no");
			return -1;
		}
		ith_sleep_ms(300);
	}
}

/*
 * Sampled stacks of a CPU-burning child: samples accumulate across opens
 * (interval 0 from the gadget's paramDefaults), kernel stacks are named from
 * kallsyms, user stacks from the test binary's symbols, -samples sorts, and
 * the table taken at stop stays readable (autostart=0).
 */
static int test_profile_cpu_stacks(struct ith_mount *m)
{
	char why[1024], v[64];
	struct burn_view b1, b2;
	struct ith_gadget g;
	struct ith_stream s;
	struct stat exe;
	pid_t burner = -1;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, PROFILE_CPU, &g);
	ITH_CHECK(!stat("/proc/self/exe", &exe), "stat /proc/self/exe: %m");
	get_param(&g, "interval", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "0ms"),
		  "params/interval reads '%s', expected the gadget's default 0ms", v);
	burner = spawn_burner();
	ITH_CHECK(burner > 0, "fork: %m");
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start profile_cpu: %s", strerror(-err));

	ITH_CHECK(!wait_burn(&g, burner, (json_int_t)exe.st_ino, true, 20, &b1, why, sizeof(why)),
		  "%s", why);
	ith_sleep_ms(500);
	ITH_CHECK(!wait_burn(&g, burner, (json_int_t)exe.st_ino, true, b1.samples + 1, &b2, why,
			     sizeof(why)),
		  "samples do not accumulate across opens: %s", why);

	err = set_param(&g, "sort", "-samples");
	ITH_CHECK(!err, "sort -samples: %s", strerror(-err));
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "%s", why);
	ITH_CHECK(ordered_by(&s, "-samples", why, sizeof(why)), "%s", why);
	burn_view(&s, burner, (json_int_t)exe.st_ino, true, &b1);
	ITH_CHECK(b1.samples >= b2.samples, "sorted table: %lld samples, earlier %lld",
		  (long long)b1.samples, (long long)b2.samples);

	/* The dump taken at stop (flush-on-stop) is served after the stop. */
	err = ith_ctl(&g, "stop");
	ITH_CHECK(!err, "stop: %s", strerror(-err));
	ith_stream_free(&s);
	ITH_CHECK(!read_table(&g, &s, why, sizeof(why)), "after stop: %s", why);
	burn_view(&s, burner, (json_int_t)exe.st_ino, true, &b2);
	ITH_CHECK(b2.samples >= b1.samples && b2.user_symbol && b2.kernel_read,
		  "after stop: %lld samples (before %lld), user symbol %s, kernel read stack %s",
		  (long long)b2.samples, (long long)b1.samples, b2.user_symbol ? "yes" : "no",
		  b2.kernel_read ? "yes" : "no");
	ITH_CHECK(ordered_by(&s, "-samples", why, sizeof(why)), "after stop: %s", why);
	ret = 0;
out:
	if (burner > 0)
		ith_kill_wait(burner);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* kernel-stacks-only: no user stack at all, kernel stacks still named. */
static int test_profile_cpu_kernel_only(struct ith_mount *m)
{
	char why[1024];
	struct burn_view b;
	struct ith_gadget g;
	pid_t burner = -1;
	int ret = -1, err;

	ith_gadget_paths(m, PROFILE_CPU, &g);
	burner = spawn_burner();
	ITH_CHECK(burner > 0, "fork: %m");
	err = ith_ctl(&g, "start kernel-stacks-only=true");
	ITH_CHECK(!err, "start profile_cpu kernel-stacks-only=true: %s", strerror(-err));
	ITH_CHECK(!wait_burn(&g, burner, 0, false, 10, &b, why, sizeof(why)), "%s", why);
	ret = 0;
out:
	if (burner > 0)
		ith_kill_wait(burner);
	ith_ctl(&g, "stop");
	return ret;
}

static const struct ith_test tests[] = {
	{"top_file_counts", NULL, NULL, 40000, test_top_file_counts},
	{"top_file_per_interval", NULL, NULL, 40000, test_top_file_per_interval},
	{"top_file_two_readers", NULL, "cat", 40000, test_top_file_two_readers},
	{"top_file_interval0", "autostart=0", NULL, 30000, test_top_file_interval0},
	{"top_file_sort_limit", NULL, NULL, 30000, test_top_file_sort_limit},
	{"top_file_autostart", NULL, NULL, 30000, test_top_file_autostart},
	{"top_file_status_tables", NULL, NULL, 40000, test_top_file_status_tables},
	{"profile_cpu_stacks", "autostart=0", NULL, 45000, test_profile_cpu_stacks},
	{"profile_cpu_kernel_only", NULL, NULL, 40000, test_profile_cpu_kernel_only},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
