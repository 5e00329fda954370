// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Gadget lifecycle: open (metadata, discovery, program table, kernel support),
 * start (bpf_object__open_mem, params into .rodata, map fix-ups, load, attach
 * each program by its section prefix) and stop. Does not rely on libbpf's
 * section guessing or auto-attach for IG images (GADGET-FORMAT §5).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "elfcheck.h"
#include "gadget.h"

#define IGFS_LOG_CAP	  (1u << 20)
#define DISABLED_TARGET	  "gadget_program_disabled"

/*
 * libbpf reports through one process-wide callback; a start captures what it
 * says for the gadget's `log` through this thread's pointer.
 */
static __thread struct igfs_buf *log_capture;

__attribute__((format(printf, 2, 0))) static int loader_print(enum libbpf_print_level level,
							       const char *fmt, va_list ap)
{
	struct igfs_buf *b = log_capture;
	va_list aq;

	if (b && (level != LIBBPF_DEBUG || igfs_log_get_level() >= IGFS_LOG_DEBUG)) {
		char *line = NULL;
		int n;

		/* libbpf prints a whole verifier log in one call: no fixed-size buffer. */
		va_copy(aq, ap);
		n = vasprintf(&line, fmt, aq);
		va_end(aq);
		if (n > 0) {
			igfs_buf_append(b, line, (size_t)n);
			/* Keep the tail: the verifier's last lines say why. */
			if (b->len > IGFS_LOG_CAP) {
				size_t cut = b->len - IGFS_LOG_CAP / 2;

				memmove(b->data, b->data + cut, b->len - cut);
				b->len -= cut;
				b->data[b->len] = '\0';
			}
		}
		free(line);
	}
	igfs_vlog(IGFS_LOG_DEBUG, fmt, ap);
	return 0;
}

void igfs_loader__init(void)
{
	libbpf_set_print(loader_print);
}

static void log_line(struct igfs_buf *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_line(struct igfs_buf *log, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	igfs_buf_printf(log, "igfs: %s\n", line);
}

/* The last line libbpf printed into @log, for a one-sentence diagnostic. */
static const char *log_last_line(const struct igfs_buf *log, char *out, size_t n)
{
	const char *end, *start;

	out[0] = '\0';
	if (!log || !log->len)
		return out;
	end = log->data + log->len;
	while (end > log->data && end[-1] == '\n')
		end--;
	start = end;
	while (start > log->data && start[-1] != '\n')
		start--;
	snprintf(out, n, "%.*s", (int)(end - start), start);
	return out;
}

/* The program libbpf says failed to load ("prog 'x': failed to load"), if any. */
static bool log_failed_prog(const struct igfs_buf *log, char *out, size_t n)
{
	const char *p, *q;

	if (!log || !log->data)
		return false;
	for (p = log->data; (p = strstr(p, "prog '")); p++) {
		q = strchr(p + 6, '\'');
		if (q && !strncmp(q, "': failed to load", 17)) {
			snprintf(out, n, "%.*s", (int)(q - p - 6), p + 6);
			return true;
		}
	}
	return false;
}

static struct bpf_object *gadget_open_obj(const struct igfs_gadget *g, const char *pin_root,
					  const char *btf_path, struct igfs_buf *log,
					  struct igfs_diag *diag)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = g->image->name,
		    .pin_root_path = pin_root, .btf_custom_path = btf_path);
	struct igfs_buf *saved = log_capture;
	struct bpf_object *obj;
	char last[512], why[128];
	int err;

	log_capture = log;
	obj = bpf_object__open_mem(g->image->elf.data, g->image->elf.len, &opts);
	err = obj ? 0 : -errno;
	log_capture = saved;
	if (!obj) {
		/* libbpf's own codes (LIBBPF_ERRNO__*) are no errnos: a malformed object. */
		libbpf_strerror(err, why, sizeof(why));
		if (-err >= __LIBBPF_ERRNO__START || !err)
			err = -EINVAL;
		/* libbpf's lines already start with "libbpf: ". */
		igfs_diag_set(diag, "the eBPF object cannot be opened: %s%s%s", why,
			      log && log->len ? "; " : "", log_last_line(log, last, sizeof(last)));
		errno = -err;
	}
	return obj;
}

/*
 * The object's BTF within IGFS_MAX_BTF_SIZE, the kernel's own limit
 * (BTF_MAX_SIZE): a bigger one could never load, so say so at mount.
 */
