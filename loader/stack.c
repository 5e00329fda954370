// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Stack symbolisation as IG renders it: kernel frames by the nearest
 * /proc/kallsyms entry, user frames through /proc/<pid>/maps and the ELF
 * symbol tables of the mapped files (bounded LRU cache). No FUSE, no JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gadget.h"
#include "stack.h"

#define KSYMS_MAX_LINE	   1024 /* KSYM_NAME_LEN 512 + module name + address */
#define UMAPS_MAX_LINE	   (4096 + 256)
#define STACK_MAX_VALUE	   (4096 * sizeof(__u64)) /* map values read per lookup */
#define USTACK_LAYOUT_SIZE 40

/* struct gadget_user_stack of gadgets/include/gadget/types.h (IG v0.4x). */
struct stack_ustack {
	__u64 exe_inode;
	__u64 mtime_sec;
	__u32 mtime_nsec;
	__u32 stack_id;
	__u32 pid_level0;
	__u32 pidns_level0;
	__u32 pid_level1;
	__u32 pidns_level1;
};
_Static_assert(sizeof(struct stack_ustack) == USTACK_LAYOUT_SIZE, "gadget_user_stack layout");

/* ------------------------------------------------------------------ */
/* kallsyms                                                             */

struct ksym {
	__u64 addr;
	__u32 name; /* offset in names */
	__u32 seq;  /* file order, to break ties as IG's search over the file does */
};

struct igfs_ksyms {
	struct ksym *v;
	size_t n, cap;
	struct igfs_buf names;
};

/* Text symbols: IG keeps every type, but only these can contain an IP. */
static bool ksyms_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

/* One "addr type name [\t[module]]" line; 1 kept, 0 skipped, -errno. */
static int ksyms_parse_line(struct igfs_ksyms *k, char *line)
{
	char *p = line, *end, *name;
	unsigned long long addr;
	size_t len;
	char type;

	if (!isxdigit((unsigned char)*p))
		return 0;
	errno = 0;
	addr = strtoull(p, &end, 16);
	if (errno || end - p > 16 || *end != ' ')
		return 0;
	type = end[1];
	if (!type || end[2] != ' ')
		return 0;
	name = end + 3;
	len = strcspn(name, " \t\r\n");
	if (!len)
		return 0;
	/* Zero addresses: kptr_restrict hides them; they name nothing. */
	if (!addr || !ksyms_text_type(type))
		return 0;
	if (k->n >= IGFS_KSYMS_MAX || k->names.len + len + 1 > IGFS_KSYMS_MAX_NAMES)
		return -E2BIG;
	if (k->n == k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 4096;
		void *v = igfs_reallocarray(k->v, ncap, sizeof(*k->v));

		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = ncap;
	}
	k->v[k->n].addr = addr;
	k->v[k->n].name = (__u32)k->names.len;
	k->v[k->n].seq = (__u32)k->n;
	name[len] = '\0';
	if (igfs_buf_append(&k->names, name, len + 1))
		return -ENOMEM;
	k->n++;
	return 1;
}

static int ksyms_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int igfs_ksyms__load(const char *path, struct igfs_ksyms **ret)
{
	char line[KSYMS_MAX_LINE + 2];
	struct igfs_ksyms *k;
	bool skipping = false;
	int err = 0;
	FILE *f;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		bool whole = len && line[len - 1] == '\n';

		if (skipping || (!whole && len > KSYMS_MAX_LINE)) {
			/* The rest of an over-long line: skip up to its newline. */
			skipping = !whole;
			continue;
		}
		err = ksyms_parse_line(k, line);
		if (err < 0)
			break;
		err = 0;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err)
		goto out;
	if (k->n)
		qsort(k->v, k->n, sizeof(*k->v), ksyms_cmp);
	*ret = k;
	k = NULL;
out:
	igfs_ksyms__free(k);
	return err;
}

void igfs_ksyms__free(struct igfs_ksyms *k)
{
	if (!k)
		return;
	free(k->v);
	igfs_buf_free(&k->names);
	free(k);
}

