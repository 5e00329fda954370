// SPDX-License-Identifier: GPL-2.0
/*
 * trace_tcp: TCP connect, accept and close with their endpoints, from
 * tracepoints only (no kprobes). sock:inet_sock_set_state sees every state
 * change; the syscall tracepoints of connect, accept and accept4 give the
 * process and the fds. The event layout matches Inspektor Gadget's trace_tcp.
 *
 * Who owns a socket: CLOSE -> SYN_SENT runs in connect(2)'s thread, and
 * accept(2) returns the new socket to its caller, so both record the process
 * per socket (keyed by the struct sock address). The handshake's end and the
 * final -> CLOSE usually run in softirq context on behalf of nobody in
 * particular: those events take the recorded process, and the record goes
 * away at -> CLOSE. Sockets opened before the gadget started have no record
 * and give no events.
 */
#include <vmlinux.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <gadget/buffer.h>
#include <gadget/common.h>
#include <gadget/filter.h>
#include <gadget/macros.h>
#include <gadget/types.h>

#define AF_INET	     2
#define AF_INET6     10
#define SOCK_STREAM  1
#define ECONNABORTED 103
#define MAX_ENTRIES  8192

enum event_type : __u8 {
	connect,
	accept,
	close,
};

struct event {
	gadget_timestamp timestamp_raw;
	struct gadget_process proc;
	gadget_netns_id netns_id;
	struct gadget_l4endpoint_t src; /* the local end */
	struct gadget_l4endpoint_t dst; /* the remote end */
	enum event_type type_raw;
	gadget_errno error_raw;
	int fd;
	int accept_fd;
};

/* The process a socket belongs to, from connect(2) or accept(2). */
struct owner {
	struct gadget_process proc;
	int fd;
};

/* Socket (struct sock address) -> owner; LRU so that a missed close cannot fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct owner);
} tcp_owners SEC(".maps");

/* Thread -> the fd of its connect/accept in progress (syscall entry to exit). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, int);
} tcp_tid_fd SEC(".maps");

const volatile bool connect_only = false;
const volatile bool accept_only = false;
const volatile bool failure_only = false;
GADGET_PARAM(connect_only);
GADGET_PARAM(accept_only);
GADGET_PARAM(failure_only);

GADGET_TRACER_MAP(events, 1024 * 256);
GADGET_TRACER(tracetcp, events, event);

static __always_inline bool type_wanted(enum event_type type, __u32 err)
{
	if (connect_only && type != connect)
		return false;
	if (accept_only && type != accept)
		return false;
	return !failure_only || err;
}

static __always_inline void emit(void *ctx, enum event_type type, const struct gadget_process *proc,
				 const struct gadget_l4endpoint_t *src,
				 const struct gadget_l4endpoint_t *dst, __u32 netns, __u32 err,
				 int fd, int accept_fd)
{
	struct event *e;

	e = gadget_reserve_buf(&events, sizeof(*e));
	if (!e)
		return;
	e->timestamp_raw = bpf_ktime_get_boot_ns();
	if (proc)
		e->proc = *proc;
	else
		gadget_process_populate(&e->proc);
	e->netns_id = netns;
	e->src = *src;
	e->dst = *dst;
	e->type_raw = type;
	e->error_raw = err;
	e->fd = fd;
	e->accept_fd = accept_fd;
	gadget_submit_buf(ctx, &events, e, sizeof(*e));
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* Endpoints from the tracepoint's record (ports there are in host order). */
static __always_inline bool tp_endpoints(const struct trace_event_raw_inet_sock_set_state *ctx,
					 struct gadget_l4endpoint_t *src,
					 struct gadget_l4endpoint_t *dst)
{
	__u16 family = ctx->family;

	/* Copied with probe reads: the verifier refuses loads through a moved ctx pointer. */
	if (family == AF_INET) {
		bpf_probe_read_kernel(&src->addr_raw.v4, 4, ctx->saddr);
		bpf_probe_read_kernel(&dst->addr_raw.v4, 4, ctx->daddr);
		src->version = dst->version = 4;
	} else if (family == AF_INET6) {
		bpf_probe_read_kernel(src->addr_raw.v6, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(dst->addr_raw.v6, 16, ctx->daddr_v6);
		src->version = dst->version = 6;
	} else {
		return false;
	}
	src->port = ctx->sport;
	dst->port = ctx->dport;
	src->proto_raw = dst->proto_raw = IPPROTO_TCP;
	return true;
}

/* Endpoints from the socket itself (accept: the tracepoint has long passed). */
static __always_inline bool sk_endpoints(const struct sock *sk, struct gadget_l4endpoint_t *src,
					 struct gadget_l4endpoint_t *dst)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family == AF_INET) {
		src->addr_raw.v4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		dst->addr_raw.v4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		src->version = dst->version = 4;
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&src->addr_raw.v6, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&dst->addr_raw.v6, sk, __sk_common.skc_v6_daddr);
		src->version = dst->version = 6;
	} else {
		return false;
	}
	src->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	dst->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	src->proto_raw = dst->proto_raw = IPPROTO_TCP;
	return true;
}

