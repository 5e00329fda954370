// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container awareness without a runtime API. The cgroup path of a process
 * names its container in every runtime's own way (docker-<id>.scope,
 * cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope,
 * /docker/<id>, kubepods...pod<uid>...); the runtime's state files give
 * names, images and k8s identities. Events carry their mount namespace id,
 * so the cache maps mount namespaces to the rendered JSON, learning a new
 * one from the event's process (two small /proc reads) and forgetting it
 * after a while, since namespace ids are reused once a namespace dies.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "container.h"
#include "enc.h"

#define CT_SLOTS	  4096		  /* cache capacity; power of two */
#define CT_TTL_KNOWN_NS	  (30ull * 1000000000ull) /* a verified answer */
#define CT_TTL_GUESS_NS	  (1ull * 1000000000ull)  /* the process was gone: ask again soon */
#define CT_MAX_STATE_FILE (4u << 20)
#define CT_CGROUP_MAX	  8192

const char *igfs_runtime_name(enum igfs_runtime rt)
{
	switch (rt) {
	case IGFS_RT_DOCKER:
		return "docker";
	case IGFS_RT_CONTAINERD:
		return "containerd";
	case IGFS_RT_CRIO:
		return "cri-o";
	case IGFS_RT_PODMAN:
		return "podman";
	case IGFS_RT_LXC:
		return "lxc";
	case IGFS_RT_NSPAWN:
		return "systemd-nspawn";
	case IGFS_RT_NONE:
	case IGFS_RT_UNKNOWN:
		break;
	}
	return "";
}

/* ----- cgroup paths ----- */

