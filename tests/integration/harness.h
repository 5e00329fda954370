/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Integration test harness: mounts igfs on a fresh mktemp -d directory, runs
 * each test in its own supervised process with a deadline, and tears down
 * (fusermount3 -u -z, then kill) whatever happens. Knows nothing of igfs's
 * internals: it only uses the mount, ordinary tools and /proc.
 */
#ifndef IGFS_IT_HARNESS_H
#define IGFS_IT_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define IGFS_IT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit code of a skipped test (ctest SKIP_RETURN_CODE). */
#define ITH_SKIP 77

/* The daemon, as spawned by ith_mount(). */
struct ith_mount {
	char dir[PATH_MAX]; /* the mount point, a fresh mktemp -d directory */
	char log[PATH_MAX]; /* the daemon's stdout and stderr */
	pid_t pid;	    /* the daemon; -1 once reaped */
	int wstatus;	    /* its wait status once reaped */
};

/* The files of one gadget directory in the mount. */
struct ith_gadget {
	char dir[PATH_MAX];
	char ctl[PATH_MAX];
	char events[PATH_MAX];
	char status[PATH_MAX];
	char params[PATH_MAX];
};

/* A growable byte buffer, always NUL-terminated when data is set. */
struct ith_buf {
	char *data;
	size_t len;
	size_t cap;
};

/*
 * A stream of JSON lines read from an fd (an events file or a tool's stdout):
 * every complete line is parsed into @lines; @bad counts lines that are not a
 * JSON object, @why describes the first one.
 */
struct ith_stream {
	int fd;
	struct ith_buf raw; /* every byte read */
	size_t split;	    /* bytes of @raw already split into lines */
	json_t *lines;	    /* array of objects, in order */
	size_t bad;
	char why[512];
	bool eof;
};

/* One test: its name (the ctest suffix), extra mount options, body and budget. */
struct ith_test {
	const char *name;
	const char *opts;  /* extra -o options for the daemon, or NULL */
	const char *needs; /* a tool the test needs besides the basics, or NULL */
	int budget_ms;	   /* the whole test, mount and teardown included */
	int (*fn)(struct ith_mount *m);
};

/*
 * Run the tests named on the command line (all without arguments, --list to
 * print the names). Each test runs in a child process that mounts, runs the
 * body and tears down; the parent kills it at its budget and cleans up.
 * Returns the exit code: 0, 1, or ITH_SKIP when prerequisites are missing
 * (1 then under CI=true).
 */
int ith_main(int argc, char **argv, const struct ith_test *tests, size_t n);