size_t igfs_ksyms__count(const struct igfs_ksyms *k)
{
	return k ? k->n : 0;
}

const char *igfs_ksyms__find(const struct igfs_ksyms *k, __u64 addr)
{
	size_t lo = 0, hi;

	if (!k)
		return NULL;
	hi = k->n;
	/* First entry above @addr; the one before it is the last at or below. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? k->names.data + k->v[lo - 1].name : NULL;
}

int igfs_ksyms__format(const struct igfs_ksyms *k, const __u64 *ips, size_t n, struct igfs_buf *out)
{
	size_t i;
	int err;

	for (i = 0; i < n && ips[i]; i++) {
		const char *name = igfs_ksyms__find(k, ips[i]);

		err = igfs_buf_printf(out, "[%zu]%s; ", i, name ? name : "[unknown]");
		if (err)
			return err;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* ELF symbol tables of mapped files                                    */

struct usym {
	__u64 value;
	__u64 size;
	__u32 name; /* offset in names */
	__u8 rank;  /* binding preference among aliases: global, weak, local */
	__u8 underscores;
};

struct useg {
	__u64 off, vaddr, filesz;
};

/* One file's FUNC symbols, keyed by what identifies its contents. */
struct ufile {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct usym *v;
	size_t n;
	struct useg *segs;
	size_t n_segs;
	struct igfs_buf names;
	size_t bytes; /* memory charged to the cache */
	__u64 used;   /* LRU stamp */
};

static void ufile_free(struct ufile *f)
{
	if (!f)
		return;
	free(f->v);
	free(f->segs);
	igfs_buf_free(&f->names);
	free(f);
}

static bool ufile_match(const struct ufile *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static int usym_cmp(const void *a, const void *b, void *arg)
{
	const struct usym *x = a, *y = b;
	const char *names = arg;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->underscores != y->underscores)
		return x->underscores < y->underscores ? -1 : 1;
	return strcmp(names + x->name, names + y->name);
}

/* The SHT_SYMTAB section, else SHT_DYNSYM; NULL if neither. */
static Elf_Scn *ufile_symscn(Elf *elf, GElf_Shdr *ret_shdr)
{
	Elf_Scn *scn = NULL, *dyn = NULL;
	GElf_Shdr shdr, dyn_shdr;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type == SHT_SYMTAB) {
			*ret_shdr = shdr;
			return scn;
		}
		if (shdr.sh_type == SHT_DYNSYM && !dyn) {
			dyn = scn;
			dyn_shdr = shdr;
		}
	}
	if (dyn)
		*ret_shdr = dyn_shdr;
	return dyn;
}

static int ufile_add_sym(struct ufile *f, size_t *cap, const GElf_Sym *sym, const char *name)
{
	size_t len = strnlen(name, IGFS_USYM_MAX_NAME);
	struct usym *u;
	__u8 bind;

	if (f->names.len + len + 1 > IGFS_USYMS_MAX_NAMES)
		return 0;
	if (f->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		void *v = igfs_reallocarray(f->v, ncap, sizeof(*f->v));

		if (!v)
			return -ENOMEM;
		f->v = v;
		*cap = ncap;
	}
	u = &f->v[f->n];
	u->value = sym->st_value;
	u->size = sym->st_size;
	u->name = (__u32)f->names.len;
	bind = GELF_ST_BIND(sym->st_info);
	u->rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
	u->underscores = (__u8)strspn(name, "_");
	if (igfs_buf_append(&f->names, name, len) || igfs_buf_append(&f->names, "", 1))
		return -ENOMEM;
	f->n++;
	return 0;
}

