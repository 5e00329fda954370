// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * igfs: mount a FUSE filesystem in which every eBPF gadget is a directory.
 * Options, prerequisites, gadget discovery, and the session and mount
 * lifecycle. The only place that exits.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "catalog.h"
#include "file.h"
#include "gadget.h"
#include "gd.h"
#include "oci.h"
#include "ops.h"
#include "probe.h"
#include "pump.h"
#include "state.h"

struct igfs_cmdline {
	char **gadget_dirs;
	size_t n_gadget_dirs;
	char *backlog;
	char *mode;
	char *state;
	char *verify;
	char *hostroot;
	unsigned int uid;
	unsigned int gid;
	int autostart;
	int follow;
	int perfbuf;
	int rt;
	int check;
	int show_help;
	int show_version;
	char *positional[2]; /* [SOURCE] MOUNTPOINT, as mount.fuse3 passes them */
	int n_positional;
};

enum {
	KEY_GADGETS,
	KEY_HELP,
	KEY_VERSION,
	KEY_CHECK,
};

#define IGFS_OPT(t, p, v) { t, offsetof(struct igfs_cmdline, p), v }

static const struct fuse_opt igfs_opts[] = {
	FUSE_OPT_KEY("gadgets=", KEY_GADGETS),
	FUSE_OPT_KEY("--gadgets=", KEY_GADGETS),
	FUSE_OPT_KEY("--gadgets ", KEY_GADGETS),
	IGFS_OPT("backlog=%s", backlog, 0),
	IGFS_OPT("uid=%u", uid, 0),
	IGFS_OPT("gid=%u", gid, 0),
	IGFS_OPT("mode=%s", mode, 0),
	IGFS_OPT("state=%s", state, 0),
	IGFS_OPT("verify=%s", verify, 0),
	IGFS_OPT("hostroot=%s", hostroot, 0),
	IGFS_OPT("autostart=%d", autostart, 0),
	IGFS_OPT("follow=%d", follow, 0),
	IGFS_OPT("perfbuf=%d", perfbuf, 0),
	IGFS_OPT("rt=%d", rt, 0),
	FUSE_OPT_KEY("--check", KEY_CHECK),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END,
};

static int igfs_opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct igfs_cmdline *c = data;
	const char *v;
	char **dirs;

	(void)outargs;
	switch (key) {
	case KEY_GADGETS:
		v = strchr(arg, '=');
		v = v ? v + 1 : arg + strlen("--gadgets");
		while (*v == ' ')
			v++;
		dirs = igfs_reallocarray(c->gadget_dirs, c->n_gadget_dirs + 1, sizeof(*dirs));
		if (!dirs)
			return -1;
		c->gadget_dirs = dirs;
		dirs[c->n_gadget_dirs] = strdup(v);
		if (!dirs[c->n_gadget_dirs])
			return -1;
		c->n_gadget_dirs++;
		return 0;
	case KEY_HELP:
		c->show_help = 1;
		return 0;
	case KEY_VERSION:
		c->show_version = 1;
		return 0;
	case KEY_CHECK:
		c->check = 1;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		/*
		 * mount -t fuse.igfs SOURCE DIR runs "igfs SOURCE DIR -o ...": keep the
		 * positionals aside and hand FUSE the last one as the mount point.
		 */
		if (c->n_positional >= 2) {
			fprintf(stderr, "igfs: too many arguments: '%s'\n", arg);
			return -1;
		}
		c->positional[c->n_positional] = strdup(arg);
		return c->positional[c->n_positional++] ? 0 : -1;
	default:
		return 1; /* keep it for FUSE */
	}
}

