// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Integration tests of access control (SPEC §1, §9): default owners and
 * modes, the kernel enforcing them for real unprivileged users, chmod/chown,
 * the uid/gid/mode, state=DIR and verify=FILE options, forbidden operations,
 * the per-file reader cap and the ctl write limit. Root, BPF and FUSE; each
 * test mounts its own igfs (harness.h). The users and the group below are
 * created when missing and left in place (they own nothing and cannot log in).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"

#define GADGET	      "trace_open"
#define U1	      "igfs-it-u1"	/* a member of GRP */
#define U2	      "igfs-it-u2"	/* not a member of GRP */
#define GRP	      "igfs-it-tracing" /* the group that may read events */
#define IMAGES_DIR    IGFS_BUILD_DIR "/gadgets/images"
#define EVENT_WAIT_MS 8000  /* an event reaches a reader */
#define TOOL_WAIT_MS  10000 /* a tool run as a user finishes */
#define STATE_WAIT_MS 5000  /* status reaches a state */
#define MOUNT_WAIT_MS 20000 /* a remount: all bundled gadgets load (slow under ASan) */
#define MAX_READERS   1024  /* IGFS_MAX_READERS: open handles of one events file */
#define MAX_CTL_WRITE 4096  /* SPEC §4: longer ctl writes fail with E2BIG */
#define USER_SETUP    250   /* exit code of a user child that could not switch ids */

/* ----- users ----- */

struct user {
	const char *name;
	uid_t uid;
	gid_t gid;
};

struct users {
	struct user u1, u2;
	gid_t grp;
};

/* Run a tool as root with stderr into @out; its exit code, or -1. */
static int run_tool(const char *const argv[], struct ith_buf *out)
{
	/* "$@" passes the arguments as they are: no quoting. */
	const char *sh[32] = {"sh", "-c", "exec 2>&1; exec \"$@\"", "sh"};
	size_t i;
	int st = 0;

	for (i = 0; argv[i] && 4 + i < IGFS_IT_ARRAY_SIZE(sh) - 1; i++)
		sh[4 + i] = argv[i];
	if (ith_run(sh, 30000, out, &st))
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool group_has(const char *group, const char *user)
{
	struct group *g = getgrnam(group);
	char **m;

	for (m = g ? g->gr_mem : NULL; m && *m; m++)
		if (!strcmp(*m, user))
			return true;
	return false;
}

/*
 * Create @name when missing. Idempotent and safe against a concurrent run:
 * whatever useradd says, what counts is that the user exists afterwards.
 */
static int ensure_user(const char *name)
{
	const char *argv[] = {"useradd",      "--system", "--no-create-home",  "--home-dir",
			      "/nonexistent", "--shell",  "/usr/sbin/nologin", "--user-group",
			      name,	      NULL};
	struct ith_buf out = {};
	int i, rc = 0;

	for (i = 0; i < 3 && !getpwnam(name); i++) {
		out.len = 0;
		rc = run_tool(argv, &out);
		if (!getpwnam(name))
			ith_sleep_ms(200); /* /etc/passwd locked by someone else */
	}
	if (!getpwnam(name)) {
		fprintf(stderr, "cannot create user '%s' (useradd %d): %s\n", name, rc,
			out.data ? out.data : "");
		ith_buf_free(&out);
		return -1;
	}
	ith_buf_free(&out);
	return 0;
}

static int ensure_group(const char *name)
{
	const char *argv[] = {"groupadd", "--system", name, NULL};
	struct ith_buf out = {};
	int i, rc = 0;

	for (i = 0; i < 3 && !getgrnam(name); i++) {
		out.len = 0;
		rc = run_tool(argv, &out);
		if (!getgrnam(name))
			ith_sleep_ms(200);
	}
	if (!getgrnam(name)) {
		fprintf(stderr, "cannot create group '%s' (groupadd %d): %s\n", name, rc,
			out.data ? out.data : "");
		ith_buf_free(&out);
		return -1;
	}
	ith_buf_free(&out);
	return 0;
}

/* Make @user a member of @group or not, as @member says. */
static int ensure_member(const char *user, const char *group, bool member)
{
	const char *add[] = {"usermod", "-a", "-G", group, user, NULL};
	const char *del[] = {"gpasswd", "-d", user, group, NULL};
	struct ith_buf out = {};
	int rc;

	if (group_has(group, user) == member)
		return 0;
	rc = run_tool(member ? add : del, &out);
	if (group_has(group, user) != member) {
		fprintf(stderr, "cannot %s '%s' %s group '%s' (%d): %s\n",
			member ? "add" : "remove", user, member ? "to" : "from", group, rc,
			out.data ? out.data : "");
		ith_buf_free(&out);
		return -1;
	}
	ith_buf_free(&out);
	return 0;
}

static int user_get(const char *name, struct user *u)
{
	struct passwd *pw = getpwnam(name);

	if (!pw)
		return -1;
	u->name = name;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/* The test users and group, created when missing: U1 in GRP, U2 not. */
static int users_ensure(struct users *us)
{
	struct group *g;

	if (ensure_group(GRP) || ensure_user(U1) || ensure_user(U2) ||
	    ensure_member(U1, GRP, true) || ensure_member(U2, GRP, false))
		return -1;
	g = getgrnam(GRP);
	if (!g || user_get(U1, &us->u1) || user_get(U2, &us->u2))
		return -1;
	us->grp = g->gr_gid;
	if (!us->u1.uid || !us->u2.uid || us->u1.uid == us->u2.uid) {
		fprintf(stderr, "unexpected uids: %s %u, %s %u\n", U1, us->u1.uid, U2, us->u2.uid);
		return -1;
	}
	return 0;
}

/* ----- running things as a user ----- */

/*
 * `sh -c CMD` as @u (NULL: root) through setpriv, in the C locale, stderr
 * into stdout, output in @out (reset first). The exit code, or -1 (printed)
 * when it did not end within the deadline or died of a signal.
 */
static int sh_as(const struct user *u, struct ith_buf *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int sh_as(const struct user *u, struct ith_buf *out, const char *fmt, ...)
{
	char cmd[8192], script[8400], ruid[32], rgid[32];
	const char *as[] = {"setpriv", ruid,   rgid, "--init-groups", "--", "/bin/sh",
			    "-c",      script, NULL};
	const char *root[] = {"/bin/sh", "-c", script, NULL};
	va_list ap;
	int st = 0;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(script, sizeof(script), "export LC_ALL=C; exec 2>&1; cd / && %s", cmd);
	if (u) {
		snprintf(ruid, sizeof(ruid), "--reuid=%u", (unsigned int)u->uid);
		snprintf(rgid, sizeof(rgid), "--regid=%u", (unsigned int)u->gid);
	}
	out->len = 0;
	if (out->data)
		out->data[0] = '\0';
	if (ith_run(u ? as : root, TOOL_WAIT_MS, out, &st))
		return -1;
	if (!WIFEXITED(st)) {
		fprintf(stderr, "'%s' as %s died: wait status 0x%x\n", cmd, u ? u->name : "root",
			st);
		return -1;
	}
	return WEXITSTATUS(st);
}

/* The output of the last sh_as, for messages. */
static const char *outs(const struct ith_buf *b)
{
	return b->data ? b->data : "";
}

/* Commands run as @u really run as @u, with (or without) the group @grp. */
static int check_ids(const struct user *u, gid_t grp, bool member)
{
	struct ith_buf out = {};
	char want[32], groups[512];
	int ret = -1, rc;

	rc = sh_as(u, &out, "id -u; id -G");
	snprintf(want, sizeof(want), "%u\n", (unsigned int)u->uid);
	ITH_CHECK(rc == 0 && !strncmp(outs(&out), want, strlen(want)), "id as %s: %d '%s'", u->name,
		  rc, outs(&out));
	/* "id -G" prints the groups separated by blanks: " g1 g2 \n " here. */
	snprintf(groups, sizeof(groups), " %s ", strchr(outs(&out), '\n') + 1);
	for (char *nl = strchr(groups, '\n'); nl; nl = strchr(nl, '\n'))
		*nl = ' ';
	snprintf(want, sizeof(want), " %u ", (unsigned int)grp);
	ITH_CHECK(!strstr(groups, want) == !member, "groups of %s:%s(want %s%u)", u->name, groups,
		  member ? "" : "no ", (unsigned int)grp);
	ret = 0;
out:
	ith_buf_free(&out);
	return ret;
}

/* A forked child switched to a user: returns 0 or -errno, which becomes its exit code. */
typedef int (*user_fn)(void *arg);

static pid_t user_fork(const struct user *u, user_fn fn, void *arg)
{
	pid_t pid = fork();
	int r;

	if (pid)
		return pid;
	if (initgroups(u->name, u->gid) || setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid))
		_exit(USER_SETUP);
	r = fn(arg);
	_exit(r < 0 ? -r : 0);
}

/* Wait for a user_fork child: 0, -errno (what it returned), -ETIMEDOUT, or -ECHILD. */
static int user_wait(pid_t pid, int timeout_ms)
{
	int st = 0;

	if (pid < 0)
		return -ECHILD;
	if (ith_wait_pid(pid, timeout_ms, &st)) {
		fprintf(stderr, "user child %d did not finish within %d ms: killed\n", (int)pid,
			timeout_ms);
		ith_kill_wait(pid);
		return -ETIMEDOUT;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) == USER_SETUP) {
		fprintf(stderr, "user child failed (wait status 0x%x)\n", st);
		return -ECHILD;
	}
	return -WEXITSTATUS(st);
}

static int as_user(const struct user *u, user_fn fn, void *arg)
{
	return user_wait(user_fork(u, fn, arg), TOOL_WAIT_MS);
}

/* One file operation, for as_user. */
enum op_kind { OP_OPEN_READ, OP_WRITE, OP_CHMOD, OP_CHOWN, OP_READDIR };

struct op {
	enum op_kind kind;
	const char *path;
	const char *data; /* OP_WRITE */
	mode_t mode;	  /* OP_CHMOD */
	uid_t uid;	  /* OP_CHOWN, -1 to keep */
	gid_t gid;
};

static int op_run(void *arg)
{
	const struct op *o = arg;
	int fd, err = 0;
	DIR *d;

	switch (o->kind) {
	case OP_OPEN_READ:
		fd = open(o->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	case OP_WRITE:
		fd = open(o->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (write(fd, o->data, strlen(o->data)) < 0)
			err = -errno;
		close(fd);
		return err;
	case OP_CHMOD:
		return chmod(o->path, o->mode) ? -errno : 0;
	case OP_CHOWN:
		return chown(o->path, o->uid, o->gid) ? -errno : 0;
	case OP_READDIR:
		d = opendir(o->path);
		if (!d)
			return -errno;
		closedir(d);
		return 0;
	}
	return -EINVAL;
}

static int user_open_read(const struct user *u, const char *path)
{
	struct op o = {.kind = OP_OPEN_READ, .path = path};

	return as_user(u, op_run, &o);
}

static int user_write(const struct user *u, const char *path, const char *data)
{
	struct op o = {.kind = OP_WRITE, .path = path, .data = data};

	return as_user(u, op_run, &o);
}

static int user_chmod(const struct user *u, const char *path, mode_t mode)
{
	struct op o = {.kind = OP_CHMOD, .path = path, .mode = mode};

	return as_user(u, op_run, &o);
}

static int user_chown(const struct user *u, const char *path, uid_t uid, gid_t gid)
{
	struct op o = {.kind = OP_CHOWN, .path = path, .uid = uid, .gid = gid};

	return as_user(u, op_run, &o);
}

/*
 * A user's reader of events held open: the child opens @path, reports 'o'
 * (or 'e' and fails), waits for the go byte, then reads to EOF when @to_eof
 * and closes.
 */
struct holder {
	const char *path;
	int ready[2];
	int go[2];
	bool to_eof;
};

static int holder_run(void *arg)
{
	struct holder *h = arg;
	char buf[65536], c;
	int fd, err;

	fd = open(h->path, O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	c = err ? 'e' : 'o';
	if (write(h->ready[1], &c, 1) != 1)
		return -EPIPE;
	if (err)
		return err;
	if (read(h->go[0], &c, 1) != 1)
		return -EPIPE;
	while (h->to_eof) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (!n)
			break;
	}
	close(fd);
	return err;
}

/* Wait up to @timeout_ms for one byte on @fd: the byte, or -1. */
static int pipe_byte(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, timeout_ms) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return (unsigned char)c;
}

static void holder_close(struct holder *h)
{
	int *fds[] = {&h->ready[0], &h->ready[1], &h->go[0], &h->go[1]};
	size_t i;

	for (i = 0; i < IGFS_IT_ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* ----- files and status ----- */

static bool expect_stat(const char *path, mode_t type, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(stderr, "stat '%s': %s\n", path, strerror(errno));
		return false;
	}
	if ((st.st_mode & S_IFMT) != type || (st.st_mode & 07777) != mode || st.st_uid != uid ||
	    st.st_gid != gid) {
		fprintf(stderr, "'%s' is %s %04o %u:%u, expected %s %04o %u:%u\n", path,
			S_ISDIR(st.st_mode) ? "dir" : "file", (unsigned int)(st.st_mode & 07777),
			(unsigned int)st.st_uid, (unsigned int)st.st_gid,
			type == S_IFDIR ? "dir" : "file", (unsigned int)mode, (unsigned int)uid,
			(unsigned int)gid);
		return false;
	}
	return true;
}

/* The expected owner and modes of a gadget's tree (SPEC §9). */
struct want_perm {
	mode_t file;  /* readable files */
	mode_t wfile; /* ctl and params/<x> */
	mode_t dir;
	uid_t uid;
	gid_t gid;
};

/* Check every entry under the gadget directory @path; counts checked entries in *n. */
static bool check_tree(const char *path, bool in_params, const struct want_perm *w, int depth,
		       unsigned int *n)
{
	char names[64][256], p[PATH_MAX];
	size_t cnt = 0, i;
	struct dirent *de;
	bool ok = true;
	DIR *d;

	if (depth > 4)
		return false;
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "opendir '%s': %s\n", path, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) && cnt < IGFS_IT_ARRAY_SIZE(names))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			snprintf(names[cnt++], sizeof(names[0]), "%s", de->d_name);
	closedir(d);
	for (i = 0; i < cnt; i++) {
		struct stat st;

		if (snprintf(p, sizeof(p), "%s/%s", path, names[i]) >= (int)sizeof(p) ||
		    lstat(p, &st)) {
			fprintf(stderr, "lstat '%s': %s\n", p, strerror(errno));
			ok = false;
			continue;
		}
		(*n)++;
		if (S_ISDIR(st.st_mode)) {
			ok &= expect_stat(p, S_IFDIR, w->dir, w->uid, w->gid);
			ok &= check_tree(p, !strcmp(names[i], "params"), w, depth + 1, n);
		} else {
			bool writable = in_params || !strcmp(names[i], "ctl");

			ok &= expect_stat(p, S_IFREG, writable ? w->wfile : w->file, w->uid,
					  w->gid);
		}
	}
	return ok;
}

/* The gadgets in the mount, sorted, one per line in @out ("" when none). */
static int list_dir(const char *dir, char *out, size_t len)
{
	struct dirent **v = NULL;
	size_t off = 0;
	int n, i;

	out[0] = '\0';
	n = scandir(dir, &v, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i]->d_name, ".") && strcmp(v[i]->d_name, "..") && off < len)
			off += (size_t)snprintf(out + off, len - off, "%s\n", v[i]->d_name);
		free(v[i]);
	}
	free(v);
	return 0;
}

