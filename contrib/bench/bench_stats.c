// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stats and snapshot benchmark, in one run:
 *  1. reading `stats` of a 65536-entry map (cat) against `bpftool map dump -j`
 *     of the same map, median of several runs;
 *  2. `cat snapshot` of snapshot_process with 5000 extra tasks, cold (the open
 *     autostarts the gadget) and warm (started by ctl).
 * Prints a markdown table. Needs root; mounts igfs on a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define ENTRIES 65536
#define RUNS	7
#define TASKS	5000

struct file_key {
	__u32 pid;
	__u32 tid;
	__u64 inode;
};

struct file_stat {
	char comm[16];
	__u32 uid;
	__u32 dev;
	__u64 reads, rbytes, writes, wbytes;
	char file[64];
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Run argv with stdout to @out_fd (or /dev/null); wall time in ms, or -1. */
static double run_timed(char *const argv[], int out_fd)
{
	double t0 = now_ms();
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		int fd = out_fd >= 0 ? out_fd : open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return now_ms() - t0;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Lines written by argv. */
static long count_lines(char *const argv[])
{
	char tmpl[] = "/tmp/igfs-bench-XXXXXX", buf[65536];
	int fd = mkstemp(tmpl);
	long n = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	unlink(tmpl);
	if (run_timed(argv, fd) < 0) {
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		err = -errno;
	close(fd);
	return err;
}

static pid_t mount_igfs(const char *gadgets, const char *mnt)
{
	char opt[8300], line[4096];
	pid_t pid;
	int i;

	snprintf(opt, sizeof(opt), "gadgets=%s", gadgets);
	pid = fork();
	if (!pid) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		if (!getenv("IGFS_BENCH_DEBUG"))
			dup2(fd, 2);
		execl(IGFS_BIN, "igfs", getenv("IGFS_BENCH_DEBUG") ? "-d" : "-f", "-o", opt, mnt, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		FILE *f = fopen("/proc/self/mountinfo", "r");
		bool found = false;

		while (f && fgets(line, sizeof(line), f))
			found |= strstr(line, mnt) && strstr(line, "fuse.igfs");
		if (f)
			fclose(f);
		if (found)
			return pid;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	return -1;
}

static void unmount_igfs(const char *mnt, pid_t pid)
{
	char *const argv[] = { "fusermount3", "-u", (char *)mnt, NULL };

	run_timed(argv, -1);
	waitpid(pid, NULL, 0);
	rmdir(mnt);
}

/* The newest map named @name (the one our daemon just created). */
static int find_map(const char *name, __u32 *ret_id)
{
	__u32 id = 0, best = 0;

	while (!bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, name))
			best = id;
		close(fd);
	}
	if (!best)
		return -ENOENT;
	*ret_id = best;
	return bpf_map_get_fd_by_id(best);
}

static int fill_map(int fd)
{
	struct file_key *keys = calloc(ENTRIES, sizeof(*keys));
	struct file_stat *vals = calloc(ENTRIES, sizeof(*vals));
	__u32 count = ENTRIES;
	int err, i;

	if (!keys || !vals)
		return -ENOMEM;
	for (i = 0; i < ENTRIES; i++) {
		keys[i] = (struct file_key){ .pid = 1000 + i / 8, .tid = 1000 + i, .inode = 5000000 + i };
		snprintf(vals[i].comm, sizeof(vals[i].comm), "worker-%d", i % 97);
		vals[i].uid = (__u32)(i % 3) * 1000;
		vals[i].dev = 0x803;
		vals[i].reads = (__u64)i * 7;
		vals[i].rbytes = (__u64)i * 4096;
		vals[i].writes = (__u64)i * 3;
		vals[i].wbytes = (__u64)i * 512;
		snprintf(vals[i].file, sizeof(vals[i].file), "/var/lib/app/data/file-%d.db", i);
	}
	err = bpf_map_update_batch(fd, keys, vals, &count, NULL);
	free(keys);
	free(vals);
	return err ? -errno : (int)count;
}

static int bench_stats(const char *mnt)
{
	char stats[512], ctl[512], idbuf[32];
	double t_cat[RUNS], t_bpftool[RUNS];
	char *cat_argv[] = { "cat", stats, NULL };
	char *bt_argv[] = { "bpftool", "map", "dump", "id", idbuf, "-j", NULL };
	long lines;
	__u32 id;
	int fd, i, n;

	snprintf(ctl, sizeof(ctl), "%s/bench_map/ctl", mnt);
	snprintf(stats, sizeof(stats), "%s/bench_map/stats", mnt);
	if (write_str(ctl, "start interval=0")) {
		fprintf(stderr, "bench_map does not start\n");
		return -1;
	}
	fd = find_map("bench_counts", &id);
	if (fd < 0 || (n = fill_map(fd)) != ENTRIES) {
		fprintf(stderr, "cannot fill the map\n");
		return -1;
	}
	close(fd);
	snprintf(idbuf, sizeof(idbuf), "%u", id);
	lines = count_lines(cat_argv);
	for (i = 0; i < RUNS; i++) {
		t_cat[i] = run_timed(cat_argv, -1);
		t_bpftool[i] = run_timed(bt_argv, -1);
	}
	printf("| stats of a %d-entry map | `cat stats` | %.1f ms | %ld lines |\n", ENTRIES,
	       median(t_cat, RUNS), lines);
	printf("| same map, same run | `bpftool map dump id %s -j` | %.1f ms | |\n", idbuf,
	       median(t_bpftool, RUNS));
	printf("| ratio | bpftool / cat | %.1fx | |\n", median(t_bpftool, RUNS) / median(t_cat, RUNS));
	write_str(ctl, "stop");
	return 0;
}

static int bench_snapshot(const char *mnt)
{
	char snap[512], ctl[512];
	char *cat_argv[] = { "cat", snap, NULL };
	double cold[RUNS], warm[RUNS];
	pid_t kids[TASKS];
	long lines;
	int i, n = 0;

	snprintf(ctl, sizeof(ctl), "%s/snapshot_process/ctl", mnt);
	snprintf(snap, sizeof(snap), "%s/snapshot_process/snapshot", mnt);
	for (i = 0; i < TASKS; i++) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p > 0)
			kids[n++] = p;
	}
	usleep(200000);
	for (i = 0; i < RUNS; i++)
		cold[i] = run_timed(cat_argv, -1); /* autostart: load, iterate, stop */
	write_str(ctl, "start");
	lines = count_lines(cat_argv);
	for (i = 0; i < RUNS; i++)
		warm[i] = run_timed(cat_argv, -1);
	write_str(ctl, "stop");
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	printf("| snapshot_process, %d extra tasks | `cat snapshot`, gadget started by ctl | %.1f ms | %ld lines |\n",
	       n, median(warm, RUNS), lines);
	printf("| same | `cat snapshot` of a stopped gadget (autostart: load, attach, iterate, stop) | %.1f ms | |\n",
	       median(cold, RUNS));
	return 0;
}

int main(int argc, char **argv)
{
	const char *images = argc > 1 ? argv[1] : IGFS_BUILD_DIR "/contrib/bench/images";
	const char *bundled = argc > 2 ? argv[2] : IGFS_BUILD_DIR "/gadgets/images";
	char mnt[] = "/tmp/igfs-bench-mnt-XXXXXX", gadgets[8192];
	pid_t pid;
	int err;

	if (geteuid()) {
		fprintf(stderr, "bench_stats: needs root\n");
		return 77;
	}
	if (!mkdtemp(mnt))
		return 1;
	snprintf(gadgets, sizeof(gadgets), "%s,gadgets=%s", images, bundled);
	pid = mount_igfs(gadgets, mnt);
	if (pid < 0) {
		fprintf(stderr, "bench_stats: igfs did not mount\n");
		return 1;
	}
	printf("| what | how | median of %d | notes |\n|---|---|---|---|\n", RUNS);
	err = bench_stats(mnt);
	if (!err)
		err = bench_snapshot(mnt);
	unmount_igfs(mnt, pid);
	return err ? 1 : 0;
}