static void usage(const char *prog)
{
	printf("usage: %s [options] MOUNTPOINT\n"
	       "\n"
	       "Mount a filesystem in which every eBPF gadget is a directory:\n"
	       "  echo start > MOUNTPOINT/<gadget>/ctl; cat MOUNTPOINT/<gadget>/events\n"
	       "\n"
	       "igfs options:\n"
	       "    -o gadgets=DIR         a directory of gadget images (repeatable;\n"
	       "                           default: the installed bundled gadgets and\n"
	       "                           " IGFS_LOCAL_GADGETS_DIR ")\n"
	       "    --gadgets DIR          same\n"
	       "    -o backlog=SIZE        bytes of recent events per tracer (default 4M)\n"
	       "    -o uid=N,gid=N         owner of the gadget files (default 0,0)\n"
	       "    -o mode=OCTAL          mode of readable files (default 0640; ctl and\n"
	       "                           params get mode & 0660)\n"
	       "    -o autostart=0|1       opening events starts a stopped gadget (default 1)\n"
	       "    -o follow=0|1          reads at the end of events wait for more (1, the\n"
	       "                           default) or return end of file (0, for polling\n"
	       "                           log shippers); params/follow per gadget\n"
	       "    -o state=DIR           keep chmod/chown and params in DIR/state.json\n"
	       "                           across remounts\n"
	       "    -o verify=FILE         show only images pinned in FILE, one\n"
	       "                           'name sha256:<digest>' line each\n"
	       "    -o perfbuf=1           tracers use perf buffers even where ring buffers\n"
	       "                           work (the path for kernels older than 5.8)\n"
	       "    -o rt=0|1              drain rings from a SCHED_FIFO thread (default 1)\n"
	       "    -o hostroot=DIR        the host's / as seen by igfs, for container\n"
	       "                           runtimes' state files (default /; /host in a pod)\n"
	       "    --check                print every prerequisite and exit\n"
	       "    -h, --help             this text\n"
	       "    -V, --version          the version\n"
	       "\n"
	       "FUSE options:\n",
	       prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

static int parse_mode(const char *s, mode_t *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || end == s || *end || v > 0777)
		return -EINVAL;
	*ret = (mode_t)v;
	return 0;
}

/* mkdir -p @path with @mode for the missing components. 0 or -1 (errno set). */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * The bundled gadgets: beside an installed binary (<prefix>/sbin/igfs ->
 * <prefix>/share/igfs/gadgets, so a relocated install works), then the
 * configured install directory, then this build tree's.
 */
static const char *default_gadgets_dir(char *buf, size_t len)
{
	char exe[PATH_MAX], *slash;
	struct stat st;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/../share/igfs/gadgets", exe);
			if (!stat(buf, &st) && S_ISDIR(st.st_mode))
				return buf;
		}
	}
	if (!stat(IGFS_GADGETS_INSTALL_DIR, &st) && S_ISDIR(st.st_mode))
		return IGFS_GADGETS_INSTALL_DIR;
	return IGFS_GADGETS_BUILD_DIR;
}

static int check_prereqs(bool verbose)
{
	struct igfs_buf out = {};
	int missing;

	missing = igfs_probe__report(&out);
	if (verbose)
		fputs(out.data ? out.data : "", stdout);
	igfs_buf_free(&out);
	return missing;
}

/*
 * Shutdown. SIGINT/SIGTERM/SIGHUP are taken by one thread (a signalfd), which
 * stops every gadget while the FUSE loop still answers (readers get their EOF
 * and can close), then ends the loop. libfuse's own handlers would end the
 * loop first and leave readers hanging in close() (ECONNABORTED).
 *
 * The same thread notices a lazy unmount (umount -l, fusermount3 -u -z): the
 * kernel detaches the mount at once but tells the daemon nothing until the
 * last open file closes, so blocked readers would wait and the gadgets stay
 * attached for as long as anyone holds a file. /proc/self/mountinfo polls
 * POLLPRI on every mount change (proc(5)); once our mount is gone from it,
 * every gadget stops, readers get EOF and close, and the connection ends.
 */
struct igfs_shutdown {
	struct igfs_fs *fs;
	struct fuse_session *se;
	const char *mountpoint;
	int sigfd;
	int mountinfo_fd; /* -1: not watched */
	long mount_id;	  /* ours in mountinfo, -1 when not found */
	pthread_t loop_thread;
	pthread_t thread;
	atomic_bool loop_done;
	atomic_bool detached; /* lazily unmounted: the mount point is no longer ours */
};

static void on_sigusr1(int sig)
{
	(void)sig; /* only there to interrupt the FUSE thread's read() */
}

static void *stop_one(void *arg)
{
	igfs_gd__stop(arg);
	return NULL;
}

/* Stop every gadget at once: each detach waits for kernel grace periods. */
static void stop_all(struct igfs_fs *fs)
{
	pthread_t *t;
	bool *ok;
	size_t i;

	pthread_mutex_lock(&fs->gds_lock);
	t = calloc(fs->n_gds + 1, sizeof(*t));
	ok = calloc(fs->n_gds + 1, sizeof(*ok));
	for (i = 0; i < fs->n_gds; i++) {
		if (t && ok && !pthread_create(&t[i], NULL, stop_one, fs->gds[i]))
			ok[i] = true;
		else
			igfs_gd__stop(fs->gds[i]);
	}
	for (i = 0; i < fs->n_gds; i++)
		if (ok && ok[i])
			pthread_join(t[i], NULL);
	pthread_mutex_unlock(&fs->gds_lock);
	free(t);
	free(ok);
}

