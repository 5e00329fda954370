/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What this kernel can do, asked once and cached: program and map types,
 * attach kinds (kprobe, fentry, tp_btf, iter, perf events), and the pseudo
 * filesystems libbpf needs. Turns kernel refusals into precise sentences.
 */
#ifndef IGFS_PROBE_H
#define IGFS_PROBE_H

#include <stdbool.h>

#include "util.h"

/* How a program is attached, from its section prefix (GADGET-FORMAT §5). */
enum igfs_attach {
	IGFS_ATTACH_UNKNOWN,
	IGFS_ATTACH_TRACEPOINT, /* tracepoint/<cat>/<name>, tp/ */
	IGFS_ATTACH_RAW_TP,	/* raw_tracepoint/<name>, raw_tp/ */
	IGFS_ATTACH_TP_BTF,	/* tp_btf/<name> */
	IGFS_ATTACH_FENTRY,	/* fentry/, fexit/, fmod_ret/ */
	IGFS_ATTACH_LSM,	/* lsm/ */
	IGFS_ATTACH_KPROBE,	/* kprobe/, kretprobe/ */
	IGFS_ATTACH_UPROBE,	/* uprobe/, uretprobe/, usdt/ */
	IGFS_ATTACH_ITER,	/* iter/<kind> */
	IGFS_ATTACH_PERF_EVENT, /* perf_event/<name> */
	IGFS_ATTACH_NETWORK,	/* socket, classifier/, sockops, sk_skb/, sk_msg */
	IGFS_ATTACH_NR,
};

/* Classify section @sec; *ret_target points into @sec after the prefix. */
enum igfs_attach igfs_probe__classify(const char *sec, const char **ret_target);
/* A word for @kind: "tracepoint", "kprobe", ... */
const char *igfs_probe__attach_str(enum igfs_attach kind);

/*
 * Whether this kernel can load and attach programs of @kind. 0 when it can;
 * -EOPNOTSUPP (or -EPERM) with a sentence naming what is missing and what to
 * do. Results are cached; thread-safe.
 */
int igfs_probe__attach(enum igfs_attach kind, struct igfs_diag *diag);

/* Whether BPF ring buffers work here. */
bool igfs_probe__ringbuf(void);

/*
 * A copy of the kernel's BTF in which the ring buffer helpers do not exist,
 * for bpf_object_open_opts.btf_custom_path: CO-RE then resolves
 * bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ringbuf_*) to false
 * and gadgets take their perf buffer path on a kernel that has ring buffers.
 * Writes a /proc/self/fd/N path into @path. 0 or -errno. Made once, cached.
 */
int igfs_probe__noringbuf_btf(char *path, size_t size);

/*
 * Mount tracefs at /sys/kernel/tracing and bpffs at /sys/fs/bpf when they are
 * not mounted. 0, or -errno with one sentence per missing piece.
 */
int igfs_probe__mount_fs(struct igfs_diag *diag);

/* One line per prerequisite for `igfs --check`; returns the number missing. */
int igfs_probe__report(struct igfs_buf *out);

#endif /* IGFS_PROBE_H */
