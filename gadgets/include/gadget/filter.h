/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The common filters: mount namespace, pid, tid, uid, gid, comm. Each is a
 * parameter whose user-facing key is well known (targ_pid -> pid, ...).
 */
#ifndef __GADGET_FILTER_H
#define __GADGET_FILTER_H

#include <bpf/bpf_helpers.h>

#include <gadget/macros.h>
#include <gadget/mntns_filter.h>
#include <gadget/types.h>

#define GADGET_INVALID_ID ((gadget_uid)-1)

const volatile gadget_pid targ_pid = 0;
const volatile gadget_tid targ_tid = 0;
const volatile gadget_uid targ_uid = GADGET_INVALID_ID;
const volatile gadget_gid targ_gid = GADGET_INVALID_ID;
const volatile gadget_comm targ_comm[TASK_COMM_LEN] = {};

GADGET_PARAM(targ_pid);
GADGET_PARAM(targ_tid);
GADGET_PARAM(targ_uid);
GADGET_PARAM(targ_gid);
GADGET_PARAM(targ_comm);

static __always_inline bool gadget_should_discard_comm(const char *comm)
{
	int i;

	if (!targ_comm[0])
		return false;
#pragma unroll
	for (i = 0; i < TASK_COMM_LEN; i++) {
		if (targ_comm[i] != comm[i])
			return true;
		if (!comm[i])
			break;
	}
	return false;
}

static __always_inline bool gadget_should_discard_data(gadget_mntns_id mntns_id, gadget_pid pid,
						       gadget_tid tid, const char *comm,
						       gadget_uid uid, gadget_gid gid)
{
	if (gadget_should_discard_mntns_id(mntns_id))
		return true;
	if (targ_pid && targ_pid != pid)
		return true;
	if (targ_tid && targ_tid != tid)
		return true;
	if (targ_uid != GADGET_INVALID_ID && targ_uid != uid)
		return true;
	if (targ_gid != GADGET_INVALID_ID && targ_gid != gid)
		return true;
	return comm && gadget_should_discard_comm(comm);
}

/* Whether the current task's event is filtered out. */
static __always_inline bool gadget_should_discard_data_current(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	char comm[TASK_COMM_LEN];

	if (gadget_should_discard_mntns_id(gadget_get_current_mntns_id()))
		return true;
	if (targ_pid && targ_pid != (pid_tgid >> 32))
		return true;
	if (targ_tid && targ_tid != (__u32)pid_tgid)
		return true;
	if (targ_uid != GADGET_INVALID_ID && targ_uid != (__u32)uid_gid)
		return true;
	if (targ_gid != GADGET_INVALID_ID && targ_gid != (uid_gid >> 32))
		return true;
	if (!targ_comm[0])
		return false;
	bpf_get_current_comm(comm, sizeof(comm));
	return gadget_should_discard_comm(comm);
}

#endif /* __GADGET_FILTER_H */