static void path_of(char *buf, size_t len, const struct ith_gadget *g, const char *rel)
{
	snprintf(buf, len, "%s/%s", g->dir, rel);
}

/* The text of a small file, trailing newline removed, into @buf ("" on error). */
static int read_text(const char *path, char *buf, size_t len)
{
	struct ith_buf b = {};
	int err;

	buf[0] = '\0';
	err = ith_read_file(path, &b, 3000);
	if (!err) {
		if (b.len && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		snprintf(buf, len, "%s", b.data ? b.data : "");
	}
	ith_buf_free(&b);
	return err;
}

static void param_text(const struct ith_gadget *g, const char *key, char *buf, size_t len)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", g->params, key);
	read_text(p, buf, len);
}

/* status.@key as a string copy ("null" for null, "" when absent). */
static void status_str(const struct ith_gadget *g, const char *key, char *buf, size_t len)
{
	json_t *st = ith_status(g);
	json_t *v = ith_get(st, key);

	snprintf(buf, len, "%s",
		 json_is_string(v) ? json_string_value(v)
		 : json_is_null(v) ? "null"
				   : "");
	json_decref(st);
}

/* ----- the daemon's log ----- */

/* Lines of @text that contain every non-NULL needle; the first one copied to @first. */
static int count_lines(const char *text, const char *a, const char *b, const char *c, char *first,
		       size_t len)
{
	const char *p = text ? text : "";
	int n = 0;

	if (first)
		first[0] = '\0';
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char line[4096];

		snprintf(line, sizeof(line), "%.*s", (int)(l < sizeof(line) ? l : sizeof(line) - 1),
			 p);
		if ((!a || strstr(line, a)) && (!b || strstr(line, b)) && (!c || strstr(line, c))) {
			if (!n && first)
				snprintf(first, len, "%s", line);
			n++;
		}
		p += l + (nl ? 1 : 0);
	}
	return n;
}

static int read_log(const char *log, struct ith_buf *b)
{
	b->len = 0;
	return ith_read_file(log, b, 3000);
}

/* ----- remounts with other options ----- */

static void child_exec_igfs(const char *gopt, const char *dir, int logfd)
{
	const char *argv[] = {IGFS_BIN, "-f", "-o", gopt, dir, NULL};
	sigset_t none;
	int s, devnull;

	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	dup2(logfd, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	execv(IGFS_BIN, (char *const *)argv);
	_exit(127);
}

/*
 * Mount igfs again at m->dir (unmounted) with the bundled images and @opts,
 * the daemon's output in @log. 0 when mounted and answering; 1 when the
 * daemon exited before mounting (its status in m->wstatus, m->pid -1); -1
 * otherwise (printed; teardown cleans up). Unlike ith_mount it does not need
 * trace_open in the mount.
 */
static int remount(struct ith_mount *m, const char *log, const char *opts)
{
	char gopt[PATH_MAX * 2], dir[PATH_MAX];
	int64_t deadline = ith_now_ms() + MOUNT_WAIT_MS;
	struct stat st;
	int logfd;

	snprintf(dir, sizeof(dir), "%s", m->dir);
	memset(m, 0, sizeof(*m));
	m->pid = -1;
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	snprintf(m->log, sizeof(m->log), "%s", log);
	if (ith_mounted(dir)) {
		fprintf(stderr, "'%s' is still mounted\n", dir);
		return -1;
	}
	snprintf(gopt, sizeof(gopt), "gadgets=%s%s%s", IMAGES_DIR, opts ? "," : "",
		 opts ? opts : "");
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "cannot create '%s': %s\n", log, strerror(errno));
		return -1;
	}
	fprintf(stderr, "remount: %s -f -o %s %s\n", IGFS_BIN, gopt, dir);
	m->pid = fork();
	if (!m->pid)
		child_exec_igfs(gopt, dir, logfd);
	close(logfd);
	if (m->pid < 0) {
		perror("fork");
		return -1;
	}
	while (!ith_mounted(dir)) {
		if (!ith_wait_daemon(m, 0))
			return 1;
		if (ith_now_ms() >= deadline) {
			fprintf(stderr, "'%s' not mounted within %d ms\n", dir, MOUNT_WAIT_MS);
			ith_log_dump(log, 30);
			return -1;
		}
		ith_sleep_ms(10);
	}
	/* The first access waits for FUSE_INIT. */
	if (stat(dir, &st)) {
		fprintf(stderr, "stat '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The log of a remount's daemon, next to the harness's: "<log dir>/<tag>.log". */
static void log_name(const char *tag, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.log", IGFS_IT_LOG_DIR, tag);
}

/*
 * Unmount a remount and check its daemon's exit and log. A daemon that
 * refused to mount has been checked by the caller: its status is cleared so
 * that the harness's final teardown does not count it.
 */
static int unmount_checked(struct ith_mount *m)
{
	int ret = ith_teardown(m);

	if (ith_log_check(m->log))
		ret = -1;
	if (ret)
		ith_log_dump(m->log, 30);
	return ret;
}

/* ----- 1. defaults ----- */

static int test_defaults(struct ith_mount *m)
{
	const struct want_perm w = {.file = 0640, .wfile = 0600, .dir = 0755, .uid = 0, .gid = 0};
	struct ith_buf out = {};
	struct ith_stream s;
	struct ith_gadget g;
	char marker[128], state[64];
	struct users us;
	unsigned int n = 0;
	int ret = -1, fd = -1, rc, err;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!users_ensure(&us), "cannot set up the test users");
	ITH_CHECK(!check_ids(&us.u1, us.grp, true) && !check_ids(&us.u2, us.grp, false),
		  "the test users");

	/* SPEC §9: directories 0755, ctl and params 0600, the rest 0640, root's. */
	ITH_CHECK(expect_stat(m->dir, S_IFDIR, 0755, 0, 0), "mount root");
	ITH_CHECK(check_tree(g.dir, false, &w, 0, &n), "default owners and modes");
	ITH_CHECK(n >= 12, "only %u entries under %s", n, g.dir);
	ITH_CHECK(expect_stat(g.dir, S_IFDIR, 0755, 0, 0), "gadget dir");
	ITH_CHECK(expect_stat(g.ctl, S_IFREG, 0600, 0, 0), "ctl");
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0640, 0, 0), "events");

	/* A normal user lists the mount and the gadget directory... */
	rc = sh_as(&us.u2, &out, "ls -1 '%s'", m->dir);
	ITH_CHECK(rc == 0 && strstr(outs(&out), GADGET "\n"), "ls of the mount as %s: %d '%s'", U2,
		  rc, outs(&out));
	rc = sh_as(&us.u2, &out, "ls -1 '%s'", g.dir);
	ITH_CHECK(rc == 0 && strstr(outs(&out), "ctl\n") && strstr(outs(&out), "events\n") &&
			  strstr(outs(&out), "params\n") && strstr(outs(&out), "status\n"),
		  "ls of the gadget as %s: %d '%s'", U2, rc, outs(&out));
	rc = sh_as(&us.u2, &out, "stat -c '%%a %%u %%g' '%s'", g.events);
	ITH_CHECK(rc == 0 && !strcmp(outs(&out), "640 0 0\n"), "stat of events as %s: %d '%s'", U2,
		  rc, outs(&out));

	/* ...but reads no events and writes no ctl. */
	rc = sh_as(&us.u2, &out, "cat '%s'", g.events);
	ITH_CHECK(rc != 0 && strstr(outs(&out), "Permission denied"),
		  "cat events as %s: exit %d '%s'", U2, rc, outs(&out));
	err = user_open_read(&us.u2, g.events);
	ITH_CHECK(err == -EACCES, "open events as %s: %s, expected EACCES", U2, strerror(-err));
	err = user_write(&us.u2, g.ctl, "start");
	ITH_CHECK(err == -EACCES, "write ctl as %s: %s, expected EACCES", U2, strerror(-err));
	rc = sh_as(&us.u2, &out, "echo start > '%s'", g.ctl);
	ITH_CHECK(rc != 0 && strstr(outs(&out), "Permission denied"),
		  "echo start > ctl as %s: exit %d '%s'", U2, rc, outs(&out));
	err = user_open_read(&us.u2, g.status);
	ITH_CHECK(err == -EACCES, "open status as %s: %s, expected EACCES", U2, strerror(-err));
	status_str(&g, "state", state, sizeof(state));
	ITH_CHECK(!strcmp(state, "stopped"), "state '%s' after refused attempts", state);

	/* Root can. */
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start as root: %s", strerror(-err));
	fd = open(g.events, O_RDONLY | O_CLOEXEC);
	ITH_CHECK(fd >= 0, "open events as root: %m");
	s.fd = fd;
	ith_marker(marker, sizeof(marker));
	ith_marker_open(marker);
	err = ith_stream_until(&s, EVENT_WAIT_MS, ith_has_fname, marker);
	ITH_CHECK(!err, "root does not see its marker: %s", strerror(-err));
	ITH_CHECK(ith_jint(ith_find_fname(&s, marker, 0), "proc.pid") == getpid(),
		  "marker event has pid %lld, expected %d",
		  (long long)ith_jint(ith_find_fname(&s, marker, 0), "proc.pid"), (int)getpid());
	err = ith_ctl(&g, "stop");
	ITH_CHECK(!err, "stop as root: %s", strerror(-err));
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	ith_stream_free(&s);
	ith_buf_free(&out);
	return ret;
}

