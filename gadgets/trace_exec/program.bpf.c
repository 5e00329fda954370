// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * trace_exec: every execve(2) and execveat(2) with its arguments and result,
 * from tracepoints only (Inspektor Gadget's trace_exec needs kprobes). The
 * filename and argv are read at syscall entry, while the caller's memory is
 * still mapped, and kept per thread; the event leaves at syscall exit with the
 * new comm and the return value. The layout follows IG's trace_exec where the
 * data is the same (timestamp_raw, proc, loginuid, sessionid, error_raw,
 * args_count, args_size, args); the args are joined by single spaces here, in
 * the kernel, so that the JSON shows one readable string.
 */
#include <vmlinux.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#define GADGET_NO_BUF_RESERVE /* events leave with gadget_output_buf */
#include <gadget/buffer.h>
#include <gadget/common.h>
#include <gadget/filter.h>
#include <gadget/macros.h>
#include <gadget/types.h>

#define EXEC_ARGS_LEN	  4096 /* bytes of args, the final NUL included; a power of 2 */
#define EXEC_ARGS_MAX	  20   /* arguments looked at */
#define EXEC_FILENAME_LEN 512
#define EXEC_MAX_ENTRIES  1024 /* execs in flight; preallocated at ~4.7 KiB each */
#define EXEC_EVENT_HEAD	  __builtin_offsetof(struct event, args)

struct event {
	gadget_timestamp timestamp_raw;
	struct gadget_process proc;
	gadget_uid loginuid;
	__u32 sessionid;
	gadget_errno error_raw;
	int args_count;
	bool args_truncated;
	unsigned int args_size;
	char filename[EXEC_FILENAME_LEN];
	char args[EXEC_ARGS_LEN];
};

/*
 * Where the event is built at entry (too big for the stack). The slack lets
 * the verifier accept a string read at any offset below EXEC_ARGS_LEN with any
 * size up to EXEC_ARGS_LEN: it bounds offset and size separately.
 */
struct exec_scratch {
	struct event ev;
	char slack[EXEC_ARGS_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} exec_scratch SEC(".maps");

/* Events between entry and exit, keyed by thread ID. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EXEC_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct event);
} execs SEC(".maps");

const volatile bool ignore_failed = true;
const volatile bool targ_failed = false;
GADGET_PARAM(ignore_failed);
GADGET_PARAM(targ_failed);

GADGET_TRACER_MAP(events, 1024 * 256);
GADGET_TRACER(exec, events, event);

/* Join argv into ev->args, one space between arguments, as far as it fits. */
static __always_inline void exec_read_args(struct event *ev, const char *const *argv)
{
	unsigned int off = 0, moff, size;
	const char *argp;
	char last;
	long n;
	int i;

	ev->args[0] = '\0';
	for (i = 0; i < EXEC_ARGS_MAX; i++) {
		argp = NULL;
		if (bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) || !argp)
			goto done;
		if (off >= EXEC_ARGS_LEN) {
			ev->args_truncated = true;
			goto done;
		}
		/*
		 * Mask behind a barrier: clang knows off < EXEC_ARGS_LEN and
		 * would drop the mask, but the verifier needs it to bound moff.
		 */
		moff = off;
		barrier_var(moff);
		moff &= EXEC_ARGS_LEN - 1;
		size = EXEC_ARGS_LEN - moff;
		n = bpf_probe_read_user_str(&ev->args[moff], size, argp);
		if (n <= 0) {
			/* Unreadable: show what came before it. */
			ev->args_truncated = true;
			goto done;
		}
		if (n == size) {
			/* The buffer is full: was this argument cut? */
			last = 1;
			bpf_probe_read_user(&last, 1, argp + n - 1);
			if (last) {
				ev->args_truncated = true;
				if (n > 1) {
					ev->args_count++;
					off = EXEC_ARGS_LEN;
				} else {
					off = moff; /* nothing of it fits: drop the separator */
				}
				goto done;
			}
		}
		ev->args_count++;
		off = moff + n;
		/* The NUL after this argument becomes the separator. */
		ev->args[(off - 1) & (EXEC_ARGS_LEN - 1)] = ' ';
	}
	/* EXEC_ARGS_MAX arguments read: is there one more? */
	argp = NULL;
	if (!bpf_probe_read_user(&argp, sizeof(argp), &argv[EXEC_ARGS_MAX]) && argp)
		ev->args_truncated = true;
done:
	if (off) {
		ev->args[(off - 1) & (EXEC_ARGS_LEN - 1)] = '\0';
		ev->args_size = off - 1;
	}
}

static __always_inline int exec_enter(const char *filename, const char *const *argv)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	__u32 tid = (__u32)pid_tgid, zero = 0;
	struct task_struct *task;
	struct exec_scratch *s;
	struct event *ev;

	/* The comm filter applies at exit, to the new program's comm. */
	if (gadget_should_discard_data(gadget_get_current_mntns_id(), pid_tgid >> 32, tid, NULL,
				       (__u32)uid_gid, uid_gid >> 32))
		return 0;
	s = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!s)
		return 0;
	ev = &s->ev;
	ev->timestamp_raw = bpf_ktime_get_boot_ns();
	task = (struct task_struct *)bpf_get_current_task();
	if (bpf_core_field_exists(task->loginuid)) {
		ev->loginuid = BPF_CORE_READ(task, loginuid.val);
		ev->sessionid = BPF_CORE_READ(task, sessionid);
	} else {
		ev->loginuid = (gadget_uid)-1;
		ev->sessionid = (__u32)-1;
	}
	ev->error_raw = 0;
	ev->args_count = 0;
	ev->args_truncated = false;
	ev->args_size = 0;
	if (bpf_probe_read_user_str(ev->filename, sizeof(ev->filename), filename) < 0)
		ev->filename[0] = '\0';
	exec_read_args(ev, argv);
	bpf_map_update_elem(&execs, &tid, ev, BPF_ANY);
	return 0;
}

