// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container awareness: cgroup paths of every runtime and cgroup driver, the
 * runtimes' state files under a host root, the JSON objects, the cache.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "container.h"

#define ID1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID3 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define UID "8a3c6d4e-1b2f-4c5d-9e8f-0a1b2c3d4e5f"
#define UID_ "8a3c6d4e_1b2f_4c5d_9e8f_0a1b2c3d4e5f"

static void parse(const char *text, enum igfs_runtime rt, const char *id, const char *pod)
{
	struct igfs_cgroup_info ci;

	assert_int_equal(igfs_cgroup__parse(text, &ci), 0);
	if (ci.runtime != rt)
		fail_msg("'%s': runtime %d, expected %d", text, ci.runtime, rt);
	if (rt == IGFS_RT_NONE)
		return;
	assert_string_equal(ci.id, id);
	assert_string_equal(ci.pod_uid, pod);
}

static void test_cgroup_paths(void **state)
{
	(void)state;
	/* Hosts and services: no container. */
	parse("0::/\n", IGFS_RT_NONE, NULL, NULL);
	parse("0::/system.slice/sshd.service\n", IGFS_RT_NONE, NULL, NULL);
	parse("0::/user.slice/user-1000.slice/session-2.scope\n", IGFS_RT_NONE, NULL, NULL);
	parse("", IGFS_RT_NONE, NULL, NULL);
	parse("garbage without colons\n", IGFS_RT_NONE, NULL, NULL);
	/* An id that is one digit short or has upper case is not an id. */
	parse("0::/system.slice/docker-" ID1 "0.scope\n", IGFS_RT_NONE, NULL, NULL);
	parse("0::/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
	      IGFS_RT_NONE, NULL, NULL);

	/* systemd cgroup driver, cgroup v2. */
	parse("0::/system.slice/docker-" ID1 ".scope\n", IGFS_RT_DOCKER, ID1, "");
	parse("0::/machine.slice/libpod-" ID1 ".scope/container\n", IGFS_RT_PODMAN, ID1, "");
	parse("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID1 ".scope\n",
	      IGFS_RT_PODMAN, ID1, "");
	parse("0::/machine.slice/libpod-conmon-" ID1 ".scope\n", IGFS_RT_NONE, NULL, NULL);
	parse("0::/system.slice/nerdctl-" ID1 ".scope\n", IGFS_RT_CONTAINERD, ID1, "");
	parse("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	      ".slice/cri-containerd-" ID1 ".scope\n",
	      IGFS_RT_CONTAINERD, ID1, UID);
	parse("0::/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID1 ".scope\n", IGFS_RT_CRIO, ID1,
	      UID);
	parse("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	      ".slice/crio-conmon-" ID1 ".scope\n",
	      IGFS_RT_NONE, NULL, NULL);

	/* cgroupfs driver: the runtime is not in the path. */
	parse("0::/docker/" ID1 "\n", IGFS_RT_DOCKER, ID1, "");
	parse("0::/kubepods/besteffort/pod" UID "/" ID1 "\n", IGFS_RT_UNKNOWN, ID1, UID);
	parse("0::/libpod_parent/libpod-" ID1 "\n", IGFS_RT_PODMAN, ID1, "");

	/* LXC and systemd-nspawn name their containers. */
	parse("0::/lxc.payload.web1/init.scope\n", IGFS_RT_LXC, "web1", "");
	parse("4:pids:/lxc/web2\n", IGFS_RT_LXC, "web2", "");
	parse("0::/machine.slice/systemd-nspawn@debian.service/payload\n", IGFS_RT_NSPAWN, "debian",
	      "");

	/* Docker in docker: the innermost container is the process's. */
	parse("0::/system.slice/docker-" ID1 ".scope/docker/" ID2 "\n", IGFS_RT_DOCKER, ID2, "");

	/* cgroup v1 and hybrid hosts: the unified line first, then the others. */
	parse("12:pids:/docker/" ID1 "\n11:memory:/docker/" ID1 "\n0::/\n", IGFS_RT_DOCKER, ID1, "");
	parse("5:cpu:/docker/" ID1 "\n0::/system.slice/docker-" ID2 ".scope\n", IGFS_RT_DOCKER, ID2,
	      "");
}

