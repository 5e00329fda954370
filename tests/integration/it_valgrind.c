// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The daemon under valgrind's memcheck (SPEC §10): start/stop cycles of two
 * gadgets with 8 readers of the first one's events, each reopening after
 * every stop's EOF, then an unmount. memcheck must report no error and no
 * definite or indirect leak. Uses the harness's mount point: the plain daemon
 * it mounted is unmounted and replaced by one under valgrind.
 *
 * Two pairs of gadgets. The fixtures nocore_trace (tracer, events) and
 * nocore_count (map iterator, stats) load without the kernel's BTF, so a
 * start costs little under memcheck: they run the 100 cycles. The bundled
 * trace_open (CO-RE) and snapshot_process (iter/task) make libbpf parse the
 * kernel's BTF at every start (~10 s under memcheck): they run one cycle.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define VG_COMM		"igfs-vg" /* the marker opener's comm, the gadgets' filter */
#define READER_COMM	"igfs-vg-rd"
#define NREADERS	8
#define MARKS		3      /* marker opens per cycle */
#define VG_START_MS	180000 /* mount under valgrind: the kernel BTF is slow there */
#define VG_STEP_MS	120000 /* one ctl write, one reader round */
#define VG_EXIT_MS	180000 /* unmount to exit, leak check included */
#define CYCLE_MS	5000   /* budget per fixture cycle (~0.5 s measured) */
#define BUNDLED_MS	60000  /* budget per bundled cycle (~25 s measured) */
#define DEFAULT_CYCLES	100
#define DEFAULT_BUNDLED 1
#define FIXTURE_IMAGES	IGFS_BUILD_DIR "/tests/fixtures/images"

/* IGFS_VALGRIND_CYCLES, IGFS_VALGRIND_BUNDLED_CYCLES: counts of either pair. */
static int env_count(const char *name, int def)
{
	const char *e = getenv(name);
	char *end;
	long v;

	if (!e || !*e)
		return def;
	v = strtol(e, &end, 10);
	return !*end && v >= 0 && v <= 10000 ? (int)v : def;
}

/* The source tree, from the build tree's CMakeCache.txt. */
static int source_dir(char *buf, size_t len)
{
	static const char key[] = "CMAKE_HOME_DIRECTORY:INTERNAL=";
	char line[PATH_MAX + 64];
	int ret = -ENOENT;
	FILE *f;

	f = fopen(IGFS_BUILD_DIR "/CMakeCache.txt", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (strncmp(line, key, sizeof(key) - 1))
			continue;
		line[strcspn(line, "\n")] = '\0';
		n = strlen(line + sizeof(key) - 1);
		if (n < len) {
			memcpy(buf, line + sizeof(key) - 1, n + 1);
			ret = 0;
		}
		break;
	}
	fclose(f);
	return ret;
}

/* ----- readers: one process each, a round per cycle ----- */

/* A reader's report of one round. */
struct round {
	int cycle;
	int marks; /* lines naming the cycle's marker */
	int lost;  /* {"lost":N} lines */
	long bytes;
	int err; /* errno of open or read, 0 at EOF */
};

/* What a reader reads in one round: the cycle and the events file. */
struct order {
	int cycle;
	char events[1024];
};

struct reader {
	pid_t pid;
	int cmd; /* parent → reader: a struct order per round */
	int res; /* reader → parent: a struct round per round */
};

static int count_marks(const char *buf, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	const char *p = buf, *end = buf + len;
	int n = 0;

	while (p < end && (p = memmem(p, (size_t)(end - p), needle, nl))) {
		n++;
		p += nl;
	}
	return n;
}

/*
 * Per round: read an order, open its events file, read to EOF, report. The
 * marker of cycle c is "<prefix>-c\"" in the fname field.
 */