/* Read PT_LOAD segments and FUNC symbols; a file that is no ELF stays empty. */
static int ufile_read_elf(struct ufile *f, int fd)
{
	size_t phnum, i, count, cap = 0;
	Elf_Data *data;
	GElf_Shdr shdr;
	Elf_Scn *scn;
	Elf *elf;
	int err = 0;

	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto out;
	/* ELF_C_READ: pread on demand, so a file truncated under us cannot SIGBUS. */
	if (elf_getphdrnum(elf, &phnum) || phnum > 65535)
		goto out;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		void *v;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		v = igfs_reallocarray(f->segs, f->n_segs + 1, sizeof(*f->segs));
		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		f->segs = v;
		f->segs[f->n_segs++] = (struct useg){ph.p_offset, ph.p_vaddr, ph.p_filesz};
	}
	scn = ufile_symscn(elf, &shdr);
	data = scn ? elf_getdata(scn, NULL) : NULL;
	if (!data || !gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT))
		goto out;
	count = data->d_size / gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	for (i = 0; i < count && f->n < IGFS_USYMS_MAX_SYMS; i++) {
		const char *name;
		GElf_Sym sym;

		if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(elf, shdr.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		err = ufile_add_sym(f, &cap, &sym, name);
		if (err)
			goto out;
	}
	if (f->n)
		qsort_r(f->v, f->n, sizeof(*f->v), usym_cmp, f->names.data);
out:
	elf_end(elf);
	if (err) {
		/* Keep nothing half-read. */
		zfree(&f->v);
		zfree(&f->segs);
		igfs_buf_free(&f->names);
		f->n = f->n_segs = 0;
	}
	return err;
}

/* File offset → ELF virtual address through the PT_LOAD holding it. */
static bool ufile_vaddr(const struct ufile *f, __u64 off, __u64 *vaddr)
{
	size_t i;

	for (i = 0; i < f->n_segs; i++) {
		const struct useg *g = &f->segs[i];

		if (off >= g->off && off - g->off < g->filesz) {
			*vaddr = off - g->off + g->vaddr;
			return true;
		}
	}
	return false;
}

/* The symbol containing @vaddr (or the nearest below, if it has no size); NULL if none. */
static const char *ufile_find(const struct ufile *f, __u64 vaddr)
{
	size_t lo = 0, hi = f->n;
	const struct usym *u;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->v[mid].value <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	lo--;
	/* Aliases share a value: the preferred one sorts first. */
	while (lo && f->v[lo - 1].value == f->v[lo].value)
		lo--;
	u = &f->v[lo];
	if (u->size && vaddr - u->value >= u->size)
		return NULL;
	return f->names.data + u->name;
}

/* ------------------------------------------------------------------ */
/* The symboliser                                                       */

struct igfs_stacks {
	int kfd, ufd;	      /* borrowed map fds, -1 if absent */
	__u32 kvalue, uvalue; /* value sizes in bytes */
	char *kallsyms;

	pthread_mutex_t klock; /* guards ksyms, ktried */
	struct igfs_ksyms *ksyms;
	bool ktried;

	pthread_mutex_t ulock; /* guards the file cache; held for one user stack */
	struct ufile *files[IGFS_USYMS_MAX_FILES];
	size_t n_files;
	size_t bytes;
	__u64 tick;	  /* LRU clock */
	__u64 call_start; /* files used since this tick are pinned by the current call */
};

/* Whether a map can hold stacks: 4-byte keys, u64 values within the cap. */
static bool stacks_map_ok(__u32 key_size, __u32 value_size)
{
	return key_size == sizeof(__u32) && value_size && value_size % sizeof(__u64) == 0 &&
	       value_size <= STACK_MAX_VALUE;
}

static void stacks_set_map(int fd, int *ret_fd, __u32 *ret_value)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	*ret_fd = -1;
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	if (!stacks_map_ok(info.key_size, info.value_size)) {
		pr_debug("stack map '%s': key %u / value %u bytes, ignoring", info.name,
			 info.key_size, info.value_size);
		return;
	}
	*ret_fd = fd;
	*ret_value = info.value_size;
}

int igfs_stacks__new_opts(const struct igfs_stacks_opts *opts, struct igfs_stacks **ret)
{
	struct igfs_stacks *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->kallsyms = strdup(opts && opts->kallsyms ? opts->kallsyms : "/proc/kallsyms");
	if (!s->kallsyms) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->klock, NULL);
	pthread_mutex_init(&s->ulock, NULL);
	stacks_set_map(opts ? opts->kstack_fd : -1, &s->kfd, &s->kvalue);
	stacks_set_map(opts ? opts->ustack_fd : -1, &s->ufd, &s->uvalue);
	/* libelf must be told its version once before use; repeating it is harmless. */
	elf_version(EV_CURRENT);
	*ret = s;
	return 0;
}