static int gadget_check_btf(struct bpf_object *obj, struct igfs_diag *diag)
{
	const struct btf *btf = bpf_object__btf(obj);
	__u32 size = 0;

	if (!btf)
		return 0; /* igfs_ds__discover says what that means */
	btf__raw_data(btf, &size);
	if (size > IGFS_MAX_BTF_SIZE) {
		igfs_diag_set(diag, "the eBPF object's BTF is %u bytes, over the %u the kernel accepts",
			      size, IGFS_MAX_BTF_SIZE);
		return -E2BIG;
	}
	return 0;
}

static void prog_free(struct igfs_prog *p)
{
	free(p->name);
	free(p->section);
	free(p->target);
	free(p->unsupported);
}

void igfs_gadget__free(struct igfs_gadget *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n_progs; i++)
		prog_free(&g->progs[i]);
	free(g->progs);
	igfs_dsinfo__free(g->info);
	igfs_meta__free(g->meta);
	igfs_image__free(g->image);
	free(g);
}

/* programs.<name> from the metadata: by program name, else by section suffix. */
static const struct igfs_meta_prog *gadget_meta_prog(const struct igfs_meta *meta,
						     const char *name, const char *target)
{
	const struct igfs_meta_prog *mp = igfs_meta__prog(meta, name);

	if (!mp && target && *target)
		mp = igfs_meta__prog(meta, target);
	return mp;
}

static int gadget_table(struct igfs_gadget *g, struct bpf_object *obj)
{
	struct bpf_program *prog;
	size_t n = 0;

	bpf_object__for_each_program(prog, obj)
		n++;
	g->progs = calloc(n ? n : 1, sizeof(*g->progs));
	if (!g->progs)
		return -ENOMEM;
	bpf_object__for_each_program(prog, obj) {
		struct igfs_prog *p = &g->progs[g->n_progs++];
		const struct igfs_meta_prog *mp;
		const char *target;
		struct igfs_diag d;

		p->name = strdup(bpf_program__name(prog));
		p->section = strdup(bpf_program__section_name(prog));
		if (!p->name || !p->section)
			return -ENOMEM;
		p->kind = igfs_probe__classify(p->section, &target);
		mp = gadget_meta_prog(g->meta, p->name, target);
		if (mp && mp->attach_to && *mp->attach_to)
			target = mp->attach_to;
		p->target = strdup(target);
		if (!p->target)
			return -ENOMEM;
		p->disabled = !strcmp(p->target, DISABLED_TARGET);
		if (p->disabled)
			continue;
		p->support = igfs_probe__attach(p->kind, &d);
		if (p->support) {
			if (asprintf(&p->unsupported, "program '%s' (%s) cannot be attached: %s",
				     p->name, p->section, d.msg) < 0) {
				p->unsupported = NULL;
				return -ENOMEM;
			}
		}
	}
	return 0;
}

int igfs_gadget__open(struct igfs_image *img, const struct btf *kernel_btf,
		      struct igfs_gadget **ret, struct igfs_diag *diag)
{
	struct igfs_buf log = {};
	struct bpf_object *obj = NULL;
	struct igfs_gadget *g;
	int err;

	g = calloc(1, sizeof(*g));
	if (!g) {
		igfs_image__free(img);
		return -ENOMEM;
	}
	g->image = img;
	err = igfs_meta__parse(img->yaml.data, img->yaml.len, &g->meta, diag);
	if (err)
		goto err_out;
	if (!img->elf.len) {
		igfs_diag_set(diag, "the image has no eBPF program (WASM-only gadgets are not supported)");
		err = -EOPNOTSUPP;
		goto err_out;
	}
	/* Once per image: start opens the same bytes again. */
	err = igfs_elf__check(img->elf.data, img->elf.len, diag);
	if (err)
		goto err_out;
	obj = gadget_open_obj(g, NULL, NULL, &log, diag);
	if (!obj) {
		err = -errno;
		goto err_out;
	}
	err = gadget_check_btf(obj, diag);
	if (err)
		goto err_out;
	err = igfs_ds__discover(obj, g->meta, kernel_btf, &g->info, diag);
	if (err)
		goto err_out;
	err = gadget_table(g, obj);
	if (err) {
		igfs_diag_set(diag, "out of memory");
		goto err_out;
	}
	bpf_object__close(obj);
	igfs_buf_free(&log);
	*ret = g;
	return 0;
err_out:
	bpf_object__close(obj);
	igfs_buf_free(&log);
	igfs_gadget__free(g);
	return err;
}

