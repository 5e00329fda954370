// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * contrib/ for log shippers and Kubernetes, checked for real where this
 * machine allows: a private rsyslogd runs contrib/rsyslog/igfs.conf against
 * the mount and must ship a marker's event as JSON; the DaemonSet manifest is
 * parsed and its container command run with scratch paths; the Dockerfile's
 * runtime packages must provide what igfs and that command need.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
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

#define RSYSLOG_CONF   IGFS_SOURCE_DIR "/contrib/rsyslog/igfs.conf"
#define K8S_MANIFEST   IGFS_SOURCE_DIR "/contrib/kubernetes/igfs-daemonset.yaml"
#define K8S_DOCKERFILE IGFS_SOURCE_DIR "/contrib/kubernetes/Dockerfile"
#define SHIP_WAIT_MS   10000
#define MOUNT_WAIT_MS  15000

/* ----- small helpers ----- */

/* A prerequisite the body found missing: skip loudly, or fail under CI=true. */
static int skip_or_fail(const char *why)
{
	const char *ci = getenv("CI");

	if (ci && !strcmp(ci, "true")) {
		fprintf(stderr, "\n*** FAILED: missing prerequisite (CI=true): %s ***\n\n", why);
		return -1;
	}
	fprintf(stderr, "\n*** SKIPPED: %s ***\n\n", why);
	return ITH_SKIP;
}

