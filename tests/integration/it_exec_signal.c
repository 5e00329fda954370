// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Integration tests of the bundled trace_exec and trace_signal gadgets: the
 * test execs programs and sends signals of its own (children, threads, pids
 * that cannot exist) and checks the field values of the events they cause,
 * and that each param filters what it says. Root, BPF and FUSE; each test
 * mounts its own igfs (harness.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define EXEC_COMM     "igfs-it-exec" /* the test's comm: the parent of its execs */
#define SIG_COMM      "igfs-it-sig"  /* the sender's comm in signal events */
#define ECHO	      "/bin/echo"
#define EVENT_WAIT_MS 5000 /* an event reaches a reader */
#define CHILD_WAIT_MS 5000 /* a child exits */
#define MAX_SKEW_NS   (10LL * 1000000000)
#define ARGS_LEN      4096 /* trace_exec's args buffer, the NUL included */
#define ARGS_MAX      20   /* arguments trace_exec looks at */
/* PID_MAX_LIMIT is 4194304 (2^22): a pid above it never exists, so kill() gives ESRCH. */
#define NX_PID_BASE (4194304 + 1000)

extern char **environ;

/* ----- JSON helpers ----- */

/* A bool field: 1 true, 0 false, -1 missing or not a bool. */
static int jbool(json_t *obj, const char *path)
{
	json_t *v = ith_get(obj, path);

	return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* A line as text, for messages (static buffer). */
static const char *line_text(json_t *l)
{
	static char buf[8192];
	char *s = json_dumps(l, JSON_COMPACT | JSON_PRESERVE_ORDER);

	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	free(s);
	return buf;
}

/* ----- matching lines ----- */

typedef bool line_match_fn(json_t *l, const void *arg);

struct matcher {
	line_match_fn *fn;
	const void *arg;
};

static json_t *find_line(const struct ith_stream *s, line_match_fn *fn, const void *arg, size_t nth)
{
	size_t i;

	for (i = 0; i < json_array_size(s->lines); i++) {
		json_t *l = json_array_get(s->lines, i);

		if (fn(l, arg) && !nth--)
			return l;
	}
	return NULL;
}

static size_t count_lines(const struct ith_stream *s, line_match_fn *fn, const void *arg)
{
	size_t n = 0;

	while (find_line(s, fn, arg, n))
		n++;
	return n;
}

static bool has_match(const struct ith_stream *s, const void *arg)
{
	const struct matcher *m = arg;

	return find_line(s, m->fn, m->arg, 0) != NULL;
}

/* Read until a line matches; the line (borrowed from @s) or NULL after the deadline. */
static json_t *wait_line(struct ith_stream *s, line_match_fn *fn, const void *arg)
{
	struct matcher m = {fn, arg};

	if (ith_stream_until(s, EVENT_WAIT_MS, has_match, &m))
		return NULL;
	return find_line(s, fn, arg, 0);
}

/* Every line so far was a JSON object. */
static bool stream_clean(const struct ith_stream *s)
{
	if (s->bad)
		fprintf(stderr, "%zu bad line(s); first: %.400s\n", s->bad, s->why);
	return !s->bad;
}

/* ----- common checks ----- */

/* "timestamp" is RFC 3339 with 9 fractional digits and timestamp_raw is close to now. */
static bool check_time(json_t *l)
{
	const char *ts = ith_jstr(l, "timestamp");
	json_int_t raw = ith_jint(l, "timestamp_raw");
	long long diff = (long long)raw - ith_realtime_ns();
	const char *dot = ts ? strchr(ts, '.') : NULL;

	if (!ts || strlen(ts) < 30 || ts[10] != 'T' || !dot || strspn(dot + 1, "0123456789") != 9) {
		fprintf(stderr, "bad timestamp '%s'\n", ith_show(ts));
		return false;
	}
	if (raw <= 0 || diff > MAX_SKEW_NS || diff < -MAX_SKEW_NS) {
		fprintf(stderr, "timestamp_raw %lld is not close to now\n", (long long)raw);
		return false;
	}
	return true;
}

/* The user name igfs shows for @uid: the passwd name, else "uid:N" (IG's resolver). */
static void user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid:%u", (unsigned)uid);
}

static long long read_proc_num(const char *path)
{
	struct ith_buf b = {};
	long long v = -1;

	if (!ith_read_file(path, &b, 2000) && b.data)
		v = strtoll(b.data, NULL, 10);
	ith_buf_free(&b);
	return v;
}

static int set_comm(const char *comm)
{
	return prctl(PR_SET_NAME, comm, 0, 0, 0) ? -errno : 0;
}

/* A pid that cannot exist, distinct per test process. */
static pid_t nx_pid(int k)
{
	return NX_PID_BASE + (getpid() % 100000) * 4 + k;
}

/* ctl start with @params, then open events into @s. 0 or -1 (printed). */
static int start_gadget(struct ith_mount *m, const char *name, const char *params,
			struct ith_gadget *g, struct ith_stream *s)
{
	char cmd[512];
	int err, fd;

	ith_gadget_paths(m, name, g);
	snprintf(cmd, sizeof(cmd), "start%s%s", params ? " " : "", params ? params : "");
	err = ith_ctl(g, cmd);
	if (err) {
		fprintf(stderr, "'%s' on %s failed: %s\n", cmd, name, strerror(-err));
		return -1;
	}
	fd = open(g->events, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", g->events, strerror(errno));
		return -1;
	}
	s->fd = fd;
	return 0;
}

static void stop_gadget(struct ith_gadget *g, struct ith_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (g->ctl[0])
		ith_ctl(g, "stop");
}

/* status.params.@key as a JSON value (caller decrefs), or NULL. */
static json_t *status_param(const struct ith_gadget *g, const char *key)
{
	json_t *st = ith_status(g), *v = NULL;

	v = json_object_get(json_object_get(st, "params"), key);
	json_incref(v);
	json_decref(st);
	return v;
}

/* ----- exec: children that exec ----- */

struct exec_thread_arg {
	const char *path;
	char *const *argv;
};

static void *exec_thread(void *p)
{
	const struct exec_thread_arg *a = p;

	execve(a->path, a->argv, environ);
	_exit(127);
}

enum exec_how {
	EXEC_PLAIN,  /* execve(path) */
	EXEC_AT,     /* execveat(open("/bin"), path) */
	EXEC_THREAD, /* execve(path) from a second thread */
};

/*
 * Fork a child that waits for a byte on @gate (unless -1), then execs @path
 * with @argv, stdio on /dev/null; exit 127 when the exec fails. The pid or -1.
 */
static pid_t exec_child(const char *path, char *const argv[], enum exec_how how, int gate)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (gate >= 0) {
		char c;

		if (read(gate, &c, 1) != 1)
			_exit(126);
	}
	if (how == EXEC_AT) {
		int dir = open("/bin", O_PATH | O_DIRECTORY);

		syscall(SYS_execveat, dir, path, argv, environ, 0);
	} else if (how == EXEC_THREAD) {
		struct exec_thread_arg a = {path, argv};
		pthread_t t;

		if (!pthread_create(&t, NULL, exec_thread, &a))
			pthread_join(t, NULL);
	} else {
		execve(path, argv, environ);
	}
	_exit(127);
}