/* The current thread's fd of the connect/accept in progress, or -1. */
static __always_inline int current_fd(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	int *fd = bpf_map_lookup_elem(&tcp_tid_fd, &tid);

	return fd ? *fd : -1;
}

/* CLOSE -> SYN_SENT: connect(2) (or a fast-open sendmsg) in the caller's thread. */
static __always_inline void on_syn_sent(__u64 skaddr)
{
	struct owner o = {};

	if (accept_only || gadget_should_discard_data_current())
		return;
	gadget_process_populate(&o.proc);
	o.fd = current_fd();
	bpf_map_update_elem(&tcp_owners, &skaddr, &o, BPF_ANY);
}

SEC("tracepoint/sock/inet_sock_set_state")
int ig_tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct gadget_l4endpoint_t src = {}, dst = {};
	__u64 skaddr = (__u64)ctx->skaddr;
	int oldstate = ctx->oldstate;
	int newstate = ctx->newstate;
	const struct sock *sk;
	struct owner *o;
	__u32 err;

	if (ctx->protocol != IPPROTO_TCP || (ctx->family != AF_INET && ctx->family != AF_INET6))
		return 0;
	if (newstate == TCP_SYN_SENT) {
		on_syn_sent(skaddr);
		return 0;
	}
	if (newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE)
		return 0;
	o = bpf_map_lookup_elem(&tcp_owners, &skaddr);
	if (!o)
		return 0;
	sk = (const struct sock *)ctx->skaddr;

	if (newstate == TCP_ESTABLISHED) {
		/* The active open completed; accepted sockets are known only after. */
		if (oldstate == TCP_SYN_SENT && type_wanted(connect, 0) &&
		    tp_endpoints(ctx, &src, &dst))
			emit(ctx, connect, &o->proc, &src, &dst, sk_netns(sk), 0, o->fd, -1);
		return 0;
	}

	/*
	 * -> CLOSE. Errors travel in sk_err, set before tcp_done() changes the
	 * state: ECONNREFUSED for a reset in SYN_SENT, ETIMEDOUT, an ICMP error,
	 * ECONNRESET/EPIPE for a reset connection.
	 */
	err = BPF_CORE_READ(sk, sk_err);
	if (oldstate == TCP_SYN_SENT) {
		/* A connect that never completed: without sk_err it was aborted. */
		if (!err)
			err = ECONNABORTED;
		if (type_wanted(connect, err) && tp_endpoints(ctx, &src, &dst))
			emit(ctx, connect, &o->proc, &src, &dst, sk_netns(sk), err, o->fd, -1);
	} else if (oldstate != TCP_LISTEN && type_wanted(close, err) &&
		   tp_endpoints(ctx, &src, &dst)) {
		emit(ctx, close, &o->proc, &src, &dst, sk_netns(sk), err, o->fd, -1);
	}
	bpf_map_delete_elem(&tcp_owners, &skaddr);
	return 0;
}

static __always_inline int enter_fd(int fd)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&tcp_tid_fd, &tid, &fd, BPF_ANY);
	return 0;
}

static __always_inline int exit_fd(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&tcp_tid_fd, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int ig_tcp_co_e(struct syscall_trace_enter *ctx)
{
	return enter_fd((int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int ig_tcp_co_x(struct syscall_trace_exit *ctx)
{
	return exit_fd();
}

/* The struct sock behind the current task's fd @fd, or NULL. */
static __always_inline struct sock *fd_to_sock(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;
	struct socket *sock;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (!fds || bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	/* accept(2) just installed a socket file here: private_data is its struct socket. */
	sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/* accept(2)/accept4(2) returned @ret in the accepting thread: record and report. */
static __always_inline int exit_accept(void *ctx, long ret)
{
	struct gadget_l4endpoint_t src = {}, dst = {};
	int lfd = current_fd();
	struct owner o = {};
	struct sock *sk;
	__u64 skaddr;

	exit_fd();
	if (ret < 0 || connect_only || gadget_should_discard_data_current())
		return 0;
	sk = fd_to_sock((int)ret);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP ||
	    BPF_CORE_READ(sk, sk_type) != SOCK_STREAM || !sk_endpoints(sk, &src, &dst))
		return 0;
	gadget_process_populate(&o.proc);
	o.fd = (int)ret;
	/* A connection reset before accept returned is already closed: no record. */
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_CLOSE) {
		skaddr = (__u64)sk;
		bpf_map_update_elem(&tcp_owners, &skaddr, &o, BPF_ANY);
	}
	if (type_wanted(accept, 0))
		emit(ctx, accept, &o.proc, &src, &dst, sk_netns(sk), 0, lfd, (int)ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept")
int ig_tcp_ac_e(struct syscall_trace_enter *ctx)
{
	return enter_fd((int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int ig_tcp_ac_x(struct syscall_trace_exit *ctx)
{
	return exit_accept(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int ig_tcp_ac4_e(struct syscall_trace_enter *ctx)
{
	return enter_fd((int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int ig_tcp_ac4_x(struct syscall_trace_exit *ctx)
{
	return exit_accept(ctx, ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
