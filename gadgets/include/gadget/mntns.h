/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __GADGET_MNTNS_H
#define __GADGET_MNTNS_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include <gadget/types.h>

/* The mount namespace inode number of the current task: the container key. */
static __always_inline gadget_mntns_id gadget_get_current_mntns_id(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

#define gadget_get_mntns_id gadget_get_current_mntns_id

#endif /* __GADGET_MNTNS_H */