/* ----- 2. a group that may read events ----- */

/*
 * As @u, open events of the stopped gadget and hold it while the state is
 * checked (it must stay stopped: opening does not autostart for users who
 * may not write ctl), then read to EOF.
 */
static int hold_stopped(const struct user *u, const struct ith_gadget *g)
{
	struct holder h = {.path = g->events, .ready = {-1, -1}, .go = {-1, -1}, .to_eof = true};
	char state[64], ctl[64];
	int ret = -1, c, err;
	pid_t pid = -1;

	ITH_CHECK(!pipe2(h.ready, O_CLOEXEC) && !pipe2(h.go, O_CLOEXEC), "pipe2: %m");
	pid = user_fork(u, holder_run, &h);
	ITH_CHECK(pid > 0, "fork: %m");
	c = pipe_byte(h.ready[0], TOOL_WAIT_MS);
	ITH_CHECK(c == 'o', "%s cannot open events of the stopped gadget (%d)", u->name, c);
	status_str(g, "state", state, sizeof(state));
	read_text(g->ctl, ctl, sizeof(ctl));
	ITH_CHECK(!strcmp(state, "stopped") && !strcmp(ctl, "stopped"),
		  "%s opening events started the gadget: status.state '%s', ctl '%s'", u->name,
		  state, ctl);
	ITH_CHECK(write(h.go[1], "g", 1) == 1, "write: %m");
	err = user_wait(pid, TOOL_WAIT_MS);
	pid = -1;
	ITH_CHECK(!err, "%s's read of the stopped gadget's events did not end at EOF: %s", u->name,
		  strerror(-err));
	status_str(g, "state", state, sizeof(state));
	ITH_CHECK(!strcmp(state, "stopped"), "state '%s' after %s read", state, u->name);
	ret = 0;
out:
	if (pid > 0)
		ith_kill_wait(pid);
	holder_close(&h);
	return ret;
}

static int test_group_read(struct ith_mount *m)
{
	const char *argv[] = {"setpriv", NULL, NULL, "--init-groups", "--", "cat", NULL, NULL};
	char ruid[32], rgid[32], marker[128], state[64];
	struct ith_buf out = {};
	struct ith_stream s;
	struct ith_gadget g;
	struct users us;
	json_t *l;
	int ret = -1, fd = -1, rc, err;
	pid_t cat = -1;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!users_ensure(&us), "cannot set up the test users");
	ITH_CHECK(!chown(g.events, (uid_t)-1, us.grp), "chgrp events: %m");
	ITH_CHECK(!chmod(g.events, 0640), "chmod events: %m");
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0640, 0, us.grp), "events after chgrp");

	/* A never-started gadget: the member's open neither starts it nor blocks. */
	ITH_CHECK(!hold_stopped(&us.u1, &g), "a fresh gadget");

	/* Data: root starts the gadget and opens a marker; the member's cat sees it. */
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start as root: %s", strerror(-err));
	ith_marker(marker, sizeof(marker));
	ith_marker_open(marker);
	snprintf(ruid, sizeof(ruid), "--reuid=%u", (unsigned int)us.u1.uid);
	snprintf(rgid, sizeof(rgid), "--regid=%u", (unsigned int)us.u1.gid);
	argv[1] = ruid;
	argv[2] = rgid;
	argv[6] = g.events;
	cat = ith_spawn(argv, &fd);
	ITH_CHECK(cat > 0, "cannot spawn cat as %s", U1);
	s.fd = fd;
	err = ith_stream_until(&s, EVENT_WAIT_MS, ith_has_fname, marker);
	ITH_CHECK(!err, "%s (in %s) does not see the marker: %s (%zu lines, eof %d)", U1, GRP,
		  strerror(-err), json_array_size(s.lines), s.eof);
	l = ith_find_fname(&s, marker, 0);
	ITH_CHECK(ith_jint(l, "proc.pid") == getpid() && ith_jint(l, "proc.creds.uid") == 0 &&
			  ith_str_is(ith_jstr(l, "error"), "ENOENT"),
		  "marker event: pid %lld uid %lld error '%s'", (long long)ith_jint(l, "proc.pid"),
		  (long long)ith_jint(l, "proc.creds.uid"), ith_show(ith_jstr(l, "error")));
	ITH_CHECK(!s.bad, "bad lines: %s", s.why);
	ith_kill_wait(cat);
	cat = -1;

	/* The member may read, not start or stop. */
	err = user_write(&us.u1, g.ctl, "stop");
	ITH_CHECK(err == -EACCES, "stop as %s: %s, expected EACCES", U1, strerror(-err));
	err = user_write(&us.u1, g.ctl, "start");
	ITH_CHECK(err == -EACCES, "start as %s: %s, expected EACCES", U1, strerror(-err));
	rc = sh_as(&us.u1, &out, "echo stop > '%s'", g.ctl);
	ITH_CHECK(rc != 0 && strstr(outs(&out), "Permission denied"),
		  "echo stop > ctl as %s: exit %d '%s'", U1, rc, outs(&out));
	status_str(&g, "state", state, sizeof(state));
	ITH_CHECK(!strcmp(state, "running"), "state '%s' after %s's stop", state, U1);

	/* A non-member still cannot read. */
	err = user_open_read(&us.u2, g.events);
	ITH_CHECK(err == -EACCES, "open events as %s: %s, expected EACCES", U2, strerror(-err));
	rc = sh_as(&us.u2, &out, "cat '%s'", g.events);
	ITH_CHECK(rc != 0 && strstr(outs(&out), "Permission denied"),
		  "cat events as %s: exit %d '%s'", U2, rc, outs(&out));

	/* Stopped by root: the member's open does not start it again. */
	err = ith_ctl(&g, "stop");
	ITH_CHECK(!err, "stop as root: %s", strerror(-err));
	ITH_CHECK(!ith_wait_status_str(&g, "state", "stopped", STATE_WAIT_MS), "not stopped");
	ITH_CHECK(!hold_stopped(&us.u1, &g), "a stopped gadget");
	rc = sh_as(&us.u1, &out, "timeout 8 cat '%s' > /dev/null", g.events);
	ITH_CHECK(rc == 0, "cat of the stopped gadget's events as %s: exit %d '%s'", U1, rc,
		  outs(&out));
	status_str(&g, "state", state, sizeof(state));
	ITH_CHECK(!strcmp(state, "stopped"), "state '%s' after %s's cat", state, U1);
	ret = 0;
out:
	if (cat > 0)
		ith_kill_wait(cat);
	if (fd >= 0)
		close(fd);
	ith_stream_free(&s);
	ith_buf_free(&out);
	return ret;
}

/* ----- 3. a ctl everyone may write ----- */