/* Run exec_child to its end; the pid, or -1 (printed) when it failed or hung. */
static pid_t run_exec(const char *path, char *const argv[], enum exec_how how, int want_code)
{
	pid_t pid = exec_child(path, argv, how, -1);
	int st = 0;

	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (ith_wait_pid(pid, CHILD_WAIT_MS, &st)) {
		fprintf(stderr, "child %d ('%s') did not exit\n", (int)pid, path);
		ith_kill_wait(pid);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want_code) {
		fprintf(stderr, "child %d ('%s') ended with status 0x%x, expected exit %d\n",
			(int)pid, path, st, want_code);
		return -1;
	}
	return pid;
}

/* An exec event of process @pid with filename @filename. */
struct exec_want {
	pid_t pid;
	const char *filename;
};

static bool is_exec(json_t *l, const void *arg)
{
	const struct exec_want *w = arg;

	return ith_jint(l, "proc.pid") == w->pid && ith_str_is(ith_jstr(l, "filename"), w->filename);
}

/* Any event of process @pid. */
static bool is_pid(json_t *l, const void *arg)
{
	return ith_jint(l, "proc.pid") == *(const pid_t *)arg;
}

/* argv joined by single spaces, as trace_exec shows it. */
static void join_args(char *const argv[], char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; argv[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
}

static void make_marker(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Fixed length (25 bytes), so that the argument layout of a test never varies. */
	snprintf(buf, len, "igfs-it-%07d-%09ld", (int)getpid() % 10000000, ts.tv_nsec % 1000000000);
}

/*
 * The fields every exec event of ours has: pid, tid, ppid and the parent's
 * comm (this test), comm, creds, loginuid, sessionid, time, error.
 */
static bool check_exec_common(json_t *l, pid_t pid, const char *comm, const char *error,
			      int error_raw)
{
	char user[64], login[64];
	long long loginuid = read_proc_num("/proc/self/loginuid");
	long long sessionid = read_proc_num("/proc/self/sessionid");
	struct stat ns;

	user_name(getuid(), user, sizeof(user));
	user_name((uid_t)loginuid, login, sizeof(login));
	if (ith_jint(l, "proc.pid") != pid || ith_jint(l, "proc.tid") != pid) {
		fprintf(stderr, "proc.pid/tid %lld/%lld, expected %d\n",
			(long long)ith_jint(l, "proc.pid"), (long long)ith_jint(l, "proc.tid"), (int)pid);
		return false;
	}
	if (ith_jint(l, "proc.parent.pid") != getpid() ||
	    !ith_str_is(ith_jstr(l, "proc.parent.comm"), EXEC_COMM)) {
		fprintf(stderr, "proc.parent %lld '%s', expected %d '%s'\n",
			(long long)ith_jint(l, "proc.parent.pid"), ith_show(ith_jstr(l, "proc.parent.comm")),
			(int)getpid(), EXEC_COMM);
		return false;
	}
	if (!ith_str_is(ith_jstr(l, "proc.comm"), comm)) {
		fprintf(stderr, "proc.comm '%s', expected '%s'\n", ith_show(ith_jstr(l, "proc.comm")),
			comm);
		return false;
	}
	if (ith_jint(l, "proc.creds.uid") != getuid() || !ith_str_is(ith_jstr(l, "proc.creds.user"), user) ||
	    ith_jint(l, "proc.creds.gid") != getgid()) {
		fprintf(stderr, "proc.creds uid %lld user '%s' gid %lld, expected %u '%s' %u\n",
			(long long)ith_jint(l, "proc.creds.uid"), ith_show(ith_jstr(l, "proc.creds.user")),
			(long long)ith_jint(l, "proc.creds.gid"), (unsigned)getuid(), user,
			(unsigned)getgid());
		return false;
	}
	if (stat("/proc/self/ns/mnt", &ns) || ith_jint(l, "proc.mntns_id") != (json_int_t)ns.st_ino) {
		fprintf(stderr, "proc.mntns_id %lld, expected %llu\n",
			(long long)ith_jint(l, "proc.mntns_id"), (unsigned long long)ns.st_ino);
		return false;
	}
	if (ith_jint(l, "loginuid") != loginuid || !ith_str_is(ith_jstr(l, "loginuser"), login) ||
	    ith_jint(l, "sessionid") != sessionid) {
		fprintf(stderr,
			"loginuid %lld loginuser '%s' sessionid %lld, expected %lld '%s' %lld\n",
			(long long)ith_jint(l, "loginuid"), ith_show(ith_jstr(l, "loginuser")),
			(long long)ith_jint(l, "sessionid"), loginuid, login, sessionid);
		return false;
	}
	if (!ith_str_is(ith_jstr(l, "error"), error) || ith_jint(l, "error_raw") != error_raw) {
		fprintf(stderr, "error '%s' error_raw %lld, expected '%s' %d\n",
			ith_show(ith_jstr(l, "error")), (long long)ith_jint(l, "error_raw"), error, error_raw);
		return false;
	}
	return check_time(l);
}

/* args, args_count, args_size and args_truncated. */
static bool check_args(json_t *l, const char *args, int count, bool truncated)
{
	const char *got = ith_jstr(l, "args");

	if (!ith_str_is(got, args)) {
		fprintf(stderr, "args '%s',\nexpected '%s'\n", ith_show(got), args);
		return false;
	}
	if (ith_jint(l, "args_count") != count || ith_jint(l, "args_size") != (json_int_t)strlen(args) ||
	    jbool(l, "args_truncated") != truncated) {
		fprintf(stderr,
			"args_count %lld args_size %lld args_truncated %d, expected %d %zu %d\n",
			(long long)ith_jint(l, "args_count"), (long long)ith_jint(l, "args_size"),
			jbool(l, "args_truncated"), count, strlen(args), truncated);
		return false;
	}
	return true;
}

/* ----- exec tests ----- */

/*
 * A child execs /bin/echo with a marker, an argument with a space and an
 * empty one. Arguments are joined by single spaces without quoting: "two
 * words" reads like two arguments and "" like a double space; args_count
 * tells the truth (5).
 */
static int test_exec_args(struct ith_mount *m)
{
	char marker[64], want[256];
	char *argv[] = {ECHO, marker, "two words", "", "end", NULL};
	struct exec_want w = {.filename = ECHO};
	struct ith_stream s;
	struct ith_gadget g = {};
	json_t *l;
	int ret = -1;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(EXEC_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_exec", NULL, &g, &s), "cannot start trace_exec");
	make_marker(marker, sizeof(marker));
	w.pid = run_exec(ECHO, argv, EXEC_PLAIN, 0);
	ITH_CHECK(w.pid > 0, "the echo child failed");
	l = wait_line(&s, is_exec, &w);
	ITH_CHECK(l, "no exec event for pid %d within %d ms", (int)w.pid, EVENT_WAIT_MS);
	fprintf(stderr, "event: %s\n", line_text(l));
	ITH_CHECK(check_exec_common(l, w.pid, "echo", "", 0), "wrong fields: %s", line_text(l));
	join_args(argv, want, sizeof(want));
	ITH_CHECK(strstr(want, "two words  end"), "join_args: '%s'", want);
	ITH_CHECK(check_args(l, want, 5, false), "wrong args: %s", line_text(l));
	ITH_CHECK(count_lines(&s, is_exec, &w) == 1, "%zu exec events for pid %d",
		  count_lines(&s, is_exec, &w), (int)w.pid);
	ITH_CHECK(stream_clean(&s), "bad lines in events");
	ret = 0;
out:
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/*
 * With ignore-failed=false a failed exec is shown: ENOENT, the path as given,
 * the caller's own comm; a successful one next to it has no error.
 */
static int test_exec_enoent(struct ith_mount *m)
{
	char marker[64], path[128], want[256];
	char *argv[] = {path, "x", NULL};
	char *ok_argv[] = {ECHO, marker, NULL};
	struct exec_want bad = {.filename = path}, ok = {.filename = ECHO};
	struct ith_stream s;
	struct ith_gadget g = {};
	json_t *l, *v = NULL;
	int ret = -1;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(EXEC_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_exec", "ignore-failed=false", &g, &s),
		  "cannot start trace_exec");
	v = status_param(&g, "ignore-failed");
	ITH_CHECK(json_is_false(v), "status.params.ignore-failed is not false");
	make_marker(marker, sizeof(marker));
	snprintf(path, sizeof(path), "/nonexistent-igfs/%s", marker);
	bad.pid = run_exec(path, argv, EXEC_PLAIN, 127);
	ITH_CHECK(bad.pid > 0, "the failing child failed differently");
	ok.pid = run_exec(ECHO, ok_argv, EXEC_PLAIN, 0);
	ITH_CHECK(ok.pid > 0, "the echo child failed");

	l = wait_line(&s, is_exec, &bad);
	ITH_CHECK(l, "no event for the failed exec of '%s'", path);
	fprintf(stderr, "event: %s\n", line_text(l));
	/* No exec happened: the comm is still the one inherited from the test. */
	ITH_CHECK(check_exec_common(l, bad.pid, EXEC_COMM, "ENOENT", ENOENT), "wrong fields: %s",
		  line_text(l));
	join_args(argv, want, sizeof(want));
	ITH_CHECK(check_args(l, want, 2, false), "wrong args: %s", line_text(l));

	l = wait_line(&s, is_exec, &ok);
	ITH_CHECK(l, "no event for the successful exec");
	ITH_CHECK(check_exec_common(l, ok.pid, "echo", "", 0), "wrong fields: %s", line_text(l));
	ITH_CHECK(stream_clean(&s), "bad lines in events");
	ret = 0;
out:
	json_decref(v);
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* IG's default (ignore-failed=true): failed execs are not shown. */
static int test_exec_ignore_failed_default(struct ith_mount *m)
{
	char marker[64], path[128];
	char *argv[] = {path, NULL};
	char *ok_argv[] = {ECHO, marker, NULL};
	struct exec_want ok = {.filename = ECHO};
	pid_t bad;
	struct ith_stream s;
	struct ith_gadget g = {};
	json_t *v = NULL;
	int ret = -1;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(EXEC_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_exec", NULL, &g, &s), "cannot start trace_exec");
	v = status_param(&g, "ignore-failed");
	ITH_CHECK(json_is_true(v), "status.params.ignore-failed is not true by default");
	make_marker(marker, sizeof(marker));
	snprintf(path, sizeof(path), "/nonexistent-igfs/%s", marker);
	bad = run_exec(path, argv, EXEC_PLAIN, 127);
	ITH_CHECK(bad > 0, "the failing child failed differently");
	ok.pid = run_exec(ECHO, ok_argv, EXEC_PLAIN, 0);
	ITH_CHECK(ok.pid > 0, "the echo child failed");
	/* One ring buffer, in order: once the later exec is seen, the earlier would be too. */
	ITH_CHECK(wait_line(&s, is_exec, &ok), "no event for the successful exec");
	ITH_CHECK(!find_line(&s, is_pid, &bad, 0), "a failed exec was shown: %s",
		  line_text(find_line(&s, is_pid, &bad, 0)));
	ret = 0;
out:
	json_decref(v);
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* failed=true: only failed execs, even though ignore-failed stays true. */
static int test_exec_failed_param(struct ith_mount *m)
{
	char marker[64], path[128];
	char *argv[] = {path, marker, NULL};
	char *ok_argv[] = {ECHO, marker, NULL};
	struct exec_want bad = {.filename = path};
	pid_t ok;
	struct ith_stream s;
	struct ith_gadget g = {};
	json_t *l;
	size_t i;
	int ret = -1;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(EXEC_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_exec", "failed=true", &g, &s), "cannot start trace_exec");
	make_marker(marker, sizeof(marker));
	snprintf(path, sizeof(path), "/nonexistent-igfs/%s", marker);
	ok = run_exec(ECHO, ok_argv, EXEC_PLAIN, 0);
	ITH_CHECK(ok > 0, "the echo child failed");
	bad.pid = run_exec(path, argv, EXEC_PLAIN, 127);
	ITH_CHECK(bad.pid > 0, "the failing child failed differently");
	l = wait_line(&s, is_exec, &bad);
	ITH_CHECK(l, "no event for the failed exec");
	ITH_CHECK(check_exec_common(l, bad.pid, EXEC_COMM, "ENOENT", ENOENT), "wrong fields: %s",
		  line_text(l));
	ITH_CHECK(!find_line(&s, is_pid, &ok, 0),
		  "a successful exec was shown with failed=true: %s",
		  line_text(find_line(&s, is_pid, &ok, 0)));
	for (i = 0; i < json_array_size(s.lines); i++) {
		l = json_array_get(s.lines, i);
		if (ith_is_lost_line(l, NULL))
			continue;
		ITH_CHECK(ith_jint(l, "error_raw") > 0, "failed=true shows a success: %s",
			  line_text(l));
	}
	ret = 0;
out:
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/*
 * Bounds: exactly 20 arguments fit; a 21st is dropped (args_truncated); 30
 * arguments of 300 bytes stop at 4095 bytes, the last one cut, with nothing
 * written past the buffer (the rest of the line is intact).
 */
static int test_exec_truncated(struct ith_mount *m)
{
	static char big[30][300];
	char marker[64], want[16384], num[ARGS_MAX + 2][8];
	char *argv[32];
	struct exec_want w = {.filename = ECHO};
	struct ith_stream s;
	struct ith_gadget g = {};
	const char *got;
	size_t starts, pos, len;
	json_t *l;
	int ret = -1, i;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(EXEC_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_exec", NULL, &g, &s), "cannot start trace_exec");
	make_marker(marker, sizeof(marker));

	/* 20 arguments: all shown. */
	argv[0] = ECHO;
	argv[1] = marker;
	for (i = 2; i < ARGS_MAX; i++) {
		snprintf(num[i], sizeof(num[i]), "a%d", i);
		argv[i] = num[i];
	}
	argv[ARGS_MAX] = NULL;
	w.pid = run_exec(ECHO, argv, EXEC_PLAIN, 0);
	ITH_CHECK(w.pid > 0, "the echo child failed");
	l = wait_line(&s, is_exec, &w);
	ITH_CHECK(l, "no exec event for 20 args");
	join_args(argv, want, sizeof(want));
	ITH_CHECK(check_args(l, want, ARGS_MAX, false), "20 args: %s", line_text(l));

	/* 21 arguments: the first 20 shown, truncated. */
	snprintf(num[ARGS_MAX], sizeof(num[ARGS_MAX]), "a%d", ARGS_MAX);
	argv[ARGS_MAX] = num[ARGS_MAX];
	argv[ARGS_MAX + 1] = NULL;
	w.pid = run_exec(ECHO, argv, EXEC_PLAIN, 0);
	ITH_CHECK(w.pid > 0, "the echo child failed");
	l = wait_line(&s, is_exec, &w);
	ITH_CHECK(l, "no exec event for 21 args");
	argv[ARGS_MAX] = NULL;
	join_args(argv, want, sizeof(want));
	ITH_CHECK(check_args(l, want, ARGS_MAX, true), "21 args: %s", line_text(l));

	/* 30 long arguments: cut at 4095 bytes in the middle of an argument. */
	argv[1] = marker;
	for (i = 2; i < 30; i++) {
		memset(big[i], 'a' + i % 26, sizeof(big[i]) - 1);
		big[i][sizeof(big[i]) - 1] = '\0';
		argv[i] = big[i];
	}
	argv[30] = NULL;
	join_args(argv, want, sizeof(want));
	ITH_CHECK(strlen(want) > ARGS_LEN, "the long argv is only %zu bytes", strlen(want));
	w.pid = run_exec(ECHO, argv, EXEC_PLAIN, 0);
	ITH_CHECK(w.pid > 0, "the echo child failed");
	l = wait_line(&s, is_exec, &w);
	ITH_CHECK(l, "no exec event for long args");
	got = ith_jstr(l, "args");
	ITH_CHECK(got, "no args: %s", line_text(l));
	len = strlen(got);
	ITH_CHECK(len == ARGS_LEN - 1, "args is %zu bytes, expected %d", len, ARGS_LEN - 1);
	ITH_CHECK(!strncmp(got, want, len), "args is not a prefix of the argv");
	/* Arguments that start inside what is shown: 14 (the 14th cut). */
	for (i = 0, pos = 0, starts = 0; argv[i]; pos += strlen(argv[i]) + 1, i++)
		starts += pos < len;
	ITH_CHECK(ith_jint(l, "args_count") == (json_int_t)starts && starts < 30,
		  "args_count %lld, expected %zu", (long long)ith_jint(l, "args_count"), starts);
	ITH_CHECK(ith_jint(l, "args_size") == (json_int_t)len && jbool(l, "args_truncated") == 1,
		  "args_size %lld args_truncated %d", (long long)ith_jint(l, "args_size"),
		  jbool(l, "args_truncated"));
	ITH_CHECK(check_exec_common(l, w.pid, "echo", "", 0), "wrong fields after long args: %s",
		  line_text(l));
	ITH_CHECK(stream_clean(&s), "bad lines in events");
	ret = 0;
out:
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* execveat(2) relative to a directory fd: filename is the path as given ("echo"). */
static int test_exec_execveat(struct ith_mount *m)
{
	char marker[64], want[256];
	char *argv[] = {"echo", marker, NULL};
	struct exec_want w = {.filename = "echo"};
	struct ith_stream s;
	struct ith_gadget g = {};
	json_t *l;
	int ret = -1;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(EXEC_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_exec", NULL, &g, &s), "cannot start trace_exec");
	make_marker(marker, sizeof(marker));
	w.pid = run_exec("echo", argv, EXEC_AT, 0);
	ITH_CHECK(w.pid > 0, "the execveat child failed");
	l = wait_line(&s, is_exec, &w);
	ITH_CHECK(l, "no exec event for execveat");
	ITH_CHECK(check_exec_common(l, w.pid, "echo", "", 0), "wrong fields: %s", line_text(l));
	join_args(argv, want, sizeof(want));
	ITH_CHECK(check_args(l, want, 2, false), "wrong args: %s", line_text(l));
	ret = 0;
out:
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/*
 * An exec from a second thread continues as the thread group leader: the
 * event still arrives, with tid == pid (sched_process_exec moves the entry).
 */
static int test_exec_from_thread(struct ith_mount *m)
{
	char marker[64], want[256];
	char *argv[] = {ECHO, marker, "from-thread", NULL};
	struct exec_want w = {.filename = ECHO};
	struct ith_stream s;
	struct ith_gadget g = {};
	json_t *l;
	int ret = -1;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(EXEC_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_exec", NULL, &g, &s), "cannot start trace_exec");
	make_marker(marker, sizeof(marker));
	w.pid = run_exec(ECHO, argv, EXEC_THREAD, 0);
	ITH_CHECK(w.pid > 0, "the threaded child failed");
	l = wait_line(&s, is_exec, &w);
	ITH_CHECK(l, "no exec event for an exec from a thread");
	ITH_CHECK(check_exec_common(l, w.pid, "echo", "", 0), "wrong fields: %s", line_text(l));
	join_args(argv, want, sizeof(want));
	ITH_CHECK(check_args(l, want, 3, false), "wrong args: %s", line_text(l));
	ret = 0;
out:
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* pid=N shows only that process's execs; comm=X only execs whose new comm is X. */
static int test_exec_filters(struct ith_mount *m)
{
	char marker[64], params[64];
	char *argv[] = {ECHO, marker, NULL};
	char *true_argv[] = {"/bin/true", marker, NULL};
	struct exec_want w = {.filename = ECHO};
	struct ith_stream s;
	struct ith_gadget g = {};
	pid_t other, t;
	int gate[2] = {-1, -1}, ret = -1, st;
	size_t i;
	json_t *l;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(EXEC_COMM), "prctl: %m");
	make_marker(marker, sizeof(marker));
	ITH_CHECK(!pipe2(gate, O_CLOEXEC), "pipe2: %m");
	/* The child exists (its pid known) before the gadget starts; it execs when told. */
	w.pid = exec_child(ECHO, argv, EXEC_PLAIN, gate[0]);
	ITH_CHECK(w.pid > 0, "fork: %m");
	snprintf(params, sizeof(params), "pid=%d", (int)w.pid);
	ITH_CHECK(!start_gadget(m, "trace_exec", params, &g, &s), "cannot start trace_exec");
	other = run_exec(ECHO, argv, EXEC_PLAIN, 0);
	ITH_CHECK(other > 0, "the other echo child failed");
	ITH_CHECK(write(gate[1], "x", 1) == 1, "write: %m");
	ITH_CHECK(!ith_wait_pid(w.pid, CHILD_WAIT_MS, &st) && WIFEXITED(st) && !WEXITSTATUS(st),
		  "the gated child failed");
	l = wait_line(&s, is_exec, &w);
	ITH_CHECK(l, "no exec event of the filtered pid %d", (int)w.pid);
	ITH_CHECK(!find_line(&s, is_pid, &other, 0), "pid=%d shows pid %d", (int)w.pid, (int)other);
	for (i = 0; i < json_array_size(s.lines); i++) {
		l = json_array_get(s.lines, i);
		ITH_CHECK(ith_is_lost_line(l, NULL) || ith_jint(l, "proc.pid") == w.pid,
			  "pid=%d shows %s", (int)w.pid, line_text(l));
	}
	stop_gadget(&g, &s);
	ith_stream_free(&s);

	/* comm=true (params stick across starts: pid back to 0): an echo is not shown, a true is. */
	ith_stream_init(&s, -1);
	ITH_CHECK(!start_gadget(m, "trace_exec", "pid=0 comm=true", &g, &s),
		  "cannot start trace_exec");
	other = run_exec(ECHO, argv, EXEC_PLAIN, 0);
	ITH_CHECK(other > 0, "the echo child failed");
	t = run_exec("/bin/true", true_argv, EXEC_PLAIN, 0);
	ITH_CHECK(t > 0, "the true child failed");
	w.pid = t;
	w.filename = "/bin/true";
	l = wait_line(&s, is_exec, &w);
	ITH_CHECK(l, "no exec event of true with comm=true");
	ITH_CHECK(!find_line(&s, is_pid, &other, 0), "comm=true shows the echo");
	for (i = 0; i < json_array_size(s.lines); i++) {
		l = json_array_get(s.lines, i);
		ITH_CHECK(ith_is_lost_line(l, NULL) || ith_str_is(ith_jstr(l, "proc.comm"), "true"),
			  "comm=true shows %s", line_text(l));
	}
	ret = 0;
out:
	if (gate[0] >= 0)
		close(gate[0]);
	if (gate[1] >= 0)
		close(gate[1]);
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* ----- signal: senders and targets ----- */

/* A signal event from @sender to @tpid with signal @sig. */
struct sig_want {
	pid_t sender;
	int tpid;
	int sig;
};

static bool is_sig(json_t *l, const void *arg)
{
	const struct sig_want *w = arg;

	return ith_jint(l, "proc.pid") == w->sender && ith_jint(l, "tpid") == w->tpid &&
	       ith_jint(l, "sig_raw") == w->sig;
}

/* The fields of a signal event sent by this test's thread @tid. */
static bool check_sig(json_t *l, pid_t tid, int tpid, int sig, const char *sig_name,
		      const char *error, int error_raw, const char *source)
{
	char user[64];

	user_name(getuid(), user, sizeof(user));
	if (ith_jint(l, "proc.pid") != getpid() || ith_jint(l, "proc.tid") != tid ||
	    !ith_str_is(ith_jstr(l, "proc.comm"), SIG_COMM) || ith_jint(l, "proc.parent.pid") != getppid()) {
		fprintf(stderr,
			"sender pid %lld tid %lld comm '%s' ppid %lld, expected %d %d '%s' %d\n",
			(long long)ith_jint(l, "proc.pid"), (long long)ith_jint(l, "proc.tid"),
			ith_show(ith_jstr(l, "proc.comm")), (long long)ith_jint(l, "proc.parent.pid"),
			(int)getpid(), (int)tid, SIG_COMM, (int)getppid());
		return false;
	}
	if (ith_jint(l, "proc.creds.uid") != getuid() || !ith_str_is(ith_jstr(l, "proc.creds.user"), user)) {
		fprintf(stderr, "proc.creds uid %lld user '%s'\n",
			(long long)ith_jint(l, "proc.creds.uid"), ith_show(ith_jstr(l, "proc.creds.user")));
		return false;
	}
	if (ith_jint(l, "tpid") != tpid || ith_jint(l, "sig_raw") != sig ||
	    !ith_str_is(ith_jstr(l, "sig"), sig_name)) {
		fprintf(stderr, "tpid %lld sig %lld '%s', expected %d %d '%s'\n",
			(long long)ith_jint(l, "tpid"), (long long)ith_jint(l, "sig_raw"),
			ith_show(ith_jstr(l, "sig")), tpid, sig, sig_name);
		return false;
	}
	if (!ith_str_is(ith_jstr(l, "error"), error) || ith_jint(l, "error_raw") != error_raw) {
		fprintf(stderr, "error '%s' error_raw %lld, expected '%s' %d\n",
			ith_show(ith_jstr(l, "error")), (long long)ith_jint(l, "error_raw"), error, error_raw);
		return false;
	}
	if (!ith_str_is(ith_jstr(l, "source"), source)) {
		fprintf(stderr, "source '%s', expected '%s'\n", ith_show(ith_jstr(l, "source")), source);
		return false;
	}
	return check_time(l);
}

/* A child that waits for signals with default dispositions (SIGUSR1 kills it). */
static pid_t pause_child(void)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	for (;;)
		pause();
}

static int kill_reap(pid_t pid, int sig, int *st)
{
	if (kill(pid, sig))
		return -errno;
	return ith_wait_pid(pid, CHILD_WAIT_MS, st);
}

/*
 * kill(child, SIGUSR1): one event from this test to the child, result 0,
 * source kill (signal_generate does not repeat it); then the child's death
 * sends this test a SIGCHLD, which the kernel generates.
 */
static int test_signal_kill(struct ith_mount *m)
{
	struct ith_stream s;
	struct ith_gadget g = {};
	struct sig_want usr1, chld;
	pid_t child = -1;
	int ret = -1, st = 0, err;
	json_t *l;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(SIG_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_signal", NULL, &g, &s), "cannot start trace_signal");
	child = pause_child();
	ITH_CHECK(child > 0, "fork: %m");
	err = kill_reap(child, SIGUSR1, &st);
	ITH_CHECK(!err, "kill/wait: %s", strerror(-err));
	ITH_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "child status 0x%x", st);
	usr1 = (struct sig_want){getpid(), child, SIGUSR1};
	chld = (struct sig_want){child, getpid(), SIGCHLD};
	child = -1;

	l = wait_line(&s, is_sig, &usr1);
	ITH_CHECK(l, "no SIGUSR1 event to %d", usr1.tpid);
	fprintf(stderr, "event: %s\n", line_text(l));
	ITH_CHECK(check_sig(l, gettid(), usr1.tpid, SIGUSR1, "SIGUSR1", "", 0, "kill"),
		  "wrong fields: %s", line_text(l));

	l = wait_line(&s, is_sig, &chld);
	ITH_CHECK(l, "no SIGCHLD event from the child %d", chld.sender);
	fprintf(stderr, "event: %s\n", line_text(l));
	ITH_CHECK(ith_str_is(ith_jstr(l, "sig"), "SIGCHLD") &&
			  ith_str_is(ith_jstr(l, "source"), "signal_generate") &&
			  ith_str_is(ith_jstr(l, "error"), "") && ith_jint(l, "proc.parent.pid") == getpid(),
		  "wrong SIGCHLD event: %s", line_text(l));
	/* The SIGCHLD came after the kill: a repeat of the kill would be in by now. */
	ITH_CHECK(count_lines(&s, is_sig, &usr1) == 1, "%zu SIGUSR1 events for one kill",
		  count_lines(&s, is_sig, &usr1));
	ITH_CHECK(stream_clean(&s), "bad lines in events");
	ret = 0;
out:
	if (child > 0)
		ith_kill_wait(child);
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* A thread that waits until told to stop, counting the signals it takes. */
struct sig_thread {
	int pipe[2];
	pid_t tid;
	volatile sig_atomic_t ready;
};

static volatile sig_atomic_t sig_hits;

static void on_signal(int sig)
{
	(void)sig;
	sig_hits++;
}

static void *sig_thread_main(void *p)
{
	struct sig_thread *t = p;
	char c;

	t->tid = gettid();
	t->ready = 1;
	while (read(t->pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/*
 * tgkill(pid, thread, SIGUSR2) and tkill(thread, SIGUSR1) to a second thread
 * of this test: tpid is the thread's ID and source names the call; a tgkill
 * to a thread that does not exist fails with ESRCH.
 */
static int test_signal_tgkill(struct ith_mount *m)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct sig_thread t = {.pipe = {-1, -1}};
	struct sig_want w2, w1, wnx;
	struct ith_stream s;
	struct ith_gadget g = {};
	bool started = false;
	int64_t deadline;
	pthread_t th;
	int ret = -1;
	json_t *l;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(SIG_COMM), "prctl: %m");
	ITH_CHECK(!sigaction(SIGUSR1, &sa, NULL) && !sigaction(SIGUSR2, &sa, NULL),
		  "sigaction: %m");
	ITH_CHECK(!pipe2(t.pipe, O_CLOEXEC), "pipe2: %m");
	ITH_CHECK(!pthread_create(&th, NULL, sig_thread_main, &t), "pthread_create failed");
	started = true;
	deadline = ith_now_ms() + CHILD_WAIT_MS;
	while (!t.ready && ith_now_ms() < deadline)
		ith_sleep_ms(1);
	ITH_CHECK(t.ready, "the thread did not start");
	ITH_CHECK(!start_gadget(m, "trace_signal", NULL, &g, &s), "cannot start trace_signal");

	ITH_CHECK(!syscall(SYS_tgkill, getpid(), t.tid, SIGUSR2), "tgkill: %m");
	ITH_CHECK(!syscall(SYS_tkill, t.tid, SIGUSR1), "tkill: %m");
	errno = 0;
	ITH_CHECK(syscall(SYS_tgkill, getpid(), nx_pid(0), SIGUSR2) == -1 && errno == ESRCH,
		  "tgkill of a missing thread: %m");
	w2 = (struct sig_want){getpid(), t.tid, SIGUSR2};
	w1 = (struct sig_want){getpid(), t.tid, SIGUSR1};
	wnx = (struct sig_want){getpid(), nx_pid(0), SIGUSR2};

	l = wait_line(&s, is_sig, &w2);
	ITH_CHECK(l, "no tgkill event to thread %d", t.tid);
	fprintf(stderr, "event: %s\n", line_text(l));
	ITH_CHECK(t.tid != getpid(), "the thread has the process's ID");
	ITH_CHECK(check_sig(l, gettid(), t.tid, SIGUSR2, "SIGUSR2", "", 0, "tgkill"),
		  "wrong tgkill fields: %s", line_text(l));
	l = wait_line(&s, is_sig, &w1);
	ITH_CHECK(l, "no tkill event to thread %d", t.tid);
	ITH_CHECK(check_sig(l, gettid(), t.tid, SIGUSR1, "SIGUSR1", "", 0, "tkill"),
		  "wrong tkill fields: %s", line_text(l));
	l = wait_line(&s, is_sig, &wnx);
	ITH_CHECK(l, "no event for the tgkill of a missing thread");
	ITH_CHECK(check_sig(l, gettid(), nx_pid(0), SIGUSR2, "SIGUSR2", "ESRCH", ESRCH, "tgkill"),
		  "wrong failed tgkill fields: %s", line_text(l));
	ITH_CHECK(count_lines(&s, is_sig, &w2) == 1 && count_lines(&s, is_sig, &w1) == 1,
		  "%zu tgkill and %zu tkill events", count_lines(&s, is_sig, &w2),
		  count_lines(&s, is_sig, &w1));
	ret = 0;
out:
	if (started) {
		if (write(t.pipe[1], "x", 1) != 1)
			perror("write");
		pthread_join(th, NULL);
	}
	if (t.pipe[0] >= 0)
		close(t.pipe[0]);
	if (t.pipe[1] >= 0)
		close(t.pipe[1]);
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* kill() of a pid that cannot exist gives ESRCH; an invalid signal number gives EINVAL. */
static int test_signal_errors(struct ith_mount *m)
{
	struct sig_want wnx, winval;
	struct ith_stream s;
	struct ith_gadget g = {};
	int ret = -1;
	json_t *l;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(SIG_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_signal", NULL, &g, &s), "cannot start trace_signal");
	errno = 0;
	ITH_CHECK(kill(nx_pid(1), SIGUSR1) == -1 && errno == ESRCH, "kill(%d): %m", nx_pid(1));
	errno = 0;
	ITH_CHECK(kill(getpid(), 100) == -1 && errno == EINVAL, "kill(self, 100): %m");
	wnx = (struct sig_want){getpid(), nx_pid(1), SIGUSR1};
	winval = (struct sig_want){getpid(), getpid(), 100};

	l = wait_line(&s, is_sig, &wnx);
	ITH_CHECK(l, "no event for the kill of %d", nx_pid(1));
	fprintf(stderr, "event: %s\n", line_text(l));
	ITH_CHECK(check_sig(l, gettid(), nx_pid(1), SIGUSR1, "SIGUSR1", "ESRCH", ESRCH, "kill"),
		  "wrong fields: %s", line_text(l));
	l = wait_line(&s, is_sig, &winval);
	ITH_CHECK(l, "no event for kill(self, 100)");
	ITH_CHECK(check_sig(l, gettid(), getpid(), 100, "signal#100", "EINVAL", EINVAL, "kill"),
		  "wrong fields: %s", line_text(l));
	ITH_CHECK(stream_clean(&s), "bad lines in events");
	ret = 0;
out:
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* signal=12: only SIGUSR2, whoever sends it. */
static int test_signal_param_signal(struct ith_mount *m)
{
	struct sig_want w1, w2;
	struct ith_stream s;
	struct ith_gadget g = {};
	json_t *v = NULL, *l;
	int ret = -1;
	size_t i;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(SIG_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_signal", "signal=12", &g, &s),
		  "cannot start trace_signal");
	v = status_param(&g, "signal");
	ITH_CHECK(json_integer_value(v) == 12, "status.params.signal is not 12");
	w1 = (struct sig_want){getpid(), nx_pid(2), SIGUSR1};
	w2 = (struct sig_want){getpid(), nx_pid(2), SIGUSR2};
	kill(w1.tpid, SIGUSR1);
	kill(w2.tpid, SIGUSR2);
	l = wait_line(&s, is_sig, &w2);
	ITH_CHECK(l, "no SIGUSR2 event with signal=12");
	ITH_CHECK(check_sig(l, gettid(), w2.tpid, SIGUSR2, "SIGUSR2", "ESRCH", ESRCH, "kill"),
		  "wrong fields: %s", line_text(l));
	ITH_CHECK(!find_line(&s, is_sig, &w1, 0), "signal=12 shows a SIGUSR1");
	for (i = 0; i < json_array_size(s.lines); i++) {
		l = json_array_get(s.lines, i);
		ITH_CHECK(ith_is_lost_line(l, NULL) || ith_jint(l, "sig_raw") == SIGUSR2,
			  "signal=12 shows %s", line_text(l));
	}
	ret = 0;
out:
	json_decref(v);
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* failed=true: only failed kill-family calls (no successes, nothing generated). */
static int test_signal_param_failed(struct ith_mount *m)
{
	struct sig_want ok, bad;
	struct ith_stream s;
	struct ith_gadget g = {};
	pid_t child = -1;
	int ret = -1, st;
	json_t *l;
	size_t i;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(SIG_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_signal", "failed=true", &g, &s),
		  "cannot start trace_signal");
	child = pause_child();
	ITH_CHECK(child > 0, "fork: %m");
	ok = (struct sig_want){getpid(), child, 0};
	bad = (struct sig_want){getpid(), nx_pid(3), SIGUSR2};
	ITH_CHECK(!kill(child, 0), "kill(child, 0): %m");
	ITH_CHECK(!kill_reap(child, SIGKILL, &st), "kill/wait of the child failed");
	child = -1;
	kill(bad.tpid, SIGUSR2);
	l = wait_line(&s, is_sig, &bad);
	ITH_CHECK(l, "no event for the failed kill with failed=true");
	ITH_CHECK(check_sig(l, gettid(), bad.tpid, SIGUSR2, "SIGUSR2", "ESRCH", ESRCH, "kill"),
		  "wrong fields: %s", line_text(l));
	ITH_CHECK(!find_line(&s, is_sig, &ok, 0), "failed=true shows a successful kill");
	for (i = 0; i < json_array_size(s.lines); i++) {
		l = json_array_get(s.lines, i);
		ITH_CHECK(ith_is_lost_line(l, NULL) ||
				  (ith_jint(l, "error_raw") > 0 &&
				   !ith_str_is(ith_jstr(l, "source"), "signal_generate")),
			  "failed=true shows %s", line_text(l));
	}
	ret = 0;
out:
	if (child > 0)
		ith_kill_wait(child);
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* pid=N: only signals sent by process N (not by its child, not the child's SIGCHLD). */
static int test_signal_param_pid(struct ith_mount *m)
{
	struct sig_want mine, theirs;
	struct ith_stream s;
	struct ith_gadget g = {};
	char params[64];
	pid_t child;
	int ret = -1, st = 0;
	json_t *l;
	size_t i;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(SIG_COMM), "prctl: %m");
	snprintf(params, sizeof(params), "pid=%d", (int)getpid());
	ITH_CHECK(!start_gadget(m, "trace_signal", params, &g, &s), "cannot start trace_signal");
	child = fork();
	ITH_CHECK(child >= 0, "fork: %m");
	if (!child) {
		kill(nx_pid(4), SIGUSR1);
		_exit(0);
	}
	ITH_CHECK(!ith_wait_pid(child, CHILD_WAIT_MS, &st), "the child did not exit");
	theirs = (struct sig_want){child, nx_pid(4), SIGUSR1};
	mine = (struct sig_want){getpid(), nx_pid(5), SIGUSR1};
	kill(mine.tpid, SIGUSR1);
	l = wait_line(&s, is_sig, &mine);
	ITH_CHECK(l, "no event of the filtered pid");
	ITH_CHECK(check_sig(l, gettid(), mine.tpid, SIGUSR1, "SIGUSR1", "ESRCH", ESRCH, "kill"),
		  "wrong fields: %s", line_text(l));
	ITH_CHECK(!find_line(&s, is_sig, &theirs, 0), "pid=%d shows the child's kill",
		  (int)getpid());
	for (i = 0; i < json_array_size(s.lines); i++) {
		l = json_array_get(s.lines, i);
		ITH_CHECK(ith_is_lost_line(l, NULL) || ith_jint(l, "proc.pid") == getpid(),
			  "pid=%d shows %s", (int)getpid(), line_text(l));
	}
	ret = 0;
out:
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* kill-only=true: no generated signals (a child's SIGCHLD), kill-family calls still. */
static int test_signal_param_kill_only(struct ith_mount *m)
{
	struct sig_want mine, chld;
	struct ith_stream s;
	struct ith_gadget g = {};
	pid_t child;
	int ret = -1, st = 0;
	json_t *l;
	size_t i;

	ith_stream_init(&s, -1);
	ITH_CHECK(!set_comm(SIG_COMM), "prctl: %m");
	ITH_CHECK(!start_gadget(m, "trace_signal", "kill-only=true", &g, &s),
		  "cannot start trace_signal");
	child = fork();
	ITH_CHECK(child >= 0, "fork: %m");
	if (!child)
		_exit(0);
	ITH_CHECK(!ith_wait_pid(child, CHILD_WAIT_MS, &st), "the child did not exit");
	chld = (struct sig_want){child, getpid(), SIGCHLD};
	mine = (struct sig_want){getpid(), nx_pid(6), SIGUSR1};
	kill(mine.tpid, SIGUSR1);
	l = wait_line(&s, is_sig, &mine);
	ITH_CHECK(l, "no kill event with kill-only=true");
	ITH_CHECK(check_sig(l, gettid(), mine.tpid, SIGUSR1, "SIGUSR1", "ESRCH", ESRCH, "kill"),
		  "wrong fields: %s", line_text(l));
	ITH_CHECK(!find_line(&s, is_sig, &chld, 0), "kill-only=true shows the child's SIGCHLD");
	for (i = 0; i < json_array_size(s.lines); i++) {
		l = json_array_get(s.lines, i);
		ITH_CHECK(ith_is_lost_line(l, NULL) ||
				  !ith_str_is(ith_jstr(l, "source"), "signal_generate"),
			  "kill-only=true shows %s", line_text(l));
	}
	ret = 0;
out:
	stop_gadget(&g, &s);
	ith_stream_free(&s);
	return ret;
}

/* ----- the list ----- */

static const struct ith_test tests[] = {
	{"exec.args", NULL, NULL, 30000, test_exec_args},
	{"exec.enoent", NULL, NULL, 30000, test_exec_enoent},
	{"exec.ignore_failed_default", NULL, NULL, 30000, test_exec_ignore_failed_default},
	{"exec.failed_param", NULL, NULL, 30000, test_exec_failed_param},
	{"exec.truncated", NULL, NULL, 30000, test_exec_truncated},
	{"exec.execveat", NULL, NULL, 30000, test_exec_execveat},
	{"exec.from_thread", NULL, NULL, 30000, test_exec_from_thread},
	{"exec.filters", NULL, NULL, 30000, test_exec_filters},
	{"signal.kill", NULL, NULL, 30000, test_signal_kill},
	{"signal.tgkill", NULL, NULL, 30000, test_signal_tgkill},
	{"signal.errors", NULL, NULL, 30000, test_signal_errors},
	{"signal.param_signal", NULL, NULL, 30000, test_signal_param_signal},
	{"signal.param_failed", NULL, NULL, 30000, test_signal_param_failed},
	{"signal.param_pid", NULL, NULL, 30000, test_signal_param_pid},
	{"signal.param_kill_only", NULL, NULL, 30000, test_signal_param_kill_only},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