static __always_inline int exec_exit(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	unsigned int args_size;
	struct event *ev;
	bool failed = ret < 0;

	ev = bpf_map_lookup_elem(&execs, &tid);
	if (!ev)
		return 0;
	/* failed=true shows failures even with ignore-failed=true (its default). */
	if (targ_failed ? !failed : failed && ignore_failed)
		goto cleanup;
	gadget_process_populate(&ev->proc);
	if (gadget_should_discard_comm(ev->proc.comm))
		goto cleanup;
	ev->error_raw = failed ? -ret : 0;
	args_size = ev->args_size;
	if (args_size >= EXEC_ARGS_LEN)
		args_size = EXEC_ARGS_LEN - 1;
	/* Only the used part of args: the reader zero-pads short records. */
	gadget_output_buf(ctx, &events, ev, EXEC_EVENT_HEAD + args_size + 1);
cleanup:
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int ig_execve_e(struct syscall_trace_enter *ctx)
{
	return exec_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int ig_execveat_e(struct syscall_trace_enter *ctx)
{
	return exec_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

/*
 * A successful exec from a thread other than the leader continues as the
 * leader (execve(2): "all threads other than the thread group leader are
 * terminated"), so the exit sees another thread ID: move the entry there.
 * This tracepoint fires between entry and exit, only on success.
 */
SEC("tracepoint/sched/sched_process_exec")
int ig_exec_sched(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 old_tid = ctx->old_pid, tid = (__u32)bpf_get_current_pid_tgid();
	struct event *ev;

	if (old_tid == tid)
		return 0;
	ev = bpf_map_lookup_elem(&execs, &old_tid);
	if (!ev)
		return 0;
	bpf_map_update_elem(&execs, &tid, ev, BPF_ANY);
	bpf_map_delete_elem(&execs, &old_tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int ig_execve_x(struct syscall_trace_exit *ctx)
{
	return exec_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int ig_execveat_x(struct syscall_trace_exit *ctx)
{
	return exec_exit(ctx, ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
