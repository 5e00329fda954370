/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tracer buffers. A GADGET_TRACER_MAP is a ring buffer; on kernels without
 * ring buffers the loader turns it into a perf event array before load, and
 * these helpers follow at load time through CO-RE enum relocations (libbpf
 * resolves bpf_core_enum_value_exists against the kernel's BTF and the
 * verifier prunes the dead branch).
 */
#ifndef __GADGET_BUFFER_H
#define __GADGET_BUFFER_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include <gadget/macros.h>

#ifndef GADGET_MAX_EVENT_SIZE
#define GADGET_MAX_EVENT_SIZE 10240
#endif

/*
 * @name_lost_samples counts, per CPU, the events the program could not
 * reserve; the loader reads and zeroes it and reports the sum as lost.
 */
#define GADGET_TRACER_MAP(name, size)                                   \
	struct {                                                        \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                     \
		__uint(max_entries, size);                              \
	} name SEC(".maps");                                            \
	struct {                                                        \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                \
		__uint(max_entries, 1);                                 \
		__uint(key_size, sizeof(__u32));                        \
		__uint(value_size, sizeof(__u64));                      \
	} name##_lost_samples SEC(".maps");                             \
	const void *gadget_map_tracer_##name __GADGET_UNUSED

#ifndef GADGET_NO_BUF_RESERVE
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GADGET_MAX_EVENT_SIZE);
} gadget_heap SEC(".maps");

static __always_inline void __gadget_count_lost(void *lost_map)
{
	__u32 zero = 0;
	__u64 *cnt;

	cnt = bpf_map_lookup_elem(lost_map, &zero);
	if (cnt)
		*cnt += 1; /* per-CPU value: no atomics needed */
}

static __always_inline void *__gadget_reserve_buf(void *map, void *lost_map, __u64 size)
{
	__u32 zero = 0;
	void *buf;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ringbuf_reserve)) {
		buf = bpf_ringbuf_reserve(map, size, 0);
		if (!buf)
			__gadget_count_lost(lost_map);
		return buf;
	}
	if (size > GADGET_MAX_EVENT_SIZE)
		return NULL;
	return bpf_map_lookup_elem(&gadget_heap, &zero);
}

/* Reserve @size bytes in tracer map @map (pass &map); NULL when full. */
#define gadget_reserve_buf(map, size) __gadget_reserve_buf(map, map##_lost_samples, size)

static __always_inline void gadget_discard_buf(void *buf)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ringbuf_discard))
		bpf_ringbuf_discard(buf, 0);
}

static __always_inline void __gadget_submit_buf(void *ctx, void *map, void *lost_map, void *buf,
						__u64 size)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ringbuf_submit))
		bpf_ringbuf_submit(buf, 0);
	else if (bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, buf, size))
		__gadget_count_lost(lost_map); /* the kernel counts only losses that a later sample reports */
}

/* Submit a buffer from gadget_reserve_buf (pass &map). */
#define gadget_submit_buf(ctx, map, buf, size) \
	__gadget_submit_buf(ctx, map, map##_lost_samples, buf, size)
#endif /* GADGET_NO_BUF_RESERVE */

static __always_inline long __gadget_output_buf(void *ctx, void *map, void *lost_map, void *buf,
						__u64 size)
{
	long ret;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ringbuf_output))
		ret = bpf_ringbuf_output(map, buf, size, 0);
	else
		ret = bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, buf, size);
	if (ret) {
		__u32 zero = 0;
		__u64 *cnt = bpf_map_lookup_elem(lost_map, &zero);

		if (cnt)
			*cnt += 1;
	}
	return 0;
}

/* Copy @size bytes at @buf into tracer map @map (pass &map). */
#define gadget_output_buf(ctx, map, buf, size) \
	__gadget_output_buf(ctx, map, map##_lost_samples, buf, size)

#endif /* __GADGET_BUFFER_H */