int igfs_stacks__new(const struct igfs_run *run, struct igfs_stacks **ret)
{
	struct igfs_stacks_opts opts = {.kstack_fd = -1, .ustack_fd = -1};
	struct bpf_map *m;

	if (run) {
		m = igfs_run__map(run, "ig_kstack");
		if (m)
			opts.kstack_fd = bpf_map__fd(m);
		m = igfs_run__map(run, "ig_ustack");
		if (m)
			opts.ustack_fd = bpf_map__fd(m);
	}
	return igfs_stacks__new_opts(&opts, ret);
}

void igfs_stacks__free(struct igfs_stacks *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_files; i++)
		ufile_free(s->files[i]);
	igfs_ksyms__free(s->ksyms);
	pthread_mutex_destroy(&s->klock);
	pthread_mutex_destroy(&s->ulock);
	free(s->kallsyms);
	free(s);
}

/*
 * Look @id up in map @fd into @buf (@value bytes); the number of frames up to
 * the first 0, or -errno. bpf_stackmap_copy zero-fills past the last frame.
 */
static int stacks_lookup(int fd, __u32 value, __u32 id, __u64 *buf)
{
	size_t n, i;

	if (bpf_map_lookup_elem(fd, &id, buf))
		return -errno;
	n = value / sizeof(__u64);
	for (i = 0; i < n && buf[i]; i++)
		;
	return (int)i;
}

/* The kallsyms table, read on first use; NULL if it could not be read. */
static const struct igfs_ksyms *stacks_ksyms(struct igfs_stacks *s)
{
	const struct igfs_ksyms *k;
	int err;

	pthread_mutex_lock(&s->klock);
	if (!s->ktried) {
		s->ktried = true;
		err = igfs_ksyms__load(s->kallsyms, &s->ksyms);
		if (err)
			pr_debug("cannot read '%s': %s, kernel frames stay [unknown]", s->kallsyms,
				 strerror(-err));
	}
	/* Immutable once set, so lookups need no lock. */
	k = s->ksyms;
	pthread_mutex_unlock(&s->klock);
	return k;
}

int igfs_stacks__kstack(void *ctx, __u32 stack_id, struct igfs_buf *out)
{
	__u64 small[IGFS_STACK_MAX_DEPTH], *buf = small;
	struct igfs_stacks *s = ctx;
	int n, err = 0;

	if (!s || s->kfd < 0)
		return 0;
	if (s->kvalue > sizeof(small)) {
		buf = malloc(s->kvalue);
		if (!buf)
			return -ENOMEM;
	}
	/* A lost stack renders as "" (IG warns once per event; we stay silent). */
	n = stacks_lookup(s->kfd, s->kvalue, stack_id, buf);
	if (n > 0)
		err = igfs_ksyms__format(stacks_ksyms(s), buf, (size_t)n, out);
	if (buf != small)
		free(buf);
	return err;
}

/* ------------------------------------------------------------------ */
/* User stacks                                                          */

/* A mapping of the process that holds at least one frame. */
struct umap {
	__u64 start, end, off;
	__u64 ino;
	char *path;	    /* as the process sees it, NULL if none */
	bool tried;	    /* file looked up already in this call */
	struct ufile *file; /* pinned in the cache for the call, NULL if unreadable */
};

struct uproc {
	struct umap *maps;
	size_t n;
	int *frame_map; /* per frame: index in maps or -1 */
};

static void uproc_release(struct uproc *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->maps[i].path);
	zfree(&p->maps);
	zfree(&p->frame_map);
	p->n = 0;
}

