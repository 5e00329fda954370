// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * snapshot_process: a child with a known comm, uid, parent and threads shows
 * up in `cat snapshot` with exactly those values; threads=true lists each
 * thread; every open is taken afresh.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CHILD_COMM "igfs-it-snapp"
#define CHILD_UID  65534

/* The child's second thread: reports its tid on the pipe, then sleeps. */
static void *sleeper(void *arg)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (write(*(int *)arg, &tid, sizeof(tid)) != sizeof(tid))
		_exit(1);
	for (;;)
		pause();
	return NULL;
}

/* A child that drops to uid 65534 with a second thread, whose tid it reports. */
static pid_t child_start(pid_t *ret_tid)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (!pid) {
		pthread_t t;

		close(p[0]);
		prctl(PR_SET_NAME, CHILD_COMM);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(30);
		if (setgid(CHILD_UID) || setuid(CHILD_UID))
			_exit(1);
		if (pthread_create(&t, NULL, sleeper, &p[1]))
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid > 0 && read(p[0], ret_tid, sizeof(*ret_tid)) != sizeof(*ret_tid)) {
		kill(pid, SIGKILL);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

static int read_snapshot(const struct ith_gadget *g, struct ith_stream *s)
{
	char path[PATH_MAX + 16];
	int fd, err;

	snprintf(path, sizeof(path), "%s/snapshot", g->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	s->fd = fd;
	err = ith_stream_to_eof(s, 5000);
	close(fd);
	s->fd = -1;
	return err;
}

/* Lines with "pid" == @pid (and "tid" == @tid when @tid > 0). */
static size_t count_lines(const struct ith_stream *s, pid_t pid, pid_t tid, json_t **first)
{
	size_t i, n = 0;

	for (i = 0; i < json_array_size(s->lines); i++) {
		json_t *l = json_array_get(s->lines, i);

		if (json_integer_value(json_object_get(l, "pid")) != pid)
			continue;
		if (tid > 0 && json_integer_value(json_object_get(l, "tid")) != tid)
			continue;
		if (!n && first)
			*first = l;
		n++;
	}
	return n;
}

static unsigned long long mntns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return stat(path, &st) ? 0 : (unsigned long long)st.st_ino;
}

static int test_snapshot(struct ith_mount *m)
{
	struct ith_stream s;
	struct ith_gadget g;
	pid_t child = -1, tid = 0;
	json_t *l = NULL;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, "snapshot_process", &g);
	child = child_start(&tid);
	ITH_CHECK(child > 0 && tid > 0, "cannot start the child");

	err = read_snapshot(&g, &s);
	ITH_CHECK(!err, "reading snapshot: %s", strerror(-err));
	ITH_CHECK(!s.bad, "bad line: %s", s.why);
	ITH_CHECK(json_array_size(s.lines) > 10, "only %zu processes", json_array_size(s.lines));
	ITH_CHECK(count_lines(&s, getpid(), 0, NULL) == 1, "the test process is not listed once");
	ITH_CHECK(count_lines(&s, child, 0, &l) == 1, "the child is listed %zu times (threads off)",
		  count_lines(&s, child, 0, NULL));
	ITH_CHECK(!strcmp(json_string_value(json_object_get(l, "comm")) ?: "", CHILD_COMM),
		  "comm '%s'", json_string_value(json_object_get(l, "comm")));
	ITH_CHECK(json_integer_value(json_object_get(l, "tid")) == child, "tid of the leader");
	ITH_CHECK(json_integer_value(json_object_get(l, "ppid")) == getpid(), "ppid %lld",
		  (long long)json_integer_value(json_object_get(l, "ppid")));
	ITH_CHECK(json_integer_value(json_object_get(l, "uid")) == CHILD_UID &&
			  json_integer_value(json_object_get(l, "gid")) == CHILD_UID,
		  "uid/gid %lld/%lld", (long long)json_integer_value(json_object_get(l, "uid")),
		  (long long)json_integer_value(json_object_get(l, "gid")));
	ITH_CHECK(!strcmp(json_string_value(json_object_get(l, "user")) ?: "", "nobody"),
		  "user '%s'", json_string_value(json_object_get(l, "user")));
	ITH_CHECK((unsigned long long)json_integer_value(json_object_get(l, "mntns_id")) ==
			  mntns_of(child),
		  "mntns_id %lld, /proc says %llu",
		  (long long)json_integer_value(json_object_get(l, "mntns_id")), mntns_of(child));

	/* threads=true: one line per thread, the second thread included. */
	err = ith_ctl(&g, "restart threads=true");
	ITH_CHECK(!err, "restart threads=true: %s", strerror(-err));
	ith_stream_free(&s);
	ith_stream_init(&s, -1);
	err = read_snapshot(&g, &s);
	ITH_CHECK(!err, "reading snapshot: %s", strerror(-err));
	ITH_CHECK(count_lines(&s, child, 0, NULL) == 2, "%zu lines for the child with threads",
		  count_lines(&s, child, 0, NULL));
	ITH_CHECK(count_lines(&s, child, tid, NULL) == 1, "no line for thread %d", (int)tid);

	/* Every open is "now": a dead child is gone. */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ith_stream_free(&s);
	ith_stream_init(&s, -1);
	err = read_snapshot(&g, &s);
	ITH_CHECK(!err, "reading snapshot: %s", strerror(-err));
	ITH_CHECK(count_lines(&s, child, 0, NULL) == 0, "the dead child is still listed");
	child = -1;
	ret = 0;
out:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	ith_ctl(&g, "stop");
	ith_stream_free(&s);
	return ret;
}

static const struct ith_test tests[] = {
	{ "snapshot", NULL, NULL, 30000, test_snapshot },
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
