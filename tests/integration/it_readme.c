// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * README.md is the manual, and every example in it runs here so that it stays
 * true. Each ```console, ```sh, ```bash or ```shell block is preceded by an
 * HTML comment: `<!-- notest: reason -->`, or `<!-- test` ... `-->` with one
 * directive per line (see the table below). A block with neither fails
 * readme.coverage, so a new example cannot go untested by accident.
 *
 * readme.examples runs every tested block against a mount of its own, from a
 * scratch directory where build/, gadgets/ and contrib/ lead to this tree;
 * /mnt/ig names that mount and /var/lib/igfs/gadgets one of its (watched)
 * gadgets directories. Each command (a `# ` line of a console block, or a
 * line of an sh block, with backslash continuations) runs in `bash -c` and
 * must exit 0; where a console block shows output, the real output must have
 * the same shape (JSON with at least the keys shown, or some text).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef IGFS_SOURCE_DIR
#error "IGFS_SOURCE_DIR must name the source tree"
#endif

#define RD_README	  IGFS_SOURCE_DIR "/README.md"
#define RD_MNT		  "/mnt/ig"
#define RD_LOCAL	  "/var/lib/igfs/gadgets"
#define RD_MAX_DIRECTIVES 32
#define RD_CMD_TIMEOUT_MS 30000
#define RD_FOLLOW_MS	  3000
#define RD_SETUP_MS	  60000

/*
 * Directives of a `<!-- test` comment, one per line, `key: value`:
 *   setup: CMD     run before the block's commands, in its directory; must exit 0
 *   activity: CMD  run in the background while the commands run, then killed
 *   follow: ERE    commands matching it follow a live file: after `wait`
 *                  seconds still running is a pass (they are killed), and
 *                  they must have printed something
 *   wait: SECONDS  how long followers run (default 3)
 *   fail: ERE      commands matching it must exit non-zero
 *   json: ERE      every output line of commands matching it is JSON
 *   expect: ERE    the block's whole output matches (extended, per line)
 *   check: CMD     run after the commands; must exit 0
 *   opts: OPTS     extra -o options for this block's mount
 *   needs: CMD     the block applies only where CMD exits 0 (a kernel
 *                  feature, say); elsewhere it is skipped, with a line saying so
 *   file: PATH     (```c, ```yaml ... blocks) the block is written to PATH in
 *                  every block's directory, for the commands that use it
 * @BUILD@ in a directive stands for the build directory.
 */
enum rd_key {
	RD_SETUP,
	RD_ACTIVITY,
	RD_FOLLOW,
	RD_WAIT,
	RD_FAIL,
	RD_JSON,
	RD_EXPECT,
	RD_CHECK,
	RD_OPTS,
	RD_NEEDS,
	RD_FILE,
	RD_NKEYS,
};

static const char *const rd_keys[RD_NKEYS] = {
	[RD_SETUP] = "setup",	[RD_ACTIVITY] = "activity", [RD_FOLLOW] = "follow",
	[RD_WAIT] = "wait",	[RD_FAIL] = "fail",	    [RD_JSON] = "json",
	[RD_EXPECT] = "expect", [RD_CHECK] = "check",	    [RD_OPTS] = "opts",
	[RD_NEEDS] = "needs",	[RD_FILE] = "file",
};

struct rd_directive {
	enum rd_key key;
	char *value;
};

/* One command of a block and the output the README shows for it. */
struct rd_cmd {
	char *text;
	char *shown;
};

struct rd_block {
	int line; /* of the opening fence, 1-based */
	char lang[32];
	char *body;
	bool annotated;
	bool notest;
	char *reason; /* notest */
	struct rd_directive dirs[RD_MAX_DIRECTIVES];
	size_t n_dirs;
	struct rd_cmd *cmds;
	size_t n_cmds;
};

struct rd_doc {
	char *text;
	struct rd_block *blocks;
	size_t n_blocks;
	char errors[4096]; /* problems of the document itself, one per line */
};

/* ----- parsing README.md ----- */

static void rd_error(struct rd_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rd_error(struct rd_doc *d, const char *fmt, ...)
{
	size_t len = strlen(d->errors);
	va_list ap;

	if (len + 2 >= sizeof(d->errors))
		return;
	va_start(ap, fmt);
	vsnprintf(d->errors + len, sizeof(d->errors) - len - 1, fmt, ap);
	va_end(ap);
	len = strlen(d->errors);
	d->errors[len] = '\n';
	d->errors[len + 1] = '\0';
}

static bool rd_is_example(const char *lang)
{
	return !strcmp(lang, "console") || !strcmp(lang, "sh") || !strcmp(lang, "bash") ||
	       !strcmp(lang, "shell");
}

static char *rd_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static char *rd_strndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p) {
		perror("strndup");
		exit(1);
	}
	return p;
}