/* ----- state files under a host root ----- */

static char root[64];

static void put_file(const char *rel, const char *content)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int root_setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/igfs-test-container-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	return 0;
}

static int root_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}

static void meta_of(enum igfs_runtime rt, const char *id, struct igfs_cgroup_info *ci,
		    struct igfs_container_meta *m)
{
	memset(ci, 0, sizeof(*ci));
	ci->runtime = rt;
	snprintf(ci->id, sizeof(ci->id), "%s", id);
	igfs_container__meta(root, ci, m);
}

static void test_meta_docker(void **state)
{
	struct igfs_cgroup_info ci;
	struct igfs_container_meta m;

	(void)state;
	put_file("/var/lib/docker/containers/" ID1 "/config.v2.json",
		 "{\"Name\":\"/web\",\"Config\":{\"Image\":\"nginx:1.25\",\"Labels\":{}}}");
	meta_of(IGFS_RT_DOCKER, ID1, &ci, &m);
	assert_string_equal(m.name, "web");
	assert_string_equal(m.image, "nginx:1.25");
	assert_string_equal(m.k8s_pod, "");
	/* No state file: names stay empty, nothing fails. */
	meta_of(IGFS_RT_DOCKER, ID2, &ci, &m);
	assert_string_equal(m.name, "");
	/* A damaged state file is the same as none. */
	put_file("/var/lib/docker/containers/" ID2 "/config.v2.json", "{\"Name\": ");
	meta_of(IGFS_RT_DOCKER, ID2, &ci, &m);
	assert_string_equal(m.name, "");
}

static void test_meta_containerd_cri(void **state)
{
	struct igfs_cgroup_info ci;
	struct igfs_container_meta m;

	(void)state;
	put_file("/run/containerd/io.containerd.runtime.v2.task/k8s.io/" ID1 "/config.json",
		 "{\"ociVersion\":\"1.1.0\",\"annotations\":{"
		 "\"io.kubernetes.cri.container-name\":\"app\","
		 "\"io.kubernetes.cri.sandbox-name\":\"web-7d9f\","
		 "\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
		 "\"io.kubernetes.cri.image-name\":\"registry.k8s.io/app:2\"}}");
	meta_of(IGFS_RT_CONTAINERD, ID1, &ci, &m);
	assert_string_equal(m.k8s_container, "app");
	assert_string_equal(m.k8s_pod, "web-7d9f");
	assert_string_equal(m.k8s_namespace, "shop");
	assert_string_equal(m.image, "registry.k8s.io/app:2");
	assert_string_equal(m.name, "app");
	/* The cgroupfs driver found it in containerd's state. */
	meta_of(IGFS_RT_UNKNOWN, ID1, &ci, &m);
	assert_int_equal(ci.runtime, IGFS_RT_CONTAINERD);
	assert_string_equal(m.k8s_pod, "web-7d9f");
}