static unsigned int total_readers(struct igfs_fs *fs)
{
	unsigned int n = 0;
	size_t i;

	pthread_mutex_lock(&fs->gds_lock);
	for (i = 0; i < fs->n_gds; i++) {
		pthread_mutex_lock(&fs->gds[i]->lock);
		n += fs->gds[i]->readers;
		pthread_mutex_unlock(&fs->gds[i]->lock);
	}
	pthread_mutex_unlock(&fs->gds_lock);
	return n;
}

/* mountinfo's octal escapes (\040 for a space, proc(5)) undone in place. */
static void mountinfo_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/*
 * With @id < 0: the id of the topmost fuse.igfs mount at @mountpoint, or -1.
 * With @id >= 0: @id when that mount is still there, else -1.
 */
static long mountinfo_find(const char *mountpoint, long id)
{
	char *line = NULL, *save, *mnt, *sep;
	size_t cap = 0;
	long found = -1, cur;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return id; /* cannot tell: assume nothing changed */
	while (getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE ... */
		cur = strtol(line, NULL, 10);
		if (id >= 0) {
			if (cur == id) {
				found = id;
				break;
			}
			continue;
		}
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "fuse.igfs ", 10))
			continue;
		*sep = '\0';
		if (!strtok_r(line, " ", &save) || !strtok_r(NULL, " ", &save) ||
		    !strtok_r(NULL, " ", &save) || !strtok_r(NULL, " ", &save))
			continue;
		mnt = strtok_r(NULL, " ", &save);
		if (!mnt)
			continue;
		mountinfo_unescape(mnt);
		if (!strcmp(mnt, mountpoint))
			found = cur; /* later lines are mounted on top of earlier ones */
	}
	free(line);
	fclose(f);
	return found;
}

/* Wait for a signal (its number) or, when watched, for our mount to go (0). */
static int shutdown_wait(struct igfs_shutdown *sd)
{
	struct pollfd pfd[2] = {
		{ .fd = sd->sigfd, .events = POLLIN },
		{ .fd = sd->mountinfo_fd, .events = POLLPRI },
	};
	struct signalfd_siginfo si;
	nfds_t n = sd->mountinfo_fd >= 0 && !atomic_load(&sd->detached) ? 2 : 1;

	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno != EINTR)
				usleep(100000); /* ENOMEM: try again shortly */
			continue;
		}
		if ((pfd[0].revents & POLLIN) &&
		    read(sd->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			return (int)si.ssi_signo;
		if (n > 1 && (pfd[1].revents & (POLLPRI | POLLERR)) &&
		    mountinfo_find(sd->mountpoint, sd->mount_id) < 0)
			return 0;
	}
}

static void *shutdown_main(void *arg)
{
	struct igfs_shutdown *sd = arg;
	uint64_t deadline;
	int sig;

	sig = shutdown_wait(sd);
	if (!sig) {
		/* A plain unmount gets here too, just before the loop ends by itself. */
		pr_info("'%s' is no longer mounted: stopping every gadget", sd->mountpoint);
		/* Readers get EOF, close, and the last close ends the connection and the loop. */
		atomic_store(&sd->detached, true);
		atomic_store(&sd->fs->shutting_down, true);
		stop_all(sd->fs);
		sig = shutdown_wait(sd);
	}
	if (sig == SIGUSR2)
		return NULL; /* the loop ended by itself (fusermount3 -u) */
	pr_info("%s: stopping every gadget and unmounting", strsignal(sig));
	atomic_store(&sd->fs->shutting_down, true);
	stop_all(sd->fs);
	/* Readers that just got EOF close while the loop still answers. */
	deadline = igfs_now_mono_ns() + 300000000ull;
	while (total_readers(sd->fs) && igfs_now_mono_ns() < deadline)
		usleep(10000);
	fuse_session_exit(sd->se);
	/* The signal may land just before read() blocks: repeat until the loop is out. */
	while (!atomic_load(&sd->loop_done)) {
		pthread_kill(sd->loop_thread, SIGUSR1);
		usleep(20000);
	}
	return NULL;
}