/* Parse the text of a `<!-- ... -->` comment (without the markers) into @b. */
static void rd_annotation(struct rd_doc *d, struct rd_block *b, int line, char *text)
{
	char *p = rd_trim(text), *save = NULL, *l;

	b->annotated = true;
	if (!strncmp(p, "notest:", 7)) {
		b->notest = true;
		b->reason = strdup(rd_trim(p + 7));
		if (!b->reason || !*b->reason)
			rd_error(d, "README.md:%d: notest without a reason", line);
		return;
	}
	if (strncmp(p, "test", 4) || (p[4] && p[4] != '\n' && p[4] != ' ')) {
		rd_error(d,
			 "README.md:%d: a comment before a block that is neither 'test' nor "
			 "'notest: reason'",
			 line);
		return;
	}
	for (l = strtok_r(p + 4, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *colon, *key = rd_trim(l);
		size_t k;

		if (!*key)
			continue;
		colon = strchr(key, ':');
		if (!colon) {
			rd_error(d, "README.md:%d: directive '%s' has no ':'", line, key);
			continue;
		}
		*colon = '\0';
		for (k = 0; k < RD_NKEYS && strcmp(rd_keys[k], rd_trim(key)); k++)
			;
		if (k == RD_NKEYS) {
			rd_error(d, "README.md:%d: unknown directive '%s'", line, key);
			continue;
		}
		if (b->n_dirs == RD_MAX_DIRECTIVES) {
			rd_error(d, "README.md:%d: too many directives", line);
			break;
		}
		b->dirs[b->n_dirs].key = (enum rd_key)k;
		b->dirs[b->n_dirs].value = strdup(rd_trim(colon + 1));
		b->n_dirs++;
	}
}

/* Append @s (a line, without its newline) to the malloc'ed string *@acc with a newline. */
static void rd_append_line(char **acc, const char *s, size_t n)
{
	size_t old = *acc ? strlen(*acc) : 0;
	char *p = realloc(*acc, old + n + 2);

	if (!p) {
		perror("realloc");
		exit(1);
	}
	memcpy(p + old, s, n);
	p[old + n] = '\n';
	p[old + n + 1] = '\0';
	*acc = p;
}

/*
 * The commands of an example block: console blocks take `# ` lines as
 * commands and what follows them as their shown output; sh blocks take every
 * line that is not blank or a comment. A trailing backslash continues a line.
 */
static void rd_split_cmds(struct rd_block *b)
{
	bool console = !strcmp(b->lang, "console");
	char *copy = strdup(b->body), *line, *next;
	struct rd_cmd *cur = NULL;
	char *pending = NULL;

	for (line = copy; line && *line; line = next) {
		size_t n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		n = strlen(line);
		if (pending) {
			rd_append_line(&pending, line, n);
			if (n && line[n - 1] == '\\')
				continue;
		} else if (console && !strncmp(line, "# ", 2)) {
			pending = NULL;
			rd_append_line(&pending, line + 2, n - 2);
			if (n > 2 && line[n - 1] == '\\')
				continue;
		} else if (!console && *rd_trim(line) && *rd_trim(line) != '#') {
			pending = NULL;
			rd_append_line(&pending, line, n);
			if (n && line[n - 1] == '\\')
				continue;
		} else {
			if (console && cur && *line)
				rd_append_line(&cur->shown, line, n);
			continue;
		}
		b->cmds = realloc(b->cmds, (b->n_cmds + 1) * sizeof(*b->cmds));
		if (!b->cmds) {
			perror("realloc");
			exit(1);
		}
		cur = &b->cmds[b->n_cmds++];
		cur->text = pending;
		cur->shown = NULL;
		pending = NULL;
	}
	free(pending);
	free(copy);
}

static int rd_parse(struct rd_doc *d)
{
	struct ith_buf b = {};
	struct rd_block *blk = NULL;
	char *ann = NULL, *p, *next;
	int line = 0, ann_line = 0, err;

	memset(d, 0, sizeof(*d));
	err = ith_read_file(RD_README, &b, 3000);
	if (err) {
		fprintf(stderr, "cannot read %s: %s\n", RD_README, strerror(-err));
		return -1;
	}
	d->text = b.data;
	p = strdup(d->text);
	for (char *l = p; l && *l; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		line++;
		if (blk) {
			if (!strcmp(l, "```")) {
				if (rd_is_example(blk->lang))
					rd_split_cmds(blk);
				blk = NULL;
			} else {
				rd_append_line(&blk->body, l, strlen(l));
			}
			continue;
		}
		if (ann && !strstr(ann, "-->")) {
			rd_append_line(&ann, l, strlen(l));
			continue;
		}
		if (!strncmp(l, "<!-- test", 9) || !strncmp(l, "<!-- notest", 11)) {
			if (ann)
				rd_error(d, "README.md:%d: test comment not followed by a block",
					 ann_line);
			free(ann);
			ann = NULL;
			ann_line = line;
			rd_append_line(&ann, l + 4, strlen(l + 4));
			continue;
		}
		if (!strncmp(l, "```", 3)) {
			d->blocks = realloc(d->blocks, (d->n_blocks + 1) * sizeof(*d->blocks));
			if (!d->blocks) {
				perror("realloc");
				exit(1);
			}
			blk = &d->blocks[d->n_blocks++];
			memset(blk, 0, sizeof(*blk));
			blk->line = line;
			snprintf(blk->lang, sizeof(blk->lang), "%s", rd_trim(l + 3));
			blk->body = strdup("");
			if (ann) {
				*strstr(ann, "-->") = '\0';
				rd_annotation(d, blk, ann_line, ann);
				free(ann);
				ann = NULL;
			}
			continue;
		}
		if (ann && *rd_trim(l)) {
			rd_error(d, "README.md:%d: test comment not followed by a block", ann_line);
			free(ann);
			ann = NULL;
		}
	}
	if (blk)
		rd_error(d, "README.md:%d: block not closed", blk->line);
	if (ann)
		rd_error(d, "README.md:%d: test comment not followed by a block", ann_line);
	free(ann);
	free(p);
	return 0;
}

static void rd_free(struct rd_doc *d)
{
	size_t i, j;

	for (i = 0; i < d->n_blocks; i++) {
		struct rd_block *b = &d->blocks[i];

		free(b->body);
		free(b->reason);
		for (j = 0; j < b->n_dirs; j++)
			free(b->dirs[j].value);
		for (j = 0; j < b->n_cmds; j++) {
			free(b->cmds[j].text);
			free(b->cmds[j].shown);
		}
		free(b->cmds);
	}
	free(d->blocks);
	free(d->text);
}

/* ----- running commands ----- */

/* @s with every @from replaced by @to; malloc'ed. */
static char *rd_replace(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)); p += nf)
		n++;
	out = malloc(strlen(s) + n * (nt > nf ? nt - nf : 0) + 1);
	if (!out) {
		perror("malloc");
		exit(1);
	}
	for (o = out; (p = strstr(s, from)); s = p + nf) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, to, nt);
		o += nt;
	}
	strcpy(o, s);
	return out;
}

