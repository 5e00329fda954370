// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * profile_cpu: sampled kernel and user stacks. A software cpu-clock perf
 * event per CPU (frequency from gadget.yaml) runs ig_prof_cpu, which counts
 * samples per (stacks, process) in a hash map that igfs dumps on each open of
 * stats (interval 0: counts accumulate over the run) and once more at stop.
 * The key and value layouts are those of Inspektor Gadget's profile_cpu;
 * stack ids point into ig_kstack and ig_ustack, which igfs symbolises.
 */
#include <vmlinux.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <gadget/common.h>
#include <gadget/filter.h>
#include <gadget/macros.h>
#include <gadget/types.h>

#define MAX_ENTRIES	  10240
#define MAX_STACK_DEPTH	  127 /* frames per stack, as IG's ig_kstack/ig_ustack */
#define STACK_MAP_ENTRIES 10000
#define KERNEL_ADDR_MSB	  (1ULL << 63)

struct key_t {
	__u64 kernel_ip;
	struct gadget_user_stack user_stack_raw;
	gadget_kernel_stack kern_stack_raw;
	struct gadget_process proc;
};

struct values {
	__u64 samples;
};

const volatile bool kernel_stacks_only = false;
const volatile bool user_stacks_only = false;
const volatile bool include_idle = false;
GADGET_PARAM(kernel_stacks_only);
GADGET_PARAM(user_stacks_only);
GADGET_PARAM(include_idle);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct key_t);
	__type(value, struct values);
} counts SEC(".maps");

/* Stack trace maps: names and value size are what IG's runtime (and igfs) look for. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, STACK_MAP_ENTRIES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} ig_kstack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, STACK_MAP_ENTRIES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} ig_ustack SEC(".maps");

GADGET_MAPITER(samples, counts);

/* inode mtime before Linux 6.11 (struct timespec64 i_mtime / __i_mtime). */
struct inode___mtime_ts {
	struct timespec64 i_mtime;
};

struct inode___mtime_ts_priv {
	struct timespec64 __i_mtime;
};

static __always_inline void inode_mtime(struct inode *inode, __u64 *sec, __u32 *nsec)
{
	if (bpf_core_field_exists(struct inode, i_mtime_sec)) {
		*sec = BPF_CORE_READ(inode, i_mtime_sec);
		*nsec = BPF_CORE_READ(inode, i_mtime_nsec);
	} else if (bpf_core_field_exists(struct inode___mtime_ts_priv, __i_mtime)) {
		struct inode___mtime_ts_priv *i = (void *)inode;

		*sec = BPF_CORE_READ(i, __i_mtime.tv_sec);
		*nsec = BPF_CORE_READ(i, __i_mtime.tv_nsec);
	} else {
		struct inode___mtime_ts *i = (void *)inode;

		*sec = BPF_CORE_READ(i, i_mtime.tv_sec);
		*nsec = BPF_CORE_READ(i, i_mtime.tv_nsec);
	}
}

/*
 * The user stack and what a symboliser needs to find the process again: the
 * executable's inode and mtime (to notice pid reuse) and the thread's pid in
 * the root pid namespace and in the next one down (containers).
 */
static __always_inline void user_stack(struct bpf_perf_event_data *ctx, struct gadget_user_stack *u)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct inode *exe = BPF_CORE_READ(task, mm, exe_file, f_inode);
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);

	u->stack_id = bpf_get_stackid(ctx, &ig_ustack, BPF_F_USER_STACK);
	if (!exe)
		return; /* a kernel thread: no user stack */
	u->exe_inode = BPF_CORE_READ(exe, i_ino);
	inode_mtime(exe, &u->mtime_sec, &u->mtime_nsec);
	u->pid_level0 = BPF_CORE_READ(pid, numbers[0].nr);
	u->pidns_level0 = BPF_CORE_READ(pid, numbers[0].ns, ns.inum);
	if (level >= 1) {
		u->pid_level1 = BPF_CORE_READ(pid, numbers[1].nr);
		u->pidns_level1 = BPF_CORE_READ(pid, numbers[1].ns, ns.inum);
	}
}

SEC("perf_event/profiler")
int ig_prof_cpu(struct bpf_perf_event_data *ctx)
{
	static const struct values zero;
	__u64 id = bpf_get_current_pid_tgid();
	struct values *val;
	struct key_t key;

	if (!include_idle && (__u32)id == 0)
		return 0;
	if (gadget_should_discard_data_current())
		return 0;

	/* A hash key: padding must be zero too. */
	__builtin_memset(&key, 0, sizeof(key));
	gadget_process_populate(&key.proc);
	if (user_stacks_only)
		key.kern_stack_raw = -1;
	else
		key.kern_stack_raw = bpf_get_stackid(ctx, &ig_kstack, 0);
	if (!kernel_stacks_only)
		user_stack(ctx, &key.user_stack_raw);
	/* The sampled instruction itself when it is in the kernel (IG's kernel_ip). */
	if ((int)key.kern_stack_raw >= 0 && (PT_REGS_IP(&ctx->regs) & KERNEL_ADDR_MSB))
		key.kernel_ip = PT_REGS_IP(&ctx->regs);

	val = bpf_map_lookup_elem(&counts, &key);
	if (!val) {
		bpf_map_update_elem(&counts, &key, &zero, BPF_NOEXIST);
		val = bpf_map_lookup_elem(&counts, &key);
		if (!val)
			return 0; /* the map is full */
	}
	__sync_fetch_and_add(&val->samples, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
