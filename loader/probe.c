// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel feature probes. Each answer is computed once and cached; the
 * sentences say what is missing and what a user can do about it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probe.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const struct {
	const char *prefix;
	enum igfs_attach kind;
} sec_kinds[] = {
	{ "tracepoint/", IGFS_ATTACH_TRACEPOINT },
	{ "tp/", IGFS_ATTACH_TRACEPOINT },
	{ "raw_tracepoint/", IGFS_ATTACH_RAW_TP },
	{ "raw_tp/", IGFS_ATTACH_RAW_TP },
	{ "raw_tracepoint.w/", IGFS_ATTACH_RAW_TP },
	{ "raw_tp.w/", IGFS_ATTACH_RAW_TP },
	{ "tp_btf/", IGFS_ATTACH_TP_BTF },
	{ "fentry/", IGFS_ATTACH_FENTRY },
	{ "fexit/", IGFS_ATTACH_FENTRY },
	{ "fmod_ret/", IGFS_ATTACH_FENTRY },
	{ "fentry.s/", IGFS_ATTACH_FENTRY },
	{ "fexit.s/", IGFS_ATTACH_FENTRY },
	{ "lsm/", IGFS_ATTACH_LSM },
	{ "lsm.s/", IGFS_ATTACH_LSM },
	{ "kprobe/", IGFS_ATTACH_KPROBE },
	{ "kretprobe/", IGFS_ATTACH_KPROBE },
	{ "kprobe.multi/", IGFS_ATTACH_KPROBE },
	{ "kretprobe.multi/", IGFS_ATTACH_KPROBE },
	{ "ksyscall/", IGFS_ATTACH_KPROBE },
	{ "kretsyscall/", IGFS_ATTACH_KPROBE },
	{ "uprobe/", IGFS_ATTACH_UPROBE },
	{ "uretprobe/", IGFS_ATTACH_UPROBE },
	{ "uprobe.s/", IGFS_ATTACH_UPROBE },
	{ "uretprobe.s/", IGFS_ATTACH_UPROBE },
	{ "usdt/", IGFS_ATTACH_UPROBE },
	{ "iter/", IGFS_ATTACH_ITER },
	{ "iter.s/", IGFS_ATTACH_ITER },
	{ "perf_event/", IGFS_ATTACH_PERF_EVENT },
	{ "perf_event", IGFS_ATTACH_PERF_EVENT },
	{ "socket", IGFS_ATTACH_NETWORK },
	{ "classifier", IGFS_ATTACH_NETWORK },
	{ "tc", IGFS_ATTACH_NETWORK },
	{ "sockops", IGFS_ATTACH_NETWORK },
	{ "sk_skb", IGFS_ATTACH_NETWORK },
	{ "sk_msg", IGFS_ATTACH_NETWORK },
	{ "xdp", IGFS_ATTACH_NETWORK },
	{ "cgroup", IGFS_ATTACH_NETWORK },
};

enum igfs_attach igfs_probe__classify(const char *sec, const char **ret_target)
{
	size_t i, n;

	for (i = 0; i < IGFS_ARRAY_SIZE(sec_kinds); i++) {
		n = strlen(sec_kinds[i].prefix);
		if (strncmp(sec, sec_kinds[i].prefix, n))
			continue;
		/* "socket" must not match "socketx/..": a bare prefix ends or continues with '/'. */
		if (sec_kinds[i].prefix[n - 1] != '/' && sec[n] && sec[n] != '/' && sec[n] != '.')
			continue;
		if (ret_target)
			*ret_target = sec + n + (sec[n] == '/' ? 1 : 0);
		return sec_kinds[i].kind;
	}
	if (ret_target)
		*ret_target = sec;
	return IGFS_ATTACH_UNKNOWN;
}