static int test_ctl_0666(struct ith_mount *m)
{
	struct holder h = {.ready = {-1, -1}, .go = {-1, -1}};
	struct ith_buf out = {};
	struct ith_gadget g;
	char state[64], ctl[64];
	struct users us;
	int ret = -1, rc, c, err;
	pid_t pid = -1;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!users_ensure(&us), "cannot set up the test users");
	ITH_CHECK(!chmod(g.ctl, 0666), "chmod ctl: %m");
	ITH_CHECK(expect_stat(g.ctl, S_IFREG, 0666, 0, 0), "ctl after chmod");

	rc = sh_as(&us.u2, &out, "echo start > '%s'", g.ctl);
	ITH_CHECK(rc == 0, "echo start > ctl as %s: exit %d '%s'", U2, rc, outs(&out));
	ITH_CHECK(!ith_wait_status_str(&g, "state", "running", STATE_WAIT_MS), "not running");
	rc = sh_as(&us.u2, &out, "cat '%s'", g.ctl);
	ITH_CHECK(rc == 0 && !strcmp(outs(&out), "running\n"), "cat ctl as %s: %d '%s'", U2, rc,
		  outs(&out));
	/* Starting rights are not reading rights. */
	err = user_open_read(&us.u2, g.events);
	ITH_CHECK(err == -EACCES, "open events as %s: %s, expected EACCES", U2, strerror(-err));
	rc = sh_as(&us.u2, &out, "echo stop > '%s'", g.ctl);
	ITH_CHECK(rc == 0, "echo stop > ctl as %s: exit %d '%s'", U2, rc, outs(&out));
	ITH_CHECK(!ith_wait_status_str(&g, "state", "stopped", STATE_WAIT_MS), "not stopped");
	err = user_write(&us.u2, g.ctl, "start");
	ITH_CHECK(!err, "write start as %s: %s", U2, strerror(-err));
	err = user_write(&us.u2, g.ctl, "stop");
	ITH_CHECK(!err, "write stop as %s: %s", U2, strerror(-err));

	/* With events readable too, the user's open autostarts (it may write ctl)... */
	ITH_CHECK(!chmod(g.events, 0644), "chmod events: %m");
	h.path = g.events;
	ITH_CHECK(!pipe2(h.ready, O_CLOEXEC) && !pipe2(h.go, O_CLOEXEC), "pipe2: %m");
	pid = user_fork(&us.u2, holder_run, &h);
	ITH_CHECK(pid > 0, "fork: %m");
	c = pipe_byte(h.ready[0], TOOL_WAIT_MS);
	ITH_CHECK(c == 'o', "%s cannot open events (%d)", U2, c);
	status_str(&g, "state", state, sizeof(state));
	read_text(g.ctl, ctl, sizeof(ctl));
	ITH_CHECK(!strcmp(state, "running") && !strcmp(ctl, "running"),
		  "%s's open did not autostart: state '%s', ctl '%s'", U2, state, ctl);
	/* ...and its last close stops it again (SPEC §7). */
	ITH_CHECK(write(h.go[1], "g", 1) == 1, "write: %m");
	err = user_wait(pid, TOOL_WAIT_MS);
	pid = -1;
	ITH_CHECK(!err, "holder: %s", strerror(-err));
	ITH_CHECK(!ith_wait_status_str(&g, "state", "stopped", STATE_WAIT_MS),
		  "an autostarted gadget did not stop at its last close");
	ret = 0;
out:
	if (pid > 0)
		ith_kill_wait(pid);
	holder_close(&h);
	ith_buf_free(&out);
	return ret;
}

/* ----- 3b. a ctl the group may write ----- */

static int test_ctl_group(struct ith_mount *m)
{
	struct holder h = {.ready = {-1, -1}, .go = {-1, -1}};
	struct ith_gadget g;
	char state[64];
	struct users us;
	int ret = -1, c, err;
	pid_t pid = -1;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!users_ensure(&us), "cannot set up the test users");
	ITH_CHECK(!chown(g.ctl, (uid_t)-1, us.grp) && !chmod(g.ctl, 0620), "chgrp/chmod ctl: %m");
	ITH_CHECK(!chown(g.events, (uid_t)-1, us.grp) && !chmod(g.events, 0640),
		  "chgrp/chmod events: %m");

	/* The group (a supplementary one of U1) may start and stop; others may not. */
	err = user_write(&us.u2, g.ctl, "start");
	ITH_CHECK(err == -EACCES, "start as %s: %s, expected EACCES", U2, strerror(-err));
	err = user_write(&us.u1, g.ctl, "start");
	ITH_CHECK(!err, "start as %s (in %s): %s", U1, GRP, strerror(-err));
	ITH_CHECK(!ith_wait_status_str(&g, "state", "running", STATE_WAIT_MS), "not running");
	err = user_write(&us.u1, g.ctl, "stop");
	ITH_CHECK(!err, "stop as %s: %s", U1, strerror(-err));
	ITH_CHECK(!ith_wait_status_str(&g, "state", "stopped", STATE_WAIT_MS), "not stopped");
	/* ctl is write-only for the group: reading it is refused. */
	err = user_open_read(&us.u1, g.ctl);
	ITH_CHECK(err == -EACCES, "read ctl (0620) as %s: %s, expected EACCES", U1, strerror(-err));

	/* A member that may write ctl autostarts by opening events, through its groups. */
	h.path = g.events;
	ITH_CHECK(!pipe2(h.ready, O_CLOEXEC) && !pipe2(h.go, O_CLOEXEC), "pipe2: %m");
	pid = user_fork(&us.u1, holder_run, &h);
	ITH_CHECK(pid > 0, "fork: %m");
	c = pipe_byte(h.ready[0], TOOL_WAIT_MS);
	ITH_CHECK(c == 'o', "%s cannot open events (%d)", U1, c);
	status_str(&g, "state", state, sizeof(state));
	ITH_CHECK(!strcmp(state, "running"), "%s's open did not autostart: state '%s'", U1, state);
	ITH_CHECK(write(h.go[1], "g", 1) == 1, "write: %m");
	err = user_wait(pid, TOOL_WAIT_MS);
	pid = -1;
	ITH_CHECK(!err, "holder: %s", strerror(-err));
	ITH_CHECK(!ith_wait_status_str(&g, "state", "stopped", STATE_WAIT_MS),
		  "an autostarted gadget did not stop at its last close");
	ret = 0;
out:
	if (pid > 0)
		ith_kill_wait(pid);
	holder_close(&h);
	return ret;
}

/* ----- 4. uid=, gid=, mode= ----- */

#define OPT_UID 4242
#define OPT_GID 4343

static int test_mount_opts(struct ith_mount *m)
{
	const struct want_perm w = {
		.file = 0644, .wfile = 0644 & 0660, .dir = 0755, .uid = OPT_UID, .gid = OPT_GID};
	char names[4096], *save = NULL, *name, p[PATH_MAX * 2];
	unsigned int n = 0, gadgets = 0;
	int ret = -1;

	ITH_CHECK(!list_dir(m->dir, names, sizeof(names)), "cannot list the mount");
	ITH_CHECK(expect_stat(m->dir, S_IFDIR, 0755, 0, 0), "mount root");
	/* Every gadget, every file: readable files 0644, ctl and params 0640, dirs 0755. */
	for (name = strtok_r(names, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		snprintf(p, sizeof(p), "%s/%s", m->dir, name);
		ITH_CHECK(expect_stat(p, S_IFDIR, 0755, OPT_UID, OPT_GID), "gadget dir");
		ITH_CHECK(check_tree(p, false, &w, 0, &n), "owners and modes under %s", p);
		gadgets++;
	}
	ITH_CHECK(gadgets >= 1 && n >= 12 * gadgets, "%u gadgets, %u entries", gadgets, n);
	snprintf(p, sizeof(p), "%s/" GADGET "/ctl", m->dir);
	ITH_CHECK(expect_stat(p, S_IFREG, 0640, OPT_UID, OPT_GID), "ctl");
	snprintf(p, sizeof(p), "%s/" GADGET "/params/failed", m->dir);
	ITH_CHECK(expect_stat(p, S_IFREG, 0640, OPT_UID, OPT_GID), "params/failed");
	snprintf(p, sizeof(p), "%s/" GADGET "/events", m->dir);
	ITH_CHECK(expect_stat(p, S_IFREG, 0644, OPT_UID, OPT_GID), "events");
	ret = 0;
out:
	return ret;
}

/* ----- 5. chmod and chown ----- */

/* The path of sources/<ds>/events for the data source behind events. */
static int first_source_events(const struct ith_gadget *g, char *out, size_t len)
{
	struct stat ev, st;
	char dir[PATH_MAX + 16], names[4096], *save = NULL, *name;

	if (stat(g->events, &ev))
		return -errno;
	snprintf(dir, sizeof(dir), "%s/sources", g->dir);
	if (list_dir(dir, names, sizeof(names)))
		return -ENOENT;
	for (name = strtok_r(names, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		if (snprintf(out, len, "%s/%s/events", dir, name) >= (int)len)
			continue;
		if (!stat(out, &st) && st.st_ino == ev.st_ino)
			return 0;
	}
	return -ENOENT;
}

static int test_chmod_owner(struct ith_mount *m)
{
	char src[PATH_MAX * 2];
	struct ith_buf out = {};
	struct ith_gadget g;
	struct users us;
	int ret = -1, rc, err;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!users_ensure(&us), "cannot set up the test users");

	/* Root may chown; the new owner may chmod, nobody else. */
	ITH_CHECK(!chown(g.events, us.u1.uid, us.grp), "chown events as root: %m");
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0640, us.u1.uid, us.grp), "events");
	err = user_chmod(&us.u2, g.events, 0644);
	ITH_CHECK(err == -EPERM, "chmod by a non-owner: %s, expected EPERM", strerror(-err));
	rc = sh_as(&us.u2, &out, "chmod 644 '%s'", g.events);
	ITH_CHECK(rc != 0 && strstr(outs(&out), "Operation not permitted"),
		  "chmod(1) by a non-owner: exit %d '%s'", rc, outs(&out));
	err = user_chown(&us.u2, g.events, us.u2.uid, (gid_t)-1);
	ITH_CHECK(err == -EPERM, "chown by a non-owner: %s, expected EPERM", strerror(-err));
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0640, us.u1.uid, us.grp), "events unchanged");

	err = user_chmod(&us.u1, g.events, 0604);
	ITH_CHECK(!err, "chmod by the owner: %s", strerror(-err));
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0604, us.u1.uid, us.grp), "events after chmod");
	/* events is also sources/<ds>/events (one file, two names): the same owner and mode. */
	ITH_CHECK(!first_source_events(&g, src, sizeof(src)), "no sources/<ds>/events");
	ITH_CHECK(expect_stat(src, S_IFREG, 0604, us.u1.uid, us.grp), "%s", src);
	/* Giving a file away takes root (CAP_CHOWN). */
	err = user_chown(&us.u1, g.events, us.u2.uid, (gid_t)-1);
	ITH_CHECK(err == -EPERM, "chown to another user by the owner: %s, expected EPERM",
		  strerror(-err));
	/* The mode is enforced: 0604 lets others read, not the group. */
	err = user_open_read(&us.u2, g.events);
	ITH_CHECK(!err, "open events (0604) as other: %s", strerror(-err));

	/* Files owned by root stay root's. */
	err = user_chmod(&us.u1, g.ctl, 0666);
	ITH_CHECK(err == -EPERM, "chmod ctl by a non-owner: %s, expected EPERM", strerror(-err));
	err = user_chmod(&us.u1, g.dir, 0777);
	ITH_CHECK(err == -EPERM, "chmod of the gadget dir by a non-owner: %s, expected EPERM",
		  strerror(-err));
	err = user_chmod(&us.u1, m->dir, 0777);
	ITH_CHECK(err == -EPERM, "chmod of the mount root by a non-owner: %s, expected EPERM",
		  strerror(-err));

	/* Root changes a directory: the kernel enforces it for everyone else. */
	ITH_CHECK(!chmod(g.dir, 0700), "chmod gadget dir: %m");
	ITH_CHECK(expect_stat(g.dir, S_IFDIR, 0700, 0, 0), "gadget dir after chmod");
	rc = sh_as(&us.u2, &out, "ls '%s'", g.dir);
	ITH_CHECK(rc != 0 && strstr(outs(&out), "Permission denied"),
		  "ls of a 0700 dir as %s: exit %d '%s'", U2, rc, outs(&out));
	err = user_open_read(&us.u2, g.events);
	ITH_CHECK(err == -EACCES, "open events under a 0700 dir: %s, expected EACCES",
		  strerror(-err));
	ITH_CHECK(!chmod(g.dir, 0755), "chmod gadget dir back: %m");

	/* ctl given to a user: that user may chmod it and start the gadget. */
	ITH_CHECK(!chown(g.ctl, us.u2.uid, (gid_t)-1), "chown ctl: %m");
	err = user_chmod(&us.u2, g.ctl, 0200);
	ITH_CHECK(!err, "chmod ctl by its new owner: %s", strerror(-err));
	ITH_CHECK(expect_stat(g.ctl, S_IFREG, 0200, us.u2.uid, 0), "ctl after chown and chmod");
	err = user_write(&us.u2, g.ctl, "start");
	ITH_CHECK(!err, "start by ctl's owner: %s", strerror(-err));
	err = user_write(&us.u2, g.ctl, "stop");
	ITH_CHECK(!err, "stop by ctl's owner: %s", strerror(-err));
	ret = 0;