static bool is_hex64(const char *s, size_t n)
{
	size_t i;

	if (n != IGFS_CONTAINER_ID_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* "<prefix><64 hex>[.scope]" → the id. */
static bool match_scope(const char *comp, size_t n, const char *prefix, char *id)
{
	size_t pl = strlen(prefix), idl;

	if (n <= pl || strncmp(comp, prefix, pl))
		return false;
	idl = n - pl;
	if (idl > 6 && !strncmp(comp + n - 6, ".scope", 6))
		idl -= 6;
	if (!is_hex64(comp + pl, idl))
		return false;
	memcpy(id, comp + pl, idl);
	id[idl] = '\0';
	return true;
}

static void copy_name(char *dst, size_t len, const char *s, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A k8s pod UID in a slice or cgroupfs component ("_" stands for "-" in slices). */
static bool match_pod(const char *comp, size_t n, char *uid, size_t len)
{
	const char *p;
	size_t i, ul;

	if (n > 6 && !strncmp(comp, "kubepods", 8) && !strncmp(comp + n - 6, ".slice", 6)) {
		p = strstr(comp, "-pod");
		if (!p || p >= comp + n)
			return false;
		p += 4;
		ul = (size_t)(comp + n - 6 - p);
	} else if (n > 3 && !strncmp(comp, "pod", 3)) {
		p = comp + 3;
		ul = n - 3;
	} else {
		return false;
	}
	if (ul < 32 || ul >= len)
		return false;
	for (i = 0; i < ul; i++) {
		char c = p[i] == '_' ? '-' : p[i];

		if (!isxdigit((unsigned char)c) && c != '-')
			return false;
		uid[i] = c;
	}
	uid[ul] = '\0';
	return true;
}

/* One cgroup path: the innermost container in it, or false. */
static bool parse_path(const char *path, size_t plen, struct igfs_cgroup_info *ret)
{
	static const struct {
		const char *prefix;
		enum igfs_runtime rt;
	} scopes[] = {
		{"docker-", IGFS_RT_DOCKER},
		{"cri-containerd-", IGFS_RT_CONTAINERD},
		{"nerdctl-", IGFS_RT_CONTAINERD},
		{"crio-", IGFS_RT_CRIO},
		{"libpod-", IGFS_RT_PODMAN},
	};
	struct igfs_cgroup_info info = {};
	const char *c = path, *end = path + plen, *prev = NULL;
	size_t prevn = 0, i;
	bool found = false;

	while (c < end) {
		const char *slash = memchr(c, '/', (size_t)(end - c));
		size_t n = slash ? (size_t)(slash - c) : (size_t)(end - c);
		char id[IGFS_CONTAINER_ID_LEN + 1];
		enum igfs_runtime rt = IGFS_RT_NONE;

		if (n) {
			match_pod(c, n, info.pod_uid, sizeof(info.pod_uid));
			for (i = 0; i < IGFS_ARRAY_SIZE(scopes) && rt == IGFS_RT_NONE; i++)
				if (match_scope(c, n, scopes[i].prefix, id))
					rt = scopes[i].rt;
			if (rt == IGFS_RT_NONE && is_hex64(c, n)) {
				/* cgroupfs drivers: /docker/<id>, /kubepods/.../pod<uid>/<id>. */
				memcpy(id, c, n);
				id[n] = '\0';
				rt = prev && prevn == 6 && !strncmp(prev, "docker", 6) ? IGFS_RT_DOCKER
											: IGFS_RT_UNKNOWN;
			}
			if (rt == IGFS_RT_NONE && n > 11 && !strncmp(c, "lxc.payload.", 12)) {
				copy_name(id, sizeof(id), c + 12, n - 12);
				rt = IGFS_RT_LXC;
			}
			if (rt == IGFS_RT_NONE && prev && prevn == 3 && !strncmp(prev, "lxc", 3)) {
				copy_name(id, sizeof(id), c, n);
				rt = IGFS_RT_LXC;
			}
			if (rt == IGFS_RT_NONE && n > 24 && !strncmp(c, "systemd-nspawn@", 15) &&
			    !strncmp(c + n - 8, ".service", 8)) {
				copy_name(id, sizeof(id), c + 15, n - 23);
				rt = IGFS_RT_NSPAWN;
			}
			if (rt != IGFS_RT_NONE && id[0]) {
				info.runtime = rt;
				snprintf(info.id, sizeof(info.id), "%s", id);
				found = true;
			}
		}
		prev = c;
		prevn = n;
		c += n + 1;
	}
	if (found)
		*ret = info;
	return found;
}

int igfs_cgroup__parse(const char *text, struct igfs_cgroup_info *ret)
{
	const char *line, *next;
	int pass;

	memset(ret, 0, sizeof(*ret));
	/* The unified hierarchy is authoritative; v1 lines are for hybrid and v1 hosts. */
	for (pass = 0; pass < 2; pass++) {
		for (line = text; line && *line; line = next) {
			const char *nl = strchr(line, '\n');
			const char *c1, *c2;
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			bool v2;

			next = nl ? nl + 1 : NULL;
			c1 = memchr(line, ':', len);
			c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
			if (!c2)
				continue;
			v2 = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
			if (v2 != (pass == 0))
				continue;
			if (parse_path(c2 + 1, len - (size_t)(c2 + 1 - line), ret))
				return 0;
		}
	}
	ret->runtime = IGFS_RT_NONE;
	return 0;
}

/* ----- runtime state files ----- */

static json_t *load_json(const char *root, const char *path)
{
	char full[PATH_MAX];
	struct igfs_buf b = {};
	json_t *j;

	if (snprintf(full, sizeof(full), "%s%s", root, path) >= (int)sizeof(full))
		return NULL;
	if (igfs_read_file(full, CT_MAX_STATE_FILE, &b, NULL))
		return NULL;
	j = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
	igfs_buf_free(&b);
	return j;
}

static void set_str(char *dst, size_t len, json_t *v)
{
	const char *s = json_string_value(v);

	if (s && *s && !dst[0])
		snprintf(dst, len, "%s", s);
}

/* Kubernetes' names as containerd's CRI plugin, CRI-O and cri-dockerd label them. */
static void k8s_from(json_t *kv, struct igfs_container_meta *m)
{
	set_str(m->k8s_container, sizeof(m->k8s_container),
		json_object_get(kv, "io.kubernetes.cri.container-name"));
	set_str(m->k8s_pod, sizeof(m->k8s_pod), json_object_get(kv, "io.kubernetes.cri.sandbox-name"));
	set_str(m->k8s_namespace, sizeof(m->k8s_namespace),
		json_object_get(kv, "io.kubernetes.cri.sandbox-namespace"));
	set_str(m->image, sizeof(m->image), json_object_get(kv, "io.kubernetes.cri.image-name"));
	set_str(m->k8s_container, sizeof(m->k8s_container),
		json_object_get(kv, "io.kubernetes.container.name"));
	set_str(m->k8s_pod, sizeof(m->k8s_pod), json_object_get(kv, "io.kubernetes.pod.name"));
	set_str(m->k8s_namespace, sizeof(m->k8s_namespace),
		json_object_get(kv, "io.kubernetes.pod.namespace"));
	set_str(m->image, sizeof(m->image), json_object_get(kv, "io.kubernetes.cri-o.ImageName"));
	set_str(m->name, sizeof(m->name), json_object_get(kv, "nerdctl/name"));
}

static void meta_docker(const char *root, const char *id, struct igfs_container_meta *m)
{
	char path[PATH_MAX];
	json_t *j, *cfg;
	const char *name;

	snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json", id);
	j = load_json(root, path);
	if (!j)
		return;
	name = json_string_value(json_object_get(j, "Name"));
	if (name)
		snprintf(m->name, sizeof(m->name), "%s", name[0] == '/' ? name + 1 : name);
	cfg = json_object_get(j, "Config");
	set_str(m->image, sizeof(m->image), json_object_get(cfg, "Image"));
	k8s_from(json_object_get(cfg, "Labels"), m);
	json_decref(j);
}

/* An OCI bundle's config.json annotations (containerd's tasks, CRI-O's and podman's userdata). */
static bool meta_bundle(const char *root, const char *rel, struct igfs_container_meta *m,
			char *manager, size_t mlen)
{
	json_t *j = load_json(root, rel), *ann;

	if (!j)
		return false;
	ann = json_object_get(j, "annotations");
	k8s_from(ann, m);
	if (manager)
		set_str(manager, mlen, json_object_get(ann, "io.container.manager"));
	json_decref(j);
	return true;
}

static bool meta_containerd(const char *root, const char *id, struct igfs_container_meta *m,
			    bool *moby)
{
	char pattern[PATH_MAX];
	bool found = false;
	glob_t g;
	size_t rl = strlen(root);

	*moby = false;
	/* The containerd namespace (k8s.io, moby, default...) is a directory level. */
	snprintf(pattern, sizeof(pattern), "%s/run/containerd/io.containerd.runtime.v2.task/*/%s/config.json",
		 root, id);
	if (glob(pattern, 0, NULL, &g))
		return false;
	if (g.gl_pathc && strlen(g.gl_pathv[0]) > rl) {
		found = meta_bundle(root, g.gl_pathv[0] + rl, m, NULL, 0);
		*moby = strstr(g.gl_pathv[0], "/moby/") != NULL;
	}
	globfree(&g);
	return found;
}

static void meta_podman(const char *root, const char *id, struct igfs_container_meta *m)
{
	json_t *j = load_json(root, "/var/lib/containers/storage/overlay-containers/containers.json");
	json_t *e;
	size_t i;

	json_array_foreach(j, i, e) {
		json_t *md;
		const char *s;

		if (!json_is_string(json_object_get(e, "id")) ||
		    strcmp(json_string_value(json_object_get(e, "id")), id))
			continue;
		set_str(m->name, sizeof(m->name), json_array_get(json_object_get(e, "names"), 0));
		/* "metadata" is JSON inside a string. */
		s = json_string_value(json_object_get(e, "metadata"));
		md = s ? json_loads(s, 0, NULL) : NULL;
		set_str(m->image, sizeof(m->image), json_object_get(md, "image-name"));
		json_decref(md);
		break;
	}
	json_decref(j);
}

void igfs_container__meta(const char *root, struct igfs_cgroup_info *ci,
			  struct igfs_container_meta *m)
{
	char rel[PATH_MAX], manager[32] = "";
	bool moby;

	memset(m, 0, sizeof(*m));
	if (!root || !strcmp(root, "/"))
		root = "";
	switch (ci->runtime) {
	case IGFS_RT_DOCKER:
		meta_docker(root, ci->id, m);
		break;
	case IGFS_RT_CONTAINERD:
		meta_containerd(root, ci->id, m, &moby);
		break;
	case IGFS_RT_CRIO:
	case IGFS_RT_PODMAN:
		snprintf(rel, sizeof(rel), "/run/containers/storage/overlay-containers/%s/userdata/config.json",
			 ci->id);
		meta_bundle(root, rel, m, NULL, 0);
		if (ci->runtime == IGFS_RT_PODMAN)
			meta_podman(root, ci->id, m);
		break;
	case IGFS_RT_UNKNOWN:
		/* A cgroupfs driver: the runtime whose state has the container. */
		if (meta_containerd(root, ci->id, m, &moby)) {
			ci->runtime = moby ? IGFS_RT_DOCKER : IGFS_RT_CONTAINERD;
			if (moby)
				meta_docker(root, ci->id, m);
			break;
		}
		snprintf(rel, sizeof(rel), "/run/containers/storage/overlay-containers/%s/userdata/config.json",
			 ci->id);
		if (meta_bundle(root, rel, m, manager, sizeof(manager))) {
			ci->runtime = !strcmp(manager, "libpod") ? IGFS_RT_PODMAN : IGFS_RT_CRIO;
			if (ci->runtime == IGFS_RT_PODMAN)
				meta_podman(root, ci->id, m);
			break;
		}
		snprintf(rel, sizeof(rel), "/var/lib/docker/containers/%s/config.v2.json", ci->id);
		snprintf(manager, sizeof(manager), "%s", "");
		{
			struct stat st;
			char full[PATH_MAX];

			snprintf(full, sizeof(full), "%s%s", root, rel);
			if (!stat(full, &st)) {
				ci->runtime = IGFS_RT_DOCKER;
				meta_docker(root, ci->id, m);
			}
		}
		break;
	case IGFS_RT_NONE:
	case IGFS_RT_LXC:
	case IGFS_RT_NSPAWN:
		break;
	}
	/* The k8s container name is the runtime's name for it under CRI. */
	if (!m->name[0] && m->k8s_container[0])
		snprintf(m->name, sizeof(m->name), "%s", m->k8s_container);
	if (!m->name[0] && (ci->runtime == IGFS_RT_LXC || ci->runtime == IGFS_RT_NSPAWN))
		snprintf(m->name, sizeof(m->name), "%s", ci->id);
}

static int put_member(struct igfs_buf *out, const char *key, const char *val, bool first)
{
	int err;

	err = igfs_buf_printf(out, "%s\"%s\":\"", first ? "" : ",", key);
	if (!err)
		err = igfs_json_escape(out, val, strlen(val));
	if (!err)
		err = igfs_buf_puts(out, "\"");
	return err;
}

int igfs_container__json(const struct igfs_cgroup_info *ci, const struct igfs_container_meta *m,
			 struct igfs_buf *out)
{
	size_t start = out->len;
	int err;

	err = igfs_buf_puts(out, ",\"runtime\":{");
	if (!err)
		err = put_member(out, "containerId", ci->id, true);
	if (!err)
		err = put_member(out, "containerName", m->name, false);
	if (!err)
		err = put_member(out, "containerImageName", m->image, false);
	if (!err)
		err = put_member(out, "runtimeName", igfs_runtime_name(ci->runtime), false);
	if (!err)
		err = igfs_buf_puts(out, "}");
	if (!err && (ci->pod_uid[0] || m->k8s_pod[0])) {
		err = igfs_buf_puts(out, ",\"k8s\":{");
		if (!err)
			err = put_member(out, "namespace", m->k8s_namespace, true);
		if (!err)
			err = put_member(out, "podName", m->k8s_pod, false);
		if (!err)
			err = put_member(out, "containerName", m->k8s_container, false);
		if (!err)
			err = put_member(out, "podUID", ci->pod_uid, false);
		if (!err)
			err = igfs_buf_puts(out, "}");
	}
	if (err)
		out->len = start;
	return err;
}

/* ----- the cache ----- */

struct ct_slot {
	__u64 mntns; /* 0: free */
	uint64_t expires_ns;
	char *json; /* NULL: not a container */
	size_t len;
};

#define CT_WANTED 64

struct igfs_containers {
	char *root;
	__u64 host_mntns;
	pthread_mutex_t lock; /* guards everything below */
	struct ct_slot *slots;
	size_t used;
	/* Namespaces whose event's process was gone: the scanner looks in /proc. */
	__u64 wanted[CT_WANTED];
	size_t n_wanted;
	pthread_cond_t cond;
	pthread_t scanner;
	bool scanner_started;
	bool quit;
};

static __u64 mntns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return stat(path, &st) ? 0 : (__u64)st.st_ino;
}

/* /proc/PID/cgroup into @buf; 0 or -errno. */
static int read_cgroup(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1 && (n = read(fd, buf + total, len - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return 0;
}

int igfs_containers__new(const char *root, struct igfs_containers **ret)
{
	struct igfs_containers *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->root = strdup(root && strcmp(root, "/") ? root : "");
	c->slots = calloc(CT_SLOTS, sizeof(*c->slots));
	if (!c->root || !c->slots) {
		igfs_containers__free(c);
		return -ENOMEM;
	}
	/* pid 1's namespace is the host's, also when igfs runs in a pod with hostPID. */
	c->host_mntns = mntns_of(1);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	*ret = c;
	return 0;
}

static void ct_clear(struct igfs_containers *c)
{
	size_t i;

	for (i = 0; i < CT_SLOTS; i++) {
		free(c->slots[i].json);
		memset(&c->slots[i], 0, sizeof(c->slots[i]));
	}
	c->used = 0;
}

void igfs_containers__free(struct igfs_containers *c)
{
	if (!c)
		return;
	if (c->scanner_started) {
		pthread_mutex_lock(&c->lock);
		c->quit = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->scanner, NULL);
		pthread_cond_destroy(&c->cond);
	}
	if (c->slots) {
		ct_clear(c);
		pthread_mutex_destroy(&c->lock);
	}
	free(c->slots);
	free(c->root);
	free(c);
}

static struct ct_slot *ct_find(struct igfs_containers *c, __u64 mntns)
{
	size_t i = (size_t)((mntns * 0x9e3779b97f4a7c15ull) >> 52) & (CT_SLOTS - 1);

	for (;; i = (i + 1) & (CT_SLOTS - 1))
		if (c->slots[i].mntns == mntns || !c->slots[i].mntns)
			return &c->slots[i];
}

static void *ct_scanner(void *arg);

/*
 * Fill slot @s from process @pid, still in @mntns: false when it is not (gone,
 * or its pid reused). Caller holds the lock.
 */
static bool ct_fill(struct igfs_containers *c, struct ct_slot *s, __u64 mntns, pid_t pid)
{
	struct igfs_cgroup_info ci;
	struct igfs_container_meta *m;
	struct igfs_buf b = {};
	char cg[CT_CGROUP_MAX];

	if (pid <= 0 || mntns_of(pid) != mntns || read_cgroup(pid, cg, sizeof(cg)) ||
	    mntns_of(pid) != mntns)
		return false;
	free(s->json);
	s->json = NULL;
	s->len = 0;
	s->expires_ns = igfs_now_mono_ns() + CT_TTL_KNOWN_NS;
	igfs_cgroup__parse(cg, &ci);
	if (ci.runtime == IGFS_RT_NONE)
		return true;
	m = malloc(sizeof(*m));
	if (!m)
		return true;
	igfs_container__meta(c->root, &ci, m);
	if (!igfs_container__json(&ci, m, &b)) {
		s->len = b.len;
		s->json = igfs_buf_steal(&b);
	}
	igfs_buf_free(&b);
	free(m);
	return true;
}

/* Learn what @mntns is from the event's process @pid, else ask the scanner. Caller holds the lock. */
static void ct_learn(struct igfs_containers *c, struct ct_slot *s, __u64 mntns, __u32 pid)
{
	size_t i;

	if (!s->mntns) {
		c->used++;
		s->mntns = mntns;
	}
	if (ct_fill(c, s, mntns, (pid_t)pid))
		return;
	/* Keep what was known; look again soon. */
	s->expires_ns = igfs_now_mono_ns() + CT_TTL_GUESS_NS;
	for (i = 0; i < c->n_wanted; i++)
		if (c->wanted[i] == mntns)
			return;
	if (c->n_wanted == CT_WANTED)
		return;
	if (!c->scanner_started) {
		struct sched_param sp = {};
		pthread_attr_t attr;
		int err;

		/* Not the encoder's real-time priority: a /proc walk can wait. */
		pthread_attr_init(&attr);
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
		pthread_attr_setschedparam(&attr, &sp);
		err = pthread_create(&c->scanner, &attr, ct_scanner, c);
		pthread_attr_destroy(&attr);
		if (err)
			return;
		c->scanner_started = true;
	}
	c->wanted[c->n_wanted++] = mntns;
	pthread_cond_signal(&c->cond);
}

/*
 * The process of an event is often gone by the time it is encoded (a short
 * command in a container): find another process of the namespace in /proc,
 * off the encoding path.
 */
static void *ct_scanner(void *arg)
{
	struct igfs_containers *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		__u64 want[CT_WANTED];
		pid_t found[CT_WANTED] = {};
		size_t n, i;
		struct dirent *de;
		DIR *d;

		while (!c->quit && !c->n_wanted)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->quit)
			break;
		n = c->n_wanted;
		memcpy(want, c->wanted, n * sizeof(*want));
		c->n_wanted = 0;
		pthread_mutex_unlock(&c->lock);
		d = opendir("/proc");
		while (d && (de = readdir(d))) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);
			__u64 ns;

			if (*end || pid <= 0)
				continue;
			ns = mntns_of((pid_t)pid);
			for (i = 0; i < n; i++)
				if (ns == want[i] && !found[i])
					found[i] = (pid_t)pid;
		}
		if (d)
			closedir(d);
		pthread_mutex_lock(&c->lock);
		for (i = 0; i < n; i++) {
			struct ct_slot *s = ct_find(c, want[i]);

			if (found[i] && s->mntns == want[i])
				ct_fill(c, s, want[i], found[i]);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int igfs_containers__append(void *ctx, __u64 mntns, __u32 pid, struct igfs_buf *out)
{
	struct igfs_containers *c = ctx;
	struct ct_slot *s;
	int err = 0;

	if (!c || !mntns || mntns == c->host_mntns)
		return 0;
	pthread_mutex_lock(&c->lock);
	s = ct_find(c, mntns);
	if (!s->mntns && c->used >= CT_SLOTS * 3 / 4) {
		/* Full of namespaces seen once: start over rather than evict one by one. */
		ct_clear(c);
		s = ct_find(c, mntns);
	}
	if (!s->mntns || igfs_now_mono_ns() >= s->expires_ns)
		ct_learn(c, s, mntns, pid);
	if (s->json)
		err = igfs_buf_append(out, s->json, s->len);
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* ----- container filters ----- */

struct ct_seen {
	struct igfs_cgroup_info ci;
	struct igfs_container_meta meta;
	__u64 *ns;
	size_t n_ns;
};

static bool all_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

static bool k8s_match(const struct igfs_container_meta *m, const char *spec)
{
	char ns[256], pod[256], ctr[256] = "";
	int n;

	n = sscanf(spec, "%255[^/]/%255[^/]/%255s", ns, pod, ctr);
	if (n < 2)
		return false;
	return !strcmp(ns, m->k8s_namespace) && !strcmp(pod, m->k8s_pod) &&
	       (n == 2 || !strcmp(ctr, m->k8s_container));
}

static int seen_add_ns(struct ct_seen *s, __u64 ns)
{
	__u64 *v;
	size_t i;

	for (i = 0; i < s->n_ns; i++)
		if (s->ns[i] == ns)
			return 0;
	v = igfs_reallocarray(s->ns, s->n_ns + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->ns = v;
	v[s->n_ns++] = ns;
	return 0;
}

/* Every running container with the mount namespaces of its processes. */
static int scan_proc(struct igfs_containers *c, struct ct_seen **ret, size_t *ret_n)
{
	struct ct_seen *seen = NULL, *v;
	size_t n = 0, i;
	struct dirent *de;
	char cg[CT_CGROUP_MAX];
	DIR *d;
	int err = 0;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		struct igfs_cgroup_info ci;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		__u64 ns;

		if (*end || pid <= 0 || read_cgroup((pid_t)pid, cg, sizeof(cg)))
			continue;
		igfs_cgroup__parse(cg, &ci);
		ns = mntns_of((pid_t)pid);
		if (ci.runtime == IGFS_RT_NONE || !ns || ns == c->host_mntns)
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(seen[i].ci.id, ci.id))
				break;
		if (i == n) {
			v = igfs_reallocarray(seen, n + 1, sizeof(*v));
			if (!v) {
				err = -ENOMEM;
				break;
			}
			seen = v;
			memset(&seen[n], 0, sizeof(seen[n]));
			seen[n].ci = ci;
			igfs_container__meta(c->root, &seen[n].ci, &seen[n].meta);
			n++;
		}
		err = seen_add_ns(&seen[i], ns);
	}
	closedir(d);
	*ret = seen;
	*ret_n = n;
	return err;
}

int igfs_containers__resolve(struct igfs_containers *c, const char *spec, __u64 **ids,
			     size_t *n, struct igfs_diag *diag)
{
	struct ct_seen *seen = NULL;
	size_t n_seen = 0, i, j, by_id = 0, matched = 0;
	bool hex = strlen(spec) >= 4 && all_hex(spec);
	int err;

	err = scan_proc(c, &seen, &n_seen);
	if (err) {
		igfs_diag_set(diag, "cannot list the processes in /proc: %s", strerror(-err));
		goto out;
	}
	for (i = 0; i < n_seen; i++)
		if (hex && !strncmp(seen[i].ci.id, spec, strlen(spec)))
			by_id++;
	if (by_id > 1) {
		igfs_diag_set(diag, "'%s' is the start of %zu container ids: give more digits", spec,
			      by_id);
		err = -EINVAL;
		goto out;
	}
	for (i = 0; i < n_seen && !err; i++) {
		const struct ct_seen *s = &seen[i];

		if (!(hex && !strncmp(s->ci.id, spec, strlen(spec))) && strcmp(s->meta.name, spec) &&
		    !k8s_match(&s->meta, spec))
			continue;
		matched++;
		for (j = 0; j < s->n_ns && !err; j++) {
			__u64 *v = igfs_reallocarray(*ids, *n + 1, sizeof(*v));

			if (!v) {
				err = -ENOMEM;
				break;
			}
			*ids = v;
			v[(*n)++] = s->ns[j];
		}
	}
	if (!err && !matched) {
		igfs_diag_set(diag, "no running container matches '%s' (%zu containers seen): give a mount namespace id, a container id or name, or namespace/pod",
			      spec, n_seen);
		err = -ENOENT;
	}
out:
	for (i = 0; i < n_seen; i++)
		free(seen[i].ns);
	free(seen);
	return err;
}
