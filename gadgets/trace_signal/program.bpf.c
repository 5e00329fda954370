// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * trace_signal: signals sent with kill(2), tkill(2) and tgkill(2), with the
 * system call's result, and (unless kill-only) every other signal the kernel
 * generates (SIGCHLD, SIGSEGV, SIGPIPE, timers, sigqueue...), from the
 * signal:signal_generate tracepoint. Tracepoints only. The layout and params
 * are those of Inspektor Gadget's trace_signal, plus `source`.
 */
#include <vmlinux.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include <gadget/buffer.h>
#include <gadget/common.h>
#include <gadget/macros.h>
#include <gadget/mntns_filter.h>
#include <gadget/types.h>

#define SIGNAL_MAX_ENTRIES 10240

/* How the signal was sent; rendered by name ("kill", ...). */
enum trace_signal_source {
	kill,
	tkill,
	tgkill,
	signal_generate,
};

struct event {
	gadget_timestamp timestamp_raw;
	struct gadget_process proc;
	__s32 tpid; /* signed: kill(2) takes -pgid and -1 */
	gadget_signal sig_raw;
	gadget_errno error_raw;
	enum trace_signal_source source_raw;
};

/* A kill-family call between entry and exit. */
struct value {
	__s32 tpid;
	int sig;
	enum trace_signal_source source;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIGNAL_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct value);
} values SEC(".maps");

const volatile pid_t filtered_pid = 0;
const volatile int target_signal = 0;
const volatile bool failed_only = false;
const volatile bool kill_only = false;

GADGET_PARAM(filtered_pid);
GADGET_PARAM(target_signal);
GADGET_PARAM(failed_only);
GADGET_PARAM(kill_only);

GADGET_TRACER_MAP(events, 1024 * 256);
GADGET_TRACER(signal, events, event);

static __always_inline bool signal_discard(int sig)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (target_signal && sig != target_signal)
		return true;
	if (filtered_pid && pid != (__u32)filtered_pid)
		return true;
	return gadget_should_discard_mntns_id(gadget_get_current_mntns_id());
}

static __always_inline int signal_enter(__s32 tpid, int sig, enum trace_signal_source source)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct value v = {
		.tpid = tpid,
		.sig = sig,
		.source = source,
	};

	if (signal_discard(sig))
		return 0;
	bpf_map_update_elem(&values, &tid, &v, BPF_ANY);
	return 0;
}

static __always_inline int signal_exit(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *event;
	struct value *v;

	v = bpf_map_lookup_elem(&values, &tid);
	if (!v)
		return 0;
	if (failed_only && ret >= 0)
		goto cleanup;
	event = gadget_reserve_buf(&events, sizeof(*event));
	if (!event)
		goto cleanup;
	event->timestamp_raw = bpf_ktime_get_boot_ns();
	gadget_process_populate(&event->proc);
	event->tpid = v->tpid;
	event->sig_raw = v->sig;
	event->error_raw = ret < 0 ? -ret : 0;
	event->source_raw = v->source;
	gadget_submit_buf(ctx, &events, event, sizeof(*event));
cleanup:
	bpf_map_delete_elem(&values, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int ig_sig_kill_e(struct syscall_trace_enter *ctx)
{
	return signal_enter((__s32)ctx->args[0], (int)ctx->args[1], kill);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int ig_sig_kill_x(struct syscall_trace_exit *ctx)
{
	return signal_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int ig_sig_tkill_e(struct syscall_trace_enter *ctx)
{
	return signal_enter((__s32)ctx->args[0], (int)ctx->args[1], tkill);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int ig_sig_tkill_x(struct syscall_trace_exit *ctx)
{
	return signal_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int ig_sig_tgkill_e(struct syscall_trace_enter *ctx)
{
	return signal_enter((__s32)ctx->args[1], (int)ctx->args[2], tgkill);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int ig_sig_tgkill_x(struct syscall_trace_exit *ctx)
{
	return signal_exit(ctx, ctx->ret);
}

/*
 * Every signal the kernel queues, whoever asked. Those sent by a kill-family
 * call that is being traced (an entry in `values`) are left to its exit, which
 * knows the call's result; the rest (SIGCHLD on exit, faults, SIGPIPE,
 * timers, sigqueue, pidfd_send_signal) are reported here. The sender is the
 * current task, which for signals raised from interrupt context (timers) is
 * whatever task was running. These events never count as failed.
 */
SEC("tracepoint/signal/signal_generate")
int ig_sig_generate(struct trace_event_raw_signal_generate *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *event;
	int sig = ctx->sig;

	if (kill_only || failed_only)
		return 0;
	if (bpf_map_lookup_elem(&values, &tid))
		return 0;
	if (signal_discard(sig))
		return 0;
	event = gadget_reserve_buf(&events, sizeof(*event));
	if (!event)
		return 0;
	event->timestamp_raw = bpf_ktime_get_boot_ns();
	gadget_process_populate(&event->proc);
	event->tpid = ctx->pid;
	event->sig_raw = sig;
	event->error_raw = 0;
	event->source_raw = signal_generate;
	gadget_submit_buf(ctx, &events, event, sizeof(*event));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