static void reader_main(const char *prefix, int cmd, int res)
{
	static char buf[1 << 20];

	prctl(PR_SET_NAME, READER_COMM, 0, 0, 0);
	for (;;) {
		struct order o;
		struct round r = {};
		char needle[300];
		size_t have = 0;
		int fd;

		/* Smaller than PIPE_BUF: one write, one read. */
		if (read(cmd, &o, sizeof(o)) != (ssize_t)sizeof(o))
			_exit(0);
		o.events[sizeof(o.events) - 1] = '\0';
		r.cycle = o.cycle;
		snprintf(needle, sizeof(needle), "\"fname\":\"%s-%d\"", prefix, r.cycle);
		fd = open(o.events, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r.err = errno;
		} else {
			for (;;) {
				ssize_t n = read(fd, buf + have, sizeof(buf) - have - 1);

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					r.err = n < 0 ? errno : 0;
					break;
				}
				r.bytes += n;
				have += (size_t)n;
				/* Count whole lines only; keep a partial one for the next read. */
				{
					char *last = memrchr(buf, '\n', have);
					size_t done = last ? (size_t)(last - buf) + 1 : 0;

					r.marks += count_marks(buf, done, needle);
					r.lost += count_marks(buf, done, "{\"lost\":");
					memmove(buf, buf + done, have - done);
					have -= done;
					if (have == sizeof(buf) - 1)
						have = 0;
				}
			}
			close(fd);
		}
		if (write(res, &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(3);
	}
}

static int readers_spawn(struct reader *rd, const char *prefix)
{
	int i;

	for (i = 0; i < NREADERS; i++) {
		int c[2], r[2];

		if (pipe2(c, O_CLOEXEC) || pipe2(r, O_CLOEXEC))
			return -errno;
		rd[i].pid = fork();
		if (rd[i].pid < 0)
			return -errno;
		if (!rd[i].pid) {
			int j;

			signal(SIGPIPE, SIG_DFL);
			for (j = 0; j < i; j++) {
				close(rd[j].cmd);
				close(rd[j].res);
			}
			close(c[1]);
			close(r[0]);
			reader_main(prefix, c[0], r[1]);
			_exit(0);
		}
		close(c[0]);
		close(r[1]);
		rd[i].cmd = c[1];
		rd[i].res = r[0];
	}
	return 0;
}

static void readers_end(struct reader *rd)
{
	int i;

	for (i = 0; i < NREADERS; i++) {
		if (rd[i].cmd >= 0)
			close(rd[i].cmd);
		if (rd[i].res >= 0)
			close(rd[i].res);
		rd[i].cmd = rd[i].res = -1;
		if (rd[i].pid > 0 && ith_wait_pid(rd[i].pid, 2000, NULL))
			ith_kill_wait(rd[i].pid);
		rd[i].pid = -1;
	}
}

/* ----- the daemon under valgrind ----- */

/* valgrind igfs -f ... @dir, output appended to @log, memcheck's to @vglog. */
static pid_t spawn_valgrind(const char *dir, const char *log, const char *vglog, const char *supp)
{
	char vg[PATH_MAX], logopt[2 * PATH_MAX], suppopt[2 * PATH_MAX], gopt[3 * PATH_MAX];
	const char *argv[] = {
		vg,
		"--leak-check=full",
		"--errors-for-leak-kinds=definite,indirect",
		"--error-exitcode=99",
		suppopt,
		logopt,
		"--num-callers=30",
		IGFS_BIN,
		"-f",
		"-o",
		gopt,
		dir,
		NULL,
	};
	pid_t pid;
	int fd;

	if (!ith_which("valgrind", vg, sizeof(vg)))
		return -1;
	snprintf(suppopt, sizeof(suppopt), "--suppressions=%s", supp);
	snprintf(logopt, sizeof(logopt), "--log-file=%s", vglog);
	/*
	 * autostart=0: the readers' reopens after a stop must not start the
	 * gadget. Image files as gadgets directories: only the two fixtures.
	 */
	snprintf(gopt, sizeof(gopt),
		 "gadgets=%s/gadgets/images,gadgets=%s/nocore_trace.tar,"
		 "gadgets=%s/nocore_count.tar,autostart=0,backlog=256K",
		 IGFS_BUILD_DIR, FIXTURE_IMAGES, FIXTURE_IMAGES);
	fprintf(stderr, "valgrind: %s %s %s %s %s %s -f -o %s %s\n", argv[1], argv[2], argv[3],
		suppopt, logopt, IGFS_BIN, gopt, dir);
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	pid = fork();
	if (!pid) {
		int devnull = open("/dev/null", O_RDONLY);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(devnull, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(vg, (char *const *)argv);
		_exit(127);
	}
	close(fd);
	return pid;
}

/* A line of memcheck's log that contains @what, copied to @buf ("" if none). */
static void vg_line(const char *text, const char *what, char *buf, size_t len)
{
	const char *p = strstr(text, what), *s, *e;

	buf[0] = '\0';
	if (!p)
		return;
	for (s = p; s > text && s[-1] != '\n'; s--)
		;
	e = strchr(p, '\n');
	snprintf(buf, len, "%.*s", (int)(e ? e - s : (ptrdiff_t)strlen(s)), s);
}

static int check_vglog(const char *vglog)
{
	char errs[512], def[512], ind[512], freed[512];
	struct ith_buf b = {};
	int ret = -1, err;

	err = ith_read_file(vglog, &b, 5000);
	ITH_CHECK(!err && b.data, "cannot read memcheck's log '%s': %s", vglog, strerror(-err));
	vg_line(b.data, "ERROR SUMMARY:", errs, sizeof(errs));
	vg_line(b.data, "definitely lost:", def, sizeof(def));
	vg_line(b.data, "indirectly lost:", ind, sizeof(ind));
	vg_line(b.data, "All heap blocks were freed", freed, sizeof(freed));
	fprintf(stderr, "memcheck: %s\n", errs);
	fprintf(stderr, "memcheck: %s\n", freed[0] ? freed : def);
	if (ind[0])
		fprintf(stderr, "memcheck: %s\n", ind);
	ITH_CHECK(strstr(errs, "ERROR SUMMARY: 0 errors"), "memcheck reports errors (see %s)",
		  vglog);
	ITH_CHECK(freed[0] || (strstr(def, "definitely lost: 0 bytes") &&
			       strstr(ind, "indirectly lost: 0 bytes")),
		  "memcheck reports definite or indirect leaks (see %s)", vglog);
	ret = 0;
out:
	if (ret)
		ith_log_dump(vglog, 80);
	ith_buf_free(&b);
	return ret;
}

static int fusermount_u(const char *dir)
{
	const char *argv[] = {"fusermount3", "-u", dir, NULL};
	int st = 0, err;

	err = ith_run(argv, 10000, NULL, &st);
	return !err && WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}

/* One pair of gadgets: a tracer whose events the readers read, and a table. */
struct pair {
	const char *tracer; /* started with comm=VG_COMM */
	const char *table;  /* its gadget */
	const char *file;   /* "stats" or "snapshot" */
	const char *start;  /* the table gadget's start command */
	/* The line of this process in the table, and what it must hold. */
	bool (*check)(json_t *line, char *why, size_t len);
};

/* nocore_count: this process's opens of the cycle, exactly. */
static bool check_count(json_t *line, char *why, size_t len)
{
	json_int_t n = ith_jint(line, "opens");

	snprintf(why, len, "opens %lld, comm '%s'", (long long)n, ith_show(ith_jstr(line, "comm")));
	return n == MARKS && ith_str_is(ith_jstr(line, "comm"), VG_COMM);
}

/* snapshot_process: this process is there. */
static bool check_process(json_t *line, char *why, size_t len)
{
	snprintf(why, len, "comm '%s'", ith_show(ith_jstr(line, "comm")));
	return true;
}

static const struct pair fixtures = {
	"nocore_trace", "nocore_count", "stats", "start comm=" VG_COMM, check_count,
};
static const struct pair bundled = {
	"trace_open", "snapshot_process", "snapshot", "start", check_process,
};

/* The line of @table whose "pid" is ours, checked; 0 or -1 (printed). */
static int check_table(const struct pair *p, const struct ith_buf *table, int c)
{
	struct ith_stream s;
	char why[256] = "";
	json_t *mine = NULL;
	int ret = -1;
	size_t i;

	ith_stream_init(&s, -1);
	ith_stream_feed(&s, table->data ? table->data : "", table->len);
	ITH_CHECK(!s.bad, "cycle %d: %s/%s: a bad line: %s", c, p->table, p->file, s.why);
	for (i = 0; i < json_array_size(s.lines) && !mine; i++)
		if (ith_jint(json_array_get(s.lines, i), "pid") == (json_int_t)getpid())
			mine = json_array_get(s.lines, i);
	ITH_CHECK(mine, "cycle %d: %s/%s has no line of pid %d (%zu lines)", c, p->table, p->file,
		  (int)getpid(), json_array_size(s.lines));
	ITH_CHECK(p->check(mine, why, sizeof(why)), "cycle %d: %s/%s: %s", c, p->table, p->file,
		  why);
	ret = 0;
out:
	ith_stream_free(&s);
	return ret;
}

/*
 * @n cycles of @p from cycle @first on: start both, the readers open the
 * tracer's events, marker opens, read the table, stop both, every reader
 * reports the cycle's markers and EOF. 0, or -1 after printing why.
 */
static int run_cycles(const struct ith_mount *m, const struct pair *p, struct reader *rd,
		      const char *prefix, int first, int n)
{
	char marker[160], table[PATH_MAX + 16];
	struct ith_gadget tr, tb;
	struct ith_buf snap = {};
	struct order o = {};
	int64_t t0 = ith_now_ms(), tmax = 0;
	int ret = -1, err, i, c;
	json_int_t v;

	ith_gadget_paths(m, p->tracer, &tr);
	ith_gadget_paths(m, p->table, &tb);
	snprintf(table, sizeof(table), "%s/%s", tb.dir, p->file);
	ITH_CHECK(strlen(tr.events) < sizeof(o.events), "'%s' is too long", tr.events);
	memcpy(o.events, tr.events, strlen(tr.events) + 1);
	for (c = first; c < first + n; c++) {
		int64_t tc = ith_now_ms();

		err = ith_ctl(&tr, "start comm=" VG_COMM);
		ITH_CHECK(!err, "cycle %d: start %s: %s", c, p->tracer, strerror(-err));
		err = ith_ctl(&tb, p->start);
		ITH_CHECK(!err, "cycle %d: start %s: %s", c, p->table, strerror(-err));
		o.cycle = c;
		for (i = 0; i < NREADERS; i++)
			ITH_CHECK(write(rd[i].cmd, &o, sizeof(o)) == (ssize_t)sizeof(o),
				  "cycle %d: reader %d is gone", c, i);
		/* Every reader has the new file open before the markers. */
		for (;;) {
			v = ith_status_int(&tr, "readers");
			if (v == NREADERS)
				break;
			ITH_CHECK(ith_now_ms() - tc < VG_STEP_MS,
				  "cycle %d: status.readers %lld, expected %d", c, (long long)v,
				  NREADERS);
			ith_sleep_ms(5);
		}
		snprintf(marker, sizeof(marker), "%s-%d", prefix, c);
		{
			char old[17] = "";

			prctl(PR_GET_NAME, old, 0, 0, 0);
			prctl(PR_SET_NAME, VG_COMM, 0, 0, 0);
			for (i = 0; i < MARKS; i++) {
				int fd = ith_marker_open(marker);

				if (fd >= 0)
					close(fd);
			}
			prctl(PR_SET_NAME, old, 0, 0, 0);
		}
		snap.len = 0;
		err = ith_read_file(table, &snap, VG_STEP_MS);
		ITH_CHECK(!err, "cycle %d: reading %s/%s: %s", c, p->table, p->file,
			  strerror(-err));
		ITH_CHECK(!check_table(p, &snap, c), "cycle %d: %s", c, p->file);
		for (;;) {
			v = ith_status_int(&tr, "events");
			if (v >= MARKS)
				break;
			ITH_CHECK(ith_now_ms() - tc < VG_STEP_MS, "cycle %d: status.events %lld", c,
				  (long long)v);
			ith_sleep_ms(5);
		}
		err = ith_ctl(&tr, "stop");
		ITH_CHECK(!err, "cycle %d: stop %s: %s", c, p->tracer, strerror(-err));
		err = ith_ctl(&tb, "stop");
		ITH_CHECK(!err, "cycle %d: stop %s: %s", c, p->table, strerror(-err));
		for (i = 0; i < NREADERS; i++) {
			struct pollfd pfd = {.fd = rd[i].res, .events = POLLIN};
			struct round r = {};

			ITH_CHECK(poll(&pfd, 1, VG_STEP_MS) == 1 &&
					  read(rd[i].res, &r, sizeof(r)) == (ssize_t)sizeof(r),
				  "cycle %d: reader %d did not end its round (EOF after stop)", c,
				  i);
			ITH_CHECK(r.cycle == c && !r.err && r.marks == MARKS && !r.lost,
				  "cycle %d: reader %d: cycle %d, %d markers, %d lost lines, %s", c,
				  i, r.cycle, r.marks, r.lost, r.err ? strerror(r.err) : "EOF");
		}
		tc = ith_now_ms() - tc;
		tmax = tc > tmax ? tc : tmax;
		if (c - first < 2 || c == first + n - 1)
			fprintf(stderr, "%s + %s, cycle %d: %lld ms\n", p->tracer, p->table, c,
				(long long)tc);
	}
	if (n)
		fprintf(stderr, "%s + %s: %d cycles in %lld ms (%lld ms each, slowest %lld ms)\n",
			p->tracer, p->table, n, (long long)(ith_now_ms() - t0),
			(long long)((ith_now_ms() - t0) / n), (long long)tmax);
	ret = 0;
out:
	ith_buf_free(&snap);
	return ret;
}

static int test_cycles(struct ith_mount *m)
{
	int cycles = env_count("IGFS_VALGRIND_CYCLES", DEFAULT_CYCLES);
	int nbundled = env_count("IGFS_VALGRIND_BUNDLED_CYCLES", DEFAULT_BUNDLED);
	char src[PATH_MAX], supp[PATH_MAX + 32], vglog[PATH_MAX + 16], prefix[128],
		interval[PATH_MAX + 32];
	struct reader rd[NREADERS];
	struct ith_gadget to, nc;
	int64_t t0 = ith_now_ms();
	int ret = -1, err, i;

	for (i = 0; i < NREADERS; i++)
		rd[i] = (struct reader){.pid = -1, .cmd = -1, .res = -1};
	err = source_dir(src, sizeof(src));
	ITH_CHECK(!err, "no source directory in CMakeCache.txt");
	snprintf(supp, sizeof(supp), "%s/tests/valgrind.supp", src);
	ITH_CHECK(!access(supp, R_OK), "'%s': %m", supp);
	/* Not "<log>.*": the harness scans those for "ERROR", which memcheck always prints. */
	snprintf(vglog, sizeof(vglog), "%.*s-memcheck.txt",
		 (int)(strlen(m->log) > 4 ? strlen(m->log) - 4 : strlen(m->log)), m->log);
	unlink(vglog);

	/* Replace the harness's daemon by one under valgrind, on the same directory. */
	ITH_CHECK(!fusermount_u(m->dir), "fusermount3 -u of the plain daemon failed");
	err = ith_wait_daemon(m, 5000);
	ITH_CHECK(!err && WIFEXITED(m->wstatus) && !WEXITSTATUS(m->wstatus),
		  "the plain daemon did not exit cleanly");
	m->pid = spawn_valgrind(m->dir, m->log, vglog, supp);
	ITH_CHECK(m->pid > 0, "cannot run valgrind");
	ith_gadget_paths(m, bundled.tracer, &to);
	ith_gadget_paths(m, fixtures.table, &nc);
	for (;;) {
		struct stat st;

		if (ith_mounted(m->dir) && !stat(to.ctl, &st) && !stat(nc.ctl, &st))
			break;
		ITH_CHECK(ith_wait_daemon(m, 0),
			  "igfs under valgrind exited (0x%x) before mounting", m->wstatus);
		ITH_CHECK(ith_now_ms() - t0 < VG_START_MS, "not mounted within %d ms", VG_START_MS);
		ith_sleep_ms(100);
	}
	fprintf(stderr, "mounted under valgrind in %lld ms\n", (long long)(ith_now_ms() - t0));
	/* interval 0: every open of stats dumps the map as it is now (SPEC §8). */
	snprintf(interval, sizeof(interval), "%s/interval", nc.params);
	err = ith_write_file(interval, "0", 1);
	ITH_CHECK(!err, "nocore_count/params/interval <- 0: %s", strerror(-err));

	ith_marker(prefix, sizeof(prefix));
	err = readers_spawn(rd, prefix);
	ITH_CHECK(!err, "readers: %s", strerror(-err));
	ITH_CHECK(!run_cycles(m, &fixtures, rd, prefix, 0, cycles), "fixture cycles");
	ITH_CHECK(!run_cycles(m, &bundled, rd, prefix, cycles, nbundled), "bundled cycles");
	readers_end(rd);

	{
		int64_t tu = ith_now_ms();

		ITH_CHECK(!fusermount_u(m->dir), "fusermount3 -u failed");
		err = ith_wait_daemon(m, VG_EXIT_MS);
		ITH_CHECK(!err, "igfs under valgrind still running %d ms after the unmount",
			  VG_EXIT_MS);
		fprintf(stderr, "unmount to exit (leak check included): %lld ms\n",
			(long long)(ith_now_ms() - tu));
	}
	fprintf(stderr, "valgrind run: %d + %d cycles, %lld ms in all\n", cycles, nbundled,
		(long long)(ith_now_ms() - t0));
	ITH_CHECK(!check_vglog(vglog), "memcheck");
	ITH_CHECK(WIFEXITED(m->wstatus) && !WEXITSTATUS(m->wstatus),
		  "igfs under valgrind ended with wait status 0x%x (99: memcheck errors)",
		  m->wstatus);
	ret = 0;
out:
	readers_end(rd);
	return ret;
}

int main(int argc, char **argv)
{
	/* The budget follows the number of cycles. */
	struct ith_test tests[] = {
		{"cycles", NULL, "valgrind", 0, test_cycles},
	};

	tests[0].budget_ms =
		VG_START_MS + VG_EXIT_MS +
		env_count("IGFS_VALGRIND_CYCLES", DEFAULT_CYCLES) * CYCLE_MS +
		env_count("IGFS_VALGRIND_BUNDLED_CYCLES", DEFAULT_BUNDLED) * BUNDLED_MS;
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
