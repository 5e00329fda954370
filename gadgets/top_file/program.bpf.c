// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * top_file: reads and writes per thread and file, counted in a hash map that
 * igfs drains every interval (a map iterator). Inspektor Gadget's top_file
 * hooks vfs_read/vfs_write with kprobes; this one uses only the syscall
 * tracepoints of read, write, pread64, pwrite64, readv, writev, preadv,
 * pwritev, preadv2 and pwritev2: the entry remembers the fd per thread, the
 * exit counts the bytes transferred and resolves the fd to its struct file
 * through current->files. The record layout is IG's (key file_id, value
 * file_stat).
 */
#include <vmlinux.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <gadget/common.h>
#include <gadget/filter.h>
#include <gadget/macros.h>
#include <gadget/types.h>

#define MAX_ENTRIES 10240
/* file[] holds up to FILE_PATH_LEN - 1 bytes; a power of two for the masks below. */
#define FILE_PATH_LEN	    512
#define PATH_MASK	    (FILE_PATH_LEN - 1)
#define NAME_LEN_MASK	    255 /* a dentry name is at most NAME_MAX (255) bytes */
#define MAX_COMPONENTS	    64	/* dentries (and mount crossings) walked per path */
#define TRUNCATED_PREFIX    "..."
#define DELETED_SUFFIX	    " (deleted)"
#define ANON_PREFIX	    "anon_inode:"
#define ANON_INODE_FS_MAGIC 0x09041934

#define S_IFMT	 0170000
#define S_IFSOCK 0140000
#define S_IFREG	 0100000
#define S_IFIFO	 0010000

enum op {
	READ,
	WRITE,
};

enum type {
	R, /* regular file */
	S, /* socket */
	O, /* other, including pipes */
};

struct file_id {
	__u64 inode;
	__u32 dev;
	__u64 pid_tgid;
};

struct file_stat {
	struct gadget_process proc;
	__u64 reads;
	__u64 rbytes;
	__u64 writes;
	__u64 wbytes;
	char file[FILE_PATH_LEN];
	enum type t_raw;
};

/* The fd and direction of a read/write in flight, keyed by pid_tgid. */
struct pending {
	__s32 fd;
	__u32 op;
};

/* Per-CPU scratch: the path is assembled backwards in buf, the new value in val. */
struct scratch {
	char buf[2 * FILE_PATH_LEN];
	struct file_stat val;
};

const volatile bool all_files = false;
GADGET_PARAM(all_files);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct file_id);
	__type(value, struct file_stat);
} stats SEC(".maps");

struct {
	/* LRU: a thread that never returns (killed in a blocking read) is evicted. */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct pending);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

GADGET_MAPITER(file, stats);

static __always_inline int trace_enter(struct syscall_trace_enter *ctx, enum op op)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending p = {
		.fd = (__s32)ctx->args[0],
		.op = op,
	};

	if (gadget_should_discard_data_current())
		return 0;
	bpf_map_update_elem(&inflight, &id, &p, BPF_ANY);
	return 0;
}

