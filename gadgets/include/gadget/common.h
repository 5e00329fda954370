/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __GADGET_COMMON_H
#define __GADGET_COMMON_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include <gadget/mntns.h>
#include <gadget/types.h>

/* Fill @p with the current task: comm, pid, tid, mntns, creds and parent. */
static __always_inline void gadget_process_populate(struct gadget_process *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *parent;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	bpf_get_current_comm(p->comm, sizeof(p->comm));
	p->pid = pid_tgid >> 32;
	p->tid = (__u32)pid_tgid;
	p->mntns_id = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	p->creds.uid = (__u32)uid_gid;
	p->creds.gid = uid_gid >> 32;
	parent = BPF_CORE_READ(task, real_parent);
	p->parent.pid = parent ? BPF_CORE_READ(parent, tgid) : 0;
	if (parent)
		BPF_CORE_READ_STR_INTO(&p->parent.comm, parent, comm);
	else
		p->parent.comm[0] = '\0';
}

/* Fill @p from an arbitrary task (iterators). */
static __always_inline void gadget_process_populate_from_task(struct gadget_process *p,
							      struct task_struct *task)
{
	struct task_struct *parent;

	BPF_CORE_READ_STR_INTO(&p->comm, task, comm);
	p->pid = BPF_CORE_READ(task, tgid);
	p->tid = BPF_CORE_READ(task, pid);
	p->mntns_id = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	p->creds.uid = BPF_CORE_READ(task, cred, uid.val);
	p->creds.gid = BPF_CORE_READ(task, cred, gid.val);
	parent = BPF_CORE_READ(task, real_parent);
	p->parent.pid = parent ? BPF_CORE_READ(parent, tgid) : 0;
	if (parent)
		BPF_CORE_READ_STR_INTO(&p->parent.comm, parent, comm);
	else
		p->parent.comm[0] = '\0';
}

#endif /* __GADGET_COMMON_H */