static int shutdown_setup(struct igfs_shutdown *sd)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	sigset_t set;
	int err;

	/* Before any thread exists: every thread inherits this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the FUSE read must see EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	/* The thread's signals: process-directed ones and SIGUSR2 sent to it alone. */
	sigdelset(&set, SIGUSR1);
	sd->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sd->sigfd < 0)
		return -errno;
	sd->mount_id = mountinfo_find(sd->mountpoint, -1);
	if (sd->mount_id >= 0)
		sd->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (sd->mountinfo_fd < 0)
		pr_warn("cannot watch '%s' in /proc/self/mountinfo: a lazy unmount will stop the gadgets only when the last file closes",
			sd->mountpoint);
	sd->loop_thread = pthread_self();
	err = -pthread_create(&sd->thread, NULL, shutdown_main, sd);
	return err;
}

/* After the thread is joined (or was never started). */
static void shutdown_teardown(struct igfs_shutdown *sd)
{
	zclose(&sd->sigfd);
	zclose(&sd->mountinfo_fd);
}

/*
 * After a lazy unmount the mount point may hold another mount by now, which
 * fuse_session_unmount's umount2() would take away. Our /dev/fuse fd closed
 * ends the connection instead; a fresh, unmounted /dev/fuse fd in its place
 * polls POLLERR, which tells libfuse (mount.c: fuse_kern_unmount) that the
 * filesystem is gone already, so it only closes that fd.
 */
static void connection_abandon(struct fuse_session *se)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup3(fd, fuse_session_fd(se), O_CLOEXEC);
	close(fd);
}

/*
 * Pinned maps (LIBBPF_PIN_BY_NAME) live in a directory of this daemon's own,
 * /sys/fs/bpf/igfs/<pid>: gadgets of one mount share them, across restarts
 * too, and the directory goes at exit. Directories of daemons that are gone
 * (killed with SIGKILL) are removed at the next start.
 */
#define IGFS_PIN_BASE "/sys/fs/bpf/igfs"

static void pin_dir_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path))
			pr_warn("cannot remove pinned map '%s': %s", path, strerror(errno));
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		pr_warn("cannot remove '%s': %s", dir, strerror(errno));
}

static void pin_dirs_prepare(struct igfs_fs *fs)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (mkdir(IGFS_PIN_BASE, 0700) && errno != EEXIST) {
		pr_warn("cannot create %s (%s): gadgets cannot pin maps", IGFS_PIN_BASE,
			strerror(errno));
		return;
	}
	d = opendir(IGFS_PIN_BASE);
	while (d && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) && errno == ESRCH) {
			snprintf(path, sizeof(path), "%s/%s", IGFS_PIN_BASE, de->d_name);
			pin_dir_remove(path);
		}
	}
	if (d)
		closedir(d);
	snprintf(fs->opts.pin_root, sizeof(fs->opts.pin_root), "%s/%d", IGFS_PIN_BASE,
		 (int)getpid());
	if (mkdir(fs->opts.pin_root, 0700) && errno != EEXIST) {
		pr_warn("cannot create %s (%s): gadgets cannot pin maps", fs->opts.pin_root,
			strerror(errno));
		fs->opts.pin_root[0] = '\0';
	}
}

/*
 * systemd's readiness protocol (Type=notify), without libsystemd: one
 * datagram to $NOTIFY_SOCKET once the mount answers. A no-op elsewhere.
 */
