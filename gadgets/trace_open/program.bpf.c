// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * trace_open: every open(2), openat(2) and openat2(2) with its result, from
 * the syscall tracepoints only (no kprobes). The event layout matches
 * Inspektor Gadget's trace_open so that both render the same JSON.
 */
#include <vmlinux.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <gadget/buffer.h>
#include <gadget/common.h>
#include <gadget/filter.h>
#include <gadget/macros.h>
#include <gadget/types.h>

#define NAME_MAX    255
#define MAX_ENTRIES 10240

struct args {
	const char *fname;
	__u32 flags;
	__u32 mode;
};

struct event {
	gadget_timestamp timestamp_raw;
	struct gadget_process proc;
	gadget_errno error_raw;
	__u32 fd;
	gadget_file_flags flags_raw;
	gadget_file_mode mode_raw;
	char fname[NAME_MAX];
};

/* Arguments saved at syscall entry, keyed by thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct args);
} start SEC(".maps");

const volatile bool targ_failed = false;
GADGET_PARAM(targ_failed);

GADGET_TRACER_MAP(events, 1024 * 256);
GADGET_TRACER(open, events, event);

static __always_inline int trace_enter(const char *fname, __u32 flags, __u32 mode)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct args args = {
		.fname = fname,
		.flags = flags,
		.mode = mode,
	};

	if (gadget_should_discard_data_current())
		return 0;
	bpf_map_update_elem(&start, &id, &args, BPF_ANY);
	return 0;
}

static __always_inline int trace_exit(void *ctx, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct event *event;
	struct args *args;

	args = bpf_map_lookup_elem(&start, &id);
	if (!args)
		return 0;
	if (targ_failed && ret >= 0)
		goto cleanup;

	event = gadget_reserve_buf(&events, sizeof(*event));
	if (!event)
		goto cleanup;

	event->timestamp_raw = bpf_ktime_get_boot_ns();
	gadget_process_populate(&event->proc);
	if (ret >= 0) {
		event->fd = ret;
		event->error_raw = 0;
	} else {
		event->fd = 0;
		event->error_raw = -ret;
	}
	event->flags_raw = args->flags;
	event->mode_raw = args->mode;
	if (bpf_probe_read_user_str(event->fname, sizeof(event->fname), args->fname) < 0)
		event->fname[0] = '\0';
	gadget_submit_buf(ctx, &events, event, sizeof(*event));
cleanup:
	bpf_map_delete_elem(&start, &id);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int ig_open_e(struct syscall_trace_enter *ctx)
{
	return trace_enter((const char *)ctx->args[0], (__u32)ctx->args[1], (__u32)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int ig_openat_e(struct syscall_trace_enter *ctx)
{
	return trace_enter((const char *)ctx->args[1], (__u32)ctx->args[2], (__u32)ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int ig_openat2_e(struct syscall_trace_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return trace_enter((const char *)ctx->args[1], (__u32)how.flags, (__u32)how.mode);
}

SEC("tracepoint/syscalls/sys_exit_open")
int ig_open_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int ig_openat_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int ig_openat2_x(struct syscall_trace_exit *ctx)
{
	return trace_exit(ctx, ctx->ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
