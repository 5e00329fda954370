// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The integration test harness: prerequisites, a supervised process per test,
 * the daemon's mount and teardown, deadline-bound reads and tool runs. Talks
 * to igfs only through the mount, its log and /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#ifndef IGFS_BIN
#error "IGFS_BIN must name the igfs executable"
#endif
#ifndef IGFS_BUILD_DIR
#error "IGFS_BUILD_DIR must name the build directory"
#endif
#ifndef IGFS_IT_LOG_DIR
#define IGFS_IT_LOG_DIR "/tmp"
#endif

#define ITH_READ_CHUNK	    65536
#define ITH_MOUNT_WAIT_MS   15000 /* gadget loading under ASan is slow */
#define ITH_EXIT_WAIT_MS    3000
#define ITH_CLEANUP_WAIT_MS 5000

/* ----- small things ----- */

int64_t ith_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ith_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ith_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - ith_now_ms();

	return left < 0 ? 0 : (int)left;
}

void ith_fail_at(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: (%s) ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

int ith_buf_append(struct ith_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void ith_buf_free(struct ith_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ----- processes ----- */

const char *ith_which(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];
	char *save = NULL, *d;

	if (strchr(name, '/')) {
		snprintf(buf, len, "%s", name);
		return access(buf, X_OK) ? NULL : buf;
	}
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		snprintf(buf, len, "%s/%s", d, name);
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

/* In a forked child before exec: plain signals, as from a shell. */
static void child_reset_signals(void)
{
	sigset_t all;
	int s;

	for (s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		signal(s, SIG_DFL);
	}
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static pid_t spawn_fds(const char *const argv[], int out_fd, int err_fd)
{
	char exe[PATH_MAX];
	pid_t pid;
	int devnull;

	if (!ith_which(argv[0], exe, sizeof(exe))) {
		fprintf(stderr, "harness: '%s' not found\n", argv[0]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("harness: fork");
		return -1;
	}
	if (pid)
		return pid;
	child_reset_signals();
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(out_fd >= 0 ? out_fd : devnull, STDOUT_FILENO);
		dup2(err_fd >= 0 ? err_fd : devnull, STDERR_FILENO);
	}
	execv(exe, (char *const *)argv);
	_exit(127);
}

pid_t ith_spawn(const char *const argv[], int *ret_out)
{
	int p[2] = {-1, -1};
	pid_t pid;

	if (ret_out && pipe2(p, O_CLOEXEC)) {
		perror("harness: pipe2");
		return -1;
	}
	pid = spawn_fds(argv, p[1], -1);
	if (p[1] >= 0)
		close(p[1]);
	if (pid < 0) {
		if (p[0] >= 0)
			close(p[0]);
		return -1;
	}
	if (ret_out) {
		fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
		*ret_out = p[0];
	}
	return pid;
}

int ith_wait_pid(pid_t pid, int timeout_ms, int *wstatus)
{
	int64_t deadline = ith_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			if (wstatus)
				*wstatus = st;
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (ith_now_ms() >= deadline)
			return -ETIMEDOUT;
		ith_sleep_ms(5);
	}
}

void ith_kill_wait(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	if (ith_wait_pid(pid, ITH_CLEANUP_WAIT_MS, NULL))
		fprintf(stderr, "harness: pid %d did not die after SIGKILL\n", (int)pid);
}

int ith_run(const char *const argv[], int timeout_ms, struct ith_buf *out, int *wstatus)
{
	int64_t deadline = ith_now_ms() + timeout_ms;
	char chunk[ITH_READ_CHUNK];
	int fd = -1, err = 0;
	pid_t pid;

	pid = ith_spawn(argv, &fd);
	if (pid < 0)
		return -ECHILD;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int r;

		r = poll(&pfd, 1, remaining_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			err = -ETIMEDOUT;
			break;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		if (out && ith_buf_append(out, chunk, (size_t)n)) {
			err = -ENOMEM;
			break;
		}
	}
	close(fd);
	if (!err)
		err = ith_wait_pid(pid, remaining_ms(deadline), wstatus);
	if (err) {
		fprintf(stderr, "harness: '%s' did not finish within %d ms, killed\n", argv[0],
			timeout_ms);
		ith_kill_wait(pid);
	}
	return err;
}

/* ----- mount and daemon ----- */

/* Field 5 of a mountinfo line is the mount point, field 9 (after " - ") the type. */
bool ith_mounted(const char *dir)
{
	char line[4096];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], type[128];
		const char *sep;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep, " - %127s", type) != 1)
			continue;
		found = !strcmp(mnt, dir) && !strcmp(type, "fuse.igfs");
	}
	fclose(f);
	return found;
}