out:
	ith_buf_free(&out);
	return ret;
}

/* ----- 6. state=DIR ----- */

struct state_dir {
	char dir[PATH_MAX];
	char file[PATH_MAX + 32];
	char tmp[PATH_MAX + 32];
	char opt[PATH_MAX + 16];
};

static int state_dir_new(struct state_dir *sd)
{
	snprintf(sd->dir, sizeof(sd->dir), "/tmp/igfs-it-state-XXXXXX");
	if (!mkdtemp(sd->dir)) {
		sd->dir[0] = '\0';
		return -errno;
	}
	snprintf(sd->file, sizeof(sd->file), "%s/state.json", sd->dir);
	snprintf(sd->tmp, sizeof(sd->tmp), "%s/.state.json.tmp", sd->dir);
	snprintf(sd->opt, sizeof(sd->opt), "state=%s", sd->dir);
	return 0;
}

static void state_dir_free(struct state_dir *sd)
{
	struct dirent *de;
	char p[PATH_MAX * 2];
	DIR *d;

	if (!sd->dir[0])
		return;
	d = opendir(sd->dir);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", sd->dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(sd->dir);
}

static int write_whole(const char *path, const char *data)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(data, f) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* The state file parses as a JSON object; the document (caller decrefs) or NULL. */
static json_t *state_load(const struct state_dir *sd)
{
	json_error_t jerr;
	json_t *doc = json_load_file(sd->file, JSON_REJECT_DUPLICATES, &jerr);

	if (!json_is_object(doc)) {
		fprintf(stderr, "'%s' is not a JSON object: line %d: %s\n", sd->file, jerr.line,
			doc ? "not an object" : jerr.text);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Make every kind of change that state=DIR keeps (caller's mount uses @sd). */
static int state_changes(struct ith_mount *m, const struct users *us)
{
	struct ith_gadget g;
	char p[PATH_MAX + 64];
	int ret = -1, err;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!chmod(m->dir, 0751), "chmod mount root: %m");
	ITH_CHECK(!chown(g.dir, us->u1.uid, us->grp), "chown gadget dir: %m");
	ITH_CHECK(!chmod(g.dir, 0750), "chmod gadget dir: %m");
	ITH_CHECK(!chown(g.events, (uid_t)-1, us->grp), "chgrp events: %m");
	ITH_CHECK(!chmod(g.events, 0440), "chmod events: %m");
	path_of(p, sizeof(p), &g, "params/failed");
	ITH_CHECK(!chown(p, us->u1.uid, (gid_t)-1), "chown params/failed: %m");
	ITH_CHECK(!chmod(p, 0640), "chmod params/failed: %m");
	err = ith_write_file(p, "true\n", 5);
	ITH_CHECK(!err, "write params/failed: %s", strerror(-err));
	err = ith_ctl(&g, "set uid=1000");
	ITH_CHECK(!err, "set uid=1000: %s", strerror(-err));
	path_of(p, sizeof(p), &g, "params/backlog");
	err = ith_write_file(p, "8M", 2);
	ITH_CHECK(!err, "write params/backlog: %s", strerror(-err));
	ret = 0;
out:
	return ret;
}

/* What state_changes made, as seen through a mount. */
static int state_check_changed(struct ith_mount *m, const struct users *us)
{
	struct ith_gadget g;
	char p[PATH_MAX + 64], v[256];
	json_t *st = NULL;
	int ret = -1;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(expect_stat(m->dir, S_IFDIR, 0751, 0, 0), "mount root");
	ITH_CHECK(expect_stat(g.dir, S_IFDIR, 0750, us->u1.uid, us->grp), "gadget dir");
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0440, 0, us->grp), "events");
	path_of(p, sizeof(p), &g, "params/failed");
	ITH_CHECK(expect_stat(p, S_IFREG, 0640, us->u1.uid, 0), "params/failed");
	ITH_CHECK(expect_stat(g.ctl, S_IFREG, 0600, 0, 0), "ctl (not changed)");
	param_text(&g, "failed", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "true"), "params/failed is '%s'", v);
	param_text(&g, "uid", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "1000"), "params/uid is '%s'", v);
	param_text(&g, "backlog", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "8M"), "params/backlog is '%s'", v);
	param_text(&g, "pid", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "0"), "params/pid (never set) is '%s'", v);
	st = ith_status(&g);
	ITH_CHECK(st, "no status");
	ITH_CHECK(json_is_true(ith_get(st, "params.failed")) &&
			  ith_jint(st, "params.uid") == 1000 &&
			  ith_str_is(ith_jstr(st, "params.backlog"), "8M") &&
			  ith_str_is(ith_jstr(st, "state"), "stopped") &&
			  json_is_null(json_object_get(st, "error")),
		  "status after the remount: %s", json_dumps(st, JSON_COMPACT));
	ret = 0;
out:
	json_decref(st);
	return ret;
}

/* The defaults, as seen through a mount without state=. */
static int state_check_defaults(struct ith_mount *m)
{
	struct ith_gadget g;
	char p[PATH_MAX + 64], v[256];
	int ret = -1;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(expect_stat(m->dir, S_IFDIR, 0755, 0, 0), "mount root");
	ITH_CHECK(expect_stat(g.dir, S_IFDIR, 0755, 0, 0), "gadget dir");
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0640, 0, 0), "events");
	path_of(p, sizeof(p), &g, "params/failed");
	ITH_CHECK(expect_stat(p, S_IFREG, 0600, 0, 0), "params/failed");
	param_text(&g, "failed", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "false"), "params/failed is '%s'", v);
	param_text(&g, "uid", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "4294967295"), "params/uid is '%s'", v);
	param_text(&g, "backlog", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "4M"), "params/backlog is '%s'", v);
	ret = 0;
out:
	return ret;
}

static int test_state_roundtrip(struct ith_mount *m)
{
	struct state_dir sd = {};
	char log[PATH_MAX];
	struct users us;
	json_t *doc = NULL;
	struct stat st;
	int ret = -1, rc;

	ITH_CHECK(!users_ensure(&us), "cannot set up the test users");
	ITH_CHECK(!state_dir_new(&sd), "mkdtemp: %m");
	ITH_CHECK(!ith_teardown(m), "unmount of the first mount");

	/* Changes in a mount with state=DIR land in DIR/state.json. */
	log_name("perms.state_roundtrip.1", log, sizeof(log));
	rc = remount(m, log, sd.opt);
	ITH_CHECK(rc == 0, "mount with %s: %d", sd.opt, rc);
	ITH_CHECK(!state_changes(m, &us), "changes");
	doc = state_load(&sd);
	ITH_CHECK(doc, "the state file is not valid JSON");
	ITH_CHECK(stat(sd.tmp, &st) && errno == ENOENT, "'%s' left behind", sd.tmp);
	ITH_CHECK(!unmount_checked(m), "unmount");

	/* The same state directory: all of it is back. */
	log_name("perms.state_roundtrip.2", log, sizeof(log));
	rc = remount(m, log, sd.opt);
	ITH_CHECK(rc == 0, "remount with %s: %d", sd.opt, rc);
	ITH_CHECK(!state_check_changed(m, &us), "after a remount with the state");
	ITH_CHECK(!unmount_checked(m), "unmount");

	/* Without state=: the defaults. */
	log_name("perms.state_roundtrip.3", log, sizeof(log));
	rc = remount(m, log, NULL);
	ITH_CHECK(rc == 0, "remount without state: %d", rc);
	ITH_CHECK(!state_check_defaults(m), "after a remount without the state");
	ITH_CHECK(!unmount_checked(m), "unmount");

	/* And with it again: a mount without state= did not touch the file. */
	log_name("perms.state_roundtrip.4", log, sizeof(log));
	rc = remount(m, log, sd.opt);
	ITH_CHECK(rc == 0, "remount with %s: %d", sd.opt, rc);
	ITH_CHECK(!state_check_changed(m, &us), "after a second remount with the state");
	ret = 0;
out:
	json_decref(doc);
	if (ret && m->pid > 0)
		ith_log_dump(m->log, 30);
	if (ith_teardown(m) || ith_log_check(m->log))
		ret = -1;
	state_dir_free(&sd);
	return ret;
}

/*
 * A mount with @opts that igfs must refuse: it exits non-zero before
 * mounting, with one line that names @file (and @pos, e.g. "line 2", when
 * given; a position it gives is a real one). The daemon is gone afterwards
 * and its exit, checked here, is not counted again by the final teardown.
 */