struct rd_env {
	char dir[64];	      /* the block's scratch directory (cwd) */
	char mnt[PATH_MAX];   /* its mount, for /mnt/ig */
	char local[PATH_MAX]; /* its watched gadgets directory, for /var/lib/igfs/gadgets */
};

/* A README command as it runs here: the block's mount and directories. */
static char *rd_subst(const struct rd_env *e, const char *cmd)
{
	char *a = rd_replace(cmd, RD_MNT, e->mnt);
	char *b = rd_replace(a, RD_LOCAL, e->local);
	char *c = rd_replace(b, "@BUILD@", IGFS_BUILD_DIR);

	free(a);
	free(b);
	return c;
}

struct rd_result {
	struct ith_buf out; /* stdout and stderr, interleaved as on a terminal */
	int wstatus;
	bool still_running; /* killed at the deadline */
};

static void rd_kill_group(pid_t pgid)
{
	kill(-pgid, SIGTERM);
	ith_sleep_ms(100);
	kill(-pgid, SIGKILL);
}

/* The child side of rd_run and rd_spawn: `bash -c @cmd` in @cwd, output to @out_fd. */
static void rd_exec(const char *cmd, const char *cwd, int out_fd)
{
	char path[PATH_MAX + 256];
	int s, devnull = open("/dev/null", O_RDWR);
	sigset_t none;

	setpgid(0, 0);
	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(devnull, STDIN_FILENO);
	dup2(out_fd >= 0 ? out_fd : devnull, STDOUT_FILENO);
	dup2(out_fd >= 0 ? out_fd : devnull, STDERR_FILENO);
	if (chdir(cwd))
		_exit(126);
	/* igfs, igfs-pack and igfs-image by name, as after an install. */
	snprintf(path, sizeof(path),
		 "%s/fs:%s/gadgets/pack:%s/gadgets/image:/usr/local/sbin:/usr/local/bin:/usr/sbin:"
		 "/usr/bin:/sbin:/bin",
		 IGFS_BUILD_DIR, IGFS_BUILD_DIR, IGFS_BUILD_DIR);
	setenv("PATH", path, 1);
	/* watch(1) draws with curses even into a pipe, given a terminal type. */
	setenv("TERM", "xterm", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	execl("/bin/bash", "bash", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* @cmd in the background, in a process group of its own: the pid (= pgid) or -1. */
static pid_t rd_spawn(const char *cmd, const char *cwd)
{
	pid_t pid = fork();

	if (!pid)
		rd_exec(cmd, cwd, -1);
	if (pid > 0)
		setpgid(pid, pid);
	return pid;
}

/*
 * `bash -c @cmd` in @cwd, in a process group of its own, for up to @ms. A
 * command still running then is killed with its whole group
 * (res->still_running). 0, or -errno when it could not run.
 */
static int rd_run(const char *cmd, const char *cwd, int ms, struct rd_result *res)
{
	int64_t deadline = ith_now_ms() + ms, exited_at = 0;
	int p[2], st = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid)
		rd_exec(cmd, cwd, p[1]);
	setpgid(pid, pid);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int64_t now = ith_now_ms();
		char chunk[8192];
		ssize_t n;

		if (!exited_at && waitpid(pid, &st, WNOHANG) == pid)
			exited_at = now;
		/* Background children may hold the pipe: a short grace after bash exits. */
		if (exited_at && now - exited_at > 300)
			break;
		if (now >= deadline) {
			res->still_running = !exited_at;
			break;
		}
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = read(p[0], chunk, sizeof(chunk));
		if (n > 0)
			ith_buf_append(&res->out, chunk, (size_t)n);
		else if (n == 0 && exited_at)
			break;
		else if (n == 0)
			ith_sleep_ms(10);
	}
	rd_kill_group(pid);
	if (!exited_at)
		waitpid(pid, &st, 0);
	close(p[0]);
	res->wstatus = st;
	if (!res->out.data)
		ith_buf_append(&res->out, "", 0);
	return 0;
}

static bool rd_matches(const char *ere, const char *text)
{
	regex_t re;
	bool m;

	if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB | REG_NEWLINE)) {
		fprintf(stderr, "bad regular expression '%s'\n", ere);
		return false;
	}
	m = !regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	return m;
}