const char *igfs_probe__attach_str(enum igfs_attach kind)
{
	static const char *const names[IGFS_ATTACH_NR] = {
		[IGFS_ATTACH_UNKNOWN] = "unknown",
		[IGFS_ATTACH_TRACEPOINT] = "tracepoint",
		[IGFS_ATTACH_RAW_TP] = "raw_tracepoint",
		[IGFS_ATTACH_TP_BTF] = "tp_btf",
		[IGFS_ATTACH_FENTRY] = "fentry/fexit",
		[IGFS_ATTACH_LSM] = "lsm",
		[IGFS_ATTACH_KPROBE] = "kprobe",
		[IGFS_ATTACH_UPROBE] = "uprobe",
		[IGFS_ATTACH_ITER] = "iter",
		[IGFS_ATTACH_PERF_EVENT] = "perf_event",
		[IGFS_ATTACH_NETWORK] = "network",
	};

	return kind < IGFS_ATTACH_NR ? names[kind] : "unknown";
}

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static bool fs_is(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

static const char *tracefs_path(void)
{
	if (fs_is("/sys/kernel/tracing", TRACEFS_MAGIC))
		return "/sys/kernel/tracing";
	if (fs_is("/sys/kernel/debug/tracing", TRACEFS_MAGIC))
		return "/sys/kernel/debug/tracing";
	return NULL;
}

/* Load a two-instruction tracing program attached to BTF function/typedef @target. */
static int probe_tracing(enum bpf_attach_type type, const char *target, __u32 kind)
{
	static const struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 }, /* r0 = 0 */
		{ .code = 0x95 },			  /* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	struct btf *vmlinux;
	__s32 id;
	int fd, err;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return -ENOENT;
	id = btf__find_by_name_kind(vmlinux, target, kind);
	btf__free(vmlinux);
	if (id <= 0)
		return -ENOENT;
	opts.expected_attach_type = type;
	opts.attach_btf_id = (__u32)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "igfs_probe", "GPL", insns,
			   IGFS_ARRAY_SIZE(insns), &opts);
	if (fd < 0)
		/* 524 is the kernel-internal ENOTSUPP, which strerror does not know. */
		return errno == 524 ? -EOPNOTSUPP : -errno;
	/* Loading is not enough for fentry: some kernels refuse only the attach. */
	if (type != BPF_TRACE_ITER) {
		err = bpf_raw_tracepoint_open(NULL, fd);
		if (err < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		close(err);
	}
	close(fd);
	return 0;
}

static int probe_perf_event(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = 1,
		.freq = 1,
	};
	int fd;

	fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

struct probe_result {
	bool done;
	int err;
	char why[IGFS_DIAG_LEN];
};

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static struct probe_result probe_cache[IGFS_ATTACH_NR];

static void probe_kind(enum igfs_attach kind, struct probe_result *r)
{
	int err = 0;

	switch (kind) {
	case IGFS_ATTACH_TRACEPOINT:
		if (!tracefs_path()) {
			err = -ENOENT;
			snprintf(r->why, sizeof(r->why),
				 "tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)");
		}
		break;
	case IGFS_ATTACH_RAW_TP:
		if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) != 1) {
			err = -EOPNOTSUPP;
			snprintf(r->why, sizeof(r->why), "the kernel has no raw tracepoint programs");
		}
		break;
	case IGFS_ATTACH_TP_BTF:
		err = probe_tracing(BPF_TRACE_RAW_TP, "btf_trace_sys_enter", BTF_KIND_TYPEDEF);
		if (err)
			snprintf(r->why, sizeof(r->why),
				 "the kernel refuses tp_btf programs (%s); it needs CONFIG_DEBUG_INFO_BTF",
				 strerror(-err));
		break;
	case IGFS_ATTACH_FENTRY:
		err = probe_tracing(BPF_TRACE_FENTRY, "do_sys_openat2", BTF_KIND_FUNC);
		if (err == -ENOENT)
			err = probe_tracing(BPF_TRACE_FENTRY, "vfs_read", BTF_KIND_FUNC);
		if (err)
			snprintf(r->why, sizeof(r->why),
				 "the kernel refuses fentry/fexit programs (%s): it needs BPF trampolines (CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS) and no lockdown",
				 strerror(-err));
		break;
	case IGFS_ATTACH_LSM:
		err = probe_tracing(BPF_LSM_MAC, "bpf_lsm_file_open", BTF_KIND_FUNC);
		if (err)
			snprintf(r->why, sizeof(r->why),
				 "the kernel refuses BPF LSM programs (%s): it needs CONFIG_BPF_LSM and 'bpf' in the lsm= boot parameter",
				 strerror(-err));
		break;
	case IGFS_ATTACH_KPROBE:
		if (!path_exists("/sys/bus/event_source/devices/kprobe/type")) {
			const char *tfs = tracefs_path();
			char p[256];

			snprintf(p, sizeof(p), "%s/kprobe_events", tfs ? tfs : "/sys/kernel/tracing");
			if (!tfs || !path_exists(p)) {
				err = -EOPNOTSUPP;
				snprintf(r->why, sizeof(r->why),
					 "the kernel has no kprobes (CONFIG_KPROBES is off)");
			}
		}
		break;
	case IGFS_ATTACH_UPROBE:
		if (!path_exists("/sys/bus/event_source/devices/uprobe/type")) {
			err = -EOPNOTSUPP;
			snprintf(r->why, sizeof(r->why),
				 "the kernel has no uprobes (CONFIG_UPROBE_EVENTS is off)");
		}
		break;
	case IGFS_ATTACH_ITER:
		err = probe_tracing(BPF_TRACE_ITER, "bpf_iter_task", BTF_KIND_FUNC);
		if (err)
			snprintf(r->why, sizeof(r->why), "the kernel refuses BPF iterators (%s)",
				 strerror(-err));
		break;
	case IGFS_ATTACH_PERF_EVENT:
		err = probe_perf_event();
		if (err)
			snprintf(r->why, sizeof(r->why),
				 "the kernel refuses software perf events (%s); check kernel.perf_event_paranoid",
				 strerror(-err));
		break;
	case IGFS_ATTACH_NETWORK:
		err = -EOPNOTSUPP;
		snprintf(r->why, sizeof(r->why),
			 "igfs does not attach networking programs (socket filters, tc, sockops, sk_skb, sk_msg)");
		break;
	case IGFS_ATTACH_UNKNOWN:
	case IGFS_ATTACH_NR:
		err = -EOPNOTSUPP;
		snprintf(r->why, sizeof(r->why), "igfs does not know how to attach this section");
		break;
	}
	/*
	 * EPERM means "no privileges" only when we are not root; a kernel that
	 * refuses root (fentry here, lockdown) lacks the feature.
	 */
	if (err && !(err == -EPERM && geteuid() != 0))
		err = -EOPNOTSUPP;
	r->err = err;
	r->done = true;
}