int ith_wait_daemon(struct ith_mount *m, int timeout_ms)
{
	int err;

	if (m->pid <= 0)
		return 0;
	err = ith_wait_pid(m->pid, timeout_ms, &m->wstatus);
	if (!err)
		m->pid = -1;
	return err;
}

int ith_mount(struct ith_mount *m, const char *dir, const char *log, const char *opts)
{
	char gopt[PATH_MAX + 256], probe[PATH_MAX + 64];
	const char *argv[] = {IGFS_BIN, "-f", "-o", gopt, dir, NULL};
	int64_t deadline = ith_now_ms() + ITH_MOUNT_WAIT_MS;
	struct stat st;
	int logfd;

	memset(m, 0, sizeof(*m));
	m->pid = -1;
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	snprintf(m->log, sizeof(m->log), "%s", log);
	snprintf(gopt, sizeof(gopt), "gadgets=%s/gadgets/images%s%s", IGFS_BUILD_DIR,
		 opts ? "," : "", opts ? opts : "");
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "harness: cannot create '%s': %s\n", log, strerror(errno));
		return -1;
	}
	fprintf(stderr, "harness: %s -f -o %s %s\n", IGFS_BIN, gopt, dir);
	m->pid = spawn_fds(argv, logfd, logfd);
	close(logfd);
	if (m->pid < 0)
		return -1;
	while (!ith_mounted(dir)) {
		if (!ith_wait_daemon(m, 0)) {
			fprintf(stderr, "harness: igfs exited (status 0x%x) before mounting\n",
				m->wstatus);
			ith_log_dump(log, 40);
			return -1;
		}
		if (ith_now_ms() >= deadline) {
			fprintf(stderr, "harness: '%s' not mounted within %d ms\n", dir,
				ITH_MOUNT_WAIT_MS);
			ith_log_dump(log, 40);
			return -1;
		}
		ith_sleep_ms(10);
	}
	/* The first access waits for FUSE_INIT: the daemon answers. */
	snprintf(probe, sizeof(probe), "%s/trace_open/ctl", dir);
	if (stat(probe, &st)) {
		fprintf(stderr, "harness: stat '%s': %s\n", probe, strerror(errno));
		ith_log_dump(log, 40);
		return -1;
	}
	return 0;
}