static bool rd_cmd_is(const struct rd_block *b, enum rd_key key, const char *cmd)
{
	size_t i;

	for (i = 0; i < b->n_dirs; i++)
		if (b->dirs[i].key == key && rd_matches(b->dirs[i].value, cmd))
			return true;
	return false;
}

/* ----- output shapes ----- */

/* Every key of @shown is in @real, recursively for objects. */
static bool rd_keys_subset(json_t *shown, json_t *real, const char *path, char *why, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(shown))
		return true;
	if (!json_is_object(real)) {
		snprintf(why, len, "'%s' is not an object", *path ? path : "(top)");
		return false;
	}
	json_object_foreach(shown, key, v)
	{
		char sub[512];
		json_t *r = json_object_get(real, key);

		if (snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key) >=
		    (int)sizeof(sub)) {
			snprintf(why, len, "a key path is over %zu bytes", sizeof(sub));
			return false;
		}
		if (!r) {
			snprintf(why, len, "key '%.400s' is missing", sub);
			return false;
		}
		if (!rd_keys_subset(v, r, sub, why, len))
			return false;
	}
	return true;
}

/* The first JSON value of each non-empty line of @s, or NULL when a line is not JSON. */
static json_t *rd_json_lines(const char *s)
{
	json_t *arr = json_array();
	const char *l = s, *nl;

	for (; l && *l; l = nl ? nl + 1 : NULL) {
		json_t *j;

		nl = strchr(l, '\n');
		if (!nl)
			nl = l + strlen(l);
		if (nl == l || (nl - l == 3 && !strncmp(l, "...", 3))) {
			if (!*nl)
				break;
			continue;
		}
		j = json_loadb(l, (size_t)(nl - l), JSON_DECODE_ANY, NULL);
		if (!j) {
			json_decref(arr);
			return NULL;
		}
		/* An in-band {"lost":N} may come anywhere (README: events). */
		if (!ith_is_lost_line(j, NULL))
			json_array_append(arr, j);
		json_decref(j);
		if (!*nl)
			break;
	}
	return arr;
}

/*
 * The real output of a console command against what the README shows: a
 * JSON document (or JSON lines) needs a JSON document (or JSON lines) with at
 * least the keys shown; text needs some text. 0, or -1 with @why.
 */
static int rd_check_shape(const char *shown, const char *real, char *why, size_t len)
{
	json_t *sj, *rj = NULL, *sl = NULL, *rl = NULL;
	int ret = -1;

	sj = json_loads(shown, JSON_DECODE_ANY, NULL);
	if (sj) {
		rj = json_loads(real, JSON_DECODE_ANY, NULL);
		if (!rj) {
			rl = rd_json_lines(real);
			rj = json_incref(json_array_get(rl, 0));
		}
		if (!rj) {
			snprintf(why, len, "the README shows JSON, the output is not JSON");
			goto out;
		}
		ret = rd_keys_subset(sj, rj, "", why, len) ? 0 : -1;
		goto out;
	}
	sl = rd_json_lines(shown);
	if (sl && json_array_size(sl)) {
		rl = rd_json_lines(real);
		if (!rl || !json_array_size(rl)) {
			snprintf(why, len, "the README shows JSON lines, the output %s",
				 rl ? "has none" : "has a line that is not JSON");
			goto out;
		}
		ret = rd_keys_subset(json_array_get(sl, 0), json_array_get(rl, 0), "", why, len)
			      ? 0
			      : -1;
		goto out;
	}
	if (!*real) {
		snprintf(why, len, "the README shows output, the command printed nothing");
		goto out;
	}
	ret = 0;
out:
	json_decref(sj);
	json_decref(rj);
	json_decref(sl);
	json_decref(rl);
	return ret;
}

/* ----- running a block ----- */

