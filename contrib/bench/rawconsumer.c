// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark's reference consumer: plain libbpf on our trace_open object,
 * no igfs. Loads it with targ_comm set, attaches its tracepoints, drains the
 * ring buffer in 1 ms batches and prints one JSON line per event (to stdout,
 * usually /dev/null). On SIGINT it drains what is left and prints a summary
 * line on stderr: {"events":N,"lost":N}.
 *   rawconsumer OBJECT COMM
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

struct event {
	unsigned long long timestamp_raw;
	char comm[16];
	unsigned int pid, tid;
	unsigned long long mntns_id;
	unsigned int uid, gid;
	char pcomm[16];
	unsigned int ppid;
	unsigned int pad; /* struct gadget_process is 8-byte aligned */
	unsigned int error_raw, fd, flags_raw, mode_raw;
	char fname[255];
};

static volatile sig_atomic_t stop;
static unsigned long long events;
static char out[1 << 20];
static size_t out_len;

static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

static void flush_out(void)
{
	if (out_len && fwrite(out, 1, out_len, stdout) != out_len)
		exit(1);
	out_len = 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct event e = {};

	(void)ctx;
	memcpy(&e, data, size < sizeof(e) ? size : sizeof(e));
	if (out_len > sizeof(out) - 1024)
		flush_out();
	/* A JSON line with the same information igfs prints (without name lookups). */
	out_len += (size_t)snprintf(out + out_len, sizeof(out) - out_len,
				    "{\"timestamp_raw\":%llu,\"proc\":{\"comm\":\"%.16s\",\"pid\":%u,"
				    "\"tid\":%u,\"mntns_id\":%llu,\"creds\":{\"uid\":%u,\"gid\":%u},"
				    "\"parent\":{\"comm\":\"%.16s\",\"pid\":%u}},\"error_raw\":%u,"
				    "\"fd\":%u,\"flags_raw\":%u,\"mode_raw\":%u,\"fname\":\"%.255s\"}\n",
				    e.timestamp_raw, e.comm, e.pid, e.tid, e.mntns_id, e.uid, e.gid,
				    e.pcomm, e.ppid, e.error_raw, e.fd, e.flags_raw, e.mode_raw,
				    e.fname);
	events++;
	return 0;
}

static unsigned long long take_lost(int fd, int ncpus)
{
	unsigned long long *v = calloc((size_t)ncpus, sizeof(*v)), sum = 0;
	unsigned int zero = 0;
	int i;

	if (v && !bpf_map_lookup_elem(fd, &zero, v))
		for (i = 0; i < ncpus; i++)
			sum += v[i];
	free(v);
	return sum;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *rodata;
	struct ring_buffer *rb;
	const struct timespec batch = { 0, 1000000 };
	char comm[16] = {};
	int ncpus = libbpf_num_possible_cpus();
	size_t sz;
	void *ro;

	if (argc < 3) {
		fprintf(stderr, "usage: rawconsumer OBJECT COMM\n");
		return 2;
	}
	strncpy(comm, argv[2], sizeof(comm) - 1);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 1;
	/* targ_comm lives in .rodata: set it before load, as igfs does. */
	rodata = bpf_object__find_map_by_name(obj, ".rodata");
	ro = rodata ? (void *)bpf_map__initial_value(rodata, &sz) : NULL;
	if (ro) {
		const struct btf *btf = bpf_object__btf(obj);
		const struct btf_type *sec;
		int id = btf__find_by_name(btf, ".rodata");
		unsigned int i;

		sec = id > 0 ? btf__type_by_id(btf, (unsigned int)id) : NULL;
		for (i = 0; sec && i < btf_vlen(sec); i++) {
			const struct btf_var_secinfo *vs = btf_var_secinfos(sec) + i;
			const struct btf_type *v = btf__type_by_id(btf, vs->type);

			if (!strcmp(btf__name_by_offset(btf, v->name_off), "targ_comm"))
				memcpy((char *)ro + vs->offset, comm, sizeof(comm));
		}
	}
	if (bpf_object__load(obj))
		return 1;
	bpf_object__for_each_program(prog, obj)
		if (!bpf_program__attach(prog))
			return 1;
	rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), on_event,
			      NULL, NULL);
	if (!rb)
		return 1;
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	fprintf(stderr, "ready\n");
	/* Batched draining: a wake-up per millisecond at most, as igfs's pump. */
	while (!stop) {
		nanosleep(&batch, NULL);
		ring_buffer__consume(rb);
	}
	ring_buffer__consume(rb);
	flush_out();
	fprintf(stderr, "{\"events\":%llu,\"lost\":%llu}\n", events,
		take_lost(bpf_map__fd(bpf_object__find_map_by_name(obj, "events_lost_samples")),
			  ncpus));
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