/* One maps line; attaches the frames it holds. 0 or -ENOMEM. */
static int uproc_parse_line(struct uproc *p, char *line, const __u64 *ips, size_t n)
{
	unsigned long long start, end, off, ino;
	unsigned int major, minor;
	struct umap *m;
	char perms[5];
	int pos = 0, idx = -1;
	size_t i;
	char *path;
	void *v;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &off, &major,
		   &minor, &ino, &pos) != 7 ||
	    !pos || start >= end)
		return 0;
	for (i = 0; i < n; i++) {
		if (p->frame_map[i] >= 0 || ips[i] < start || ips[i] >= end)
			continue;
		if (idx < 0) {
			v = igfs_reallocarray(p->maps, p->n + 1, sizeof(*p->maps));
			if (!v)
				return -ENOMEM;
			p->maps = v;
			m = &p->maps[p->n];
			*m = (struct umap){.start = start, .end = end, .off = off, .ino = ino};
			path = line + pos;
			path[strcspn(path, "\n")] = '\0';
			if (*path == '/' && ino) {
				m->path = strdup(path);
				if (!m->path)
					return -ENOMEM;
			}
			idx = (int)p->n++;
		}
		p->frame_map[i] = idx;
	}
	return 0;
}

/* Find the mappings of @n frames in /proc/<pid>/maps. 0, -ESRCH if gone, -errno. */
static int uproc_read(struct uproc *p, __u32 pid, const __u64 *ips, size_t n)
{
	char line[UMAPS_MAX_LINE + 2], path[64];
	bool skipping = false;
	int err = 0;
	size_t i;
	FILE *f;

	p->frame_map = calloc(n ? n : 1, sizeof(*p->frame_map));
	if (!p->frame_map)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		p->frame_map[i] = -1;
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		bool whole = len && line[len - 1] == '\n';

		if (skipping || (!whole && len > UMAPS_MAX_LINE)) {
			skipping = !whole;
			continue;
		}
		err = uproc_parse_line(p, line, ips, n);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	return err;
}

/* Drop least recently used files not pinned by the current call until within the caps. */
static void stacks_evict(struct igfs_stacks *s, size_t room_files, size_t room_bytes, bool pins)
{
	while (s->n_files && (s->n_files + room_files > IGFS_USYMS_MAX_FILES ||
			      s->bytes + room_bytes > IGFS_USYMS_MAX_BYTES)) {
		size_t i, victim = s->n_files;

		for (i = 0; i < s->n_files; i++) {
			if (pins && s->files[i]->used >= s->call_start)
				continue;
			if (victim == s->n_files || s->files[i]->used < s->files[victim]->used)
				victim = i;
		}
		if (victim == s->n_files)
			return; /* all pinned: over the cap until the call ends */
		s->bytes -= s->files[victim]->bytes;
		ufile_free(s->files[victim]);
		s->files[victim] = s->files[--s->n_files];
	}
}