/* Write @len bytes of @data to a new file @path. 0 or -errno. */
static int write_new(const char *path, const char *data, size_t len)
{
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

/* Whether @c may end or start a path inside a command line or an option list. */
static bool path_edge(char c)
{
	return !c || strchr(" \t\n=,;:\"'", c) != NULL;
}

/*
 * Replace every whole path @from[i] in @in by @to[i] (a path ends at '/' or
 * at an edge character, and starts at one), appending to @out.
 */
static int subst_paths(const char *in, const char *const *from, const char *const *to, size_t n,
		       struct ith_buf *out)
{
	const char *p = in;
	size_t i;

	while (*p) {
		bool at_edge = p == in || path_edge(p[-1]);

		for (i = 0; at_edge && i < n; i++) {
			size_t len = strlen(from[i]);

			if (!strncmp(p, from[i], len) && (path_edge(p[len]) || p[len] == '/'))
				break;
		}
		if (at_edge && i < n) {
			if (ith_buf_append(out, to[i], strlen(to[i])))
				return -ENOMEM;
			p += strlen(from[i]);
			continue;
		}
		if (ith_buf_append(out, p, 1))
			return -ENOMEM;
		p++;
	}
	return ith_buf_append(out, "", 1) ? -ENOMEM : 0;
}

/*
 * Start @argv (argv[0] a full path) with stdin /dev/null and stdout and
 * stderr appended to @log, with the signal state of a shell's child. The
 * pid, or -1.
 */
static pid_t spawn_logged(const char *const argv[], const char *log)
{
	sigset_t none;
	pid_t pid;
	int fd, s;

	pid = fork();
	if (pid)
		return pid < 0 ? -1 : pid;
	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

/* SIGTERM @pid, then SIGKILL after @timeout_ms; reaps it. 0 when it exited 0 in time. */
static int stop_pid(pid_t pid, int timeout_ms)
{
	int st = 0;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	if (ith_wait_pid(pid, timeout_ms, &st)) {
		ith_kill_wait(pid);
		return -ETIMEDOUT;
	}
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -ECHILD;
}

static void dump_file(const char *what, const char *path)
{
	struct ith_buf b = {};

	if (!ith_read_file(path, &b, 2000) && b.len)
		fprintf(stderr, "--- %s (%s):\n%s\n---\n", what, path, b.data);
	ith_buf_free(&b);
}

static void rm_rf(const char *dir)
{
	const char *argv[] = {"rm", "-rf", "--one-file-system", dir, NULL};

	if (dir[0])
		ith_run(argv, 10000, NULL, NULL);
}

/* ----- rsyslog ----- */

struct ship_ctx {
	char tmp[PATH_MAX];
	char conf[PATH_MAX + 32];
	char out[PATH_MAX + 32];    /* the shipped JSON lines */
	char rs_log[PATH_MAX + 32]; /* rsyslogd's stdout and stderr */
	char rs_int[PATH_MAX + 32]; /* rsyslogd's own messages */
	char pidfile[PATH_MAX + 32];
};

/*
 * contrib/rsyslog/igfs.conf with the mount and the output directory swapped
 * for the test's, after a prologue of what /etc/rsyslog.conf would provide: a
 * workDirectory of our own for imfile's state, and rsyslogd's own messages in
 * a file for the report.
 */
static int ship_write_conf(const struct ship_ctx *c, const struct ith_mount *m)
{
	const char *from[] = {"/mnt/ig", "/var/log/igfs"};
	char outdir[PATH_MAX + 32], prologue[4 * PATH_MAX];
	struct ith_buf snippet = {}, conf = {};
	const char *to[2];
	int err;

	snprintf(outdir, sizeof(outdir), "%s/out", c->tmp);
	to[0] = m->dir;
	to[1] = outdir;
	err = ith_read_file(RSYSLOG_CONF, &snippet, 2000);
	if (err) {
		fprintf(stderr, "cannot read %s: %s\n", RSYSLOG_CONF, strerror(-err));
		goto out;
	}
	snprintf(prologue, sizeof(prologue),
		 "global(workDirectory=\"%s/work\")\n"
		 "if $syslogfacility-text == \"syslog\" then action(type=\"omfile\" file=\"%s\")\n",
		 c->tmp, c->rs_int);
	err = ith_buf_append(&conf, prologue, strlen(prologue));
	if (!err)
		err = subst_paths(snippet.data, from, to, 2, &conf);
	if (!err)
		err = write_new(c->conf, conf.data, strlen(conf.data));
out:
	ith_buf_free(&snippet);
	ith_buf_free(&conf);
	return err;
}

/*
 * Parse what rsyslog appended to the output file since the last call into @s
 * (*fd: the output file, -1 until it exists). 0 or -errno.
 */
static int ship_poll_out(const struct ship_ctx *c, int *fd, struct ith_stream *s)
{
	char chunk[65536];
	ssize_t n;

	if (*fd < 0) {
		*fd = open(c->out, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return errno == ENOENT ? 0 : -errno;
	}
	while ((n = read(*fd, chunk, sizeof(chunk))) > 0)
		ith_stream_feed(s, chunk, (size_t)n);
	return n < 0 ? -errno : 0;
}

/* Wait until status.readers of @g is at least (@more) or at most @n; -ETIMEDOUT. */
static int wait_readers_cmp(const struct ith_gadget *g, json_int_t n, bool more, int timeout_ms)
{
	int64_t deadline = ith_now_ms() + timeout_ms;

	for (;;) {
		json_t *st = ith_status(g);
		json_int_t r = st ? ith_jint(st, "readers") : -1;

		json_decref(st);
		if (r >= 0 && (more ? r >= n : r <= n))
			return 0;
		if (ith_now_ms() >= deadline)
			return -ETIMEDOUT;
		ith_sleep_ms(20);
	}
}

static int wait_readers(const struct ith_gadget *g, json_int_t n, int timeout_ms)
{
	return wait_readers_cmp(g, n, true, timeout_ms);
}

static int wait_readers_at_most(const struct ith_gadget *g, json_int_t n, int timeout_ms)
{
	return wait_readers_cmp(g, n, false, timeout_ms);
}

/* Wait until every one of @n names starting with @prefix was shipped; -ETIMEDOUT. */
static int ship_wait_burst(const struct ship_ctx *c, int *fd, struct ith_stream *s,
			   const char *prefix, size_t n, int timeout_ms)
{
	int64_t deadline = ith_now_ms() + timeout_ms;
	char name[256];
	size_t i = 0;

	for (;;) {
		int err = ship_poll_out(c, fd, s);

		if (err)
			return err;
		for (; i < n; i++) {
			snprintf(name, sizeof(name), "%s%zu", prefix, i);
			if (!ith_has_fname(s, name))
				break;
		}
		if (i == n)
			return 0;
		if (ith_now_ms() >= deadline)
			return -ETIMEDOUT;
		ith_sleep_ms(20);
	}
}

/*
 * rsyslogd runs the shipped configuration against trace_open, filtered to
 * this process so the file is as quiet as an idle machine's: a marker's event
 * must reach the output file within SHIP_WAIT_MS (on a quiet file imfile only
 * forwards once a read ends at end of file: params/follow=false), then a burst
 * of opens with quotes,
 * backslashes and UTF-8 in the names must arrive once each, in order, every
 * line still a JSON object.
 */
static int test_rsyslog(struct ith_mount *m)
{
	char tmpl[] = "/tmp/igfs-shipper-XXXXXX", rsyslogd[PATH_MAX], marker[128],
	     dir[PATH_MAX + 32], prefix[192], name[256], cmd[64];
	struct ship_ctx c = {};
	struct ith_stream s;
	struct ith_buf b = {};
	struct ith_gadget g;
	int64_t t0, t_ship = -1, t_stop;
	json_t *ev;
	pid_t rs = -1;
	int ret = -1, err, st = 0, out_fd = -1;
	size_t i, k, burst = 300;

	ith_stream_init(&s, -1);
	ITH_CHECK(ith_which("rsyslogd", rsyslogd, sizeof(rsyslogd)), "rsyslogd not found");
	ITH_CHECK(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	snprintf(c.tmp, sizeof(c.tmp), "%s", tmpl);
	snprintf(c.conf, sizeof(c.conf), "%s/rsyslog.conf", c.tmp);
	snprintf(c.out, sizeof(c.out), "%s/out/trace_open.json", c.tmp);
	snprintf(c.rs_log, sizeof(c.rs_log), "%s/rsyslogd.out", c.tmp);
	snprintf(c.rs_int, sizeof(c.rs_int), "%s/rsyslogd.log", c.tmp);
	snprintf(c.pidfile, sizeof(c.pidfile), "%s/rsyslogd.pid", c.tmp);
	snprintf(dir, sizeof(dir), "%s/work", c.tmp);
	ITH_CHECK(!mkdir(dir, 0700), "mkdir %s: %s", dir, strerror(errno));
	ITH_CHECK(!ship_write_conf(&c, m), "cannot write the rsyslog configuration");

	/* rsyslog's own validation of the shipped file first: clearer than a silent input. */
	{
		const char *argv[] = {rsyslogd, "-N1", "-f", c.conf, NULL};

		err = ith_run(argv, 10000, &b, &st);
		ITH_CHECK(!err && WIFEXITED(st) && !WEXITSTATUS(st),
			  "rsyslogd -N1 rejects the configuration (status %d)", st);
	}

	ith_gadget_paths(m, "trace_open", &g);
	/* As igfs.conf says: reads end at end of file, as imfile expects of a log file. */
	snprintf(dir, sizeof(dir), "%s/follow", g.params);
	ITH_CHECK(!ith_write_file(dir, "false\n", 6), "echo false > params/follow");
	snprintf(cmd, sizeof(cmd), "start pid=%d", (int)getpid());
	ITH_CHECK(!ith_ctl(&g, cmd), "%s", cmd);
	{
		const char *argv[] = {rsyslogd, "-n", "-f", c.conf, "-i", c.pidfile, NULL};

		rs = spawn_logged(argv, c.rs_log);
		ITH_CHECK(rs > 0, "cannot start rsyslogd");
	}
	/* imfile has the file open: from now on it follows the end. */
	ITH_CHECK(!wait_readers(&g, 1, SHIP_WAIT_MS), "rsyslogd never opened events");

	/*
	 * Open the marker until its event is shipped: imfile may still be seeking
	 * to the end (freshStartTail) when the first open happens.
	 */
	ith_marker(marker, sizeof(marker));
	t0 = ith_now_ms();
	while (ith_now_ms() - t0 < SHIP_WAIT_MS) {
		int64_t t_open = ith_now_ms();
		int fd = ith_marker_open(marker);

		if (fd >= 0)
			close(fd);
		while (ith_now_ms() - t_open < 1000) {
			ith_sleep_ms(10);
			err = ship_poll_out(&c, &out_fd, &s);
			if (!err && ith_has_fname(&s, marker)) {
				t_ship = ith_now_ms() - t_open;
				break;
			}
		}
		if (t_ship >= 0)
			break;
	}
	ITH_CHECK(t_ship >= 0, "the marker's event was not shipped within %d ms", SHIP_WAIT_MS);
	ev = ith_find_fname(&s, marker, 0);
	ITH_CHECK(ith_jint(ev, "proc.pid") == getpid(), "proc.pid %lld, want %d",
		  (long long)ith_jint(ev, "proc.pid"), (int)getpid());
	ITH_CHECK(ith_str_is(ith_jstr(ev, "error"), "ENOENT"), "error '%s', want ENOENT",
		  ith_show(ith_jstr(ev, "error")));
	ITH_CHECK(json_is_string(json_object_get(ev, "timestamp")), "no timestamp");

	/* A burst whose names JSON must escape: rsyslog passes the lines on untouched. */
	snprintf(prefix, sizeof(prefix), "%s-\"q\\ \xc3\xa9-", marker);
	t0 = ith_now_ms();
	for (i = 0; i < burst; i++) {
		int fd;

		snprintf(name, sizeof(name), "%s%zu", prefix, i);
		fd = ith_marker_open(name);
		if (fd >= 0)
			close(fd);
	}
	err = ship_wait_burst(&c, &out_fd, &s, prefix, burst, SHIP_WAIT_MS);
	ITH_CHECK(!err, "the burst of %zu opens was not shipped within %d ms", burst, SHIP_WAIT_MS);
	fprintf(stderr,
		"rsyslog: marker shipped %lld ms after its open; %zu opens shipped in %lld ms\n",
		(long long)t_ship, burst, (long long)(ith_now_ms() - t0));
	ITH_CHECK(!s.bad, "%zu shipped lines are not JSON objects: %s", s.bad, s.why);
	/* Once each, in the order of the opens. */
	k = 0;
	for (i = 0; i < json_array_size(s.lines); i++) {
		const char *f = ith_jstr(json_array_get(s.lines, i), "fname");

		if (!f || strncmp(f, prefix, strlen(prefix)))
			continue;
		snprintf(name, sizeof(name), "%s%zu", prefix, k);
		ITH_CHECK(!strcmp(f, name), "line %zu: fname '%s', want '%s'", i, f, name);
		k++;
	}
	ITH_CHECK(k == burst, "%zu burst lines shipped, want %zu", k, burst);

	t_stop = ith_now_ms();
	err = stop_pid(rs, 5000);
	rs = -1;
	ITH_CHECK(!err, "rsyslogd did not stop cleanly on SIGTERM: %s", strerror(-err));
	fprintf(stderr, "rsyslog: stopped %lld ms after SIGTERM\n",
		(long long)(ith_now_ms() - t_stop));
	/* Its handles on events went with it. */
	ITH_CHECK(!wait_readers_at_most(&g, 0, 2000), "rsyslogd's readers are still counted");
	/* Where igfs.conf tells users to find imfile's offset: named by the inode. */
	{
		struct stat est;
		glob_t gl = {};
		char pat[PATH_MAX + 64];
		int gerr;

		ITH_CHECK(!stat(g.events, &est), "stat events: %s", strerror(errno));
		snprintf(pat, sizeof(pat), "%s/work/imfile-state:%llu*", c.tmp,
			 (unsigned long long)est.st_ino);
		gerr = glob(pat, 0, NULL, &gl);
		globfree(&gl);
		ITH_CHECK(!gerr, "no imfile state file %s", pat);
	}
	ITH_CHECK(!ith_ctl(&g, "stop"), "stop trace_open");
	ret = 0;
out:
	if (rs > 0)
		stop_pid(rs, 5000);
	if (out_fd >= 0)
		close(out_fd);
	if (ret && c.tmp[0]) {
		if (b.len)
			fprintf(stderr, "--- rsyslogd -N1:\n%s\n---\n", b.data);
		dump_file("rsyslogd output", c.rs_log);
		dump_file("rsyslogd messages", c.rs_int);
		dump_file("configuration", c.conf);
	}
	ith_buf_free(&b);
	ith_stream_free(&s);
	rm_rf(c.tmp);
	return ret;
}

/* ----- the Kubernetes manifest ----- */

/* Every YAML document of the manifest as a JSON array (python3-yaml), or NULL with *ret_skip. */
static json_t *manifest_load(int *ret_skip)
{
	const char *probe[] = {"python3", "-c", "import yaml", NULL};
	const char *conv[] = {"python3", "-c",
			      "import json, sys, yaml\n"
			      "json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
			      K8S_MANIFEST, NULL};
	struct ith_buf b = {};
	json_error_t jerr;
	json_t *docs = NULL;
	int st = 0;

	*ret_skip = 0;
	if (ith_run(probe, 10000, NULL, &st) || !WIFEXITED(st) || WEXITSTATUS(st)) {
		*ret_skip = skip_or_fail("python3 cannot import yaml (install python3-yaml)");
		return NULL;
	}
	if (ith_run(conv, 10000, &b, &st) || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "%s is not valid YAML (python3 exit status %d)\n", K8S_MANIFEST,
			st);
		goto out;
	}
	docs = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	if (!json_is_array(docs)) {
		fprintf(stderr, "YAML to JSON: %s\n", jerr.text);
		json_decref(docs);
		docs = NULL;
	}
out:
	ith_buf_free(&b);
	return docs;
}

/* The document of @kind, borrowed from @docs, or NULL. */
static json_t *manifest_find(json_t *docs, const char *kind)
{
	size_t i;

	for (i = 0; i < json_array_size(docs); i++) {
		json_t *d = json_array_get(docs, i);

		if (ith_str_is(ith_jstr(d, "kind"), kind))
			return d;
	}
	return NULL;
}

/* The element of array @arr whose string member @key is @val, borrowed, or NULL. */
static json_t *array_find(json_t *arr, const char *key, const char *val)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);

		if (ith_str_is(ith_jstr(e, key), val))
			return e;
	}
	return NULL;
}

