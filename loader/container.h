/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which container a process belongs to, from its cgroup path and the
 * container runtime's own files: the runtime and k8s objects events carry
 * (SPEC §3), and container ids and names for the mntns filter. No runtime
 * API is called: the cgroup path names the container, the runtimes' state
 * files (docker's config.v2.json, OCI bundles' annotations, podman's
 * containers.json) name the rest, read under a host root directory.
 */
#ifndef IGFS_CONTAINER_H
#define IGFS_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <linux/types.h>

#include "util.h"

#define IGFS_CONTAINER_ID_LEN 64

enum igfs_runtime {
	IGFS_RT_NONE,	    /* not a container */
	IGFS_RT_UNKNOWN,    /* a container (a k8s pod's), runtime not told by its cgroup */
	IGFS_RT_DOCKER,
	IGFS_RT_CONTAINERD,
	IGFS_RT_CRIO,
	IGFS_RT_PODMAN,
	IGFS_RT_LXC,
	IGFS_RT_NSPAWN,
};

/* What a cgroup path says about a process. */
struct igfs_cgroup_info {
	enum igfs_runtime runtime;
	char id[IGFS_CONTAINER_ID_LEN + 1]; /* 64 hex digits, or the lxc/nspawn machine name */
	char pod_uid[40];		    /* k8s pod UID when under kubepods, else "" */
};

/* The runtime's name as Inspektor Gadget writes it ("docker", "cri-o"...), "" for none. */
const char *igfs_runtime_name(enum igfs_runtime rt);

/*
 * Parse the text of /proc/PID/cgroup (v2 "0::" line first, then v1 lines;
 * the innermost container in a path wins). 0 with @ret filled (runtime
 * IGFS_RT_NONE when not a container).
 */
int igfs_cgroup__parse(const char *text, struct igfs_cgroup_info *ret);

/* What the runtime's files say about a container; strings "" when unknown. */
struct igfs_container_meta {
	char name[256];
	char image[512];
	char k8s_namespace[256];
	char k8s_pod[256];
	char k8s_container[256];
};

/*
 * Fill @meta for container @ci from the runtime's state files under @root
 * ("/" on the host, e.g. "/host" in a pod with the host's / mounted there);
 * may refine ci->runtime when the cgroup did not tell. Missing files are not
 * an error: the fields stay "".
 */
void igfs_container__meta(const char *root, struct igfs_cgroup_info *ci,
			  struct igfs_container_meta *meta);

/*
 * Append `,"runtime":{...}` and, for a k8s pod, `,"k8s":{...}` for the
 * container to @out (the members inside an event object). 0 or -ENOMEM/-ENOBUFS.
 */
int igfs_container__json(const struct igfs_cgroup_info *ci, const struct igfs_container_meta *meta,
			 struct igfs_buf *out);

/* A cache from mount namespace to container, shared by every encoder of a mount. */
struct igfs_containers;

/* A cache reading runtime files under @root (NULL: "/"). 0 or -errno. */
int igfs_containers__new(const char *root, struct igfs_containers **ret);
void igfs_containers__free(struct igfs_containers *c);

/*
 * The encoder's hook (struct igfs_enc_ctx.container): append the container
 * objects of mount namespace @mntns, learnt from process @pid on a miss, to
 * @out; nothing for the host's namespace or a process outside containers.
 * Thread-safe; a miss reads two /proc files.
 */
int igfs_containers__append(void *c, __u64 mntns, __u32 pid, struct igfs_buf *out);

/*
 * The mount namespaces of the running containers matching @spec: a container
 * id or a unique prefix of 4+ hex digits, a container name, or a k8s
 * "namespace/pod" or "namespace/pod/container". Appends to *ids (realloc'd).
 * 0, or -ENOENT/-EINVAL with a sentence in @diag.
 */
int igfs_containers__resolve(struct igfs_containers *c, const char *spec, __u64 **ids,
			     size_t *n, struct igfs_diag *diag);

#endif /* IGFS_CONTAINER_H */