static const char *rd_dir(const struct rd_block *b, enum rd_key key, size_t nth)
{
	size_t i;

	for (i = 0; i < b->n_dirs; i++)
		if (b->dirs[i].key == key && !nth--)
			return b->dirs[i].value;
	return NULL;
}

static int rd_write(const char *path, const char *data)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fputs(data, f);
	return fclose(f) ? -errno : 0;
}

static int rd_mkdir_p(const char *dir, const char *rel)
{
	char path[PATH_MAX * 2], *s;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

/*
 * The scratch directory of a block: build/, gadgets/ and contrib/ lead to
 * this tree as in a clone, local/ is the watched gadgets directory, mnt/ the
 * mount point, and every `file:` block is written where it says.
 */
static int rd_prepare(const struct rd_doc *d, struct rd_env *e)
{
	static const char *const links[][2] = {
		{"build", IGFS_BUILD_DIR},
		{"gadgets", IGFS_SOURCE_DIR "/gadgets"},
		{"contrib", IGFS_SOURCE_DIR "/contrib"},
		{"tests", IGFS_SOURCE_DIR "/tests"},
	};
	char path[PATH_MAX * 2];
	size_t i;

	snprintf(e->dir, sizeof(e->dir), "/tmp/igfs-readme-XXXXXX");
	/* Other users reach the mount too (the README's permission examples). */
	if (!mkdtemp(e->dir) || chmod(e->dir, 0755))
		return -errno;
	snprintf(e->mnt, sizeof(e->mnt), "%s/mnt", e->dir);
	snprintf(e->local, sizeof(e->local), "%s/local", e->dir);
	if (mkdir(e->mnt, 0755) || mkdir(e->local, 0755))
		return -errno;
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "%s/%s", e->dir, links[i][0]);
		if (symlink(links[i][1], path))
			return -errno;
	}
	for (i = 0; i < d->n_blocks; i++) {
		const char *f = rd_dir(&d->blocks[i], RD_FILE, 0);

		if (!f)
			continue;
		snprintf(path, sizeof(path), "%s/%s", e->dir, f);
		if (rd_mkdir_p(e->dir, f) || rd_write(path, d->blocks[i].body))
			return -EIO;
	}
	return 0;
}

static void rd_remove(const struct rd_env *e)
{
	const char *argv[] = {"rm", "-rf", "--one-file-system", e->dir, NULL};

	if (e->dir[0] && !ith_mounted(e->mnt))
		ith_run(argv, 10000, NULL, NULL);
}

static void rd_print_output(const char *what, const struct ith_buf *out)
{
	fprintf(stderr, "---- %s ----\n%.*s%s----\n", what,
		(int)(out->len > 4000 ? 4000 : out->len), out->data ? out->data : "",
		out->len && out->data[out->len - 1] != '\n' ? "\n" : "");
}

/* Setup or check commands: each must exit 0. */
static int rd_run_plain(const struct rd_block *b, const struct rd_env *e, enum rd_key key)
{
	struct rd_result r;
	const char *cmd;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && (cmd = rd_dir(b, key, i)); i++) {
		char *c = rd_subst(e, cmd);

		if (rd_run(c, e->dir, RD_SETUP_MS, &r) || r.still_running ||
		    !WIFEXITED(r.wstatus) || WEXITSTATUS(r.wstatus)) {
			fprintf(stderr, "FAIL README.md:%d: %s '%s' failed (status 0x%x%s)\n",
				b->line, rd_keys[key], cmd, r.wstatus,
				r.still_running ? ", timed out" : "");
			rd_print_output("its output", &r.out);
			ret = -1;
		}
		ith_buf_free(&r.out);
		free(c);
	}
	return ret;
}

static int rd_run_cmd(const struct rd_block *b, const struct rd_env *e, const struct rd_cmd *cmd,
		      struct ith_buf *all)
{
	bool follow = rd_cmd_is(b, RD_FOLLOW, cmd->text);
	bool fail = rd_cmd_is(b, RD_FAIL, cmd->text);
	const char *w = rd_dir(b, RD_WAIT, 0);
	int ms = follow ? (w ? atoi(w) * 1000 : RD_FOLLOW_MS) : RD_CMD_TIMEOUT_MS;
	char *c = rd_subst(e, cmd->text), why[512] = "";
	struct rd_result r;
	int err;