static int refused_mount(struct ith_mount *m, const char *opts, const char *tag, const char *file,
			 const char *pos)
{
	struct ith_buf b = {};
	char log[PATH_MAX], line[4096];
	int ret = -1, rc, n;

	log_name(tag, log, sizeof(log));
	rc = remount(m, log, opts);
	ITH_CHECK(rc == 1, "igfs mounted with %s (%d)", opts, rc);
	ITH_CHECK(WIFEXITED(m->wstatus) && WEXITSTATUS(m->wstatus) != 0,
		  "igfs exited with wait status 0x%x", m->wstatus);
	ITH_CHECK(!ith_mounted(m->dir), "mounted anyway");
	ITH_CHECK(!read_log(log, &b), "cannot read %s", log);
	n = count_lines(b.data, file, NULL, NULL, line, sizeof(line));
	ITH_CHECK(n == 1 && !strncmp(line, "igfs: ", 6),
		  "%d lines name '%s' (first: '%s'); log:\n%s", n, file, line, outs(&b));
	ITH_CHECK(!pos || strstr(line, pos), "'%s' does not say '%s'", line, pos);
	ITH_CHECK(!strstr(line, "line -") && !strstr(line, "line 0"), "bad position in '%s'", line);
	fprintf(stderr, "refused as expected: %s\n", line);
	ITH_CHECK(!ith_log_check(log), "daemon log");
	ret = 0;
out:
	/* A daemon that exited was checked above; one that mounted must go. */
	if (m->pid < 0)
		m->wstatus = 0;
	else if (ith_teardown(m))
		ret = -1;
	m->wstatus = 0;
	ith_buf_free(&b);
	return ret;
}

static int test_state_garbage(struct ith_mount *m)
{
	static const char *const bad[] = {
		"this is not JSON\n",
		"{\"version\":1,\"gadgets\":{\"trace_open\":{\"files\":{\"events\":{\"uid\":0,",
		"[1, 2, 3]\n",
	};
	struct state_dir sd = {};
	int ret = -1, err, failed = 0;
	char tag[128];
	size_t i;

	ITH_CHECK(!state_dir_new(&sd), "mkdtemp: %m");
	ITH_CHECK(!ith_teardown(m), "unmount of the first mount");
	/* Every case, even after a failure: one bug must not hide another. */
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(bad); i++) {
		err = write_whole(sd.file, bad[i]);
		ITH_CHECK(!err, "write %s: %s", sd.file, strerror(-err));
		snprintf(tag, sizeof(tag), "perms.state_garbage.%zu", i + 1);
		if (refused_mount(m, sd.opt, tag, sd.file, NULL)) {
			fprintf(stderr, "FAIL: state file '%.40s...'\n", bad[i]);
			failed++;
		}
	}
	ret = failed ? -1 : 0;
out:
	if (ith_teardown(m))
		ret = -1;
	state_dir_free(&sd);
	return ret;
}

static int test_state_bad_param(struct ith_mount *m)
{
	struct state_dir sd = {};
	struct ith_buf b = {};
	struct ith_gadget g;
	char log[PATH_MAX], line[4096], v[256];
	struct users us;
	json_t *doc = NULL, *params;
	int ret = -1, rc, n;

	ITH_CHECK(!users_ensure(&us), "cannot set up the test users");
	ITH_CHECK(!state_dir_new(&sd), "mkdtemp: %m");
	ITH_CHECK(!ith_teardown(m), "unmount of the first mount");
	ith_gadget_paths(m, GADGET, &g);

	/* A real state file from igfs... */
	log_name("perms.state_bad_param.1", log, sizeof(log));
	rc = remount(m, log, sd.opt);
	ITH_CHECK(rc == 0, "mount with %s: %d", sd.opt, rc);
	ITH_CHECK(!state_changes(m, &us), "changes");
	ITH_CHECK(!unmount_checked(m), "unmount");

	/* ...in which one saved value is no longer valid for its param. */
	doc = state_load(&sd);
	ITH_CHECK(doc, "the state file is not valid JSON");
	params = ith_get(doc, "gadgets." GADGET ".params");
	ITH_CHECK(json_is_object(params) && json_is_string(json_object_get(params, "failed")),
		  "no gadgets.%s.params.failed in the state file (fs/state.c's layout changed?)",
		  GADGET);
	json_object_set_new(params, "failed", json_string("maybe"));
	ITH_CHECK(!json_dump_file(doc, sd.file, JSON_INDENT(1)), "cannot rewrite %s", sd.file);

	log_name("perms.state_bad_param.2", log, sizeof(log));
	rc = remount(m, log, sd.opt);
	ITH_CHECK(rc == 0, "a state file with an invalid param value stops the mount: %d", rc);
	/* The bad value is ignored with one log line; everything else applies. */
	ITH_CHECK(!read_log(log, &b), "cannot read %s", log);
	n = count_lines(b.data, "'failed'", "maybe", NULL, line, sizeof(line));
	ITH_CHECK(n == 1 && strstr(line, GADGET), "%d log lines about the bad value; log:\n%s", n,
		  outs(&b));
	fprintf(stderr, "logged as expected: %s\n", line);
	param_text(&g, "failed", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "false"), "params/failed is '%s', expected the default", v);
	param_text(&g, "uid", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "1000"), "params/uid is '%s'", v);
	param_text(&g, "backlog", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "8M"), "params/backlog is '%s'", v);
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0440, 0, us.grp), "events");
	status_str(&g, "error", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "null"), "status.error is '%s' after a refused saved value", v);
	ret = 0;
out:
	json_decref(doc);
	ith_buf_free(&b);
	if (ith_teardown(m) || ith_log_check(m->log))
		ret = -1;
	state_dir_free(&sd);
	return ret;
}

static int test_state_stale_tmp(struct ith_mount *m)
{
	struct state_dir sd = {};
	struct ith_gadget g;
	char log[PATH_MAX], v[256];
	json_t *doc = NULL;
	struct stat st;
	int ret = -1, rc, err;

	ITH_CHECK(!state_dir_new(&sd), "mkdtemp: %m");
	ITH_CHECK(!ith_teardown(m), "unmount of the first mount");
	ith_gadget_paths(m, GADGET, &g);

	log_name("perms.state_stale_tmp.1", log, sizeof(log));
	rc = remount(m, log, sd.opt);
	ITH_CHECK(rc == 0, "mount with %s: %d", sd.opt, rc);
	ITH_CHECK(!chmod(g.events, 0604), "chmod events: %m");
	{
		char p[PATH_MAX + 64];

		path_of(p, sizeof(p), &g, "params/failed");
		err = ith_write_file(p, "true", 4);
		ITH_CHECK(!err, "write params/failed: %s", strerror(-err));
	}
	ITH_CHECK(!unmount_checked(m), "unmount");

	/* A crash in the middle of a save leaves the temporary file half written. */
	err = write_whole(sd.tmp, "{\"version\":1,\"gadgets\":{\"trace_open\":{\"fi");
	ITH_CHECK(!err, "write %s: %s", sd.tmp, strerror(-err));
	log_name("perms.state_stale_tmp.2", log, sizeof(log));
	rc = remount(m, log, sd.opt);
	ITH_CHECK(rc == 0, "a stale temporary file stops the mount: %d", rc);
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0604, 0, 0), "events from state.json");
	param_text(&g, "failed", v, sizeof(v));
	ITH_CHECK(!strcmp(v, "true"), "params/failed is '%s'", v);

	/* The next save replaces both. */
	ITH_CHECK(!chmod(g.events, 0600), "chmod events: %m");
	ITH_CHECK(stat(sd.tmp, &st) && errno == ENOENT, "'%s' still there after a save", sd.tmp);
	doc = state_load(&sd);
	ITH_CHECK(doc, "state.json after a save over a stale temporary file");
	ITH_CHECK(!unmount_checked(m), "unmount");
	log_name("perms.state_stale_tmp.3", log, sizeof(log));
	rc = remount(m, log, sd.opt);
	ITH_CHECK(rc == 0, "remount: %d", rc);
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0600, 0, 0), "events after the last save");
	ret = 0;
out:
	json_decref(doc);
	if (ith_teardown(m) || ith_log_check(m->log))
		ret = -1;
	state_dir_free(&sd);
	return ret;
}

/* ----- 7. verify=FILE ----- */

/*
 * The digest of the tagged image index in index.json of @tar, checked against
 * the blob's own sha256sum: "sha256:<hex>" into @digest, its reference
 * (org.opencontainers.image.ref.name) into @ref.
 */
static int image_digest(const char *tar, char *digest, size_t dlen, char *ref, size_t rlen)
{
	const char *argv[] = {"tar", "-xOf", tar, "index.json", NULL};
	struct ith_buf b = {}, sum = {};
	const char *d = NULL, *r = NULL;
	json_t *idx = NULL, *man;
	json_error_t jerr;
	size_t i;
	int ret = -1, st = 0, rc;

	ITH_CHECK(!ith_run(argv, 10000, &b, &st) && WIFEXITED(st) && !WEXITSTATUS(st),
		  "tar -xOf %s index.json failed", tar);
	idx = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	ITH_CHECK(idx, "index.json of %s: %s", tar, jerr.text);
	json_array_foreach(json_object_get(idx, "manifests"), i, man)
	{
		r = json_string_value(json_object_get(json_object_get(man, "annotations"),
						      "org.opencontainers.image.ref.name"));
		if (r) {
			d = json_string_value(json_object_get(man, "digest"));
			break;
		}
	}
	ITH_CHECK(r && d && !strncmp(d, "sha256:", 7) && strlen(d) == 71,
		  "no tagged entry with a sha256 digest in index.json of %s", tar);
	rc = sh_as(NULL, &sum, "tar -xOf '%s' 'blobs/sha256/%s' | sha256sum", tar, d + 7);
	ITH_CHECK(rc == 0 && sum.len >= 64 && !strncmp(sum.data, d + 7, 64),
		  "blob %s of %s hashes to '%s'", d, tar, outs(&sum));
	snprintf(digest, dlen, "%s", d);
	snprintf(ref, rlen, "%s", r);
	ret = 0;
out:
	json_decref(idx);
	ith_buf_free(&b);
	ith_buf_free(&sum);
	return ret;
}

/* The bundled images other than trace_open, by gadget name, one per line. */
static int other_images(char *out, size_t len)
{
	struct dirent **v = NULL;
	size_t off = 0;
	int n, i;

	out[0] = '\0';
	n = scandir(IMAGES_DIR, &v, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		size_t l = strlen(v[i]->d_name);

		if (l > 4 && !strcmp(v[i]->d_name + l - 4, ".tar") &&
		    strcmp(v[i]->d_name, GADGET ".tar") && off < len)
			off += (size_t)snprintf(out + off, len - off, "%.*s\n", (int)(l - 4),
						v[i]->d_name);
		free(v[i]);
	}
	free(v);
	return 0;
}

struct verify_file {
	char path[64];
};

static int verify_write(struct verify_file *vf, const char *text)
{
	int fd;

	if (!vf->path[0]) {
		snprintf(vf->path, sizeof(vf->path), "/tmp/igfs-it-verify-XXXXXX");
		fd = mkstemp(vf->path);
		if (fd < 0) {
			vf->path[0] = '\0';
			return -errno;
		}
		close(fd);
	}
	return write_whole(vf->path, text);
}