/* Report a failed check (file:line, condition, message) on stderr. */
void ith_fail_at(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* In a test body with `int ret = -1;` and an `out:` label. */
#define ITH_CHECK(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			ith_fail_at(__FILE__, __LINE__, #cond, __VA_ARGS__);                       \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

/* Clocks, in milliseconds (monotonic) and nanoseconds (wall clock). */
int64_t ith_now_ms(void);
int64_t ith_realtime_ns(void);
void ith_sleep_ms(int ms);

int ith_buf_append(struct ith_buf *b, const void *p, size_t n);
void ith_buf_free(struct ith_buf *b);

/* ----- the daemon ----- */

/*
 * Spawn `igfs -f -o gadgets=<build>/gadgets/images[,opts] dir` with output to
 * @log and wait (with a deadline) until the mount is in /proc/self/mountinfo
 * and answers. 0, or -1 after printing why (with the log).
 */
int ith_mount(struct ith_mount *m, const char *dir, const char *log, const char *opts);
/* Whether @dir is a mount point of type fuse.igfs in /proc/self/mountinfo. */
bool ith_mounted(const char *dir);
/* Wait up to @timeout_ms for the daemon to exit; 0 (status in m->wstatus) or -ETIMEDOUT. */
int ith_wait_daemon(struct ith_mount *m, int timeout_ms);
/*
 * Always run at the end: fusermount3 -u -z when still mounted, wait for the
 * daemon, then SIGTERM and SIGKILL it. 0 when the daemon exited by itself with
 * status 0, -1 otherwise (printed).
 */
int ith_teardown(struct ith_mount *m);
/* -1 (lines printed) when @log holds ERROR, sanitizer reports or igfs errors. */
int ith_log_check(const char *log);
/* Print the last @max_lines of @log to stderr. */
void ith_log_dump(const char *log, int max_lines);

/* The program ids the daemon holds (prog_id in /proc/PID/fdinfo), sorted, distinct. */
int ith_daemon_prog_ids(pid_t pid, uint32_t *ids, size_t cap, size_t *ret_n);

/* ----- the gadget's files ----- */

void ith_gadget_paths(const struct ith_mount *m, const char *name, struct ith_gadget *g);
/* One write(2) of @len bytes to @path opened O_WRONLY|O_TRUNC. 0, or -errno (-EIO if short). */
int ith_write_file(const char *path, const char *data, size_t len);
/* A ctl command (one write). 0 or -errno. */
int ith_ctl(const struct ith_gadget *g, const char *cmd);
/* Read a finite file to EOF with a deadline. 0 or -errno. */
int ith_read_file(const char *path, struct ith_buf *out, int timeout_ms);
/* status as a JSON object (caller decrefs), or NULL after printing why. */
json_t *ith_status(const struct ith_gadget *g);
/* status.@key as an integer, or -1 when absent or not an integer. */
json_int_t ith_status_int(const struct ith_gadget *g, const char *key);
/* Wait until status.events stops growing (the same twice, 100 ms apart): the count, or -1. */
json_int_t ith_wait_events_settled(const struct ith_gadget *g, int timeout_ms);
/* Wait until status.@key equals the string @want; 0 or -ETIMEDOUT. */
int ith_wait_status_str(const struct ith_gadget *g, const char *key, const char *want,
			int timeout_ms);
/* The value at a dotted path ("proc.creds.uid") of @obj, borrowed, or NULL. */
json_t *ith_get(json_t *obj, const char *path);
/* Field helpers for test checks: the integer at @path or -1, the string or NULL. */
json_int_t ith_jint(json_t *obj, const char *path);
const char *ith_jstr(json_t *obj, const char *path);
/* @s is non-NULL and equals @want. */
bool ith_str_is(const char *s, const char *want);
/* @s, or "(missing)" for messages. */
const char *ith_show(const char *s);

/* Whether @obj is exactly {"lost":N} with an integer N; N in *ret_n. */
bool ith_is_lost_line(json_t *obj, json_int_t *ret_n);

/* ----- markers ----- */

/* A unique path /tmp/igfs-marker-<pid>-<random>; it need not exist. */
void ith_marker(char *buf, size_t len);
/* openat(AT_FDCWD, path, O_RDONLY) as a raw syscall: an fd (caller closes) or -errno. */
int ith_marker_open(const char *path);

/* ----- processes ----- */

/* Full path of a tool in PATH, /usr/sbin or /sbin, or NULL. */
const char *ith_which(const char *name, char *buf, size_t len);
/*
 * Start argv (argv[0] looked up with ith_which) with stdin /dev/null, stdout
 * to a non-blocking pipe (*ret_out) or /dev/null when @ret_out is NULL,
 * stderr to /dev/null. Default signal dispositions. The pid, or -1.
 */
pid_t ith_spawn(const char *const argv[], int *ret_out);
/* Wait up to @timeout_ms for @pid; 0 (status in *wstatus) or -ETIMEDOUT. */
int ith_wait_pid(pid_t pid, int timeout_ms, int *wstatus);
/* SIGKILL @pid and reap it (bounded). */
void ith_kill_wait(pid_t pid);
/*
 * Run argv to completion within @timeout_ms, stdout into @out (may be NULL).
 * 0 with the status in *wstatus, -ETIMEDOUT (killed), or -errno.
 */
int ith_run(const char *const argv[], int timeout_ms, struct ith_buf *out, int *wstatus);

/* ----- JSON line streams ----- */

void ith_stream_init(struct ith_stream *s, int fd);
void ith_stream_free(struct ith_stream *s);
/*
 * Wait up to @timeout_ms for data, read once (64 KiB) and parse the complete
 * lines. Bytes read (> 0), 0 at EOF, -ETIMEDOUT, or -errno (-EAGAIN for a
 * non-blocking read at the end).
 */
ssize_t ith_stream_read(struct ith_stream *s, int timeout_ms);
/* Read until @pred is true (0), EOF (-ENODATA) or the deadline (-ETIMEDOUT). */
int ith_stream_until(struct ith_stream *s, int timeout_ms,
		     bool (*pred)(const struct ith_stream *s, const void *arg), const void *arg);
/* Read until EOF (0) or the deadline (-ETIMEDOUT). */
int ith_stream_to_eof(struct ith_stream *s, int timeout_ms);
/* Parse @data as JSON lines into @s without reading (for a tool's captured output). */
void ith_stream_feed(struct ith_stream *s, const char *data, size_t len);
/* Lines whose "fname" is @fname. */
size_t ith_count_fname(const struct ith_stream *s, const char *fname);
/* The @nth line (0-based) whose "fname" is @fname, borrowed, or NULL. */
json_t *ith_find_fname(const struct ith_stream *s, const char *fname, size_t nth);
/* A predicate for ith_stream_until: a line with "fname" == (const char *)arg. */
bool ith_has_fname(const struct ith_stream *s, const void *fname);

#endif /* IGFS_IT_HARNESS_H */