static int fusermount(const char *dir, bool lazy)
{
	const char *argv[] = {"fusermount3", lazy ? "-uz" : "-u", dir, NULL};
	struct ith_buf out = {};
	int st = 0, err;

	err = ith_run(argv, 5000, &out, &st);
	ith_buf_free(&out);
	if (err)
		return err;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

int ith_teardown(struct ith_mount *m)
{
	int ret = 0;

	if (!m->dir[0])
		return 0;
	if (ith_mounted(m->dir) && fusermount(m->dir, true)) {
		fprintf(stderr, "harness: fusermount3 -u -z '%s' failed\n", m->dir);
		ret = -1;
	}
	if (m->pid > 0 && ith_wait_daemon(m, ITH_EXIT_WAIT_MS)) {
		fprintf(stderr, "harness: igfs did not exit within %d ms of the unmount, SIGTERM\n",
			ITH_EXIT_WAIT_MS);
		ret = -1;
		kill(m->pid, SIGTERM);
		if (ith_wait_daemon(m, 2000)) {
			fprintf(stderr, "harness: igfs ignored SIGTERM, SIGKILL\n");
			kill(m->pid, SIGKILL);
			ith_wait_daemon(m, ITH_CLEANUP_WAIT_MS);
		}
	}
	if (m->pid < 0 && !(WIFEXITED(m->wstatus) && WEXITSTATUS(m->wstatus) == 0)) {
		fprintf(stderr, "harness: igfs ended with wait status 0x%x (%s %d)\n", m->wstatus,
			WIFSIGNALED(m->wstatus) ? "signal" : "exit",
			WIFSIGNALED(m->wstatus) ? WTERMSIG(m->wstatus) : WEXITSTATUS(m->wstatus));
		ret = -1;
	}
	return ret;
}

int ith_log_check(const char *log)
{
	static const char *const bad[] = {
		"ERROR",	 "AddressSanitizer", "runtime error",
		"LeakSanitizer", "igfs: error:", /* igfs's own error level */
	};
	char line[4096];
	int found = 0;
	size_t i;
	FILE *f;

	f = fopen(log, "re");
	if (!f) {
		fprintf(stderr, "harness: cannot read the daemon log '%s': %s\n", log,
			strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (strstr(line, bad[i])) {
				if (found++ < 20)
					fprintf(stderr, "FAIL daemon log: %s", line);
				break;
			}
		}
	}
	fclose(f);
	return found ? -1 : 0;
}

/*
 * The daemon logs of one test: @log and any "@log.<suffix>" of daemons the
 * test mounted itself. Remove them (before the test) or check them all.
 */
static int logs_glob(const char *log, bool remove)
{
	char pattern[PATH_MAX + 8];
	int ret = 0;
	glob_t g;
	size_t i;

	snprintf(pattern, sizeof(pattern), "%s.*", log);
	if (!remove && ith_log_check(log))
		ret = -1;
	if (remove)
		unlink(log);
	if (glob(pattern, 0, NULL, &g))
		return ret;
	for (i = 0; i < g.gl_pathc; i++) {
		if (remove)
			unlink(g.gl_pathv[i]);
		else if (ith_log_check(g.gl_pathv[i]))
			ret = -1;
	}
	globfree(&g);
	return ret;
}

void ith_log_dump(const char *log, int max_lines)
{
	struct ith_buf b = {};
	const char *p;
	int n = 0;

	if (ith_read_file(log, &b, 2000) || !b.len) {
		ith_buf_free(&b);
		return;
	}
	p = b.data + b.len;
	while (p > b.data && n <= max_lines) {
		p--;
		if (*p == '\n' && p != b.data + b.len - 1)
			n++;
	}
	if (*p == '\n')
		p++;
	fprintf(stderr, "---- %s (last %d lines) ----\n%s%s----\n", log, max_lines, p,
		b.data[b.len - 1] == '\n' ? "" : "\n");
	ith_buf_free(&b);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int ith_daemon_prog_ids(pid_t pid, uint32_t *ids, size_t cap, size_t *ret_n)
{
	char path[64];
	struct dirent *de;
	size_t n = 0, i, j;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[512], line[256];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		f = fopen(p, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned int id;

			if (sscanf(line, "prog_id: %u", &id) == 1 && n < cap)
				ids[n++] = id;
		}
		fclose(f);
	}
	closedir(d);
	qsort(ids, n, sizeof(*ids), u32_cmp);
	for (i = j = 0; i < n; i++)
		if (!j || ids[j - 1] != ids[i])
			ids[j++] = ids[i];
	*ret_n = j;
	return 0;
}

/* ----- the gadget's files ----- */

static void path_join(char *out, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		fprintf(stderr, "harness: path '%s/%s' too long\n", dir, name);
}

void ith_gadget_paths(const struct ith_mount *m, const char *name, struct ith_gadget *g)
{
	path_join(g->dir, sizeof(g->dir), m->dir, name);
	path_join(g->ctl, sizeof(g->ctl), g->dir, "ctl");
	path_join(g->events, sizeof(g->events), g->dir, "events");
	path_join(g->status, sizeof(g->status), g->dir, "status");
	path_join(g->params, sizeof(g->params), g->dir, "params");
}

int ith_write_file(const char *path, const char *data, size_t len)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

int ith_ctl(const struct ith_gadget *g, const char *cmd)
{
	return ith_write_file(g->ctl, cmd, strlen(cmd));
}

int ith_read_file(const char *path, struct ith_buf *out, int timeout_ms)
{
	int64_t deadline = ith_now_ms() + timeout_ms;
	char chunk[ITH_READ_CHUNK];
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int r;

		r = poll(&pfd, 1, remaining_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			err = -ETIMEDOUT;
			break;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (!n)
			break;
		if (ith_buf_append(out, chunk, (size_t)n)) {
			err = -ENOMEM;
			break;
		}
	}
	close(fd);
	return err;
}

json_t *ith_status(const struct ith_gadget *g)
{
	struct ith_buf b = {};
	json_error_t jerr;
	json_t *j = NULL;
	int err;

	err = ith_read_file(g->status, &b, 3000);
	if (err) {
		fprintf(stderr, "harness: reading '%s': %s\n", g->status, strerror(-err));
		goto out;
	}
	j = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		fprintf(stderr, "harness: status is not a JSON object (%s): %s\n", jerr.text,
			b.data ? b.data : "");
		json_decref(j);
		j = NULL;
	}
out:
	ith_buf_free(&b);
	return j;
}

