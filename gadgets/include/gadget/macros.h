/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Data-source and parameter markers, encoded as Inspektor Gadget encodes them:
 * uninitialised global `const void *` variables whose names carry the
 * declaration, split on three underscores. The loader finds them as BTF VARs;
 * the pointers themselves are never used at run time.
 */
#ifndef __GADGET_MACROS_H
#define __GADGET_MACROS_H

#define __GADGET_UNUSED __attribute__((unused))

/* Events of struct @event_type from the ring/perf buffer map @map_name. */
#define GADGET_TRACER(name, map_name, event_type)                                          \
	const void *gadget_tracer_##name##___##map_name##___##event_type __GADGET_UNUSED; \
	const struct event_type *__gadget_tracer_type_##name __GADGET_UNUSED

/* Key/value records of the BPF hash map @map_name, drained every interval. */
#define GADGET_MAPITER(name, map_name) \
	const void *gadget_mapiter_##name##___##map_name __GADGET_UNUSED

/* The `const volatile` global @name is a user parameter. */
#define GADGET_PARAM(name) const void *gadget_param_##name __GADGET_UNUSED

/* Up to three iter/ programs writing struct @type records with bpf_seq_write. */
#define __GADGET_ITER_1(p1)		___##p1
#define __GADGET_ITER_2(p1, p2)		___##p1##___##p2
#define __GADGET_ITER_3(p1, p2, p3)	___##p1##___##p2##___##p3
#define __GADGET_ITER_N(_1, _2, _3, N, ...) N
#define __GADGET_ITER_PROGS(...) \
	__GADGET_ITER_N(__VA_ARGS__, __GADGET_ITER_3, __GADGET_ITER_2, __GADGET_ITER_1)(__VA_ARGS__)
#define __GADGET_CAT3(a, b, c)	__GADGET_CAT3_(a, b, c)
#define __GADGET_CAT3_(a, b, c) a##b##c

#define GADGET_ITER(name, type, ...)                                                   \
	const struct type *unusedevent_##name##___##type __GADGET_UNUSED;             \
	const void *__GADGET_CAT3(gadget_iter_##name##___, type,                      \
				  __GADGET_ITER_PROGS(__VA_ARGS__)) __GADGET_UNUSED

/* Deprecated upstream; kept so that older gadget sources build unchanged. */
#define GADGET_SNAPSHOTTER(name, type, ...) GADGET_ITER(name, type, __VA_ARGS__)

/* The iter/bpf_map_elem program @prog iterates over @map_name. */
#define GADGET_ITER_TARGET_MAP(prog, map_name) \
	const void *gadget_mapelem_iter_target_##prog##___##map_name __GADGET_UNUSED

#endif /* __GADGET_MACROS_H */
