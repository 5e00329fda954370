// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container awareness with real kernel objects: the test makes a cgroup
 * named the way a runtime names its containers and a process in it with its
 * own mount namespace, writes the runtime's state files under a scratch host
 * root (-o hostroot=), and checks that trace_open's events of that process
 * carry the runtime (and k8s) objects, that host events do not, and that the
 * mntns filter takes container names, id prefixes and namespace/pod.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define EVENT_WAIT_MS 5000
#define POD_UID	      "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"

/* A fake container: a cgroup, a process in it with its own mount namespace. */
struct ctr {
	char id[65];
	char cg_root[PATH_MAX];	  /* the first directory the test made */
	char cg[PATH_MAX * 2];	  /* the container's cgroup */
	pid_t pid;
	int cmd;		  /* write: 'o' open the marker, 's' a short-lived opener */
	int ack;		  /* read: one byte per command done */
};

struct env {
	char root[PATH_MAX];	  /* the scratch host root */
	char log[PATH_MAX + 16];
};

/* The cgroup v2 hierarchy: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts. */
static int cgroup2_mount(char *buf, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], fstype[64];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (!strcmp(fstype, "cgroup2")) {
			ret = snprintf(buf, len, "%s", mnt) < (int)len ? 0 : -ENAMETOOLONG;
			break;
		}
	}
	fclose(f);
	return ret;
}

static void random_id(char *id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[32];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t i;

	if (fd < 0 || read(fd, b, sizeof(b)) != sizeof(b))
		memset(b, 0x5a, sizeof(b));
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 32; i++) {
		id[2 * i] = hex[b[i] >> 4];
		id[2 * i + 1] = hex[b[i] & 15];
	}
	id[64] = '\0';
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -errno : 0;
}

static int put_file(const char *root, const char *rel, const char *content)
{
	char path[PATH_MAX * 2], dir[PATH_MAX * 2];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	err = mkdirs(dir);
	if (err)
		return err;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(content, f);
	return fclose(f) ? -errno : 0;
}

/* The child: join the cgroup, unshare the mount namespace, then obey. */
static void ctr_child(const char *cg, const char *marker, int cmd, int ack)
{
	char path[PATH_MAX + 32], c;
	FILE *f;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", cg) >= (int)sizeof(path))
		_exit(10);
	f = fopen(path, "we");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
		_exit(10);
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		_exit(11);
	prctl(PR_SET_NAME, "igfs-it-ctr");
	c = 'r';
	if (write(ack, &c, 1) != 1)
		_exit(12);
	while (read(cmd, &c, 1) == 1) {
		if (c == 'o') {
			ith_marker_open(marker);
		} else if (c == 's') {
			/* A command that is gone before its event is read. */
			pid_t p = fork();

			if (!p) {
				ith_marker_open(marker);
				_exit(0);
			}
			waitpid(p, NULL, 0);
		}
		if (write(ack, &c, 1) != 1)
			_exit(13);
	}
	_exit(0);
}

