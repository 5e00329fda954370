/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Well-known types. The loader recognises them by BTF type name and renders
 * them as Inspektor Gadget does, so names and layouts must not change.
 */
#ifndef __GADGET_TYPES_H
#define __GADGET_TYPES_H

#ifndef TASK_COMM_LEN
#define TASK_COMM_LEN 16
#endif

union gadget_ip_addr_t {
	__u8 v6[16];
	__u32 v4;
};

struct gadget_l3endpoint_t {
	union gadget_ip_addr_t addr_raw;
	__u8 version; /* 4 or 6 */
};

struct gadget_l4endpoint_t {
	union gadget_ip_addr_t addr_raw;
	__u16 port;	 /* host byte order */
	__u16 proto_raw; /* IPPROTO_* */
	__u8 version;	 /* 4 or 6 */
};

typedef __u64 gadget_mntns_id;
typedef __u32 gadget_netns_id;
typedef __u64 gadget_timestamp; /* bpf_ktime_get_boot_ns() */
typedef __u32 gadget_signal;
typedef __u32 gadget_errno;
typedef __u32 gadget_uid;
typedef __u32 gadget_gid;
typedef __u64 gadget_syscall;
typedef __u32 gadget_kernel_stack; /* stack id in ig_kstack */
typedef __u32 gadget_file_flags;   /* open(2) flags */
typedef __u32 gadget_file_mode;	   /* st_mode permission bits */

struct gadget_user_stack {
	__u64 exe_inode;
	__u64 mtime_sec;
	__u32 mtime_nsec;
	__u32 stack_id; /* stack id in ig_ustack */
	__u32 pid_level0;
	__u32 pidns_level0;
	__u32 pid_level1;
	__u32 pidns_level1;
};

typedef __u32 gadget_pid;
typedef __u32 gadget_ppid;
typedef __u32 gadget_tid;
typedef char gadget_comm;
typedef char gadget_pcomm;
typedef __u64 gadget_bytes;
typedef __u64 gadget_duration; /* nanoseconds */

typedef __u32 gadget_counter__u32;
typedef __u64 gadget_counter__u64;
typedef __u32 gadget_gauge__u32;
typedef __u64 gadget_gauge__u64;
typedef __u32 gadget_histogram_slot__u32;
typedef __u64 gadget_histogram_slot__u64;

struct gadget_creds {
	gadget_uid uid;
	gadget_gid gid;
};

struct gadget_parent {
	gadget_pcomm comm[TASK_COMM_LEN];
	gadget_ppid pid;
};

struct gadget_process {
	gadget_comm comm[TASK_COMM_LEN];
	gadget_pid pid;
	gadget_tid tid;
	gadget_mntns_id mntns_id;
	struct gadget_creds creds;
	struct gadget_parent parent;
};

#endif /* __GADGET_TYPES_H */