/* The cached symbols of the file open at @fd, reading it on a miss. 0 or -errno. */
static int stacks_file(struct igfs_stacks *s, int fd, struct ufile **ret)
{
	struct ufile *f;
	struct stat st;
	size_t i;
	int err;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	for (i = 0; i < s->n_files; i++) {
		if (ufile_match(s->files[i], &st)) {
			s->files[i]->used = ++s->tick;
			*ret = s->files[i];
			return 0;
		}
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	/* An unreadable or oversized file is cached empty, so it is not retried per stack. */
	if ((__u64)st.st_size <= IGFS_USYMS_MAX_FILE) {
		err = ufile_read_elf(f, fd);
		if (err) {
			ufile_free(f);
			return err;
		}
	}
	f->bytes = sizeof(*f) + f->n * sizeof(*f->v) + f->n_segs * sizeof(*f->segs) + f->names.cap;
	stacks_evict(s, 1, f->bytes, true);
	if (s->n_files == IGFS_USYMS_MAX_FILES) {
		/* Every slot pinned by this call (64 files in one stack): leave it unresolved. */
		ufile_free(f);
		return -ENOSPC;
	}
	f->used = ++s->tick;
	s->files[s->n_files++] = f;
	s->bytes += f->bytes;
	*ret = f;
	return 0;
}

/* Open the file behind @m: map_files (exact, needs privilege), else its path. -1 if none. */
static int umap_open(const struct umap *m, __u32 pid)
{
	char path[4096 + 64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0 || !m->path)
		return fd;
	/* The path as the process sees it (its mount namespace), then as we see it. */
	if ((size_t)snprintf(path, sizeof(path), "/proc/%u/root%s", pid, m->path) >= sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	/* A path may name another file by now (or in our namespace): check the inode. */
	if (fstat(fd, &st) || st.st_ino != m->ino) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Name of frame @ip in mapping @m, or NULL. Caller holds ulock. */
static const char *stacks_resolve(struct igfs_stacks *s, struct umap *m, __u32 pid, __u64 ip,
				  int *err)
{
	__u64 vaddr;
	int fd;

	if (!m->tried) {
		m->tried = true;
		fd = umap_open(m, pid);
		if (fd >= 0) {
			*err = stacks_file(s, fd, &m->file);
			close(fd);
			if (*err != -ENOMEM)
				*err = 0;
		}
	}
	if (!m->file || !ufile_vaddr(m->file, ip - m->start + m->off, &vaddr))
		return NULL;
	return ufile_find(m->file, vaddr);
}

/* Whether /proc/<pid>/exe is still the executable that made the stack. */
static bool stacks_same_exe(__u32 pid, __u64 exe_inode)
{
	char path[64];
	struct stat st;

	if (!exe_inode)
		return true;
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	return !stat(path, &st) && st.st_ino == exe_inode;
}

int igfs_stacks__format_user(struct igfs_stacks *s, __u32 pid, __u64 exe_inode, const __u64 *ips,
			     size_t n, struct igfs_buf *addresses, struct igfs_buf *symbols)
{
	struct uproc p = {};
	bool resolve;
	size_t i;
	int err = 0;

	for (i = 0; i < n && ips[i]; i++) {
		err = igfs_buf_printf(addresses, "[%zu]0x%016llx; ", i, (unsigned long long)ips[i]);
		if (err)
			return err;
	}
	n = i;
	if (!n)
		return 0;
	pthread_mutex_lock(&s->ulock);
	s->call_start = s->tick + 1;
	err = uproc_read(&p, pid, ips, n);
	resolve = !err && stacks_same_exe(pid, exe_inode);
	if (err == -ENOMEM)
		goto out;
	err = 0;
	for (i = 0; i < n && !err; i++) {
		const char *name = NULL;

		if (resolve && p.frame_map[i] >= 0)
			name = stacks_resolve(s, &p.maps[p.frame_map[i]], pid, ips[i], &err);
		if (!err)
			err = igfs_buf_printf(symbols, "[%zu]%s; ", i, name ? name : "");
	}
out:
	/* The call's pins end here: trim what they kept over the caps. */
	stacks_evict(s, 0, 0, false);
	pthread_mutex_unlock(&s->ulock);
	uproc_release(&p);
	return err;
}

int igfs_stacks__ustack(void *ctx, const void *ustack, size_t len, struct igfs_buf *addresses,
			struct igfs_buf *symbols)
{
	__u64 small[IGFS_STACK_MAX_DEPTH], *buf = small;
	struct igfs_stacks *s = ctx;
	struct stack_ustack u;
	int n, err = 0;

	/* Newer layouts (major/minor/base_addr_hash, ...) are not understood: leave "". */
	if (!s || !ustack || len != sizeof(u) || s->ufd < 0)
		return 0;
	memcpy(&u, ustack, sizeof(u));
	/* exe_inode 0: the gadget's collect_ustack param is off. */
	if (!u.exe_inode || !u.pid_level0 || !u.pidns_level0)
		return 0;
	if (s->uvalue > sizeof(small)) {
		buf = malloc(s->uvalue);
		if (!buf)
			return -ENOMEM;
	}
	n = stacks_lookup(s->ufd, s->uvalue, u.stack_id, buf);
	if (n > 0)
		err = igfs_stacks__format_user(s, u.pid_level0, u.exe_inode, buf, (size_t)n,
					       addresses, symbols);
	if (buf != small)
		free(buf);
	return err;
}