/* The DaemonSet's pod spec and its first container, borrowed. */
static int manifest_pod(json_t *docs, json_t **ret_pod, json_t **ret_ctr)
{
	json_t *ds = manifest_find(docs, "DaemonSet");
	json_t *pod = ith_get(ds, "spec.template.spec");
	json_t *ctr = json_array_get(json_object_get(pod, "containers"), 0);

	if (!ds || !json_is_object(pod) || !json_is_object(ctr)) {
		fprintf(stderr, "no DaemonSet with a pod template and a container\n");
		return -ENOENT;
	}
	*ret_pod = pod;
	*ret_ctr = ctr;
	return 0;
}

/* A host path the pod needs: where it is mounted and how. */
struct host_mount {
	const char *host;
	const char *path;
	bool ro;		 /* must be read-only */
	const char *propagation; /* required mountPropagation, or NULL */
};

static const struct host_mount k8s_mounts[] = {
	{"/sys/kernel/btf", "/sys/kernel/btf", true, NULL},
	{"/sys/fs/bpf", "/sys/fs/bpf", false, NULL},
	{"/sys/kernel/tracing", "/sys/kernel/tracing", false, NULL},
	{"/dev/fuse", "/dev/fuse", false, NULL},
	{"/sys/fs/cgroup", "/sys/fs/cgroup", true, NULL},
	{"/", "/host", true, NULL},
	{"/run/igfs", "/run/igfs", false, "Bidirectional"},
};

