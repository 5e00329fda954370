// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * snapshot_process: every task on the host, from a task iterator (iter/task),
 * one record per process (or per thread with threads=true). The record has
 * the layout of Inspektor Gadget's snapshot_process.
 */
#include <vmlinux.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include <gadget/macros.h>
#include <gadget/mntns_filter.h>
#include <gadget/types.h>

struct process_entry {
	gadget_mntns_id mntns_id;
	gadget_comm comm[TASK_COMM_LEN];
	gadget_pid pid;
	gadget_tid tid;
	gadget_uid uid;
	gadget_gid gid;
	gadget_ppid ppid;
};

const volatile bool show_threads = false;
GADGET_PARAM(show_threads);

GADGET_ITER(processes, process_entry, ig_snap_proc);

SEC("iter/task")
int ig_snap_proc(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct task_struct *parent;
	struct process_entry p = {};

	if (!task)
		return 0;
	p.pid = BPF_CORE_READ(task, tgid);
	p.tid = BPF_CORE_READ(task, pid);
	if (!show_threads && p.pid != p.tid)
		return 0;
	p.mntns_id = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	if (gadget_should_discard_mntns_id(p.mntns_id))
		return 0;
	BPF_CORE_READ_STR_INTO(&p.comm, task, comm);
	p.uid = BPF_CORE_READ(task, cred, uid.val);
	p.gid = BPF_CORE_READ(task, cred, gid.val);
	parent = BPF_CORE_READ(task, real_parent);
	p.ppid = parent ? BPF_CORE_READ(parent, tgid) : 0;
	bpf_seq_write(seq, &p, sizeof(p));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