json_int_t ith_status_int(const struct ith_gadget *g, const char *key)
{
	json_t *st = ith_status(g);
	json_int_t v = ith_jint(st, key);

	json_decref(st);
	return v;
}

json_int_t ith_wait_events_settled(const struct ith_gadget *g, int timeout_ms)
{
	int64_t deadline = ith_now_ms() + timeout_ms;
	json_int_t last = -1, v;
	int same = 0;

	while (ith_now_ms() < deadline) {
		v = ith_status_int(g, "events");
		same = v == last ? same + 1 : 0;
		if (same >= 2)
			return v;
		last = v;
		ith_sleep_ms(100);
	}
	return -1;
}

int ith_wait_status_str(const struct ith_gadget *g, const char *key, const char *want,
			int timeout_ms)
{
	int64_t deadline = ith_now_ms() + timeout_ms;

	for (;;) {
		json_t *st = ith_status(g);
		bool ok = st && json_is_string(json_object_get(st, key)) &&
			  !strcmp(json_string_value(json_object_get(st, key)), want);

		json_decref(st);
		if (ok)
			return 0;
		if (ith_now_ms() >= deadline)
			return -ETIMEDOUT;
		ith_sleep_ms(20);
	}
}

json_t *ith_get(json_t *obj, const char *path)
{
	char key[256];
	const char *dot;

	while (obj && (dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	return obj ? json_object_get(obj, path) : NULL;
}

bool ith_is_lost_line(json_t *obj, json_int_t *ret_n)
{
	json_t *v = json_object_get(obj, "lost");

	if (json_object_size(obj) != 1 || !json_is_integer(v))
		return false;
	if (ret_n)
		*ret_n = json_integer_value(v);
	return true;
}

/* ----- markers ----- */

void ith_marker(char *buf, size_t len)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)ith_realtime_ns() ^ ((uint64_t)getpid() << 32);
	snprintf(buf, len, "/tmp/igfs-marker-%d-%016llx", (int)getpid(), (unsigned long long)r);
}

int ith_marker_open(const char *path)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);

	return fd < 0 ? -errno : (int)fd;
}

/* ----- JSON line streams ----- */

void ith_stream_init(struct ith_stream *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->lines = json_array();
}

void ith_stream_free(struct ith_stream *s)
{
	ith_buf_free(&s->raw);
	json_decref(s->lines);
	s->lines = NULL;
}

static void stream_bad(struct ith_stream *s, const char *line, size_t len, const char *why)
{
	if (!s->bad++)
		snprintf(s->why, sizeof(s->why), "line %zu: %s: '%.*s'",
			 json_array_size(s->lines) + s->bad, why, (int)(len > 300 ? 300 : len),
			 line);
}

/* Split and parse the complete lines past s->split. */
static void stream_split(struct ith_stream *s)
{
	while (s->split < s->raw.len) {
		const char *line = s->raw.data + s->split;
		const char *nl = memchr(line, '\n', s->raw.len - s->split);
		size_t len;
		json_error_t jerr;
		json_t *j;

		if (!nl)
			break;
		len = (size_t)(nl - line);
		s->split += len + 1;
		j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!j) {
			stream_bad(s, line, len, jerr.text);
			continue;
		}
		if (!json_is_object(j)) {
			stream_bad(s, line, len, "not a JSON object");
			json_decref(j);
			continue;
		}
		json_array_append_new(s->lines, j);
	}
}

void ith_stream_feed(struct ith_stream *s, const char *data, size_t len)
{
	if (ith_buf_append(&s->raw, data, len))
		return;
	stream_split(s);
}