size_t igfs_gadget__unsupported(const struct igfs_gadget *g)
{
	size_t i, n = 0;

	for (i = 0; i < g->n_progs; i++)
		n += g->progs[i].support != 0;
	return n;
}

static const struct igfs_prog *gadget_prog(const struct igfs_gadget *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->n_progs; i++)
		if (!strcmp(g->progs[i].name, name))
			return &g->progs[i];
	return NULL;
}

/* Write @size bytes at @off of data section @sec before load. */
static int gadget_set_data(struct bpf_object *obj, const char *sec, size_t off, const void *val,
			   size_t size)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, sec);
	const void *cur;
	size_t len;
	void *copy;
	int err;

	if (!map)
		return -ENOENT;
	cur = bpf_map__initial_value(map, &len);
	if (!cur || off + size > len)
		return -EINVAL;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, cur, len);
	memcpy((char *)copy + off, val, size);
	err = bpf_map__set_initial_value(map, copy, len);
	free(copy);
	return err;
}

/* Read a `<map>_max_entries` style integer from a data section. */
static int gadget_get_u32_var(struct bpf_object *obj, const char *var, __u32 *ret)
{
	const struct btf *btf = bpf_object__btf(obj);
	__u32 i, j, n;

	if (!btf)
		return -ENOENT;
	n = btf__type_cnt(btf);
	for (i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		const struct btf_var_secinfo *vs;
		struct bpf_map *map;
		const void *data;
		size_t len;

		if (!btf_is_datasec(t))
			continue;
		vs = btf_var_secinfos(t);
		for (j = 0; j < btf_vlen(t); j++, vs++) {
			const struct btf_type *v = btf__type_by_id(btf, vs->type);
			__u64 val = 0;

			if (!v || !btf_is_var(v) || strcmp(btf__name_by_offset(btf, v->name_off), var))
				continue;
			map = bpf_object__find_map_by_name(obj, btf__name_by_offset(btf, t->name_off));
			data = map ? bpf_map__initial_value(map, &len) : NULL;
			if (!data || vs->size > 8 || vs->offset + vs->size > len)
				return -EINVAL;
			memcpy(&val, (const char *)data + vs->offset, vs->size);
			if (!val || val > UINT32_MAX)
				return -ERANGE;
			*ret = (__u32)val;
			return 0;
		}
	}
	return -ENOENT;
}

