/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Container filtering by mount namespace. The runtime fills
 * gadget_mntns_filter_map and sets gadget_filter_by_mntns before load; both
 * names are fixed by the format.
 */
#ifndef __GADGET_MNTNS_FILTER_H
#define __GADGET_MNTNS_FILTER_H

#include <bpf/bpf_helpers.h>

#include <gadget/mntns.h>
#include <gadget/types.h>

const volatile bool gadget_filter_by_mntns = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, gadget_mntns_id);
	__type(value, __u32);
} gadget_mntns_filter_map SEC(".maps");

static __always_inline bool gadget_should_discard_mntns_id(gadget_mntns_id mntns_id)
{
	return gadget_filter_by_mntns && !bpf_map_lookup_elem(&gadget_mntns_filter_map, &mntns_id);
}

#endif /* __GADGET_MNTNS_FILTER_H */