static void verify_free(struct verify_file *vf)
{
	if (vf->path[0])
		unlink(vf->path);
}

/* Mount with @text as the verify file: 0 mounted, 1 refused, -1 error; log in @log. */
static int verify_mount(struct ith_mount *m, struct verify_file *vf, const char *text,
			const char *tag, char *log, size_t len)
{
	char opt[128];

	if (verify_write(vf, text))
		return -1;
	snprintf(opt, sizeof(opt), "verify=%s", vf->path);
	log_name(tag, log, len);
	return remount(m, log, opt);
}

static int test_verify_pinned(struct ith_mount *m)
{
	char digest[128], text[1024], others[4096], names[4096], log[PATH_MAX], line[4096];
	char ref[512], *save = NULL, *name;
	struct verify_file vf = {};
	struct ith_buf b = {};
	struct ith_gadget g;
	unsigned int n_others = 0;
	int ret = -1, rc, n;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!image_digest(IMAGES_DIR "/" GADGET ".tar", digest, sizeof(digest), ref,
				sizeof(ref)),
		  "digest of the bundled image");
	ITH_CHECK(!other_images(others, sizeof(others)), "cannot list %s", IMAGES_DIR);
	ITH_CHECK(others[0], "only %s in %s: nothing to refuse", GADGET, IMAGES_DIR);
	ITH_CHECK(!ith_teardown(m), "unmount of the first mount");

	snprintf(text, sizeof(text), "# pinned images\n\n" GADGET " %s\n", digest);
	rc = verify_mount(m, &vf, text, "perms.verify_pinned.1", log, sizeof(log));
	ITH_CHECK(rc == 0, "mount with a verify file pinning %s: %d", GADGET, rc);
	ITH_CHECK(!list_dir(m->dir, names, sizeof(names)), "cannot list the mount");
	ITH_CHECK(!strcmp(names, GADGET "\n"), "the mount shows '%s', expected only %s", names,
		  GADGET);
	ITH_CHECK(ith_status(&g) != NULL, "no status of the pinned gadget");
	/* One line per refused image, naming it and why. */
	ITH_CHECK(!read_log(log, &b), "cannot read %s", log);
	for (name = strtok_r(others, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		char needle[300];

		snprintf(needle, sizeof(needle), "'%s'", name);
		n = count_lines(b.data, needle, "refused", NULL, line, sizeof(line));
		ITH_CHECK(n == 1 && strstr(line, "not pinned") && strstr(line, vf.path),
			  "%d lines refuse '%s' (first '%s'); log:\n%s", n, name, line, outs(&b));
		n_others++;
	}
	n = count_lines(b.data, "refused", NULL, NULL, line, sizeof(line));
	ITH_CHECK(n == (int)n_others, "%d refused lines for %u other images; log:\n%s", n, n_others,
		  outs(&b));
	ITH_CHECK(!count_lines(b.data, "'" GADGET "'", "refused", NULL, NULL, 0),
		  "the pinned image was refused; log:\n%s", outs(&b));
	ITH_CHECK(!unmount_checked(m), "unmount");

	/* The full reference pins too. */
	snprintf(text, sizeof(text), "%s %s\n", ref, digest);
	rc = verify_mount(m, &vf, text, "perms.verify_pinned.2", log, sizeof(log));
	ITH_CHECK(rc == 0, "mount with a verify file pinning the reference: %d", rc);
	ITH_CHECK(!list_dir(m->dir, names, sizeof(names)), "cannot list the mount");
	ITH_CHECK(!strcmp(names, GADGET "\n"), "the mount shows '%s', expected only %s", names,
		  GADGET);
	ret = 0;
out:
	ith_buf_free(&b);
	if (ith_teardown(m) || ith_log_check(m->log))
		ret = -1;
	verify_free(&vf);
	return ret;
}

static int test_verify_wrong(struct ith_mount *m)
{
	char digest[128], ref[512], text[512], names[4096], log[PATH_MAX], line[4096];
	struct verify_file vf = {};
	struct ith_buf b = {};
	int ret = -1, rc, n;

	ITH_CHECK(!image_digest(IMAGES_DIR "/" GADGET ".tar", digest, sizeof(digest), ref,
				sizeof(ref)),
		  "digest of the bundled image");
	ITH_CHECK(!ith_teardown(m), "unmount of the first mount");
	/* The right digest with its last digit changed. */
	digest[70] = digest[70] == '0' ? '1' : '0';
	snprintf(text, sizeof(text), GADGET " %s\n", digest);
	rc = verify_mount(m, &vf, text, "perms.verify_wrong", log, sizeof(log));
	ITH_CHECK(rc == 0, "mount with a wrong digest for %s: %d", GADGET, rc);
	ITH_CHECK(!list_dir(m->dir, names, sizeof(names)), "cannot list the mount");
	ITH_CHECK(!names[0], "the mount shows '%s', expected nothing", names);
	ITH_CHECK(!read_log(log, &b), "cannot read %s", log);
	n = count_lines(b.data, "'" GADGET "'", "refused", NULL, line, sizeof(line));
	ITH_CHECK(n == 1 && strstr(line, "digest") && !strstr(line, "not pinned in"),
		  "%d lines refuse %s (first '%s'); log:\n%s", n, GADGET, line, outs(&b));
	fprintf(stderr, "refused as expected: %s\n", line);
	ret = 0;
out:
	ith_buf_free(&b);
	if (ith_teardown(m) || ith_log_check(m->log))
		ret = -1;
	verify_free(&vf);
	return ret;
}

static int test_verify_malformed(struct ith_mount *m)
{
	static const struct {
		const char *text;
		const char *line;
	} bad[] = {
		{"# pins\n" GADGET " sha256:abc\n", "line 2"},
		{GADGET "\n", "line 1"},
		{"# a\n\n# b\n" GADGET " sha256:"
		 "0000000000000000000000000000000000000000000000000000000000000000 extra\n",
		 "line 4"},
	};
	struct verify_file vf = {};
	char tag[64], opt[128];
	int ret = -1, failed = 0;
	size_t i;

	ITH_CHECK(!ith_teardown(m), "unmount of the first mount");
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(bad); i++) {
		ITH_CHECK(!verify_write(&vf, bad[i].text), "cannot write a verify file");
		snprintf(tag, sizeof(tag), "perms.verify_malformed.%zu", i + 1);
		snprintf(opt, sizeof(opt), "verify=%s", vf.path);
		if (refused_mount(m, opt, tag, vf.path, bad[i].line)) {
			fprintf(stderr, "FAIL: verify file case %zu:\n%s", i + 1, bad[i].text);
			failed++;
		}
	}
	ret = failed ? -1 : 0;
out:
	if (ith_teardown(m))
		ret = -1;
	verify_free(&vf);
	return ret;
}

/* ----- 8. forbidden operations ----- */

static bool errno_in(int err, const int *ok, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (err == ok[i])
			return true;
	return false;
}

#define EXPECT_ERRNO(call, ...)                                                                    \
	do {                                                                                       \
		static const int ok_[] = {__VA_ARGS__};                                            \
		int r_ = (call), e_ = r_ < 0 ? errno : 0;                                          \
                                                                                                   \
		if (r_ > 0)                                                                        \
			close(r_); /* an fd that should not exist */                               \
		ITH_CHECK(r_ < 0 && errno_in(e_, ok_, IGFS_IT_ARRAY_SIZE(ok_)), "%s gave %s",      \
			  #call, r_ < 0 ? strerror(e_) : "success");                               \
	} while (0)

/* @tmpl with every '@' replaced by @dir. */
static void subst_dir(char *out, size_t len, const char *tmpl, const char *dir)
{
	size_t off = 0;

	for (; *tmpl && off + 1 < len; tmpl++) {
		if (*tmpl == '@')
			off += (size_t)snprintf(out + off, len - off, "%s", dir);
		else
			out[off++] = *tmpl;
		if (off >= len)
			off = len - 1;
	}
	out[off] = '\0';
}

static int test_forbidden(struct ith_mount *m)
{
	/* A tool, and what it must say (either message where two are given). */
	static const char *const tools[][3] = {
		{"touch '@/new'", "Operation not permitted"},
		{"rm '@/events'", "Operation not permitted"},
		{"rm -f '@/status'", "Operation not permitted"},
		{"rmdir '@/params'", "Operation not permitted"},
		{"mkdir '@/new'", "Operation not permitted"},
		{"mv '@/events' '@/events2'", "Operation not permitted"},
		{"ln '@/events' '@/events2'", "Operation not permitted"},
		{"ln -s events '@/events2'", "Operation not permitted"},
		/* truncate(1) opens for writing first: events refuses writers (EACCES). */
		{"truncate -s 10 '@/events'", "Operation not permitted", "Permission denied"},
		{"echo x > '@/status'", "Permission denied"},
	};
	char before[4096], after[4096], p[PATH_MAX + 64], q[PATH_MAX + 64], state[64];
	struct ith_buf out = {};
	struct ith_gadget g;
	size_t i;
	ssize_t w;
	int ret = -1, rc, fd;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!list_dir(g.dir, before, sizeof(before)), "cannot list %s", g.dir);

	/* New files, directories, nodes. */
	path_of(p, sizeof(p), &g, "new");
	EXPECT_ERRNO(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EPERM, EACCES);
	EXPECT_ERRNO(open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), EPERM, EACCES);
	EXPECT_ERRNO(creat(p, 0644), EPERM, EACCES);
	snprintf(q, sizeof(q), "%s/new", m->dir);
	EXPECT_ERRNO(creat(q, 0644), EPERM, EACCES);
	EXPECT_ERRNO(mkfifo(p, 0644), EPERM, EACCES);
	EXPECT_ERRNO(mknod(p, S_IFREG | 0644, 0), EPERM, EACCES);
	EXPECT_ERRNO(mkdir(p, 0755), EPERM, EACCES);
	EXPECT_ERRNO(mkdir(q, 0755), EPERM, EACCES);
	/* Removing and renaming. */
	EXPECT_ERRNO(unlink(g.events), EPERM);
	EXPECT_ERRNO(unlink(g.ctl), EPERM);
	path_of(p, sizeof(p), &g, "params/failed");
	EXPECT_ERRNO(unlink(p), EPERM);
	EXPECT_ERRNO(rmdir(g.params), EPERM);
	EXPECT_ERRNO(rmdir(g.dir), EPERM);
	path_of(p, sizeof(p), &g, "events2");
	EXPECT_ERRNO(rename(g.events, p), EPERM);
	EXPECT_ERRNO(rename(g.ctl, g.status), EPERM);
	snprintf(q, sizeof(q), "%s/x", m->dir);
	EXPECT_ERRNO(rename(g.dir, q), EPERM);
	/* Links. */
	EXPECT_ERRNO(link(g.events, p), EPERM);
	EXPECT_ERRNO(symlink("events", p), EPERM);
	/* Extended attributes: none may be set. */
	EXPECT_ERRNO(setxattr(g.events, "user.igfs", "1", 1, 0), ENOTSUP, EPERM);
	EXPECT_ERRNO(setxattr(g.dir, "user.igfs", "1", 1, 0), ENOTSUP, EPERM);
	EXPECT_ERRNO(setxattr(g.events, "trusted.igfs", "1", 1, 0), ENOTSUP, EPERM);
	EXPECT_ERRNO(removexattr(g.events, "user.igfs"), ENOTSUP, EPERM, ENODATA);
	/* Sizes are igfs's. */
	EXPECT_ERRNO(truncate(g.events, 10), EPERM);
	EXPECT_ERRNO(truncate(g.events, 0), EPERM);
	EXPECT_ERRNO(truncate(g.status, 0), EPERM);
	EXPECT_ERRNO(truncate(g.ctl, 10), EPERM);
	/* Read-only files refuse writers, root included. */
	EXPECT_ERRNO(open(g.status, O_WRONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(g.status, O_RDWR | O_CLOEXEC), EACCES);
	path_of(p, sizeof(p), &g, "schema");
	EXPECT_ERRNO(open(p, O_WRONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(g.events, O_WRONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(g.events, O_RDWR | O_CLOEXEC), EACCES);
	/* A status opened for reading is not writable either. */
	fd = open(g.status, O_RDONLY | O_CLOEXEC);
	ITH_CHECK(fd >= 0, "open status: %m");
	w = write(fd, "x", 1);
	rc = errno;
	close(fd);
	ITH_CHECK(w < 0 && rc == EBADF, "write to a read-only fd of status: %zd %s", w,
		  strerror(rc));

	/* What users see from the usual tools. */
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(tools); i++) {
		char cmd[PATH_MAX * 3];

		subst_dir(cmd, sizeof(cmd), tools[i][0], g.dir);
		rc = sh_as(NULL, &out, "%s", cmd);
		ITH_CHECK(rc != 0 && (strstr(outs(&out), tools[i][1]) ||
				      (tools[i][2] && strstr(outs(&out), tools[i][2]))),
			  "'%s': exit %d '%s'", cmd, rc, outs(&out));
	}

	/* Nothing changed, and igfs still answers. */
	ITH_CHECK(!list_dir(g.dir, after, sizeof(after)), "cannot list %s", g.dir);
	ITH_CHECK(!strcmp(before, after), "the tree changed:\n%s\nvs\n%s", before, after);
	ITH_CHECK(expect_stat(g.events, S_IFREG, 0640, 0, 0), "events");
	status_str(&g, "state", state, sizeof(state));
	ITH_CHECK(!strcmp(state, "stopped"), "state '%s'", state);
	ret = 0;
out:
	ith_buf_free(&out);
	return ret;
}

/* ----- 9. the reader cap ----- */

/* Open events @n times into @fds: how many opened; the first failure's errno in *err. */
static int open_many(const char *path, int *fds, int n, int *err)
{
	int i;

	*err = 0;
	for (i = 0; i < n; i++) {
		fds[i] = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fds[i] < 0) {
			*err = errno;
			break;
		}
	}
	return i;
}