static void notify_ready(size_t n_gadgets)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[128];
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	/* An abstract socket: '@' stands for the leading NUL. */
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%zu gadgets mounted\nMAINPID=%d", n_gadgets,
		 (int)getpid());
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		pr_warn("cannot notify systemd on '%s': %s", path, strerror(errno));
	close(fd);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fopts = {};
	struct igfs_cmdline c = { .autostart = 1, .follow = 1, .rt = 1 };
	struct igfs_diag diag = {};
	struct fuse_session *se = NULL;
	struct igfs_shutdown sd = { .sigfd = -1, .mountinfo_fd = -1 };
	bool sd_started = false;
	struct igfs_fs fs = {};
	int ret = 1, err;
	size_t i;

	if (fuse_opt_parse(&args, &c, igfs_opts, igfs_opt_proc) == -1)
		goto out_args;
	if (c.show_version) {
		printf("igfs %s (libfuse %s)\n", IGFS_VERSION, fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (c.show_help) {
		usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	igfs_loader__init();
	if (c.check) {
		igfs_probe__mount_fs(NULL);
		ret = check_prereqs(true) ? 1 : 0;
		goto out_args;
	}
	/* mount.fuse3's SOURCE: a gadgets directory when it is one, else a label. */
	if (c.n_positional == 2) {
		struct stat st;

		if (!c.n_gadget_dirs && !stat(c.positional[0], &st) && S_ISDIR(st.st_mode)) {
			c.gadget_dirs = calloc(1, sizeof(*c.gadget_dirs));
			if (!c.gadget_dirs || !(c.gadget_dirs[0] = strdup(c.positional[0])))
				goto out_args;
			c.n_gadget_dirs = 1;
		}
	}
	if (c.n_positional && fuse_opt_add_arg(&args, c.positional[c.n_positional - 1]))
		goto out_args;
	if (fuse_parse_cmdline(&args, &fopts) != 0)
		goto out_args;
	if (fopts.show_help || fopts.show_version) {
		usage(argv[0]);
		ret = 0;
		goto out_fopts;
	}
	if (!fopts.mountpoint) {
		fprintf(stderr, "igfs: no mount point (see igfs --help)\n");
		goto out_fopts;
	}
	if (fopts.debug)
		igfs_log_set_level(IGFS_LOG_DEBUG);

	fs.opts.backlog = 4u << 20;
	fs.opts.mode = 0640;
	fs.opts.uid = c.uid;
	fs.opts.gid = c.gid;
	fs.opts.autostart = c.autostart != 0;
	fs.opts.follow = c.follow != 0;
	fs.opts.force_perf = c.perfbuf != 0;
	fs.opts.realtime = c.rt != 0;
	if (c.backlog && (igfs_parse_size(c.backlog, &fs.opts.backlog) ||
			  fs.opts.backlog < IGFS_WINDOW_MIN || fs.opts.backlog > (1ull << 32))) {
		fprintf(stderr, "igfs: backlog=%s is not a size between 16K and 4G\n", c.backlog);
		goto out_fopts;
	}
	fs.opts.mode_set = c.mode != NULL;
	if (c.mode && parse_mode(c.mode, &fs.opts.mode)) {
		fprintf(stderr, "igfs: mode=%s is not an octal mode like 0640\n", c.mode);
		goto out_fopts;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "igfs: needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) to load eBPF programs\n");
		goto out_fopts;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "igfs: /sys/kernel/btf/vmlinux is missing: the kernel needs CONFIG_DEBUG_INFO_BTF\n");
		goto out_fopts;
	}
	if (access("/dev/fuse", R_OK | W_OK)) {
		fprintf(stderr, "igfs: /dev/fuse is not usable (%s): load the fuse module\n",
			strerror(errno));
		goto out_fopts;
	}
	err = igfs_probe__mount_fs(&diag);
	if (err) {
		fprintf(stderr, "igfs: %s\n", diag.msg);
		goto out_fopts;
	}
	pthread_mutex_init(&fs.root_lock, NULL);
	pthread_mutex_init(&fs.fh_lock, NULL);
	pthread_mutex_init(&fs.state_lock, NULL);
	pthread_mutex_init(&fs.gds_lock, NULL);
	fs.root_mode = 0755;
	fs.mount_ns = now_ns();
	if (!c.n_gadget_dirs) {
		char dbuf[PATH_MAX + 32];
		char *dirs[2] = { (char *)default_gadgets_dir(dbuf, sizeof(dbuf)),
				  IGFS_LOCAL_GADGETS_DIR };
		size_t n = 1;

		/* Imported images live here; made at the first mount so it can be watched. */
		if (!mkdir_p(IGFS_LOCAL_GADGETS_DIR, 0755))
			n = 2;
		else
			pr_warn("cannot create '%s' (%s): imported images will not be read",
				IGFS_LOCAL_GADGETS_DIR, strerror(errno));
		err = igfs_catalog__load(&fs, dirs, n, c.verify);
	} else {
		err = igfs_catalog__load(&fs, c.gadget_dirs, c.n_gadget_dirs, c.verify);
	}
	if (err)
		goto out_fs;
	if (c.hostroot) {
		struct stat st;

		if (stat(c.hostroot, &st) || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "igfs: hostroot=%s is not a directory\n", c.hostroot);
			err = -ENOTDIR;
			goto out_fs;
		}
	}
	err = igfs_containers__new(c.hostroot, &fs.containers);
	if (err)
		goto out_fs;
	if (c.state) {
		err = igfs_state__load(&fs, c.state, &diag);
		if (err) {
			fprintf(stderr, "igfs: %s\n", diag.msg);
			goto out_fs;
		}
	}

	/* Root mounts for everyone, and the kernel enforces the modes (SPEC §9). */
	if (fuse_opt_add_arg(&args, "-oallow_other,default_permissions,fsname=igfs,subtype=igfs"))
		goto out_fs;
	se = fuse_session_new(&args, &igfs_ll_ops, sizeof(igfs_ll_ops), &fs);
	if (!se)
		goto out_fs;
	fs.session = se;
	if (fuse_session_mount(se, fopts.mountpoint)) {
		fprintf(stderr, "igfs: cannot mount at '%s'\n", fopts.mountpoint);
		goto out_se;
	}
	if (fuse_daemonize(fopts.foreground))
		goto out_unmount;
	if (!fopts.foreground)
		igfs_log_use_syslog(true);
	/* Threads after the fork of fuse_daemonize: a fork keeps only the caller. */
	sd.fs = &fs;
	sd.se = se;
	sd.mountpoint = fopts.mountpoint;
	err = shutdown_setup(&sd);
	if (err) {
		pr_err("cannot start the signal thread: %s", strerror(-err));
		goto out_unmount;
	}
	sd_started = true;
	/* After the fork of fuse_daemonize: the directory is named by our pid. */
	pin_dirs_prepare(&fs);
	/* Images added or removed while mounted; a mount without it still works. */
	igfs_catalog__watch(&fs);
	err = igfs_pump__new(fs.opts.realtime, &fs.pump);
	if (err) {
		pr_err("cannot start the pump thread: %s", strerror(-err));
		goto out_unmount;
	}
	{
		sigset_t usr1;

		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	}
	pr_info("mounted %zu gadgets at '%s'", fs.n_gds, fopts.mountpoint);
	notify_ready(fs.n_gds);
	/*
	 * One FUSE thread plus the pump (STYLE §9.5): reads park, they never block
	 * it. The loop returns the signal number after SIGINT/SIGTERM/SIGHUP
	 * (fuse_signals.c sets se->error = sig), a requested clean shutdown; only
	 * a negative errno is a failure.
	 */
	ret = fuse_session_loop(se) < 0 ? 1 : 0;
	atomic_store(&fs.shutting_down, true);
	igfs_catalog__stop(&fs);
	stop_all(&fs);
	pr_info("unmounting '%s'", fopts.mountpoint);
