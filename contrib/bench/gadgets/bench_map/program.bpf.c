// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark gadget: a map iterator over a 64k-entry hash map that the
 * benchmark fills from user space; a top_file-like record per entry.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#include <gadget/macros.h>
#include <gadget/types.h>

struct file_key {
	__u32 pid;
	__u32 tid;
	__u64 inode;
};

struct file_stat {
	gadget_comm comm[TASK_COMM_LEN];
	gadget_uid uid;
	__u32 dev;
	__u64 reads;
	__u64 rbytes;
	__u64 writes;
	__u64 wbytes;
	char file[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct file_key);
	__type(value, struct file_stat);
} bench_counts SEC(".maps");

GADGET_MAPITER(files, bench_counts);

/* A program so that the object loads; it never runs on a real path. */
SEC("tracepoint/syscalls/sys_enter_getppid")
int ig_bench_noop(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