static void test_meta_crio_podman(void **state)
{
	struct igfs_cgroup_info ci;
	struct igfs_container_meta m;

	(void)state;
	put_file("/run/containers/storage/overlay-containers/" ID2 "/userdata/config.json",
		 "{\"annotations\":{\"io.kubernetes.container.name\":\"db\","
		 "\"io.kubernetes.pod.name\":\"db-0\",\"io.kubernetes.pod.namespace\":\"data\","
		 "\"io.kubernetes.cri-o.ImageName\":\"postgres:16\"}}");
	meta_of(IGFS_RT_CRIO, ID2, &ci, &m);
	assert_string_equal(m.k8s_pod, "db-0");
	assert_string_equal(m.k8s_namespace, "data");
	assert_string_equal(m.image, "postgres:16");
	meta_of(IGFS_RT_UNKNOWN, ID2, &ci, &m);
	assert_int_equal(ci.runtime, IGFS_RT_CRIO);

	put_file("/run/containers/storage/overlay-containers/" ID3 "/userdata/config.json",
		 "{\"annotations\":{\"io.container.manager\":\"libpod\"}}");
	put_file("/var/lib/containers/storage/overlay-containers/containers.json",
		 "[{\"id\":\"" ID2 "\",\"names\":[\"other\"]},"
		 "{\"id\":\"" ID3 "\",\"names\":[\"pod-web\"],"
		 "\"metadata\":\"{\\\"image-name\\\":\\\"docker.io/library/alpine:3\\\"}\"}]");
	meta_of(IGFS_RT_PODMAN, ID3, &ci, &m);
	assert_string_equal(m.name, "pod-web");
	assert_string_equal(m.image, "docker.io/library/alpine:3");
	/* cgroupfs podman is told from CRI-O by the manager annotation. */
	meta_of(IGFS_RT_UNKNOWN, ID3, &ci, &m);
	assert_int_equal(ci.runtime, IGFS_RT_PODMAN);
}

static void test_json(void **state)
{
	struct igfs_cgroup_info ci = {.runtime = IGFS_RT_CONTAINERD, .id = ID1, .pod_uid = UID};
	struct igfs_container_meta m = {.name = "a\"b", .k8s_pod = "p", .k8s_namespace = "n"};
	struct igfs_buf b = {};
	json_t *j, *rt, *k8s;
	char *text;

	(void)state;
	assert_int_equal(igfs_container__json(&ci, &m, &b), 0);
	/* The members go inside an event object: wrap them to parse. */
	assert_true(b.len > 0 && b.data[0] == ',');
	assert_true(asprintf(&text, "{\"x\":1%s}", b.data) > 0);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	rt = json_object_get(j, "runtime");
	assert_string_equal(json_string_value(json_object_get(rt, "containerId")), ID1);
	assert_string_equal(json_string_value(json_object_get(rt, "containerName")), "a\"b");
	assert_string_equal(json_string_value(json_object_get(rt, "runtimeName")), "containerd");
	k8s = json_object_get(j, "k8s");
	assert_string_equal(json_string_value(json_object_get(k8s, "podName")), "p");
	assert_string_equal(json_string_value(json_object_get(k8s, "podUID")), UID);
	json_decref(j);
	free(text);
	igfs_buf_free(&b);

	/* Not a pod: no k8s object. */
	ci.pod_uid[0] = '\0';
	memset(&m, 0, sizeof(m));
	assert_int_equal(igfs_container__json(&ci, &m, &b), 0);
	assert_null(strstr(b.data, "k8s"));
	igfs_buf_free(&b);
}

static void test_cache(void **state)
{
	struct igfs_containers *c = NULL;
	struct igfs_buf b = {};
	struct stat st;
	struct igfs_diag d = {};
	__u64 *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(igfs_containers__new(root, &c), 0);
	/* The host's namespace (ours, pid 1's) never has container objects. */
	assert_int_equal(stat("/proc/self/ns/mnt", &st), 0);
	assert_int_equal(igfs_containers__append(c, st.st_ino, (__u32)getpid(), &b), 0);
	assert_int_equal(b.len, 0);
	/* A namespace no process has: nothing now, a scan in the background. */
	assert_int_equal(igfs_containers__append(c, 1, 999999999, &b), 0);
	assert_int_equal(igfs_containers__append(c, 1, 0, &b), 0);
	assert_int_equal(b.len, 0);
	/* Filters: no container is called that. */
	assert_int_equal(igfs_containers__resolve(c, "igfs-no-such-container", &ids, &n, &d),
			 -ENOENT);
	assert_non_null(strstr(d.msg, "no running container matches 'igfs-no-such-container'"));
	assert_int_equal(n, 0);
	free(ids);
	igfs_containers__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_paths),
		cmocka_unit_test(test_meta_docker),
		cmocka_unit_test(test_meta_containerd_cri),
		cmocka_unit_test(test_meta_crio_podman),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, root_setup, root_teardown);
}