static int test_k8s_manifest(struct ith_mount *m)
{
	json_t *docs, *pod = NULL, *ctr = NULL, *ds, *args, *v, *vm, *vol;
	const char *mnt, *probe;
	int ret = -1, skip;
	size_t i, n;

	(void)m;
	docs = manifest_load(&skip);
	if (!docs)
		return skip ? skip : -1;
	ITH_CHECK(ith_str_is(ith_jstr(manifest_find(docs, "Namespace"), "metadata.name"), "igfs"),
		  "no Namespace igfs");
	ds = manifest_find(docs, "DaemonSet");
	ITH_CHECK(ith_str_is(ith_jstr(ds, "metadata.namespace"), "igfs"),
		  "the DaemonSet is not in namespace igfs");
	ITH_CHECK(!manifest_pod(docs, &pod, &ctr), "pod spec");
	ITH_CHECK(json_is_true(json_object_get(pod, "hostPID")), "hostPID is not true");
	ITH_CHECK(json_is_true(ith_get(ctr, "securityContext.privileged")),
		  "the container is not privileged");
	v = array_find(json_object_get(pod, "tolerations"), "operator", "Exists");
	ITH_CHECK(v && !json_object_get(v, "key") && !json_object_get(v, "effect"),
		  "no toleration for every taint (operator: Exists, no key, no effect)");
	ITH_CHECK(ith_get(ctr, "resources.requests.memory") &&
			  ith_get(ctr, "resources.requests.cpu") &&
			  ith_get(ctr, "resources.limits.memory"),
		  "resource requests (cpu, memory) and a memory limit");

	/* Every host path, mounted where igfs looks, read-only where it only reads. */
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(k8s_mounts); i++) {
		const struct host_mount *hm = &k8s_mounts[i];

		vm = array_find(json_object_get(ctr, "volumeMounts"), "mountPath", hm->path);
		ITH_CHECK(vm, "no volume mounted at %s", hm->path);
		vol = array_find(json_object_get(pod, "volumes"), "name", ith_jstr(vm, "name"));
		ITH_CHECK(ith_str_is(ith_jstr(vol, "hostPath.path"), hm->host),
			  "%s: volume '%s' is not hostPath %s", hm->path,
			  ith_show(ith_jstr(vm, "name")), hm->host);
		ITH_CHECK(!hm->ro || json_is_true(json_object_get(vm, "readOnly")),
			  "%s is not read-only", hm->path);
		ITH_CHECK(!hm->propagation ||
				  ith_str_is(ith_jstr(vm, "mountPropagation"), hm->propagation),
			  "%s: mountPropagation '%s', want %s", hm->path,
			  ith_show(ith_jstr(vm, "mountPropagation")), hm->propagation);
	}

	/* igfs in the foreground, on a mount point under the Bidirectional volume. */
	args = json_object_get(ctr, "args");
	n = json_array_size(args);
	ITH_CHECK(n >= 2, "container args");
	for (i = 0; i < n; i++)
		ITH_CHECK(json_is_string(json_array_get(args, i)), "args[%zu] is not a string", i);
	ITH_CHECK(ith_str_is(json_string_value(json_array_get(args, 0)), "-f"),
		  "igfs must run in the foreground (-f first)");
	mnt = json_string_value(json_array_get(args, n - 1));
	ITH_CHECK(!strncmp(mnt, "/run/igfs/", strlen("/run/igfs/")),
		  "mount point '%s' is not under /run/igfs/", mnt);
	{
		bool hostroot = false;

		for (i = 0; i < n; i++)
			hostroot = hostroot || strstr(json_string_value(json_array_get(args, i)),
						      "hostroot=/host");
		ITH_CHECK(hostroot, "no -o hostroot=/host");
	}
	/* Ready once the mount answers: the probe looks inside the mount point. */
	probe = json_string_value(json_array_get(ith_get(ctr, "readinessProbe.exec.command"), 2));
	ITH_CHECK(probe && !strncmp(probe, mnt, strlen(mnt)), "readiness probe '%s' not under %s",
		  ith_show(probe), mnt);
	ret = 0;