	fprintf(stderr, "readme: $ %s", cmd->text);
	err = rd_run(c, e->dir, ms, &r);
	free(c);
	if (err) {
		snprintf(why, sizeof(why), "cannot run: %s", strerror(-err));
		goto out;
	}
	ith_buf_append(all, r.out.data, r.out.len);
	/* Each command's output starts a line of its own (watch ends without one). */
	if (r.out.len && r.out.data[r.out.len - 1] != '\n')
		ith_buf_append(all, "\n", 1);
	if (r.still_running && !follow) {
		snprintf(why, sizeof(why), "did not finish within %d s", ms / 1000);
	} else if (r.still_running && !r.out.len) {
		snprintf(why, sizeof(why), "followed for %d s without printing anything",
			 ms / 1000);
	} else if (!r.still_running && !WIFEXITED(r.wstatus)) {
		snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(r.wstatus));
	} else if (!r.still_running && !fail && WEXITSTATUS(r.wstatus)) {
		snprintf(why, sizeof(why), "exited with %d", WEXITSTATUS(r.wstatus));
	} else if (!r.still_running && fail && !WEXITSTATUS(r.wstatus)) {
		snprintf(why, sizeof(why), "succeeded, the README says it fails");
	} else if (rd_cmd_is(b, RD_JSON, cmd->text)) {
		json_t *l = rd_json_lines(r.out.data);

		if (!l || !json_array_size(l))
			snprintf(why, sizeof(why), "output is not JSON lines");
		json_decref(l);
	}
	if (!why[0] && cmd->shown)
		rd_check_shape(cmd->shown, r.out.data, why, sizeof(why));
out:
	/* IGFS_README_SHOW=1: every output, to refresh what the README shows. */
	if (!why[0] && getenv("IGFS_README_SHOW"))
		rd_print_output("output", &r.out);
	if (why[0]) {
		fprintf(stderr, "FAIL README.md:%d: '%s': %s\n", b->line, rd_trim(cmd->text), why);
		if (cmd->shown)
			fprintf(stderr, "---- README shows ----\n%s", cmd->shown);
		rd_print_output("real output", &r.out);
	}
	ith_buf_free(&r.out);
	return why[0] ? -1 : 0;
}

static int rd_run_block(const struct rd_doc *d, const struct rd_block *b, const char *log)
{
	struct ith_buf all = {};
	struct ith_mount m = {};
	struct rd_env e = {};
	char opts[PATH_MAX * 2];
	const char *extra, *a;
	pid_t act_pid = -1;
	int ret = -1, err;
	size_t i;

	fprintf(stderr, "readme: block at README.md:%d (%s)\n", b->line, b->lang);
	err = rd_prepare(d, &e);
	if (err) {
		fprintf(stderr, "FAIL cannot prepare a scratch directory: %s\n", strerror(-err));
		goto out;
	}
	extra = rd_dir(b, RD_OPTS, 0);
	snprintf(opts, sizeof(opts), "gadgets=%s%s%s", e.local, extra ? "," : "",
		 extra ? extra : "");
	{
		char *o = rd_replace(opts, "@BUILD@", IGFS_BUILD_DIR);

		snprintf(opts, sizeof(opts), "%s", o);
		free(o);
	}
	if (ith_mount(&m, e.mnt, log, opts))
		goto out;
	a = rd_dir(b, RD_NEEDS, 0);
	if (a) {
		char *c = rd_subst(&e, a);
		struct rd_result r;

		err = rd_run(c, e.dir, RD_SETUP_MS, &r);
		free(c);
		ith_buf_free(&r.out);
		if (err || r.still_running || !WIFEXITED(r.wstatus) || WEXITSTATUS(r.wstatus)) {
			fprintf(stderr, "readme: SKIP README.md:%d: 'needs: %s' is not true here\n",
				b->line, a);
			ret = 0;
			goto out;
		}
	}
	if (rd_run_plain(b, &e, RD_SETUP))
		goto out;
	a = rd_dir(b, RD_ACTIVITY, 0);
	if (a) {
		char *c = rd_subst(&e, a);

		act_pid = rd_spawn(c, e.dir);
		free(c);
		ith_sleep_ms(300);
	}
	ret = 0;
	for (i = 0; i < b->n_cmds; i++)
		if (rd_run_cmd(b, &e, &b->cmds[i], &all))
			ret = -1;
	if (act_pid > 0) {
		rd_kill_group(act_pid);
		ith_wait_pid(act_pid, 5000, NULL);
		act_pid = -1;
	}
	for (i = 0; !ret && (a = rd_dir(b, RD_EXPECT, i)); i++) {
		if (!rd_matches(a, all.data ? all.data : "")) {
			fprintf(stderr, "FAIL README.md:%d: no output matches 'expect: %s'\n",
				b->line, a);
			rd_print_output("the block's output", &all);
			ret = -1;
		}
	}
	if (!ret && rd_run_plain(b, &e, RD_CHECK))
		ret = -1;
out:
	if (act_pid > 0) {
		rd_kill_group(act_pid);
		ith_wait_pid(act_pid, 5000, NULL);
	}
	if (m.dir[0] && ith_teardown(&m))
		ret = -1;
	rd_remove(&e);
	ith_buf_free(&all);
	return ret;
}

/* ----- tests ----- */