static void close_many(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int test_readers_cap(struct ith_mount *m)
{
	static int fds[MAX_READERS + 1];
	struct rlimit rl = {.rlim_cur = 4096, .rlim_max = 4096};
	struct ith_gadget g;
	char why[512];
	int64_t deadline;
	int ret = -1, n = 0, err, round, fd = -1;

	ith_gadget_paths(m, GADGET, &g);
	ITH_CHECK(!setrlimit(RLIMIT_NOFILE, &rl), "setrlimit NOFILE 4096: %m");
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start: %s", strerror(-err));
	for (round = 0; round < 2; round++) {
		n = open_many(g.events, fds, MAX_READERS, &err);
		ITH_CHECK(n == MAX_READERS, "round %d: open %d of events failed: %s", round, n + 1,
			  strerror(err));
		fd = open(g.events, O_RDONLY | O_CLOEXEC);
		err = errno;
		ITH_CHECK(fd < 0 && err == EMFILE,
			  "round %d: open %d of events: %s, expected EMFILE", round,
			  MAX_READERS + 1, fd < 0 ? strerror(err) : "success");
		status_str(&g, "error", why, sizeof(why));
		ITH_CHECK(strstr(why, "readers") && strstr(why, "1024"),
			  "status.error '%s' does not say why", why);
		/* Other files still open: the cap is per events file. */
		fd = open(g.status, O_RDONLY | O_CLOEXEC);
		ITH_CHECK(fd >= 0, "open status at the cap: %m");
		close(fd);
		fd = -1;
		close_many(fds, n);
		n = 0;
		/* Releases reach the daemon asynchronously: wait for the slots to free. */
		deadline = ith_now_ms() + 10000;
		for (;;) {
			json_t *st = ith_status(&g);
			json_int_t readers = ith_jint(st, "readers");

			json_decref(st);
			if (readers == 0)
				break;
			ITH_CHECK(ith_now_ms() < deadline,
				  "status.readers is %lld after closing all", (long long)readers);
			ith_sleep_ms(20);
		}
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	close_many(fds, n);
	ith_ctl(&g, "stop");
	return ret;
}

/* ----- 10. the ctl write limit ----- */

static int test_ctl_size(struct ith_mount *m)
{
	char buf[MAX_CTL_WRITE + 64], why[512], state[64], p[PATH_MAX + 64];
	static char big[65536];
	struct ith_gadget g;
	size_t len;
	int ret = -1, err;

	ith_gadget_paths(m, GADGET, &g);
	/* Exactly 4096 bytes: a valid command padded with blanks is taken. */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "stop", 4);
	err = ith_write_file(g.ctl, buf, MAX_CTL_WRITE);
	ITH_CHECK(!err, "a %d-byte stop: %s", MAX_CTL_WRITE, strerror(-err));
	memcpy(buf, "start", 5);
	buf[MAX_CTL_WRITE - 1] = '\n';
	err = ith_write_file(g.ctl, buf, MAX_CTL_WRITE);
	ITH_CHECK(!err, "a %d-byte start ending in a newline: %s", MAX_CTL_WRITE, strerror(-err));
	status_str(&g, "state", state, sizeof(state));
	ITH_CHECK(!strcmp(state, "running"), "state '%s' after the 4096-byte start", state);
	err = ith_ctl(&g, "stop");
	ITH_CHECK(!err, "stop: %s", strerror(-err));

	/* 4096 bytes of a command with a long quoted value: judged on its value. */
	len = (size_t)snprintf(buf, sizeof(buf), "set comm=\"");
	memset(buf + len, 'a', MAX_CTL_WRITE - len - 1);
	buf[MAX_CTL_WRITE - 1] = '"';
	err = ith_write_file(g.ctl, buf, MAX_CTL_WRITE);
	ITH_CHECK(err == -EINVAL, "a %d-byte set comm=\"aaa...\": %s, expected EINVAL",
		  MAX_CTL_WRITE, strerror(-err));
	status_str(&g, "error", why, sizeof(why));
	ITH_CHECK(strstr(why, "comm"), "status.error '%s' does not name the param", why);

	/* 4097 bytes: E2BIG, whatever they say, and the reason in status. */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "stop", 4);
	err = ith_write_file(g.ctl, buf, MAX_CTL_WRITE + 1);
	ITH_CHECK(err == -E2BIG, "a %d-byte stop: %s, expected E2BIG", MAX_CTL_WRITE + 1,
		  strerror(-err));
	status_str(&g, "error", why, sizeof(why));
	ITH_CHECK(strstr(why, "4096"), "status.error '%s' does not say why", why);
	memcpy(buf, "start", 5);
	err = ith_write_file(g.ctl, buf, MAX_CTL_WRITE + 1);
	ITH_CHECK(err == -E2BIG, "a %d-byte start: %s, expected E2BIG", MAX_CTL_WRITE + 1,
		  strerror(-err));
	status_str(&g, "state", state, sizeof(state));
	ITH_CHECK(!strcmp(state, "stopped"), "an oversize start changed the state to '%s'", state);
	memset(big, ' ', sizeof(big));
	memcpy(big, "stop", 4);
	err = ith_write_file(g.ctl, big, sizeof(big));
	ITH_CHECK(err == -E2BIG, "a %zu-byte write: %s, expected E2BIG", sizeof(big),
		  strerror(-err));
	/* A param value has the same limit. */
	path_of(p, sizeof(p), &g, "params/comm");
	memset(big, 'a', sizeof(big));
	err = ith_write_file(p, big, MAX_CTL_WRITE + 1);
	ITH_CHECK(err == -E2BIG, "a %d-byte param value: %s, expected E2BIG", MAX_CTL_WRITE + 1,
		  strerror(-err));
	read_text(p, why, sizeof(why));
	ITH_CHECK(!why[0], "params/comm is '%.40s' after refused writes", why);
	/* The daemon still takes ordinary commands. */
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start after oversize writes: %s", strerror(-err));
	err = ith_ctl(&g, "stop");
	ITH_CHECK(!err, "stop: %s", strerror(-err));
	ret = 0;
out:
	return ret;
}

static const struct ith_test tests[] = {
	{"perms.defaults", NULL, "setpriv", 40000, test_defaults},
	{"perms.group_read", NULL, "setpriv", 40000, test_group_read},
	{"perms.ctl_0666", NULL, "setpriv", 40000, test_ctl_0666},
	{"perms.ctl_group", NULL, "setpriv", 40000, test_ctl_group},
	{"perms.mount_opts", "uid=4242,gid=4343,mode=0644", NULL, 30000, test_mount_opts},
	{"perms.chmod_owner", NULL, "setpriv", 40000, test_chmod_owner},
	{"perms.state_roundtrip", NULL, "setpriv", 100000, test_state_roundtrip},
	{"perms.state_garbage", NULL, NULL, 80000, test_state_garbage},
	{"perms.state_bad_param", NULL, "setpriv", 80000, test_state_bad_param},
	{"perms.state_stale_tmp", NULL, NULL, 100000, test_state_stale_tmp},
	{"perms.verify_pinned", NULL, "tar", 80000, test_verify_pinned},
	{"perms.verify_wrong", NULL, "tar", 60000, test_verify_wrong},
	{"perms.verify_malformed", NULL, NULL, 80000, test_verify_malformed},
	{"perms.forbidden", NULL, NULL, 30000, test_forbidden},
	{"perms.readers_cap", NULL, NULL, 60000, test_readers_cap},
	{"perms.ctl_size", NULL, NULL, 30000, test_ctl_size},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