int igfs_probe__attach(enum igfs_attach kind, struct igfs_diag *diag)
{
	struct probe_result r;

	if (kind >= IGFS_ATTACH_NR)
		kind = IGFS_ATTACH_UNKNOWN;
	pthread_mutex_lock(&probe_lock);
	if (!probe_cache[kind].done)
		probe_kind(kind, &probe_cache[kind]);
	r = probe_cache[kind];
	pthread_mutex_unlock(&probe_lock);
	if (r.err)
		igfs_diag_set(diag, "%s", r.why);
	return r.err;
}

bool igfs_probe__ringbuf(void)
{
	static int cached = -1;
	int v;

	pthread_mutex_lock(&probe_lock);
	if (cached < 0)
		cached = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	v = cached;
	pthread_mutex_unlock(&probe_lock);
	return v;
}

static int noringbuf_fd = -1;

/* Rename every "BPF_FUNC_ringbuf_*" enumerator in raw BTF bytes (string section only). */
static void hide_ringbuf_names(unsigned char *data, size_t size)
{
	static const char prefix[] = "BPF_FUNC_ringbuf_";
	const struct btf_header *hdr = (const struct btf_header *)data;
	unsigned char *str, *p, *end;

	if (size < sizeof(*hdr) || hdr->magic != BTF_MAGIC)
		return;
	if ((size_t)hdr->hdr_len + hdr->str_off + hdr->str_len > size)
		return;
	str = data + hdr->hdr_len + hdr->str_off;
	end = str + hdr->str_len;
	for (p = str; p < end; p += strnlen((char *)p, (size_t)(end - p)) + 1) {
		if (!strncmp((char *)p, prefix, sizeof(prefix) - 1))
			p[0] = 'X'; /* same length: no offsets move */
	}
}

int igfs_probe__noringbuf_btf(char *path, size_t size)
{
	struct btf *btf = NULL;
	const void *raw;
	unsigned char *copy = NULL;
	__u32 len;
	int err = 0, fd;

	pthread_mutex_lock(&probe_lock);
	if (noringbuf_fd >= 0)
		goto out;
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		err = -errno ? -errno : -ENOENT;
		goto out;
	}
	raw = btf__raw_data(btf, &len);
	copy = raw ? malloc(len) : NULL;
	if (!copy) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(copy, raw, len);
	hide_ringbuf_names(copy, len);
	fd = memfd_create("igfs-btf-noringbuf", MFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (write(fd, copy, len) != (ssize_t)len) {
		err = -EIO;
		close(fd);
		goto out;
	}
	noringbuf_fd = fd;
out:
	if (!err)
		snprintf(path, size, "/proc/self/fd/%d", noringbuf_fd);
	pthread_mutex_unlock(&probe_lock);
	free(copy);
	btf__free(btf);
	return err;
}