/* Every example block is tested or says why not; directives point at commands. */
static int test_annotated(struct ith_mount *m)
{
	struct rd_doc d;
	size_t i, j, tested = 0, skipped = 0;
	int ret = -1;

	(void)m;
	if (rd_parse(&d))
		return -1;
	for (i = 0; i < d.n_blocks; i++) {
		const struct rd_block *b = &d.blocks[i];

		if (!rd_is_example(b->lang)) {
			if (b->annotated &&
			    (b->notest || b->n_dirs != 1 || b->dirs[0].key != RD_FILE))
				rd_error(&d, "README.md:%d: a ```%s block takes only 'file:'",
					 b->line, b->lang);
			continue;
		}
		if (!b->annotated) {
			rd_error(&d,
				 "README.md:%d: a ```%s example without <!-- test --> or "
				 "<!-- notest: reason -->",
				 b->line, b->lang);
			continue;
		}
		if (b->notest) {
			skipped++;
			continue;
		}
		tested++;
		if (!b->n_cmds)
			rd_error(&d, "README.md:%d: a tested block without commands", b->line);
		for (j = 0; j < b->n_dirs; j++) {
			enum rd_key k = b->dirs[j].key;
			bool used = false;
			size_t c;

			if (k == RD_FILE)
				rd_error(&d, "README.md:%d: 'file:' on a ```%s block", b->line,
					 b->lang);
			if (k != RD_FOLLOW && k != RD_FAIL && k != RD_JSON)
				continue;
			for (c = 0; c < b->n_cmds; c++)
				used = used || rd_matches(b->dirs[j].value, b->cmds[c].text);
			if (!used)
				rd_error(&d, "README.md:%d: '%s: %s' matches no command", b->line,
					 rd_keys[k], b->dirs[j].value);
		}
	}
	fprintf(stderr, "readme: %zu example blocks tested, %zu not (with a reason)\n", tested,
		skipped);
	ITH_CHECK(!d.errors[0], "README.md:\n%s", d.errors);
	ITH_CHECK(tested > 0, "no tested example in README.md");
	ret = 0;
out:
	rd_free(&d);
	return ret;
}

/* The text of the README section whose heading starts with @heading, up to the next one. */
static char *rd_section(const char *text, const char *heading)
{
	const char *s = strstr(text, heading), *end;
	size_t level = strspn(heading, "#");

	if (!s)
		return NULL;
	for (end = strchr(s, '\n'); end; end = strchr(end + 1, '\n')) {
		size_t l = strspn(end + 1, "#");

		if (l && l <= level && end[1 + l] == ' ')
			break;
	}
	return rd_strndup(s, end ? (size_t)(end - s) : strlen(s));
}

/* Every option in `igfs --help` is in the README's options table and back. */
static int test_options(struct ith_mount *m)
{
	const char *argv[] = {IGFS_BIN, "--help", NULL};
	char *sec = NULL, *table = NULL, *copy = NULL, *save = NULL, *l;
	struct ith_buf help = {};
	struct rd_doc d;
	bool in = false;
	int ret = -1, st = 0, bad = 0;

	(void)m;
	if (rd_parse(&d))
		return -1;
	ITH_CHECK(!ith_run(argv, 5000, &help, &st) && help.data, "igfs --help did not run");
	sec = rd_section(d.text, "## Running igfs");
	ITH_CHECK(sec, "README.md has no '## Running igfs' section");
	/* The table rows' first cells. */
	for (l = sec; (l = strstr(l, "\n| ")); l++) {
		const char *e = strstr(l + 3, " |");

		if (e)
			rd_append_line(&table, l + 3, (size_t)(e - l - 3));
	}
	ITH_CHECK(table, "no options table under '## Running igfs'");
	copy = strdup(help.data);
	for (l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char opt[256], *tok, *s2 = NULL;

		if (strstr(l, "igfs options:") == l) {
			in = true;
			continue;
		}
		if (strstr(l, "FUSE options:") == l)
			break;
		if (!in || strncmp(l, "    -", 5))
			continue;
		/* "    -o uid=N,gid=N   owner ...": the option column, names only. */
		snprintf(opt, sizeof(opt), "%s", l + 4);
		if (strstr(opt, "  "))
			*strstr(opt, "  ") = '\0';
		for (tok = strtok_r(opt, ",", &s2); tok; tok = strtok_r(NULL, ",", &s2)) {
			char name[128], *eq;

			tok = rd_trim(tok);
			if (!strncmp(tok, "-o ", 3))
				tok += 3;
			snprintf(name, sizeof(name), "%s", tok);
			eq = strchr(name, '=');
			if (eq)
				eq[1] = '\0';
			else if (strchr(name, ' '))
				*strchr(name, ' ') = '\0';
			if (!strstr(table, name)) {
				fprintf(stderr,
					"FAIL igfs --help has '%s', the README's options table "
					"does not\n",
					name);
				bad++;
			}
		}
	}
	ITH_CHECK(in, "igfs --help has no 'igfs options:' section:\n%s", help.data);
	/* Back: every `-x`, `--xx` or `name=` of the table is in --help (igfs's or FUSE's). */
	free(copy);
	copy = strdup(table);
	for (l = copy; (l = strchr(l, '`'));) {
		char *e = strchr(l + 1, '`'), name[128];

		if (!e)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(e - l - 1), l + 1);
		l = e + 1;
		if (!strncmp(name, "-o ", 3))
			memmove(name, name + 3, strlen(name + 3) + 1);
		if (strchr(name, '='))
			strchr(name, '=')[1] = '\0';
		else if (strchr(name, ' '))
			*strchr(name, ' ') = '\0';
		if (name[0] && !strstr(help.data, name)) {
			fprintf(stderr,
				"FAIL the README's options table has '%s', igfs --help does "
				"not\n",
				name);
			bad++;
		}
	}
	ITH_CHECK(!bad, "%d options differ between igfs --help and README.md", bad);
	ret = 0;