ssize_t ith_stream_read(struct ith_stream *s, int timeout_ms)
{
	static char chunk[ITH_READ_CHUNK];
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	int64_t deadline = ith_now_ms() + timeout_ms;
	ssize_t n;
	int r;

	for (;;) {
		r = poll(&pfd, 1, remaining_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = read(s->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		/* A pipe may report readable and then have nothing yet. */
		if (n < 0 && errno == EAGAIN && ith_now_ms() < deadline) {
			ith_sleep_ms(1);
			continue;
		}
		break;
	}
	if (n < 0)
		return -errno;
	if (!n) {
		s->eof = true;
		return 0;
	}
	ith_stream_feed(s, chunk, (size_t)n);
	return n;
}

int ith_stream_until(struct ith_stream *s, int timeout_ms,
		     bool (*pred)(const struct ith_stream *s, const void *arg), const void *arg)
{
	int64_t deadline = ith_now_ms() + timeout_ms;

	for (;;) {
		ssize_t n;

		if (pred(s, arg))
			return 0;
		n = ith_stream_read(s, remaining_ms(deadline));
		if (n == 0)
			return pred(s, arg) ? 0 : -ENODATA;
		if (n == -ETIMEDOUT || (n < 0 && ith_now_ms() >= deadline))
			return -ETIMEDOUT;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
	}
}

int ith_stream_to_eof(struct ith_stream *s, int timeout_ms)
{
	int64_t deadline = ith_now_ms() + timeout_ms;

	for (;;) {
		ssize_t n = ith_stream_read(s, remaining_ms(deadline));

		if (n == 0)
			return 0;
		if (n == -ETIMEDOUT || (n < 0 && ith_now_ms() >= deadline))
			return -ETIMEDOUT;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
	}
}

json_t *ith_find_fname(const struct ith_stream *s, const char *fname, size_t nth)
{
	size_t i;
	json_t *l;

	for (i = 0; i < json_array_size(s->lines); i++) {
		json_t *f;

		l = json_array_get(s->lines, i);
		f = json_object_get(l, "fname");
		if (json_is_string(f) && !strcmp(json_string_value(f), fname) && !nth--)
			return l;
	}
	return NULL;
}

size_t ith_count_fname(const struct ith_stream *s, const char *fname)
{
	size_t n = 0;

	while (ith_find_fname(s, fname, n))
		n++;
	return n;
}

bool ith_has_fname(const struct ith_stream *s, const void *fname)
{
	return ith_find_fname(s, fname, 0) != NULL;
}

/* ----- prerequisites and the runner ----- */

static bool ci_mode(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

/* A missing prerequisite: skip, or fail under CI=true. Returns the exit code. */
static int missing(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int missing(const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (ci_mode()) {
		fprintf(stderr, "\n*** FAILED: missing prerequisite (CI=true): %s ***\n\n", why);
		return 1;
	}
	fprintf(stderr, "\n*** SKIPPED: %s ***\n\n", why);
	return ITH_SKIP;
}

static int check_prereqs(const struct ith_test *t)
{
	char buf[PATH_MAX], images[PATH_MAX];
	DIR *d;
	bool any = false;
	struct dirent *de;

	if (geteuid() != 0)
		return missing("not root (igfs needs root to load eBPF programs and mount)");
	if (access("/dev/fuse", R_OK | W_OK))
		return missing("/dev/fuse is not usable: %s", strerror(errno));
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return missing("no kernel BTF (/sys/kernel/btf/vmlinux): %s", strerror(errno));
	if (access(IGFS_BIN, X_OK))
		return missing("igfs binary '%s' missing: %s (build the igfs target)", IGFS_BIN,
			       strerror(errno));
	if (!ith_which("fusermount3", buf, sizeof(buf)))
		return missing("fusermount3 not found (install fuse3)");
	snprintf(images, sizeof(images), "%s/gadgets/images", IGFS_BUILD_DIR);
	d = opendir(images);
	if (d) {
		while ((de = readdir(d)))
			any = any || strstr(de->d_name, "trace_open") != NULL;
		closedir(d);
	}
	if (!any)
		return missing("no trace_open image in '%s' (build the gadget_trace_open target)",
			       images);
	if (t->needs && !ith_which(t->needs, buf, sizeof(buf)))
		return missing("'%s' not found (needed by %s)", t->needs, t->name);
	return 0;
}

/* The test child: mount, body, teardown. Never returns. */
static void run_child(const struct ith_test *t, const char *dir, const char *log)
{
	struct ith_mount m;
	int ret;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_IGN);
	ret = ith_mount(&m, dir, log, t->opts);
	if (!ret)
		ret = t->fn(&m);
	if (ret == ITH_SKIP) {
		ith_teardown(&m);
		_exit(ITH_SKIP);
	}
	if (ith_teardown(&m))
		ret = -1;
	fflush(stderr);
	_exit(ret ? 1 : 0);
}

/* Reap every descendant left (this process is their subreaper). */
static void reap_all(int timeout_ms)
{
	int64_t deadline = ith_now_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r < 0 && errno == ECHILD)
			return;
		if (r > 0)
			continue;
		if (ith_now_ms() >= deadline) {
			fprintf(stderr, "harness: processes left that do not die\n");
			return;
		}
		ith_sleep_ms(10);
	}
}

static int run_test(const struct ith_test *t)
{
	char dir[] = "/tmp/igfs-it-XXXXXX", log[PATH_MAX];
	int64_t t0 = ith_now_ms();
	int ret, st = 0, err;
	pid_t pid;

	ret = check_prereqs(t);
	if (ret)
		return ret;
	mkdir(IGFS_IT_LOG_DIR, 0755);
	snprintf(log, sizeof(log), "%s/%s.log", IGFS_IT_LOG_DIR, t->name);
	logs_glob(log, true);
	if (!mkdtemp(dir)) {
		perror("harness: mkdtemp");
		return 1;
	}
	fprintf(stderr, "=== RUN   %s\n", t->name);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("harness: fork");
		rmdir(dir);
		return 1;
	}
	if (!pid)
		run_child(t, dir, log);
	setpgid(pid, pid);

	err = ith_wait_pid(pid, t->budget_ms, &st);
	if (err) {
		fprintf(stderr, "FAIL %s: did not finish within %d ms: killed\n", t->name,
			t->budget_ms);
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		ith_wait_pid(pid, ITH_CLEANUP_WAIT_MS, &st);
		ret = 1;
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == ITH_SKIP) {
		ret = ITH_SKIP;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		ret = 1;
	}
	/* Whatever happened: no mount, no daemon, no tool left behind. */
	if (ith_mounted(dir)) {
		const char *argv[] = {"fusermount3", "-uz", dir, NULL};

		fprintf(stderr, "harness: '%s' still mounted after the test\n", dir);
		ith_run(argv, 5000, NULL, NULL);
		ret = 1;
	}
	kill(-pid, SIGKILL);
	reap_all(ITH_CLEANUP_WAIT_MS);
	if (rmdir(dir))
		fprintf(stderr, "harness: rmdir '%s': %s\n", dir, strerror(errno));
	if (logs_glob(log, false))
		ret = 1;
	if (ret == 1)
		ith_log_dump(log, 30);
	fprintf(stderr, "--- %s  %s (%lld ms)\n",
		ret == 0	  ? "PASS"
		: ret == ITH_SKIP ? "SKIP"
				  : "FAIL",
		t->name, (long long)(ith_now_ms() - t0));
	return ret;
}