/* current->files->fdt->fd[fd], or NULL. */
static __always_inline struct file *fd_to_file(__s32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

/*
 * Offsets into buf go through barrier_var() before the mask: otherwise clang
 * folds "pos - len" into the pointer and the verifier sees an unbounded
 * subtraction instead of a masked index.
 */
static __always_inline __u32 path_off(__u32 pos)
{
	barrier_var(pos);
	return pos & PATH_MASK;
}

/* Prepend one byte at *pos - 1 of buf (the caller keeps *pos >= 1). */
static __always_inline void put_char(char *buf, __u32 *pos, char c)
{
	*pos = path_off(*pos - 1);
	buf[*pos] = c;
}

/* Prepend @len bytes of the kernel string @name (the caller keeps *pos > len). */
static __always_inline void put_name(char *buf, __u32 *pos, const unsigned char *name, __u32 len)
{
	barrier_var(len);
	len &= NAME_LEN_MASK;
	*pos = path_off(*pos - len);
	bpf_probe_read_kernel(&buf[*pos], len, name);
}

/* Prepend @s (a literal) if it fits. */
static __always_inline bool put_str(char *buf, __u32 *pos, const char *s, __u32 len)
{
	int i;

	if (*pos < len + 1)
		return false;
	for (i = (int)len - 1; i >= 0; i--)
		put_char(buf, pos, s[i]);
	return true;
}

/* Prepend the decimal digits of @v. */
static __always_inline void put_u64(char *buf, __u32 *pos, __u64 v)
{
	int i;

	for (i = 0; i < 20; i++) {
		if (*pos < 2)
			return;
		put_char(buf, pos, '0' + v % 10);
		v /= 10;
		if (!v)
			return;
	}
}

/*
 * Pseudo files (pipes, sockets, anonymous inodes, memfds) have a dentry of
 * their own that is not in any tree: name them as /proc/PID/fd links do.
 */
static __always_inline void pseudo_path(char *buf, __u32 *pos, struct dentry *dentry, __u32 mode,
					__u64 ino)
{
	bool anon = BPF_CORE_READ(dentry, d_sb, s_magic) == ANON_INODE_FS_MAGIC;
	const unsigned char *name;
	__u32 len;

	if ((mode & S_IFMT) == S_IFSOCK || (mode & S_IFMT) == S_IFIFO) {
		put_char(buf, pos, ']');
		put_u64(buf, pos, ino);
		if ((mode & S_IFMT) == S_IFSOCK)
			put_str(buf, pos, "socket:[", 8);
		else
			put_str(buf, pos, "pipe:[", 6);
		return;
	}
	if (!anon)
		put_str(buf, pos, DELETED_SUFFIX, sizeof(DELETED_SUFFIX) - 1);
	name = BPF_CORE_READ(dentry, d_name.name);
	len = BPF_CORE_READ(dentry, d_name.len) & NAME_LEN_MASK;
	if (len + 1 + sizeof(ANON_PREFIX) < *pos)
		put_name(buf, pos, name, len);
	if (anon)
		put_str(buf, pos, ANON_PREFIX, sizeof(ANON_PREFIX) - 1);
	else
		put_char(buf, pos, '/');
}

/*
 * The file's path from the root of the process's mount tree: walk d_parent up
 * to each mount's root and cross to the mount point in the parent mount.
 * Written backwards into buf[0, FILE_PATH_LEN) ending with a NUL at
 * FILE_PATH_LEN - 1; returns the start. A path that does not fit (or is
 * deeper than MAX_COMPONENTS) keeps its last components after "...".
 */
static __always_inline __u32 build_path(char *buf, struct file *file, __u32 mode, __u64 ino)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	struct dentry *root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct mount *mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	__u32 pos = FILE_PATH_LEN - 1;
	bool truncated = true;
	int i;

	buf[pos] = '\0';
	/* Unlinked (d_unhashed and not a root), as d_path() says it. */
	if (!BPF_CORE_READ(dentry, d_hash.pprev) && dentry != BPF_CORE_READ(dentry, d_parent))
		put_str(buf, &pos, DELETED_SUFFIX, sizeof(DELETED_SUFFIX) - 1);
	for (i = 0; i < MAX_COMPONENTS; i++) {
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		const unsigned char *name;
		__u32 len;

		if (dentry == root || dentry == parent) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (dentry != root) {
				/* Disconnected: a pseudo file, or part of an unlinked tree. */
				if (i == 0)
					pseudo_path(buf, &pos, dentry, mode, ino);
				truncated = false;
				break;
			}
			if (!up || up == mnt) {
				truncated = false;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			root = BPF_CORE_READ(mnt, mnt.mnt_root);
			continue;
		}
		name = BPF_CORE_READ(dentry, d_name.name);
		len = BPF_CORE_READ(dentry, d_name.len) & NAME_LEN_MASK;
		/* Room for the name, its '/', and the truncation marker. */
		if (len + 1 + sizeof(TRUNCATED_PREFIX) > pos)
			break;
		put_name(buf, &pos, name, len);
		put_char(buf, &pos, '/');
		dentry = parent;
	}
	if (truncated)
		put_str(buf, &pos, TRUNCATED_PREFIX, sizeof(TRUNCATED_PREFIX) - 1);
	else if (pos == FILE_PATH_LEN - 1)
		put_char(buf, &pos, '/');
	return path_off(pos);
}