/* A container in cgroup <cgroup2>/igfs-it.slice/<parent>/<prefix><id><suffix>. */
static int ctr_start(struct ctr *c, const char *parent, const char *prefix, const char *suffix,
		     const char *marker)
{
	char base[256], leaf[256];
	int cmd[2], ack[2], err;
	char r;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->cmd = c->ack = -1;
	random_id(c->id);
	err = cgroup2_mount(base, sizeof(base));
	if (err) {
		fprintf(stderr, "no cgroup2 hierarchy mounted\n");
		return err;
	}
	snprintf(leaf, sizeof(leaf), "%s%s%s", prefix, c->id, suffix);
	snprintf(c->cg_root, sizeof(c->cg_root), "%s/igfs-it.slice", base);
	snprintf(c->cg, sizeof(c->cg), "%s/igfs-it.slice/%s/%s", base, parent, leaf);
	err = mkdirs(c->cg);
	if (err) {
		fprintf(stderr, "mkdir '%s': %s\n", c->cg, strerror(-err));
		return err;
	}
	if (pipe2(cmd, O_CLOEXEC) || pipe2(ack, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (!c->pid) {
		close(cmd[1]);
		close(ack[0]);
		ctr_child(c->cg, marker, cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	c->cmd = cmd[1];
	c->ack = ack[0];
	if (c->pid < 0 || read(c->ack, &r, 1) != 1) {
		fprintf(stderr, "the container process did not start\n");
		return -ECHILD;
	}
	return 0;
}

static int ctr_do(struct ctr *c, char what)
{
	char r;

	if (write(c->cmd, &what, 1) != 1 || read(c->ack, &r, 1) != 1)
		return -EIO;
	return 0;
}

static void rmdir_up(const char *from, const char *to)
{
	char buf[PATH_MAX], *slash;
	int tries;

	snprintf(buf, sizeof(buf), "%s", from);
	for (;;) {
		/* A cgroup is busy until its last process is reaped. */
		for (tries = 0; tries < 50 && rmdir(buf) && errno == EBUSY; tries++)
			ith_sleep_ms(20);
		if (!strcmp(buf, to))
			break;
		slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			break;
		*slash = '\0';
	}
}

static void ctr_stop(struct ctr *c)
{
	if (c->cmd >= 0)
		close(c->cmd);
	if (c->ack >= 0)
		close(c->ack);
	if (c->pid > 0)
		ith_kill_wait(c->pid);
	if (c->cg[0])
		rmdir_up(c->cg, c->cg_root);
	c->pid = -1;
	c->cmd = c->ack = -1;
}

static int env_mount(struct ith_mount *m, struct env *e)
{
	char opts[PATH_MAX + 32], mnt[PATH_MAX];

	snprintf(e->root, sizeof(e->root), "/tmp/igfs-it-hostroot-XXXXXX");
	if (!mkdtemp(e->root)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(mnt, sizeof(mnt), "%s", m->dir);
	snprintf(e->log, sizeof(e->log), "%s.hostroot", m->log);
	if (ith_teardown(m))
		return -1;
	snprintf(opts, sizeof(opts), "hostroot=%s", e->root);
	return ith_mount(m, mnt, e->log, opts);
}

static void env_cleanup(struct env *e)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->root);
	if (e->root[0] == '/' && system(cmd))
		fprintf(stderr, "cannot remove '%s'\n", e->root);
}

static int open_events(const struct ith_gadget *g, struct ith_stream *s)
{
	int fd = open(g->events, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ith_stream_init(s, fd);
	return 0;
}

static void close_events(struct ith_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	ith_stream_free(s);
}

/* Wait for @n events of @marker. */
static int wait_marker(struct ith_stream *s, const char *marker, size_t n)
{
	int64_t deadline = ith_now_ms() + EVENT_WAIT_MS;

	while (ith_count_fname(s, marker) < n) {
		if (ith_now_ms() >= deadline)
			return -ETIMEDOUT;
		ith_stream_read(s, 200);
	}
	return 0;
}

/* 1. Docker (systemd cgroup driver): runtime object with names from config.v2.json. */
static int test_docker(struct ith_mount *m)
{
	char marker[128], host_marker[160], cfg[512], rel[PATH_MAX];
	struct ith_stream s = {.fd = -1};
	struct ctr c = {.pid = -1, .cmd = -1, .ack = -1};
	struct ith_gadget g;
	struct env e = {};
	json_t *ev;
	int ret = -1;

	ITH_CHECK(!env_mount(m, &e), "mount with hostroot=");
	ith_marker(marker, sizeof(marker));
	snprintf(host_marker, sizeof(host_marker), "%s-host", marker);
	ITH_CHECK(!ctr_start(&c, "system.slice", "docker-", ".scope", marker), "container");
	snprintf(rel, sizeof(rel), "/var/lib/docker/containers/%s/config.v2.json", c.id);
	snprintf(cfg, sizeof(cfg),
		 "{\"ID\":\"%s\",\"Name\":\"/igfs-web\",\"Config\":{\"Image\":\"nginx:1.25\",\"Labels\":{}}}",
		 c.id);
	ITH_CHECK(!put_file(e.root, rel, cfg), "state file");
	ith_gadget_paths(m, "trace_open", &g);
	ITH_CHECK(!ith_ctl(&g, "start"), "start");
	ITH_CHECK(!open_events(&g, &s), "open events");
	ITH_CHECK(!ctr_do(&c, 'o'), "container open");
	ith_marker_open(host_marker);
	ITH_CHECK(!wait_marker(&s, marker, 1) && !wait_marker(&s, host_marker, 1),
		  "marker events missing (%zu, %zu)", ith_count_fname(&s, marker),
		  ith_count_fname(&s, host_marker));
	ev = ith_find_fname(&s, marker, 0);
	ITH_CHECK(ith_str_is(ith_jstr(ev, "runtime.containerId"), c.id), "containerId %s",
		  ith_show(ith_jstr(ev, "runtime.containerId")));
	ITH_CHECK(ith_str_is(ith_jstr(ev, "runtime.runtimeName"), "docker"), "runtimeName %s",
		  ith_show(ith_jstr(ev, "runtime.runtimeName")));
	ITH_CHECK(ith_str_is(ith_jstr(ev, "runtime.containerName"), "igfs-web"), "containerName %s",
		  ith_show(ith_jstr(ev, "runtime.containerName")));
	ITH_CHECK(ith_str_is(ith_jstr(ev, "runtime.containerImageName"), "nginx:1.25"),
		  "containerImageName %s", ith_show(ith_jstr(ev, "runtime.containerImageName")));
	ITH_CHECK(!json_object_get(ev, "k8s"), "a k8s object outside a pod");
	ITH_CHECK(ith_jint(ev, "proc.pid") == c.pid, "pid %lld, container process %d",
		  (long long)ith_jint(ev, "proc.pid"), c.pid);
	/* The same line otherwise: the container objects come last. */
	{
		const char *k = NULL;
		void *it = json_object_iter(ev);

		while (it) {
			k = json_object_iter_key(it);
			it = json_object_iter_next(ev, it);
		}
		ITH_CHECK(k && !strcmp(k, "runtime"), "last key is '%s'", k ? k : "");
	}
	ev = ith_find_fname(&s, host_marker, 0);
	ITH_CHECK(!json_object_get(ev, "runtime") && !json_object_get(ev, "k8s"),
		  "an event of the host has container objects");
	ret = 0;
out:
	close_events(&s);
	ctr_stop(&c);
	env_cleanup(&e);
	return ret;
}

/* 2. A Kubernetes pod on containerd: k8s object from the OCI bundle's annotations. */
static int test_k8s(struct ith_mount *m)
{
	char marker[128], cfg[1024], rel[PATH_MAX], parent[256];
	struct ith_stream s = {.fd = -1};
	struct ctr c = {.pid = -1, .cmd = -1, .ack = -1};
	struct ith_gadget g;
	struct env e = {};
	char uid_[64];
	json_t *ev;
	size_t i;
	int ret = -1;

	ITH_CHECK(!env_mount(m, &e), "mount with hostroot=");
	ith_marker(marker, sizeof(marker));
	snprintf(uid_, sizeof(uid_), "%s", POD_UID);
	for (i = 0; uid_[i]; i++)
		if (uid_[i] == '-')
			uid_[i] = '_';
	snprintf(parent, sizeof(parent),
		 "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice", uid_);
	ITH_CHECK(!ctr_start(&c, parent, "cri-containerd-", ".scope", marker), "container");
	snprintf(rel, sizeof(rel), "/run/containerd/io.containerd.runtime.v2.task/k8s.io/%s/config.json",
		 c.id);
	snprintf(cfg, sizeof(cfg),
		 "{\"ociVersion\":\"1.1.0\",\"annotations\":{"
		 "\"io.kubernetes.cri.container-type\":\"container\","
		 "\"io.kubernetes.cri.container-name\":\"app\","
		 "\"io.kubernetes.cri.sandbox-name\":\"shop-7d9f\","
		 "\"io.kubernetes.cri.sandbox-namespace\":\"igfs-it\","
		 "\"io.kubernetes.cri.image-name\":\"registry.example/shop:2\"}}");
	ITH_CHECK(!put_file(e.root, rel, cfg), "bundle");
	ith_gadget_paths(m, "trace_open", &g);
	ITH_CHECK(!ith_ctl(&g, "start"), "start");
	ITH_CHECK(!open_events(&g, &s), "open events");
	ITH_CHECK(!ctr_do(&c, 'o'), "container open");
	ITH_CHECK(!wait_marker(&s, marker, 1), "no event of the pod's process");
	ev = ith_find_fname(&s, marker, 0);
	ITH_CHECK(ith_str_is(ith_jstr(ev, "runtime.runtimeName"), "containerd"), "runtimeName %s",
		  ith_show(ith_jstr(ev, "runtime.runtimeName")));
	ITH_CHECK(ith_str_is(ith_jstr(ev, "runtime.containerId"), c.id), "containerId");
	ITH_CHECK(ith_str_is(ith_jstr(ev, "runtime.containerImageName"), "registry.example/shop:2"),
		  "image %s", ith_show(ith_jstr(ev, "runtime.containerImageName")));
	ITH_CHECK(ith_str_is(ith_jstr(ev, "k8s.namespace"), "igfs-it"), "namespace %s",
		  ith_show(ith_jstr(ev, "k8s.namespace")));
	ITH_CHECK(ith_str_is(ith_jstr(ev, "k8s.podName"), "shop-7d9f"), "podName");
	ITH_CHECK(ith_str_is(ith_jstr(ev, "k8s.containerName"), "app"), "containerName");
	ITH_CHECK(ith_str_is(ith_jstr(ev, "k8s.podUID"), POD_UID), "podUID %s",
		  ith_show(ith_jstr(ev, "k8s.podUID")));
	ret = 0;
out:
	close_events(&s);
	ctr_stop(&c);
	env_cleanup(&e);
	return ret;
}

/* 3. A command gone before its event is read still gets its container (from /proc). */
static int test_short_lived(struct ith_mount *m)
{
	char marker[128];
	struct ith_stream s = {.fd = -1};
	struct ctr c = {.pid = -1, .cmd = -1, .ack = -1};
	struct ith_gadget g;
	struct env e = {};
	size_t i, with = 0, n;
	int ret = -1;

	ITH_CHECK(!env_mount(m, &e), "mount with hostroot=");
	ith_marker(marker, sizeof(marker));
	ITH_CHECK(!ctr_start(&c, "machine.slice", "libpod-", ".scope", marker), "container");
	ith_gadget_paths(m, "trace_open", &g);
	ITH_CHECK(!ith_ctl(&g, "start"), "start");
	ITH_CHECK(!open_events(&g, &s), "open events");
	/* Only short-lived commands, 100 ms apart, for 2 s. */
	for (i = 0; i < 20; i++) {
		ITH_CHECK(!ctr_do(&c, 's'), "short command");
		ith_sleep_ms(100);
	}
	ITH_CHECK(!wait_marker(&s, marker, 20), "%zu of 20 events", ith_count_fname(&s, marker));
	n = ith_count_fname(&s, marker);
	for (i = 0; i < n; i++) {
		json_t *ev = ith_find_fname(&s, marker, i);

		if (ith_str_is(ith_jstr(ev, "runtime.containerId"), c.id)) {
			with++;
			ITH_CHECK(ith_str_is(ith_jstr(ev, "runtime.runtimeName"), "podman"),
				  "runtimeName %s", ith_show(ith_jstr(ev, "runtime.runtimeName")));
		}
	}
	fprintf(stderr, "%zu of %zu events of short-lived commands carry the container\n", with, n);
	/* The first ones may go out before the scan finds the namespace: not the last ten. */
	for (i = n - 10; i < n; i++)
		ITH_CHECK(ith_str_is(ith_jstr(ith_find_fname(&s, marker, i), "runtime.containerId"),
				     c.id),
			  "event %zu of %zu has no container", i + 1, n);
	ret = 0;
out:
	close_events(&s);
	ctr_stop(&c);
	env_cleanup(&e);
	return ret;
}

/* 4. The mntns filter by container name, id prefix and namespace/pod. */
static int test_filter(struct ith_mount *m)
{
	char marker[128], host_marker[160], cfg[512], rel[PATH_MAX], path[PATH_MAX + 16];
	char prefix[16], spec[64];
	struct ith_stream s = {.fd = -1};
	struct ctr c = {.pid = -1, .cmd = -1, .ack = -1};
	struct ith_buf b = {};
	struct ith_gadget g;
	struct env e = {};
	const char *specs[3];
	json_t *st = NULL;
	size_t k;
	int ret = -1, err;

	ITH_CHECK(!env_mount(m, &e), "mount with hostroot=");
	ith_marker(marker, sizeof(marker));
	snprintf(host_marker, sizeof(host_marker), "%s-host", marker);
	ITH_CHECK(!ctr_start(&c, "system.slice", "docker-", ".scope", marker), "container");
	snprintf(rel, sizeof(rel), "/var/lib/docker/containers/%s/config.v2.json", c.id);
	snprintf(cfg, sizeof(cfg),
		 "{\"Name\":\"/igfs-filtered\",\"Config\":{\"Image\":\"busybox\",\"Labels\":{"
		 "\"io.kubernetes.pod.namespace\":\"igfs-ns\",\"io.kubernetes.pod.name\":\"igfs-pod\","
		 "\"io.kubernetes.container.name\":\"main\"}}}");
	ITH_CHECK(!put_file(e.root, rel, cfg), "state file");
	ith_gadget_paths(m, "trace_open", &g);
	snprintf(path, sizeof(path), "%s/mntns", g.params);

	/* A name nothing runs under: refused with the reason. */
	err = ith_write_file(path, "igfs-no-such-container\n", 23);
	ITH_CHECK(err == -EINVAL, "an unknown container name gave %d", err);
	st = ith_status(&g);
	ITH_CHECK(st && strstr(ith_show(ith_jstr(st, "error")), "no running container matches"),
		  "status.error: %s", ith_show(ith_jstr(st, "error")));
	json_decref(st);
	st = NULL;

	snprintf(prefix, sizeof(prefix), "%.12s", c.id);
	specs[0] = "igfs-filtered";
	specs[1] = prefix;
	specs[2] = "igfs-ns/igfs-pod";
	for (k = 0; k < 3; k++) {
		snprintf(spec, sizeof(spec), "%s\n", specs[k]);
		err = ith_write_file(path, spec, strlen(spec));
		ITH_CHECK(!err, "mntns=%s: %s", specs[k], strerror(-err));
		ITH_CHECK(!ith_read_file(path, &b, 2000) && b.data && !strcmp(b.data, spec),
			  "params/mntns reads '%s'", b.data ? b.data : "");
		ith_buf_free(&b);
		ITH_CHECK(!ith_ctl(&g, "start"), "start with mntns=%s", specs[k]);
		ITH_CHECK(!open_events(&g, &s), "open events");
		ith_marker_open(host_marker);
		ITH_CHECK(!ctr_do(&c, 'o'), "container open");
		ITH_CHECK(!wait_marker(&s, marker, 1), "mntns=%s: no event of the container", specs[k]);
		/* The host's open came first: had it passed the filter it would be here. */
		ITH_CHECK(!ith_count_fname(&s, host_marker), "mntns=%s: the host's event passed",
			  specs[k]);
		close_events(&s);
		ITH_CHECK(!ith_ctl(&g, "stop"), "stop");
	}
	ret = 0;
out:
	json_decref(st);
	ith_buf_free(&b);
	close_events(&s);
	ctr_stop(&c);
	env_cleanup(&e);
	return ret;
}

static const struct ith_test tests[] = {
	{"docker", NULL, NULL, 30000, test_docker},
	{"k8s", NULL, NULL, 30000, test_k8s},
	{"short_lived", NULL, NULL, 30000, test_short_lived},
	{"filter", NULL, NULL, 40000, test_filter},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