out:
	json_decref(docs);
	return ret;
}

/* The container's command and args, or a probe's command, with scratch paths, run. */
struct k8s_run {
	char base[PATH_MAX];
	char mnt[PATH_MAX + 32];
	char log[PATH_MAX + 32];
	const char *from[5];
	const char *to[5];
	char run[PATH_MAX + 32];
	char state[PATH_MAX + 32];
	char images[PATH_MAX];
};

static void k8s_run_init(struct k8s_run *r, const char *base)
{
	snprintf(r->base, sizeof(r->base), "%s", base);
	snprintf(r->run, sizeof(r->run), "%s/run", base);
	snprintf(r->state, sizeof(r->state), "%s/state", base);
	snprintf(r->log, sizeof(r->log), "%s/igfs.log", base);
	snprintf(r->images, sizeof(r->images), "%s/gadgets/images", IGFS_BUILD_DIR);
	r->from[0] = "/run/igfs";
	r->to[0] = r->run;
	r->from[1] = "/var/lib/igfs";
	r->to[1] = r->state;
	r->from[2] = "/usr/share/igfs/gadgets";
	r->to[2] = r->images;
	r->from[3] = "/usr/sbin/igfs";
	r->to[3] = IGFS_BIN;
	r->from[4] = "/host"; /* this machine is the host */
	r->to[4] = "/";
}