int ith_main(int argc, char **argv, const struct ith_test *tests, size_t n)
{
	int ret = 0, r, i;
	size_t j;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (j = 0; j < n; j++)
			printf("%s\n", tests[j].name);
		return 0;
	}
	/* Orphaned tools and daemons of a killed test come back here to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (argc < 2) {
		for (j = 0; j < n; j++) {
			r = run_test(&tests[j]);
			if (r == 1 || (r == ITH_SKIP && !ret))
				ret = r;
		}
		return ret;
	}
	for (i = 1; i < argc; i++) {
		for (j = 0; j < n && strcmp(tests[j].name, argv[i]); j++)
			;
		if (j == n) {
			fprintf(stderr, "no test named '%s' (see --list)\n", argv[i]);
			return 1;
		}
		r = run_test(&tests[j]);
		if (r == 1 || (r == ITH_SKIP && !ret))
			ret = r;
	}
	return ret;
}

json_int_t ith_jint(json_t *obj, const char *path)
{
	json_t *v = ith_get(obj, path);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

const char *ith_jstr(json_t *obj, const char *path)
{
	json_t *v = ith_get(obj, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool ith_str_is(const char *s, const char *want)
{
	return s && !strcmp(s, want);
}

const char *ith_show(const char *s)
{
	return s ? s : "(missing)";
}