/* The kernel's dev_t (major << 20 | minor) as stat(2) reports it in st_dev. */
static __always_inline __u32 encode_dev(__u32 dev)
{
	__u32 major = dev >> 20, minor = dev & 0xfffff;

	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

static __always_inline int trace_exit(struct syscall_trace_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct file_stat *val;
	struct pending *p;
	struct file_id key;
	struct scratch *s;
	struct inode *inode;
	struct file *file;
	long ret = ctx->ret;
	__u32 zero = 0, mode, start;
	enum op op;
	__s32 fd;

	p = bpf_map_lookup_elem(&inflight, &id);
	if (!p)
		return 0;
	fd = p->fd;
	op = p->op;
	bpf_map_delete_elem(&inflight, &id);
	if (ret < 0)
		return 0;

	file = fd_to_file(fd);
	if (!file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	mode = BPF_CORE_READ(inode, i_mode);
	if (!all_files && (mode & S_IFMT) != S_IFREG)
		return 0;

	/* A hash key: padding must be zero too. */
	__builtin_memset(&key, 0, sizeof(key));
	key.inode = BPF_CORE_READ(inode, i_ino);
	key.dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
	key.pid_tgid = id;

	val = bpf_map_lookup_elem(&stats, &key);
	if (!val) {
		s = bpf_map_lookup_elem(&scratch, &zero);
		if (!s)
			return 0;
		gadget_process_populate(&s->val.proc);
		s->val.reads = 0;
		s->val.rbytes = 0;
		s->val.writes = 0;
		s->val.wbytes = 0;
		if ((mode & S_IFMT) == S_IFREG)
			s->val.t_raw = R;
		else if ((mode & S_IFMT) == S_IFSOCK)
			s->val.t_raw = S;
		else
			s->val.t_raw = O;
		start = build_path(s->buf, file, mode, key.inode);
		if (bpf_probe_read_kernel_str(s->val.file, sizeof(s->val.file), &s->buf[start]) < 0)
			s->val.file[0] = '\0';
		/* Another CPU may have added it meanwhile: keep the first. */
		bpf_map_update_elem(&stats, &key, &s->val, BPF_NOEXIST);
		val = bpf_map_lookup_elem(&stats, &key);
		if (!val)
			return 0; /* the map is full */
	}
	if (op == READ) {
		__sync_fetch_and_add(&val->reads, 1);
		__sync_fetch_and_add(&val->rbytes, ret);
	} else {
		__sync_fetch_and_add(&val->writes, 1);
		__sync_fetch_and_add(&val->wbytes, ret);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int ig_topfile_rd_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, READ);
}

SEC("tracepoint/syscalls/sys_exit_read")
int ig_topfile_rd_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_write")
int ig_topfile_wr_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, WRITE);
}

SEC("tracepoint/syscalls/sys_exit_write")
int ig_topfile_wr_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_pread64")
int ig_topfile_prd_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, READ);
}

SEC("tracepoint/syscalls/sys_exit_pread64")
int ig_topfile_prd_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_pwrite64")
int ig_topfile_pwr_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, WRITE);
}

SEC("tracepoint/syscalls/sys_exit_pwrite64")
int ig_topfile_pwr_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int ig_topfile_rdv_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, READ);
}

SEC("tracepoint/syscalls/sys_exit_readv")
int ig_topfile_rdv_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int ig_topfile_wrv_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, WRITE);
}

SEC("tracepoint/syscalls/sys_exit_writev")
int ig_topfile_wrv_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_preadv")
int ig_topfile_prdv_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, READ);
}

SEC("tracepoint/syscalls/sys_exit_preadv")
int ig_topfile_prdv_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_pwritev")
int ig_topfile_pwrv_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, WRITE);
}

SEC("tracepoint/syscalls/sys_exit_pwritev")
int ig_topfile_pwrv_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_preadv2")
int ig_topfile_prdv2_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, READ);
}

SEC("tracepoint/syscalls/sys_exit_preadv2")
int ig_topfile_prdv2_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_pwritev2")
int ig_topfile_pwrv2_e(struct syscall_trace_enter *ctx)
{
	return trace_enter(ctx, WRITE);
}

SEC("tracepoint/syscalls/sys_exit_pwritev2")
int ig_topfile_pwrv2_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx);
}

char LICENSE[] SEC("license") = "GPL";