static int mount_one(const char *target, const char *type, long magic, struct igfs_buf *why)
{
	if (fs_is(target, magic))
		return 0;
	if (mkdir(target, 0755) && errno != EEXIST) {
		igfs_buf_printf(why, "%s%s is not mounted and %s cannot be created (%s)",
				why->len ? "; " : "", type, target, strerror(errno));
		return -errno;
	}
	if (mount(type, target, type, 0, NULL)) {
		int err = -errno;

		igfs_buf_printf(why, "%s%s is not mounted at %s and mounting it failed (%s)",
				why->len ? "; " : "", type, target, strerror(-err));
		return err;
	}
	pr_info("mounted %s at %s", type, target);
	return 0;
}

int igfs_probe__mount_fs(struct igfs_diag *diag)
{
	struct igfs_buf why = {};
	int err = 0, e;

	if (!tracefs_path()) {
		/* debugfs carries tracefs on old kernels; try the modern place first. */
		e = mount_one("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC, &why);
		if (e)
			err = e;
	}
	e = mount_one("/sys/fs/bpf", "bpf", BPF_FS_MAGIC, &why);
	if (e && !err)
		err = e;
	if (err)
		igfs_diag_set(diag, "%s", why.data ? why.data : "cannot mount tracefs/bpffs");
	igfs_buf_free(&why);
	pthread_mutex_lock(&probe_lock);
	probe_cache[IGFS_ATTACH_TRACEPOINT].done = false;
	probe_cache[IGFS_ATTACH_KPROBE].done = false;
	pthread_mutex_unlock(&probe_lock);
	return err;
}

int igfs_probe__report(struct igfs_buf *out)
{
	static const enum igfs_attach kinds[] = {
		IGFS_ATTACH_TRACEPOINT, IGFS_ATTACH_RAW_TP, IGFS_ATTACH_TP_BTF,
		IGFS_ATTACH_ITER,	IGFS_ATTACH_PERF_EVENT, IGFS_ATTACH_KPROBE,
		IGFS_ATTACH_UPROBE,	IGFS_ATTACH_FENTRY, IGFS_ATTACH_LSM,
	};
	struct igfs_diag d;
	struct rlimit rl;
	int missing = 0;
	size_t i;

	if (path_exists("/sys/kernel/btf/vmlinux")) {
		igfs_buf_puts(out, "ok       BTF: /sys/kernel/btf/vmlinux\n");
	} else {
		missing++;
		igfs_buf_puts(out, "missing  BTF: /sys/kernel/btf/vmlinux is absent; use a kernel built with CONFIG_DEBUG_INFO_BTF\n");
	}
	if (fs_is("/sys/fs/bpf", BPF_FS_MAGIC))
		igfs_buf_puts(out, "ok       bpffs: /sys/fs/bpf\n");
	else
		igfs_buf_puts(out, "missing  bpffs: not mounted at /sys/fs/bpf; igfs mounts it at start (or: mount -t bpf bpf /sys/fs/bpf)\n");
	if (tracefs_path())
		igfs_buf_printf(out, "ok       tracefs: %s\n", tracefs_path());
	else
		igfs_buf_puts(out, "missing  tracefs: not mounted; igfs mounts it at start (or: mount -t tracefs tracefs /sys/kernel/tracing)\n");
	if (access("/dev/fuse", R_OK | W_OK) == 0) {
		igfs_buf_puts(out, "ok       FUSE: /dev/fuse\n");
	} else {
		missing++;
		igfs_buf_printf(out, "missing  FUSE: /dev/fuse is not usable (%s); modprobe fuse\n",
				strerror(errno));
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		igfs_buf_printf(out, "ok       memlock: %s (BPF memory is charged to cgroups on kernels >= 5.11)\n",
				rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "limited");
	if (geteuid() == 0) {
		igfs_buf_puts(out, "ok       privileges: running as root\n");
	} else {
		missing++;
		igfs_buf_puts(out, "missing  privileges: igfs needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)\n");
	}
	if (igfs_probe__ringbuf())
		igfs_buf_puts(out, "ok       ring buffers\n");
	else
		igfs_buf_puts(out, "missing  ring buffers: tracers fall back to perf buffers\n");
	for (i = 0; i < IGFS_ARRAY_SIZE(kinds); i++) {
		if (igfs_probe__attach(kinds[i], &d) == 0)
			igfs_buf_printf(out, "ok       %s programs\n", igfs_probe__attach_str(kinds[i]));
		else
			igfs_buf_printf(out, "missing  %s programs: %s; gadgets that use them cannot start\n",
					igfs_probe__attach_str(kinds[i]), d.msg);
	}
	return missing;
}