/* argv from the JSON string arrays @a then @b with paths swapped; strings in @bufs. */
static int k8s_argv(const struct k8s_run *r, json_t *a, json_t *b, const char **argv, size_t cap,
		    struct ith_buf *bufs)
{
	json_t *parts[2] = {a, b};
	size_t k, i, n = 0;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < json_array_size(parts[k]); i++) {
			json_t *v = json_array_get(parts[k], i);

			if (n + 1 >= cap || !json_is_string(v))
				return -EINVAL;
			if (subst_paths(json_string_value(v), r->from, r->to, 5, &bufs[n]))
				return -ENOMEM;
			argv[n] = bufs[n].data;
			n++;
		}
	}
	argv[n] = NULL;
	return n ? 0 : -EINVAL;
}

/* Wait until @dir is mounted and answers; -ECHILD (*pid reaped, -1) if the command exited. */
static int k8s_wait_mounted(const char *dir, pid_t *pid)
{
	int64_t deadline = ith_now_ms() + MOUNT_WAIT_MS;
	struct stat st;

	while (!ith_mounted(dir) || stat(dir, &st)) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return -ECHILD;
		}
		if (ith_now_ms() >= deadline)
			return -ETIMEDOUT;
		ith_sleep_ms(20);
	}
	return 0;
}

/* Run a probe's exec command; 0 when it exits 0. */
static int k8s_probe(const struct k8s_run *r, json_t *ctr, const char *which)
{
	char key[64];
	struct ith_buf bufs[8] = {};
	const char *argv[8];
	int err, st = 0;
	size_t i;

	snprintf(key, sizeof(key), "%s.exec.command", which);
	err = k8s_argv(r, ith_get(ctr, key), NULL, argv, 8, bufs);
	if (!err)
		err = ith_run(argv, 5000, NULL, &st);
	if (!err && (!WIFEXITED(st) || WEXITSTATUS(st)))
		err = -EIO;
	for (i = 0; i < 8; i++)
		ith_buf_free(&bufs[i]);
	return err;
}