out_unmount:
	if (sd_started) {
		atomic_store(&sd.loop_done, true);
		pthread_kill(sd.thread, SIGUSR2);
		pthread_join(sd.thread, NULL);
	}
	shutdown_teardown(&sd);
	if (atomic_load(&sd.detached))
		connection_abandon(se);
	fuse_session_unmount(se);
	/* Handles the kernel will never release now (readers still open at exit). */
	igfs_file__release_all(&fs);
out_se:
	igfs_catalog__free(&fs);
	/* Gadgets stop before the session goes: their readers are answered first. */
	for (i = 0; i < fs.n_gds; i++)
		igfs_gd__free(fs.gds[i]);
	fs.n_gds = 0;
	igfs_pump__free(fs.pump);
	if (fs.opts.pin_root[0])
		pin_dir_remove(fs.opts.pin_root);
	fuse_session_destroy(se);
out_fs:
	igfs_catalog__free(&fs);
	for (i = 0; i < fs.n_gds; i++)
		igfs_gd__free(fs.gds[i]);
	free(fs.gds);
	igfs_containers__free(fs.containers);
	igfs_state__free(&fs);
	pthread_mutex_destroy(&fs.gds_lock);
	pthread_mutex_destroy(&fs.root_lock);
	pthread_mutex_destroy(&fs.fh_lock);
	pthread_mutex_destroy(&fs.state_lock);
out_fopts:
	free(fopts.mountpoint);
out_args:
	for (i = 0; i < c.n_gadget_dirs; i++)
		free(c.gadget_dirs[i]);
	free(c.gadget_dirs);
	free(c.backlog);
	free(c.mode);
	free(c.state);
	free(c.verify);
	free(c.hostroot);
	free(c.positional[0]);
	free(c.positional[1]);
	fuse_opt_free_args(&args);
	return ret;
}