out:
	free(copy);
	free(table);
	free(sec);
	ith_buf_free(&help);
	rd_free(&d);
	return ret;
}

/* Whether a line of @tree starts (after blanks) with @name and then a blank or '/'. */
static bool rd_tree_has(const char *tree, const char *name)
{
	size_t n = strlen(name);
	const char *l;

	for (l = tree; l; l = strchr(l, '\n')) {
		l += strspn(l, "\n ");
		if (!strncmp(l, name, n) && (l[n] == ' ' || l[n] == '/'))
			return true;
	}
	return false;
}

/*
 * Every name a gadget directory holds on a real mount (bundled gadgets and
 * the test fixtures) is in the README's tree, and every igfs setting in
 * params/ (a params file that is not a gadget parameter in schema) is in its
 * params/ section.
 */
static int test_files(struct ith_mount *m)
{
	char *tree = NULL, *params = NULL, cmd[PATH_MAX * 2];
	struct ith_buf names = {}, settings = {};
	struct rd_doc d;
	char *save = NULL, *l;
	int ret = -1, st = 0, bad = 0;
	const char *argv[] = {"bash", "-c", cmd, NULL};

	if (rd_parse(&d))
		return -1;
	tree = rd_section(d.text, "## The filesystem");
	params = rd_section(d.text, "### params/");
	ITH_CHECK(tree && params, "README.md lacks '## The filesystem' or '### params/'");
	snprintf(cmd, sizeof(cmd), "cd '%s' && ls -1 */ | grep -v ':$' | sort -u", m->dir);
	ITH_CHECK(!ith_run(argv, 10000, &names, &st) && names.data && WIFEXITED(st) &&
			  !WEXITSTATUS(st),
		  "cannot list the gadget directories");
	for (l = strtok_r(names.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (*l && !rd_tree_has(tree, l)) {
			fprintf(stderr,
				"FAIL gadget directories hold '%s', the README's tree does not\n",
				l);
			bad++;
		}
	}
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && for g in *; do ls -1 $g/params | grep -vxF -f <(jq -r '.params[].key' "
		 "$g/schema); done | sort -u",
		 m->dir);
	ITH_CHECK(!ith_run(argv, 10000, &settings, &st) && settings.data, "cannot list params");
	save = NULL;
	for (l = strtok_r(settings.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char want[300];

		snprintf(want, sizeof(want), "`%s`", l);
		if (*l && !strstr(params, want)) {
			fprintf(stderr,
				"FAIL params/ holds igfs's own setting '%s', the README's "
				"params/ section does not name it\n",
				l);
			bad++;
		}
	}
	ITH_CHECK(!bad, "%d names differ between the mount and README.md", bad);
	ret = 0;
out:
	free(tree);
	free(params);
	ith_buf_free(&names);
	ith_buf_free(&settings);
	rd_free(&d);
	return ret;
}

/*
 * Every tested block, each against a fresh mount. IGFS_README_LINE=N runs
 * only the block whose fence is at line N; IGFS_README_SHOW=1 prints every
 * command's output.
 */
static int test_examples(struct ith_mount *m)
{
	const char *only = getenv("IGFS_README_LINE");
	char log[PATH_MAX + 32];
	size_t i, failed = 0, ran = 0;
	struct rd_doc d;

	if (rd_parse(&d))
		return -1;
	for (i = 0; i < d.n_blocks; i++) {
		const struct rd_block *b = &d.blocks[i];

		if (!rd_is_example(b->lang) || !b->annotated || b->notest)
			continue;
		if (only && atoi(only) != b->line)
			continue;
		snprintf(log, sizeof(log), "%s.line%d", m->log, b->line);
		ran++;
		if (rd_run_block(&d, b, log)) {
			failed++;
			ith_log_dump(log, 20);
		}
	}
	rd_free(&d);
	fprintf(stderr, "readme: %zu blocks run, %zu failed\n", ran, failed);
	if (!ran) {
		fprintf(stderr, "FAIL no block ran\n");
		return -1;
	}
	return failed ? -1 : 0;
}

#define FIXTURES "gadgets=" IGFS_BUILD_DIR "/tests/fixtures/images"

static const struct ith_test tests[] = {
	{"annotated", NULL, NULL, 30000, test_annotated},
	{"options", NULL, NULL, 30000, test_options},
	{"files", FIXTURES, "jq", 30000, test_files},
	{"examples", NULL, "jq", 570000, test_examples},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