static int test_k8s_command(struct ith_mount *m)
{
	char tmpl[] = "/tmp/igfs-k8s-XXXXXX", gdir[PATH_MAX + 64];
	json_t *docs, *pod = NULL, *ctr = NULL;
	struct ith_buf bufs[16] = {};
	const char *argv[16];
	struct k8s_run r = {};
	struct stat st;
	pid_t pid = -1;
	int64_t t0;
	int ret = -1, skip, err;
	size_t i;

	(void)m;
	docs = manifest_load(&skip);
	if (!docs)
		return skip ? skip : -1;
	ITH_CHECK(!manifest_pod(docs, &pod, &ctr), "pod spec");
	ITH_CHECK(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	k8s_run_init(&r, tmpl);
	ITH_CHECK(!mkdir(r.run, 0755) && !mkdir(r.state, 0755), "mkdir: %s", strerror(errno));
	err = k8s_argv(&r, json_object_get(ctr, "command"), json_object_get(ctr, "args"), argv, 16,
		       bufs);
	ITH_CHECK(!err, "the container's command and args: %s", strerror(-err));
	/* The mount point is the last argument, with its path swapped. */
	for (i = 0; argv[i]; i++)
		snprintf(r.mnt, sizeof(r.mnt), "%s", argv[i]);

	pid = spawn_logged(argv, r.log);
	ITH_CHECK(pid > 0, "cannot run the container's command");
	ITH_CHECK(!k8s_wait_mounted(r.mnt, &pid), "the command did not mount %s", r.mnt);
	ITH_CHECK(!k8s_probe(&r, ctr, "readinessProbe"), "readiness probe fails once mounted");
	ITH_CHECK(!k8s_probe(&r, ctr, "livenessProbe"), "liveness probe fails once mounted");
	snprintf(gdir, sizeof(gdir), "%s/gadgets", r.state);
	ITH_CHECK(!stat(gdir, &st) && S_ISDIR(st.st_mode), "the command did not create %s", gdir);

	/* Killed hard, as by the OOM killer: the next start must get past the dead mount. */
	ith_kill_wait(pid);
	pid = -1;
	ITH_CHECK(stat(r.mnt, &st) && errno == ENOTCONN, "a killed daemon leaves a dead mount");
	pid = spawn_logged(argv, r.log);
	ITH_CHECK(pid > 0, "cannot run the container's command again");
	ITH_CHECK(!k8s_wait_mounted(r.mnt, &pid), "no mount after a stale one (see %s)", r.log);
	ITH_CHECK(!k8s_probe(&r, ctr, "readinessProbe"), "readiness probe after a restart");

	/* The kubelet stops the pod with SIGTERM: igfs itself (exec), which unmounts. */
	t0 = ith_now_ms();
	err = stop_pid(pid, 3000);
	pid = -1;
	ITH_CHECK(!err, "igfs did not exit 0 on SIGTERM: %s", strerror(-err));
	ITH_CHECK(!ith_mounted(r.mnt), "still mounted after SIGTERM");
	fprintf(stderr, "k8s: SIGTERM to unmounted: %lld ms\n", (long long)(ith_now_ms() - t0));
	ret = 0;
out:
	if (pid > 0)
		stop_pid(pid, 3000);
	if (r.mnt[0] && ith_mounted(r.mnt)) {
		const char *um[] = {"fusermount3", "-u", "-z", r.mnt, NULL};

		ith_run(um, 5000, NULL, NULL);
	}
	if (ret && r.log[0])
		dump_file("the container's command", r.log);
	for (i = 0; i < 16; i++)
		ith_buf_free(&bufs[i]);
	if (r.base[0])
		rm_rf(r.base);
	json_decref(docs);
	return ret;
}

/* ----- the image ----- */

/* The words of the runtime stage's "apt-get install" (options and "\" dropped). */
static int image_packages(const char *dockerfile, char *pkgs, size_t len)
{
	const char *stage, *p, *end;
	size_t n = 0;

	stage = dockerfile;
	for (p = strstr(dockerfile, "\nFROM "); p; p = strstr(p + 1, "\nFROM "))
		stage = p;
	p = strstr(stage, "apt-get install");
	if (!p)
		return -ENOENT;
	p += strlen("apt-get install");
	end = strstr(p, "&&");
	if (!end)
		return -EINVAL;
	pkgs[0] = '\0';
	while (p < end) {
		size_t w;

		p += strspn(p, " \t\n\\");
		w = strcspn(p, " \t\n\\");
		if (p + w > end)
			w = (size_t)(end - p);
		if (w && *p != '-' && n + w + 2 < len) {
			memcpy(pkgs + n, p, w);
			n += w;
			pkgs[n++] = ' ';
			pkgs[n] = '\0';
		}
		p += w;
	}
	return n ? 0 : -ENOENT;
}

static bool word_in(const char *words, const char *w)
{
	size_t len = strlen(w);
	const char *p;

	for (p = strstr(words, w); p; p = strstr(p + 1, w))
		if ((p == words || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
			return true;
	return false;
}

/*
 * The Debian package that holds @path (merged /usr tried both ways), or
 * -ENOENT. dpkg-query -S prints "pkg[:arch][, pkg...]: path" lines, after
 * "diversion by ..." lines for diverted files such as /bin/sh.
 */
static int deb_owner(const char *path, char *pkg, size_t len)
{
	char alt[PATH_MAX + 8];
	const char *tries[2] = {path, alt};
	int k, st, err = -ENOENT;

	if (!strncmp(path, "/usr/", 5))
		snprintf(alt, sizeof(alt), "%s", path + 4);
	else
		snprintf(alt, sizeof(alt), "/usr%s", path);
	for (k = 0; k < 2 && err; k++) {
		const char *argv[] = {"dpkg-query", "-S", tries[k], NULL};
		struct ith_buf b = {};
		const char *line;

		if (ith_run(argv, 10000, &b, &st) || !WIFEXITED(st) || WEXITSTATUS(st) || !b.data)
			line = "";
		else
			line = b.data;
		while (*line && !strncmp(line, "diversion by ", 13)) {
			line += strcspn(line, "\n");
			line += *line == '\n';
		}
		if (*line) {
			snprintf(pkg, len, "%.*s", (int)strcspn(line, ":,"), line);
			err = 0;
		}
		ith_buf_free(&b);
	}
	return err;
}

/*
 * Whether a package is in every Debian image (debian:12-slim): Essential or
 * required, or libc6, which bookworm ships as optional but every Essential
 * package depends on.
 */
static bool deb_essential(const char *pkg)
{
	const char *argv[] = {"dpkg-query", "-W", "-f=${Essential} ${Priority}", pkg, NULL};
	struct ith_buf b = {};
	bool yes;
	int st;

	/* libc6 is in every image, and it depends on libgcc-s1 (which ASan builds link). */
	if (!strcmp(pkg, "libc6") || !strcmp(pkg, "libgcc-s1"))
		return true;
	yes = !ith_run(argv, 10000, &b, &st) && b.data &&
	      (!strncmp(b.data, "yes ", 4) || strstr(b.data, " required"));
	ith_buf_free(&b);
	return yes;
}

/* The tools the manifest's command and probes run inside the image. */
static const char *const k8s_tools[] = {"sh", "fusermount3", "mkdir", "test"};

static int test_k8s_image(struct ith_mount *m)
{
	const char *readelf[] = {"readelf", "-d", IGFS_BIN, NULL};
	const char *ldd[] = {"ldd", IGFS_BIN, NULL};
	struct ith_buf df = {}, dyn = {}, libs = {};
	char pkgs[2048], pkg[256], path[PATH_MAX];
	const char *p;
	size_t i, checked = 0;
	int ret = -1, st;

	(void)m;
	if (!ith_which("dpkg-query", path, sizeof(path)) ||
	    !ith_which("readelf", path, sizeof(path)))
		return skip_or_fail("dpkg-query or readelf missing (a Debian host with binutils)");
	ITH_CHECK(!ith_read_file(K8S_DOCKERFILE, &df, 2000) && df.data, "read %s", K8S_DOCKERFILE);
	ITH_CHECK(!image_packages(df.data, pkgs, sizeof(pkgs)),
		  "no apt-get install in the Dockerfile's last stage");
	fprintf(stderr, "image: runtime packages: %s\n", pkgs);
	/* Where the manifest expects them. */
	ITH_CHECK(strstr(df.data, "/usr/sbin/igfs") && strstr(df.data, "/usr/share/igfs/gadgets"),
		  "the image does not install /usr/sbin/igfs and /usr/share/igfs/gadgets");

	/* Every library igfs links (DT_NEEDED) comes from a listed or an Essential package. */
	ITH_CHECK(!ith_run(readelf, 10000, &dyn, &st) && dyn.data, "readelf -d igfs");
	ITH_CHECK(!ith_run(ldd, 10000, &libs, &st) && libs.data, "ldd igfs");
	for (p = strstr(dyn.data, "(NEEDED)"); p; p = strstr(p + 1, "(NEEDED)")) {
		char soname[256], needle[300];
		const char *at, *lb = strchr(p, '[');

		if (!lb || sscanf(lb + 1, "%255[^]]", soname) != 1)
			continue;
		/* Sanitizer builds link their runtimes; the image builds without. */
		if (!strncmp(soname, "libasan", 7) || !strncmp(soname, "libubsan", 8))
			continue;
		snprintf(needle, sizeof(needle), "%s => ", soname);
		at = strstr(libs.data, needle);
		ITH_CHECK(at && sscanf(at + strlen(needle), "%4095s", path) == 1,
			  "ldd does not resolve %s", soname);
		ITH_CHECK(!deb_owner(path, pkg, sizeof(pkg)), "no package holds %s", path);
		ITH_CHECK(word_in(pkgs, pkg) || deb_essential(pkg),
			  "%s (%s) comes from %s, which the image does not install", soname, path,
			  pkg);
		checked++;
	}
	ITH_CHECK(checked >= 5, "only %zu libraries found in readelf -d", checked);
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(k8s_tools); i++) {
		ITH_CHECK(ith_which(k8s_tools[i], path, sizeof(path)), "%s not found here",
			  k8s_tools[i]);
		ITH_CHECK(!deb_owner(path, pkg, sizeof(pkg)), "no package holds %s", path);
		ITH_CHECK(word_in(pkgs, pkg) || deb_essential(pkg),
			  "the manifest runs %s (%s), which the image does not install",
			  k8s_tools[i], pkg);
	}
	fprintf(stderr, "image: %zu libraries and %zu tools covered\n", checked,
		IGFS_IT_ARRAY_SIZE(k8s_tools));
	ret = 0;
out:
	ith_buf_free(&df);
	ith_buf_free(&dyn);
	ith_buf_free(&libs);
	return ret;
}

static const struct ith_test tests[] = {
	{"rsyslog", NULL, "rsyslogd", 40000, test_rsyslog},
	{"k8s_manifest", NULL, "python3", 20000, test_k8s_manifest},
	{"k8s_command", NULL, "python3", 60000, test_k8s_command},
	{"k8s_image", NULL, NULL, 30000, test_k8s_image},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
