// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * events benchmark: what `cat events` costs on top of the kernel's own work.
 * Workload: openloop, openat/close of one path N times in one thread, three
 * runs, medians. Consumers measured in the same run: none (the ceiling), the
 * raw libbpf reference (rawconsumer), cat of igfs's events, bpftrace -f json
 * with an equivalent script, and 8 concurrent cats. Then the delay from event
 * to reader at a fixed rate, the daemon's RSS, and the time a start takes.
 * All consumers see only the workload's events (comm filter). Needs root.
 *   bench_events [N] [RUNS]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIN	    IGFS_BUILD_DIR "/contrib/bench"
#define OPENLOOP    BIN "/openloop"
#define RAW	    BIN "/rawconsumer"
#define DELAYREADER BIN "/delayreader"
#define TRACE_OPEN  IGFS_BUILD_DIR "/gadgets/trace_open/program.bpf.o"
#define COMM	    "openloop"
#define PATHNAME    "/etc/hostname"
#define MAX_RUNS    9
#define READERS	    8

struct result {
	double ops;	  /* workload ops/s */
	double events;	  /* events delivered per second of workload */
	double delivered; /* events the reader(s) got (per reader) */
	double klost;	  /* kernel-side lost */
	double rlost;	  /* reader-side lost (per reader) */
	double cpu_us;	  /* consumer CPU (daemon + readers) per delivered event */
	bool ok;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* CPU ns of every thread of @pid (schedstat: precise, unlike utime's ticks). */
static double proc_cpu_ns(pid_t pid)
{
	char path[320], buf[256];
	struct dirent *de;
	double sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, de->d_name);
		f = fopen(path, "r");
		if (f && fgets(buf, sizeof(buf), f))
			sum += strtod(buf, NULL);
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

static long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* Spawn argv with stdout to @out (or /dev/null) and stderr to @err (or /dev/null). */
static pid_t spawn(char *const argv[], const char *out, const char *err)
{
	pid_t pid = fork();

	if (!pid) {
		int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(o, 1);
		dup2(e, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait for @pid; CPU seconds of it in *cpu (rusage). */
static int reap(pid_t pid, double *cpu)
{
	struct rusage ru;
	int st;

	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	if (cpu)
		*cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Whether @pid has exited (it stays reapable). */
static bool exited(pid_t pid)
{
	siginfo_t si = {};

	return !waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid;
}

/* Run openloop; its ops/s. */
static double workload(long n, long rate)
{
	char ns[32], rs[32], tmp[] = "/dev/shm/igfs-bench-wl-XXXXXX", buf[512];
	char *argv[] = { OPENLOOP, PATHNAME, ns, rs, NULL };
	double ops = 0;
	ssize_t len;
	int fd;

	snprintf(ns, sizeof(ns), "%ld", n);
	snprintf(rs, sizeof(rs), "%ld", rate);
	fd = mkstemp(tmp);
	close(fd);
	if (reap(spawn(argv, tmp, NULL), NULL))
		return 0;
	fd = open(tmp, O_RDONLY);
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(tmp);
	if (len > 0) {
		char *p;

		buf[len] = '\0';
		p = strstr(buf, "\"ops_per_s\":");
		ops = p ? strtod(p + 12, NULL) : 0;
	}
	return ops;
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

static char *read_small(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static double json_num(const char *s, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(s, k);
	return p ? strtod(p + strlen(k), NULL) : 0;
}

/* Lines and the sum of {"lost":N} markers in a file. */
static void count_file(const char *path, double *lines, double *lost)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	bool bol = true;
	ssize_t n;

	*lines = *lost = 0;
	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (bol && buf[i] == '{' && i + 8 < n && !strncmp(buf + i, "{\"lost\":", 8)) {
				*lost += strtod(buf + i + 8, NULL);
				*lines -= 1;
			}
			bol = buf[i] == '\n';
			*lines += bol;
		}
	}
	close(fd);
}

static double med(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static struct result median_result(struct result *r, int n)
{
	double a[MAX_RUNS];
	struct result m = { .ok = true };
	int i;

#define MED(f)                            \
	do {                              \
		for (i = 0; i < n; i++)   \
			a[i] = r[i].f;    \
		m.f = med(a, n);          \
	} while (0)
	MED(ops);
	MED(events);
	MED(delivered);
	MED(klost);
	MED(rlost);
	MED(cpu_us);
#undef MED
	for (i = 0; i < n; i++)
		m.ok &= r[i].ok;
	return m;
}

/* ---- consumers ---- */

static struct result run_none(long n)
{
	struct result r = { .ok = true };

	r.ops = workload(n, 0);
	return r;
}

static struct result run_raw(long n)
{
	char *argv[] = { RAW, TRACE_OPEN, COMM, NULL };
	char errf[] = "/dev/shm/igfs-bench-raw-XXXXXX";
	struct result r = {};
	double cpu = 0, t0;
	pid_t pid;
	int fd, i;

	fd = mkstemp(errf);
	close(fd);
	pid = spawn(argv, NULL, errf);
	for (i = 0; i < 500 && !strstr(read_small(errf), "ready"); i++)
		msleep(10);
	t0 = now_s();
	r.ops = workload(n, 0);
	t0 = now_s() - t0;
	msleep(200);
	kill(pid, SIGINT);
	reap(pid, &cpu);
	r.delivered = json_num(read_small(errf), "events");
	r.klost = json_num(read_small(errf), "lost");
	unlink(errf);
	r.events = r.delivered / t0;
	r.cpu_us = r.delivered ? cpu * 1e6 / r.delivered : 0;
	r.ok = r.delivered > 0;
	return r;
}

struct igfs {
	char mnt[64];
	char ctl[128];
	char events[128];
	char status[128];
	pid_t pid;
};

static int igfs_mount(struct igfs *m)
{
	static char opt[1024];
	char *argv[] = { IGFS_BIN, "-f", "-o", opt, m->mnt, NULL };
	char line[4096];
	int i;

	/* IGFS_BENCH_OPTS: extra mount options to compare, e.g. rt=0. */
	snprintf(opt, sizeof(opt), "gadgets=%s/gadgets/images%s%s", IGFS_BUILD_DIR,
		 getenv("IGFS_BENCH_OPTS") ? "," : "",
		 getenv("IGFS_BENCH_OPTS") ? getenv("IGFS_BENCH_OPTS") : "");
	strcpy(m->mnt, "/tmp/igfs-bench-ev-XXXXXX");
	if (!mkdtemp(m->mnt))
		return -1;
	snprintf(m->ctl, sizeof(m->ctl), "%s/trace_open/ctl", m->mnt);
	snprintf(m->events, sizeof(m->events), "%s/trace_open/events", m->mnt);
	snprintf(m->status, sizeof(m->status), "%s/trace_open/status", m->mnt);
	argv[4] = m->mnt;
	m->pid = spawn(argv, NULL, NULL);
	for (i = 0; i < 500; i++) {
		FILE *f = fopen("/proc/self/mountinfo", "r");
		bool found = false;

		while (f && fgets(line, sizeof(line), f))
			found |= strstr(line, m->mnt) && strstr(line, "fuse.igfs");
		if (f)
			fclose(f);
		if (found && !access(m->ctl, F_OK))
			return 0;
		msleep(10);
	}
	return -1;
}

static void igfs_unmount(struct igfs *m)
{
	char *argv[] = { "fusermount3", "-u", m->mnt, NULL };

	reap(spawn(argv, NULL, NULL), NULL);
	reap(m->pid, NULL);
	rmdir(m->mnt);
}

/*
 * The workload with @readers `cat events > /dev/null`; per-reader figures
 * from status (SPEC §6): events appended, lost_kernel, lost_readers.
 */
static struct result run_igfs(struct igfs *m, long n, int readers)
{
	char *argv[] = { "cat", m->events, NULL }, cmd[64], *st;
	double cpu0, cpu1, cat_cpu = 0, t0, appended;
	struct result r = {};
	pid_t cats[READERS];
	int i;

	snprintf(cmd, sizeof(cmd), "restart comm=%s", COMM);
	if (write_str(m->ctl, cmd))
		return r;
	for (i = 0; i < readers; i++)
		cats[i] = spawn(argv, NULL, NULL);
	msleep(300);
	cpu0 = proc_cpu_ns(m->pid);
	t0 = now_s();
	r.ops = workload(n, 0);
	t0 = now_s() - t0;
	msleep(300);
	write_str(m->ctl, "stop"); /* readers get EOF after what they have */
	for (i = 0; i < readers; i++) {
		double c = 0;

		reap(cats[i], &c);
		cat_cpu += c;
	}
	cpu1 = proc_cpu_ns(m->pid);
	st = read_small(m->status);
	appended = json_num(st, "events");
	r.klost = json_num(st, "lost_kernel");
	r.rlost = json_num(st, "lost_readers") / readers;
	r.delivered = appended - r.rlost;
	r.events = r.delivered / t0;
	r.cpu_us = r.delivered ? ((cpu1 - cpu0) / 1e3 + cat_cpu * 1e6) / r.delivered : 0;
	r.ok = r.delivered > 0;
	return r;
}

static struct result run_bpftrace(long n)
{
	char *argv[] = { "bpftrace", "-f", "json", "-e",
			 "tracepoint:syscalls:sys_enter_openat /comm == \"" COMM "\"/ "
			 "{ @f[tid] = args->filename; @fl[tid] = args->flags; @m[tid] = args->mode; } "
			 "tracepoint:syscalls:sys_exit_openat /@f[tid]/ "
			 "{ printf(\"%llu %d %d %s %d %d %d %s\\n\", nsecs, pid, tid, comm, args->ret, "
			 "@fl[tid], @m[tid], str(@f[tid])); delete(@f[tid]); delete(@fl[tid]); "
			 "delete(@m[tid]); }",
			 NULL };
	char outf[] = "/dev/shm/igfs-bench-bt-XXXXXX";
	struct result r = {};
	double cpu = 0, t0, lines, dummy;
	const char *s;
	pid_t pid;
	int fd, i;

	fd = mkstemp(outf);
	close(fd);
	pid = spawn(argv, outf, NULL);
	for (i = 0; i < 1000 && !strstr(read_small(outf), "attached_probes"); i++)
		msleep(10);
	t0 = now_s();
	r.ops = workload(n, 0);
	t0 = now_s() - t0;
	msleep(300);
	/* bpftrace sometimes ignores a SIGINT that arrives while it is idle: insist. */
	kill(pid, SIGINT);
	for (i = 0; i < 50 && !exited(pid); i++)
		msleep(100);
	if (i == 50)
		kill(pid, SIGTERM);
	for (i = 0; i < 30 && !exited(pid); i++)
		msleep(100);
	if (i == 30)
		kill(pid, SIGKILL);
	reap(pid, &cpu);
	count_file(outf, &lines, &dummy);
	/* bpftrace reports its own losses as {"type": "lost_events", "data": {"events": N}}. */
	{
		FILE *f = fopen(outf, "r");
		char line[4096];

		while (f && fgets(line, sizeof(line), f)) {
			if ((s = strstr(line, "\"lost_events\"")))
				r.klost += json_num(line, "events");
			if (strstr(line, "\"type\": \"printf\"") || strstr(line, "\"type\":\"printf\""))
				r.delivered += 1;
		}
		if (f)
			fclose(f);
	}
	unlink(outf);
	r.events = r.delivered / t0;
	r.cpu_us = r.delivered ? cpu * 1e6 / r.delivered : 0;
	r.ok = r.delivered > 0;
	return r;
}

static void print_row(const char *name, struct result r, long n)
{
	printf("| %s | %.0f | %.0f | %.0f | %.0f | %.2f |%s\n", name, r.ops, r.events,
	       r.klost, r.rlost, r.cpu_us, r.ok ? "" : " (failed)");
	(void)n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
	int runs = argc > 2 ? atoi(argv[2]) : 3, i;
	struct result res[MAX_RUNS], none, raw, cat, bt = {}, many;
	bool have_bpftrace = !access("/usr/bin/bpftrace", X_OK);
	double t_start[MAX_RUNS];
	long rss_idle, rss_load = 0;
	struct igfs m;

	if (geteuid()) {
		fprintf(stderr, "bench_events: needs root\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (runs < 1 || runs > MAX_RUNS)
		runs = 3;
	for (i = 0; i < runs; i++)
		res[i] = run_none(n);
	none = median_result(res, runs);
	fprintf(stderr, "bench_events: ceiling done\n");
	for (i = 0; i < runs; i++)
		res[i] = run_raw(n);
	raw = median_result(res, runs);
	fprintf(stderr, "bench_events: raw libbpf done\n");
	if (igfs_mount(&m)) {
		fprintf(stderr, "bench_events: igfs did not mount\n");
		return 1;
	}
	msleep(500);
	rss_idle = proc_rss_kb(m.pid);
	for (i = 0; i < runs; i++) {
		res[i] = run_igfs(&m, n, 1);
		if (proc_rss_kb(m.pid) > rss_load)
			rss_load = proc_rss_kb(m.pid);
	}
	cat = median_result(res, runs);
	fprintf(stderr, "bench_events: cat done\n");
	for (i = 0; i < runs; i++) {
		res[i] = run_igfs(&m, n, READERS);
		if (proc_rss_kb(m.pid) > rss_load)
			rss_load = proc_rss_kb(m.pid);
	}
	many = median_result(res, runs);
	fprintf(stderr, "bench_events: 8 readers done\n");
	if (have_bpftrace) {
		for (i = 0; i < runs; i++)
			res[i] = run_bpftrace(n);
		bt = median_result(res, runs);
	}

	/* Delay at a fixed 50k events/s: event timestamp to the reader having the line. */
	{
		char out[] = "/dev/shm/igfs-bench-delay-XXXXXX", cmd[64];
		char *dargv[] = { DELAYREADER, m.events, NULL };
		pid_t d;
		int fd = mkstemp(out);

		close(fd);
		snprintf(cmd, sizeof(cmd), "restart comm=%s", COMM);
		write_str(m.ctl, cmd);
		d = spawn(dargv, out, NULL);
		msleep(300);
		workload(150000, 50000);
		msleep(300);
		write_str(m.ctl, "stop");
		reap(d, NULL);
		printf("\n");
		printf("delay at 50k events/s (event timestamp to the reader having the line): %s",
		       read_small(out));
		unlink(out);
	}
	/* Start latency: the ctl write of `start` (load, attach, sources). */
	for (i = 0; i < runs; i++) {
		double t0 = now_s();

		write_str(m.ctl, "start");
		t_start[i] = (now_s() - t0) * 1e3;
		write_str(m.ctl, "stop");
	}
	printf("time from `echo start > ctl` to running: %.1f ms (median of %d)\n",
	       med(t_start, runs), runs);
	printf("daemon RSS: idle %ld KiB, under load %ld KiB (4 MiB backlog per tracer)\n\n",
	       rss_idle, rss_load);
	igfs_unmount(&m);

	printf("| consumer | workload ops/s | events delivered/s | lost kernel | lost reader | CPU us/event |\n");
	printf("|---|---|---|---|---|---|\n");
	print_row("no tracing (ceiling)", none, n);
	print_row("raw libbpf, 1 ms batches", raw, n);
	print_row("cat events", cat, n);
	print_row("8 x cat events (per reader; CPU of all 8 per event)", many, n);
	if (have_bpftrace)
		print_row("bpftrace -f json", bt, n);
	printf("\nratios: cat/raw events/s %.2f; cat/bpftrace events/s %.2f; bpftrace/cat CPU per event %.1f; 8 readers/1 reader CPU %.2f\n",
	       cat.events / (raw.events ? raw.events : 1), have_bpftrace ? cat.events / (bt.events ? bt.events : 1) : 0,
	       have_bpftrace ? bt.cpu_us / (cat.cpu_us ? cat.cpu_us : 1) : 0,
	       many.cpu_us / (cat.cpu_us ? cat.cpu_us : 1));
	return 0;
}
