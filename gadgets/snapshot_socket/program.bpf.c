// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot_socket: every TCP and UDP socket of the reader's network
 * namespace, from the tcp and udp iterators (iter/tcp, iter/udp), one record
 * per socket with the layout of Inspektor Gadget's snapshot_socket. TCP
 * TIME_WAIT and request (SYN_RECV) minisockets are not full sockets: they are
 * told apart with the bpf_skc_to_* helpers and have no inode (0, as in
 * /proc/net/tcp). bpf_seq_write is GPL-only.
 */
#include <vmlinux.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <gadget/macros.h>
#include <gadget/types.h>

#define AF_INET	 2
#define AF_INET6 10

/* include/net/tcp_states.h, named as ss(8) and IG show them. */
enum tcp_socket_state : __u16 {
	ESTABLISHED = 1,
	SYN_SENT,
	SYN_RECV,
	FIN_WAIT1,
	FIN_WAIT2,
	TIME_WAIT,
	CLOSE,
	CLOSE_WAIT,
	LAST_ACK,
	LISTEN,
	CLOSING,
	NEW_SYN_RECV,
	BOUND_INACTIVE,
};

struct socket_entry {
	struct gadget_l4endpoint_t src;
	struct gadget_l4endpoint_t dst;
	enum tcp_socket_state state_raw;
	__u64 ino;
	gadget_netns_id netns_id;
};

/* "tcp", "udp" or "all". */
const volatile char proto[4] = "all";
GADGET_PARAM(proto);

GADGET_ITER(sockets, socket_entry, ig_snap_tcp, ig_snap_udp);

/* The common part of every socket kind (struct sock_common), in network order. */
static __always_inline bool fill_common(struct socket_entry *e, const struct sock_common *skc,
					__u16 proto_raw)
{
	__u16 family = BPF_CORE_READ(skc, skc_family);

	if (family == AF_INET) {
		e->src.addr_raw.v4 = BPF_CORE_READ(skc, skc_rcv_saddr);
		e->dst.addr_raw.v4 = BPF_CORE_READ(skc, skc_daddr);
		e->src.version = e->dst.version = 4;
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->src.addr_raw.v6, skc, skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->dst.addr_raw.v6, skc, skc_v6_daddr);
		e->src.version = e->dst.version = 6;
	} else {
		return false;
	}
	/* skc_num is the local port in host order, skc_dport the remote one in network order. */
	e->src.port = BPF_CORE_READ(skc, skc_num);
	e->dst.port = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	e->src.proto_raw = e->dst.proto_raw = proto_raw;
	e->netns_id = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	return true;
}

/* The inode of the socket file of a full socket, 0 without one (sock_i_ino()). */
static __always_inline __u64 sock_ino(const struct sock *sk)
{
	struct socket *sock = BPF_CORE_READ(sk, sk_socket);
	struct socket_alloc *sa;

	if (!sock)
		return 0;
	sa = container_of(sock, struct socket_alloc, socket);
	return BPF_CORE_READ(sa, vfs_inode.i_ino);
}

SEC("iter/tcp")
int ig_snap_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct seq_file *seq = ctx->meta->seq;
	struct tcp_timewait_sock *tw;
	struct socket_entry e = {};
	struct tcp_sock *tp;

	if (!skc || proto[0] == 'u')
		return 0;
	if (!fill_common(&e, skc, IPPROTO_TCP))
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (tp) {
		e.state_raw = BPF_CORE_READ(skc, skc_state);
		e.ino = sock_ino((const struct sock *)tp);
	} else if ((tw = bpf_skc_to_tcp_timewait_sock(skc))) {
		/* skc_state is TCP_TIME_WAIT; the substate tells FIN_WAIT2 from TIME_WAIT. */
		e.state_raw = BPF_CORE_READ(tw, tw_sk.tw_substate);
	} else if (bpf_skc_to_tcp_request_sock(skc)) {
		/* A connection request before its child socket exists (TCP_NEW_SYN_RECV). */
		e.state_raw = SYN_RECV;
	} else {
		return 0;
	}
	bpf_seq_write(seq, &e, sizeof(e));
	return 0;
}

SEC("iter/udp")
int ig_snap_udp(struct bpf_iter__udp *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct udp_sock *udp = ctx->udp_sk;
	struct socket_entry e = {};
	struct sock *sk;

	if (!udp || proto[0] == 't')
		return 0;
	sk = (struct sock *)udp;
	if (!fill_common(&e, &sk->__sk_common, IPPROTO_UDP))
		return 0;
	/* UDP uses the TCP state numbers: ESTABLISHED when connected, else CLOSE. */
	e.state_raw = BPF_CORE_READ(sk, __sk_common.skc_state);
	e.ino = sock_ino(sk);
	bpf_seq_write(seq, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