static int gadget_fix_maps(const struct igfs_gadget *g, struct bpf_object *obj, bool perf_mode,
			   __u32 *ring_sizes, struct igfs_buf *log, struct igfs_diag *diag)
{
	struct bpf_map *map;
	size_t i;
	int err;

	if (perf_mode) {
		for (i = 0; i < g->info->n_ds; i++) {
			const struct igfs_ds *ds = &g->info->ds[i];

			if (ds->kind != IGFS_DS_TRACER)
				continue;
			map = bpf_object__find_map_by_name(obj, ds->map);
			if (!map || bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
				continue;
			ring_sizes[i] = bpf_map__max_entries(map);
			if (!ds->tracer_map) {
				igfs_diag_set(diag, "tracer '%s': map '%s' is a ring buffer not declared with GADGET_TRACER_MAP, so it cannot fall back to a perf buffer",
					      ds->name, ds->map);
				return -EOPNOTSUPP;
			}
			/* Perf event arrays: one slot per CPU, libbpf sizes 0 to nr_cpus. */
			if (bpf_map__set_type(map, BPF_MAP_TYPE_PERF_EVENT_ARRAY) ||
			    bpf_map__set_key_size(map, 4) || bpf_map__set_value_size(map, 4) ||
			    bpf_map__set_max_entries(map, 0)) {
				igfs_diag_set(diag, "tracer '%s': cannot turn map '%s' into a perf event array",
					      ds->name, ds->map);
				return -EIO;
			}
			log_line(log, "map '%s': perf event array instead of ring buffer", ds->map);
		}
	}
	bpf_object__for_each_map(map, obj) {
		char var[256];
		__u32 n;

		if (bpf_map__is_internal(map) || bpf_map__max_entries(map))
			continue;
		if (bpf_map__type(map) == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			continue;
		snprintf(var, sizeof(var), "%s_max_entries", bpf_map__name(map));
		err = gadget_get_u32_var(obj, var, &n);
		if (err) {
			igfs_diag_set(diag, "map '%s' has max_entries 0 and no usable '%s' variable",
				      bpf_map__name(map), var);
			return -EINVAL;
		}
		bpf_map__set_max_entries(map, n);
		log_line(log, "map '%s': max_entries %u from '%s'", bpf_map__name(map), n, var);
	}
	return 0;
}

static int gadget_set_params(const struct igfs_gadget *g, struct bpf_object *obj,
			     const struct igfs_start_opts *opts, struct igfs_diag *diag)
{
	const struct igfs_dsinfo *info = g->info;
	size_t i;
	int err;

	for (i = 0; i < info->n_params; i++) {
		const struct igfs_param *p = &info->params[i];

		if (!opts->params || !opts->params[i])
			continue;
		err = gadget_set_data(obj, p->section, p->off, opts->params[i], p->size);
		if (err) {
			igfs_diag_set(diag, "param '%s': cannot set it in '%s': %s", p->key,
				      p->section, strerror(-err));
			return err;
		}
	}
	for (i = 0; i < info->n_vars; i++) {
		const struct igfs_var *v = &info->vars[i];
		unsigned char one = 1;

		if (strcmp(v->name, "gadget_filter_by_mntns") || !opts->filter_mntns)
			continue;
		err = gadget_set_data(obj, v->section, v->off, &one, 1);
		if (err) {
			igfs_diag_set(diag, "cannot turn the mount namespace filter on: %s",
				      strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Online CPUs from sysfs, as a bitmap in @cpus (up to 1024). */
static int online_cpus(bool *cpus, int max)
{
	char buf[4096];
	int fd, n = 0;
	ssize_t len;
	char *p, *end;

	fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -EIO;
	buf[len] = '\0';
	p = buf;
	while (*p && *p != '\n') {
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			return -EINVAL;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			p = end;
		}
		for (; a <= b && a < max; a++, n++)
			cpus[a] = true;
		if (*p == ',')
			p++;
	}
	return n;
}

static unsigned long long setting_ull(const struct igfs_meta_prog *mp, const char *key,
				      unsigned long long def)
{
	const char *v = mp ? igfs_kvlist_get(&mp->settings, key) : NULL;
	char *end;
	unsigned long long n;

	if (!v)
		return def;
	n = strtoull(v, &end, 0);
	return *end ? def : n;
}

static int run_add_link(struct igfs_run *run, struct bpf_program *prog, struct bpf_link *link)
{
	struct bpf_program **p;
	struct bpf_link **v;

	v = igfs_reallocarray(run->links, run->n_links + 1, sizeof(*v));
	if (v)
		run->links = v;
	p = igfs_reallocarray(run->link_progs, run->n_links + 1, sizeof(*p));
	if (p)
		run->link_progs = p;
	if (!v || !p) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	run->links[run->n_links] = link;
	run->link_progs[run->n_links] = prog;
	run->n_links++;
	return 0;
}

struct bpf_link *igfs_run__link(const struct igfs_run *run, const char *prog_name)
{
	size_t i;

	for (i = 0; i < run->n_links; i++)
		if (!strcmp(bpf_program__name(run->link_progs[i]), prog_name))
			return run->links[i];
	return NULL;
}

/* One software perf event per online CPU, each running @prog (IG's perf_event/ handling). */
static int attach_perf_event(struct igfs_run *run, struct bpf_program *prog,
			     const struct igfs_prog *p, struct igfs_diag *diag)
{
	const struct igfs_meta_prog *mp = gadget_meta_prog(run->g->meta, p->name, p->target);
	const char *type = mp ? igfs_kvlist_get(&mp->settings, "perf.type") : NULL;
	const char *config = mp ? igfs_kvlist_get(&mp->settings, "perf.config") : NULL;
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_type = PERF_SAMPLE_RAW,
	};
	const int max_cpus = 4096;
	unsigned long long freq;
	int i, n, err = 0;
	bool *cpus;

	if (type && strcmp(type, "software"))
		attr.type = (__u32)setting_ull(mp, "perf.type", PERF_TYPE_SOFTWARE);
	if (config && strcmp(config, "count_sw_cpu_clock"))
		attr.config = setting_ull(mp, "perf.config", PERF_COUNT_SW_CPU_CLOCK);
	freq = setting_ull(mp, "sampler.frequency", 0);
	if (!freq)
		freq = setting_ull(mp, "perf.frequency", 49);
	attr.freq = 1;
	attr.sample_freq = freq;

	cpus = calloc(max_cpus, sizeof(*cpus));
	if (!cpus)
		return -ENOMEM;
	n = online_cpus(cpus, max_cpus);
	if (n <= 0) {
		igfs_diag_set(diag, "program '%s': cannot read the online CPUs", p->name);
		err = n ? n : -EIO;
		goto out;
	}
	for (i = 0; i < max_cpus; i++) {
		struct bpf_link *link;
		int pfd;

		if (!cpus[i])
			continue;
		pfd = (int)syscall(__NR_perf_event_open, &attr, -1, i, -1, PERF_FLAG_FD_CLOEXEC);
		if (pfd < 0) {
			err = -errno;
			if (err == -ENODEV)
				continue; /* went offline meanwhile */
			igfs_diag_set(diag, "program '%s': perf_event_open on CPU %d failed: %s",
				      p->name, i, strerror(-err));
			goto out;
		}
		link = bpf_program__attach_perf_event(prog, pfd);
		if (!link) {
			err = -errno;
			close(pfd);
			igfs_diag_set(diag, "program '%s': attaching to the perf event of CPU %d failed: %s",
				      p->name, i, strerror(-err));
			goto out;
		}
		err = run_add_link(run, prog, link); /* the link owns pfd now */
		if (err)
			goto out;
	}
out:
	free(cpus);
	return err;
}

/*
 * igfs_gadget__start's errno for a failed attach (its contract, SPEC §4):
 * privileges and missing kernel support keep their meaning; anything else,
 * like a tracepoint this kernel does not have (ENOENT), is an "other load
 * failure" whose reason travels in the diag.
 */
static int attach_errno(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
	case -EOPNOTSUPP:
	case -ENOMEM:
		return err;
	case -524: /* the kernel's internal ENOTSUPP */
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static int attach_one(struct igfs_run *run, struct bpf_program *prog, const struct igfs_prog *p,
		      struct igfs_diag *diag)
{
	struct bpf_link *link = NULL;
	char *cat = NULL, *slash;
	int err;

	switch (p->kind) {
	case IGFS_ATTACH_TRACEPOINT:
		cat = strdup(p->target);
		if (!cat)
			return -ENOMEM;
		slash = strchr(cat, '/');
		if (!slash) {
			free(cat);
			igfs_diag_set(diag, "program '%s': tracepoint target '%s' is not <category>/<name>",
				      p->name, p->target);
			return -EINVAL;
		}
		*slash = '\0';
		link = bpf_program__attach_tracepoint(prog, cat, slash + 1);
		free(cat);
		break;
	case IGFS_ATTACH_RAW_TP:
		link = bpf_program__attach_raw_tracepoint(prog, p->target);
		break;
	case IGFS_ATTACH_TP_BTF:
	case IGFS_ATTACH_FENTRY:
		link = bpf_program__attach_trace(prog);
		break;
	case IGFS_ATTACH_LSM:
		link = bpf_program__attach_lsm(prog);
		break;
	case IGFS_ATTACH_KPROBE:
		if (!strncmp(p->section, "kprobe/", 7) || !strncmp(p->section, "kretprobe/", 10))
			link = bpf_program__attach_kprobe(prog, p->section[1] == 'r', p->target);
		else
			link = bpf_program__attach(prog);
		break;
	case IGFS_ATTACH_UPROBE:
		link = bpf_program__attach(prog);
		if (!link && errno == EOPNOTSUPP) {
			igfs_diag_set(diag, "program '%s': section '%s' names no binary; igfs attaches only uprobes of the form uprobe/<path>:<function>",
				      p->name, p->section);
			return -EOPNOTSUPP;
		}
		break;
	case IGFS_ATTACH_ITER: {
		const char *mapname = igfs_kvlist_get(&run->g->info->iter_targets, p->name);
		DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts);
		union bpf_iter_link_info linfo = {};

		if (mapname) {
			struct bpf_map *map = bpf_object__find_map_by_name(run->obj, mapname);

			linfo.map.map_fd = map ? bpf_map__fd(map) : -1;
			opts.link_info = &linfo;
			opts.link_info_len = sizeof(linfo);
		}
		link = bpf_program__attach_iter(prog, &opts);
		break;
	}
	case IGFS_ATTACH_PERF_EVENT:
		return attach_perf_event(run, prog, p, diag);
	case IGFS_ATTACH_NETWORK:
	case IGFS_ATTACH_UNKNOWN:
	case IGFS_ATTACH_NR:
		igfs_diag_set(diag, "program '%s': igfs cannot attach section '%s'", p->name,
			      p->section);
		return -EOPNOTSUPP;
	}
	if (!link) {
		err = -errno;
		if (!err)
			err = -EINVAL;
		igfs_diag_set(diag, "program '%s' (%s): attach failed: %s", p->name, p->section,
			      strerror(-err));
		return err;
	}
	return run_add_link(run, prog, link);
}

struct unlink_job {
	struct bpf_link **links;
	size_t first, n, step;
};

static void *unlink_some(void *arg)
{
	struct unlink_job *j = arg;
	size_t i;

	for (i = j->first; i < j->n; i += j->step)
		bpf_link__destroy(j->links[i]);
	return NULL;
}

/*
 * Detaching a tracepoint waits for RCU grace periods (~70 ms each here):
 * detach in parallel so that a stop costs about one, not one per program.
 */
static void destroy_links(struct bpf_link **links, size_t n)
{
	struct unlink_job jobs[8];
	pthread_t t[8];
	bool ok[8] = {};
	size_t k, nt = IGFS_MIN(n, IGFS_ARRAY_SIZE(t));

	for (k = 1; k < nt; k++) {
		jobs[k] = (struct unlink_job){ links, k, n, nt };
		ok[k] = !pthread_create(&t[k], NULL, unlink_some, &jobs[k]);
	}
	/* This thread takes slot 0 and every slot whose thread did not start. */
	for (k = 0; k < nt; k++) {
		if (k && ok[k])
			continue;
		jobs[k] = (struct unlink_job){ links, k, n, nt };
		unlink_some(&jobs[k]);
	}
	for (k = 1; k < nt; k++)
		if (ok[k])
			pthread_join(t[k], NULL);
}

void igfs_run__free(struct igfs_run *run)
{
	if (!run)
		return;
	destroy_links(run->links, run->n_links);
	free(run->links);
	free(run->link_progs);
	free(run->ring_sizes);
	bpf_object__close(run->obj);
	free(run);
}

struct bpf_map *igfs_run__map(const struct igfs_run *run, const char *name)
{
	return bpf_object__find_map_by_name(run->obj, name);
}

int igfs_run__set_mntns(struct igfs_run *run, const __u64 *ids, size_t n)
{
	struct bpf_map *map = igfs_run__map(run, "gadget_mntns_filter_map");
	__u64 key, next;
	__u32 one = 1;
	size_t i;
	int fd, err;

	if (!map)
		return -ENOENT;
	fd = bpf_map__fd(map);
	/* Delete what is not wanted any more, then add: no window with an empty map. */
	err = bpf_map_get_next_key(fd, NULL, &key);
	while (!err) {
		bool keep = false;

		err = bpf_map_get_next_key(fd, &key, &next);
		for (i = 0; i < n; i++)
			keep |= ids[i] == key;
		if (!keep)
			bpf_map_delete_elem(fd, &key);
		key = next;
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, &ids[i], &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

static long local_tz_offset(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!localtime_r(&now, &tm))
		return 0;
	return tm.tm_gmtoff;
}

int igfs_gadget__start(const struct igfs_gadget *g, const struct igfs_start_opts *opts,
		       struct igfs_run **ret, struct igfs_diag *diag)
{
	struct igfs_buf *saved = log_capture;
	struct bpf_program *prog;
	char last[512], btf_path[64] = "";
	struct igfs_run *run;
	size_t i, n;
	int err;

	for (i = 0; i < g->n_progs; i++) {
		if (g->progs[i].support) {
			log_line(opts->log, "%s", g->progs[i].unsupported);
			igfs_diag_set(diag, "%s", g->progs[i].unsupported);
			return g->progs[i].support;
		}
	}
	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->g = g;
	run->perf_mode = opts->force_perf || !igfs_probe__ringbuf();
	if (opts->force_perf && igfs_probe__ringbuf()) {
		/* Make CO-RE see a kernel without ring buffers (see probe.h). */
		err = igfs_probe__noringbuf_btf(btf_path, sizeof(btf_path));
		if (err) {
			igfs_diag_set(diag, "cannot prepare BTF for the perf buffer path: %s",
				      strerror(-err));
			goto err_out;
		}
		log_line(opts->log, "perf buffers forced: CO-RE against BTF without ring buffer helpers");
	}

	run->obj = gadget_open_obj(g, opts->pin_root, btf_path[0] ? btf_path : NULL, opts->log,
				   diag);
	if (!run->obj) {
		err = -errno;
		goto err_out;
	}
	log_capture = opts->log;

	bpf_object__for_each_program(prog, run->obj) {
		const struct igfs_prog *p = gadget_prog(g, bpf_program__name(prog));

		if (!p)
			continue;
		if (p->kind == IGFS_ATTACH_PERF_EVENT)
			bpf_program__set_type(prog, BPF_PROG_TYPE_PERF_EVENT);
		if ((p->kind == IGFS_ATTACH_FENTRY || p->kind == IGFS_ATTACH_TP_BTF ||
		     p->kind == IGFS_ATTACH_LSM) && !p->disabled &&
		    strcmp(p->target, strchr(p->section, '/') ? strchr(p->section, '/') + 1 : "")) {
			err = bpf_program__set_attach_target(prog, 0, p->target);
			if (err) {
				igfs_diag_set(diag, "program '%s': cannot retarget it to '%s': %s",
					      p->name, p->target, strerror(-err));
				goto err_out;
			}
		}
	}
	run->ring_sizes = calloc(g->info->n_ds + 1, sizeof(*run->ring_sizes));
	if (!run->ring_sizes) {
		err = -ENOMEM;
		goto err_out;
	}
	err = gadget_fix_maps(g, run->obj, run->perf_mode, run->ring_sizes, opts->log, diag);
	if (err)
		goto err_out;
	err = gadget_set_params(g, run->obj, opts, diag);
	if (err)
		goto err_out;

	err = bpf_object__load(run->obj);
	if (err) {
		char pname[128];

		err = -errno;
		log_last_line(opts->log, last, sizeof(last));
		if (err == -EPERM && geteuid() != 0) {
			igfs_diag_set(diag, "loading the eBPF programs needs root (or CAP_BPF and CAP_PERFMON)");
		} else if (opts->log && opts->log->data &&
			   strstr(opts->log->data, "couldn't reuse pinned map")) {
			igfs_diag_set(diag, "a pinned map under %s does not match this gadget's definition (another gadget of this mount pins a different map of the same name); see log",
				      opts->pin_root ? opts->pin_root : "bpffs");
			err = -EIO;
		} else if ((err == -EACCES || err == -EINVAL) &&
			   log_failed_prog(opts->log, pname, sizeof(pname))) {
			/* The verifier says EACCES (or EINVAL) and libbpf names the program. */
			igfs_diag_set(diag, "the kernel's verifier refused program '%s' (%s); its log is in the gadget's log file",
				      pname, strerror(-err));
			err = -EIO;
		} else {
			igfs_diag_set(diag, "loading the eBPF programs failed: %s%s%s (see log)",
				      strerror(-err), *last ? "; " : "", last);
			err = err == -EPERM ? -EPERM : -EIO;
		}
		log_line(opts->log, "load failed: %s", diag ? diag->msg : strerror(-err));
		goto err_out;
	}
	run->boot_to_real_ns = igfs_boot_to_realtime_offset();
	run->tz_offset_s = local_tz_offset();

	if (opts->filter_mntns) {
		err = igfs_run__set_mntns(run, opts->mntns, opts->n_mntns);
		if (err) {
			igfs_diag_set(diag, "cannot fill the mount namespace filter: %s",
				      strerror(-err));
			goto err_out;
		}
	}

	bpf_object__for_each_program(prog, run->obj) {
		const struct igfs_prog *p = gadget_prog(g, bpf_program__name(prog));

		if (!p || p->disabled)
			continue;
		err = attach_one(run, prog, p, diag);
		if (err) {
			log_line(opts->log, "%s", diag ? diag->msg : "attach failed");
			err = attach_errno(err);
			goto err_out;
		}
	}
	for (i = 0, n = 0; i < g->n_progs; i++)
		n += !g->progs[i].disabled;
	log_line(opts->log, "started: %zu of %zu programs attached (%zu links)", n, g->n_progs,
		 run->n_links);
	log_capture = saved;
	*ret = run;
	return 0;
err_out:
	log_capture = saved;
	igfs_run__free(run);
	return err;
}
