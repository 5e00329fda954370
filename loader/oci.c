// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Gadget images from disk: OCI layout archives (read whole into memory through
 * libarchive), OCI layout directories (openat, never following symlinks) and
 * plain directories with program.bpf.o. Every blob is checked against its
 * descriptor's size and sha256. Knows nothing about BPF, YAML or FUSE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "oci.h"

#define OCI_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_BLOB_DIR	       "blobs/sha256/"
#define OCI_MAX_PATH	       1024 /* an archive entry name */

/* One regular file of an archive, by its normalised name. */
struct oci_file {
	char *name;
	void *data;
	size_t len;
};

/* Where the layout's files come from: an unpacked archive or a directory. */
struct oci_store {
	struct oci_file *files; /* sorted by name */
	size_t n;
	int dirfd; /* the layout directory, or -1 */
};

/* A parsed descriptor; strings are borrowed from the JSON they came from. */
struct oci_desc {
	const char *media_type;
	const char *artifact_type;
	const char *digest; /* "sha256:<64 lowercase hex>" */
	const char *hex;    /* the part after "sha256:" */
	uint64_t size;
	const char *ref; /* org.opencontainers.image.ref.name, or NULL */
	const char *os;	 /* platform, or NULL */
	const char *arch;
	bool has_platform;
	bool has_subject;
};

/* State of one load. */
struct oci_ctx {
	const char *src;       /* the file or directory, for diagnostics */
	const char *name_hint; /* names untagged images */
	struct oci_store *st;
	struct igfs_image_set *set;
	const char *arch;
	size_t ntagged; /* index.json entries with a ref.name */
	struct igfs_diag *diag;
};

enum oci_layer_kind {
	OCI_LAYER_EBPF,
	OCI_LAYER_WASM,
	OCI_LAYER_BTFGEN,
	OCI_LAYER_NR,
};

static const char *const oci_layer_mt[OCI_LAYER_NR] = {
	[OCI_LAYER_EBPF] = IGFS_OCI_MT_GADGET_EBPF,
	[OCI_LAYER_WASM] = IGFS_OCI_MT_GADGET_WASM,
	[OCI_LAYER_BTFGEN] = IGFS_OCI_MT_GADGET_BTFGEN,
};

static const char *const oci_layer_what[OCI_LAYER_NR] = {
	[OCI_LAYER_EBPF] = "eBPF program",
	[OCI_LAYER_WASM] = "WASM program",
	[OCI_LAYER_BTFGEN] = "btfgen",
};

const char *igfs_oci__host_arch(void)
{
	/* GOARCH names, as OCI platform.architecture uses them. */
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
	return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__loongarch64)
	return "loong64";
#else
	return "unknown";
#endif
}

static bool oci_streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool oci_is_index_mt(const char *mt)
{
	return oci_streq(mt, IGFS_OCI_MT_INDEX) || oci_streq(mt, OCI_MT_DOCKER_LIST);
}

static bool oci_is_manifest_mt(const char *mt)
{
	return oci_streq(mt, IGFS_OCI_MT_MANIFEST) || oci_streq(mt, OCI_MT_DOCKER_MANIFEST);
}

/* cosign, notation and sigstore artifacts sit beside images: never gadgets. */
static bool oci_is_signature_mt(const char *mt)
{
	static const char *const prefixes[] = {
		"application/vnd.dev.cosign.",
		"application/vnd.cncf.notary.",
		"application/vnd.dev.sigstore.",
	};
	size_t i;

	if (!mt)
		return false;
	for (i = 0; i < IGFS_ARRAY_SIZE(prefixes); i++)
		if (!strncmp(mt, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static bool oci_is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < IGFS_SHA256_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[IGFS_SHA256_HEX_LEN] == '\0';
}

/* ---- images and sets ---- */

void igfs_image__free(struct igfs_image *img)
{
	if (!img)
		return;
	free(img->source);
	free(img->ref);
	free(img->name);
	free(img->manifest_digest);
	free(img->index_digest);
	free(img->elf.data);
	free(img->yaml.data);
	free(img->wasm.data);
	free(img->btfgen.data);
	free(img);
}

void igfs_image_set__free(struct igfs_image_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		igfs_image__free(set->images[i]);
	free(set->images);
	free(set);
}

struct igfs_image *igfs_image_set__take(struct igfs_image_set *set, size_t i)
{
	struct igfs_image *img;

	if (!set || i >= set->n)
		return NULL;
	img = set->images[i];
	memmove(&set->images[i], &set->images[i + 1], (set->n - i - 1) * sizeof(set->images[0]));
	set->n--;
	return img;
}

static int oci_set_add(struct oci_ctx *c, struct igfs_image *img)
{
	struct igfs_image **p;

	if (c->set->n >= IGFS_MAX_IMAGES) {
		igfs_diag_set(c->diag, "'%s' holds more than %d images", c->src, IGFS_MAX_IMAGES);
		return -E2BIG;
	}
	p = igfs_reallocarray(c->set->images, c->set->n + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->set->images = p;
	p[c->set->n++] = img;
	return 0;
}

/* Move a buffer into a blob; a present empty blob keeps a non-NULL pointer. */
static int oci_blob_take(struct igfs_blob *blob, struct igfs_buf *buf)
{
	size_t len = buf->len;

	blob->data = igfs_buf_steal(buf);
	if (!blob->data)
		return -ENOMEM;
	blob->len = len;
	return 0;
}

/* ---- names ---- */

char *igfs_oci__dir_name(const char *ref_or_file)
{
	static const char *const exts[] = {".tar",  ".tgz", ".gz",  ".zst", ".zstd",
					   ".tzst", ".xz",  ".bz2", ".oci"};
	const char *s = ref_or_file ? ref_or_file : "";
	const char *start, *p;
	size_t len, i, n;
	bool stripped, dots;
	char *out;

	len = strlen(s);
	while (len && s[len - 1] == '/')
		len--;
	p = memrchr(s, '/', len);
	start = p ? p + 1 : s;
	n = (size_t)(s + len - start);
	/* A digest, then a tag: both live in the last component (a port does not). */
	p = memchr(start, '@', n);
	if (p)
		n = (size_t)(p - start);
	p = memrchr(start, ':', n);
	if (p)
		n = (size_t)(p - start);
	do {
		stripped = false;
		for (i = 0; i < IGFS_ARRAY_SIZE(exts); i++) {
			size_t el = strlen(exts[i]);

			if (n > el && !strncasecmp(start + n - el, exts[i], el)) {
				n -= el;
				stripped = true;
			}
		}
	} while (stripped);
	if (n > NAME_MAX)
		n = NAME_MAX;
	if (!n)
		return strdup("gadget");
	out = malloc(n + 1);
	if (!out)
		return NULL;
	dots = true;
	for (i = 0; i < n; i++) {
		char ch = start[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			ch = '_';
		if (ch != '.')
			dots = false;
		out[i] = ch;
	}
	out[n] = '\0';
	/* "." and ".." cannot be directory names. */
	if (dots && n <= 2)
		memset(out, '_', n);
	return out;
}

char *igfs_oci__full_ref(const char *ref)
{
	const char *at, *slash, *last, *prefix, *suffix;
	size_t namelen;
	char *out;

	if (!ref || !*ref) {
		errno = EINVAL;
		return NULL;
	}
	at = strchr(ref, '@');
	namelen = at ? (size_t)(at - ref) : strlen(ref);
	slash = memrchr(ref, '/', namelen);
	last = slash ? slash + 1 : ref;
	prefix = slash ? "" : IGFS_OCI_DEFAULT_REGISTRY;
	/* Only the last component holds a tag: "localhost:5000/x" has a port, not a tag. */
	suffix = at || memchr(last, ':', (size_t)(ref + namelen - last)) ? "" : ":latest";
	if (asprintf(&out, "%s%s%s", prefix, ref, suffix) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return out;
}

/*
 * The gadget name: from the reference when it has a repository ("x/y:tag") or
 * tells several images apart, else from the file name. skopeo writes the
 * bare tag of "oci-archive:trace_open.tar:latest" as ref.name: that names
 * nothing, the file does.
 */
static char *oci_image_name(const struct oci_ctx *c, const char *ref)
{
	if (ref && (strpbrk(ref, "/:@") || c->ntagged > 1))
		return igfs_oci__dir_name(ref);
	return igfs_oci__dir_name(c->name_hint);
}

/* ---- the store: files of an archive or of a directory ---- */

static void oci_store_release(struct oci_store *st)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		free(st->files[i].name);
		free(st->files[i].data);
	}
	zfree(&st->files);
	st->n = 0;
	zclose(&st->dirfd);
}

static int oci_file_cmp(const void *a, const void *b)
{
	const struct oci_file *fa = a, *fb = b;

	return strcmp(fa->name, fb->name);
}

/* A missing file (or a file where a directory should be) is the caller's sentence to write. */
static int oci_dir_err(struct oci_ctx *c, const char *rel, int err)
{
	if (err == -ENOTDIR)
		err = -ENOENT;
	if (err != -ENOENT)
		igfs_diag_set(c->diag, "'%s': cannot open '%s': %s", c->src, rel, strerror(-err));
	return err;
}

/*
 * Open @rel (a relative path of plain components) beneath @dirfd without
 * following any symlink on the way; only a regular file is accepted.
 */
static int oci_dir_open(struct oci_ctx *c, int dirfd, const char *rel, int *ret_fd)
{
	char comp[NAME_MAX + 1];
	const char *p = rel, *slash;
	int cur = dirfd, fd = -1, err = 0;
	struct stat st;
	size_t n;

	for (;;) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (!n || n > NAME_MAX) {
			err = -EINVAL;
			goto out;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		/* Check the type before open: opening a device or FIFO has effects. */
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW)) {
			err = oci_dir_err(c, rel, -errno);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			igfs_diag_set(c->diag, "'%s': '%.*s' is a symbolic link", c->src,
				      (int)(p - rel + n), rel);
			err = -EINVAL;
			goto out;
		}
		if (slash) {
			fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		} else {
			if (!S_ISREG(st.st_mode)) {
				igfs_diag_set(c->diag, "'%s': '%s' is not a regular file", c->src,
					      rel);
				err = -EINVAL;
				goto out;
			}
			fd = openat(cur, comp,
				    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		}
		if (fd < 0) {
			err = -errno;
			if (err == -ELOOP) {
				igfs_diag_set(c->diag, "'%s': '%.*s' is a symbolic link", c->src,
					      (int)(p - rel + n), rel);
				err = -EINVAL;
			} else {
				err = oci_dir_err(c, rel, err);
			}
			goto out;
		}
		if (cur != dirfd)
			zclose(&cur);
		cur = fd;
		fd = -1;
		if (!slash)
			break;
		p = slash + 1;
	}
	/* Re-check after open: the file may have been swapped in between. */
	if (fstat(cur, &st)) {
		err = oci_dir_err(c, rel, -errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		igfs_diag_set(c->diag, "'%s': '%s' is not a regular file", c->src, rel);
		err = -EINVAL;
		goto out;
	}
	*ret_fd = cur;
	cur = dirfd;
out:
	if (cur != dirfd)
		zclose(&cur);
	zclose(&fd);
	return err;
}

static int oci_dir_read(struct oci_ctx *c, int dirfd, const char *rel, size_t max,
			struct igfs_buf *out, size_t *ret_len)
{
	struct stat st;
	int fd = -1, err;
	ssize_t n;

	err = oci_dir_open(c, dirfd, rel, &fd);
	if (err)
		return err;
	if (fstat(fd, &st)) {
		err = -errno;
		igfs_diag_set(c->diag, "'%s': cannot stat '%s': %s", c->src, rel, strerror(-err));
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		*ret_len = (size_t)st.st_size;
		err = -EFBIG;
		goto out;
	}
	for (;;) {
		err = igfs_buf_reserve(out, 65536);
		if (err)
			goto out;
		n = read(fd, out->data + out->len, 65536);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			igfs_diag_set(c->diag, "'%s': cannot read '%s': %s", c->src, rel,
				      strerror(-err));
			goto out;
		}
		if (!n)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > max) {
			*ret_len = out->len;
			err = -EFBIG;
			goto out;
		}
	}
out:
	zclose(&fd);
	return err;
}

/*
 * Copy file @name of the store into @out (emptied first). -ENOENT without a
 * diag when it does not exist; -EFBIG without a diag when it is larger than
 * @max, with its size (or a lower bound) in *ret_len; other errors set diag.
 */
static int oci_store_read(struct oci_ctx *c, const char *name, size_t max, struct igfs_buf *out,
			  size_t *ret_len)
{
	struct oci_file key = {.name = (char *)name}, *f;
	struct oci_store *st = c->st;

	igfs_buf_free(out);
	*ret_len = 0;
	if (st->dirfd >= 0)
		return oci_dir_read(c, st->dirfd, name, max, out, ret_len);
	f = st->n ? bsearch(&key, st->files, st->n, sizeof(*f), oci_file_cmp) : NULL;
	if (!f)
		return -ENOENT;
	*ret_len = f->len;
	if (f->len > max)
		return -EFBIG;
	return igfs_buf_append(out, f->data, f->len);
}

/* Canonical form of an entry name: no "", "." or ".." components, relative. */
static int oci_norm_path(const char *path, char **ret)
{
	const char *p, *slash;
	struct igfs_buf b = {};
	size_t n;
	int err = 0;

	if (!path || path[0] == '/' || strlen(path) > OCI_MAX_PATH)
		return -EBADMSG;
	for (p = path; *p; p = slash ? slash + 1 : p + n) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (!n || (n == 1 && p[0] == '.')) {
			if (!slash)
				break;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			err = -EBADMSG;
			goto out;
		}
		if (b.len)
			err = igfs_buf_append(&b, "/", 1);
		if (!err)
			err = igfs_buf_append(&b, p, n);
		if (err)
			goto out;
		if (!slash)
			break;
	}
	*ret = igfs_buf_steal(&b);
	if (!*ret)
		err = -ENOMEM;
out:
	igfs_buf_free(&b);
	return err;
}

static int oci_archive_err(struct oci_ctx *c, struct archive *a, bool first)
{
	const char *msg = archive_error_string(a);

	if (archive_errno(a) == ENOMEM)
		return -ENOMEM;
	if (!msg)
		msg = "unknown error";
	if (first && !archive_format(a))
		igfs_diag_set(c->diag, "'%s' is not a tar archive (plain, gzip or zstd): %s",
			      c->src, msg);
	else
		igfs_diag_set(c->diag, "'%s' is a damaged archive: %s", c->src, msg);
	return -EBADMSG;
}

/* Read one regular entry's data, whose size the header gave. */
static int oci_archive_data(struct oci_ctx *c, struct archive *a, size_t size, void **ret)
{
	size_t off = 0;
	la_ssize_t r;
	char *buf;

	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	while (off < size) {
		r = archive_read_data(a, buf + off, size - off);
		if (r < 0) {
			free(buf);
			return oci_archive_err(c, a, false);
		}
		if (!r)
			break;
		off += (size_t)r;
	}
	if (off != size) {
		free(buf);
		igfs_diag_set(c->diag, "'%s' is a damaged archive: an entry is cut short", c->src);
		return -EBADMSG;
	}
	*ret = buf;
	return 0;
}

/* Unpack every regular file of the archive into memory, with the caps. */
static int oci_archive_collect(struct oci_ctx *c, const void *data, size_t len)
{
	struct oci_store *st = c->st;
	struct archive_entry *e;
	struct archive *a;
	uint64_t total = 0;
	size_t entries = 0, i;
	char *name = NULL;
	void *buf = NULL;
	int64_t size;
	int r, err = 0;

	if (!len) {
		igfs_diag_set(c->diag, "'%s' is an empty file", c->src);
		return -EBADMSG;
	}
	a = archive_read_new();
	if (!a)
		return -ENOMEM;
	/*
	 * Only filters libarchive implements itself: a filter it lacks would
	 * fall back to running an external program on untrusted input.
	 */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		err = oci_archive_err(c, a, true);
		goto out;
	}
	for (;;) {
		const char *path;
		struct oci_file *files;
		unsigned int type;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			err = oci_archive_err(c, a, entries == 0);
			goto out;
		}
		if (++entries > IGFS_MAX_ARCHIVE_ENTRIES) {
			igfs_diag_set(c->diag, "'%s' holds more than %d entries", c->src,
				      IGFS_MAX_ARCHIVE_ENTRIES);
			err = -E2BIG;
			goto out;
		}
		path = archive_entry_pathname(e);
		err = oci_norm_path(path, &name);
		if (err == -EBADMSG)
			igfs_diag_set(c->diag, "'%s': entry '%s' has an unsafe path", c->src,
				      path ? path : "");
		if (err)
			goto out;
		type = archive_entry_filetype(e);
		if (archive_entry_hardlink(e)) {
			igfs_diag_set(c->diag, "'%s': entry '%s' is a hard link", c->src, name);
			err = -EINVAL;
			goto out;
		}
		if (type == AE_IFDIR) {
			zfree(&name);
			continue;
		}
		if (type == AE_IFLNK) {
			igfs_diag_set(c->diag, "'%s': entry '%s' is a symbolic link", c->src, name);
			err = -EINVAL;
			goto out;
		}
		if (type != AE_IFREG) {
			igfs_diag_set(c->diag, "'%s': entry '%s' is not a regular file", c->src,
				      name);
			err = -EINVAL;
			goto out;
		}
		if (!*name) {
			igfs_diag_set(c->diag, "'%s': an entry has an empty name", c->src);
			err = -EBADMSG;
			goto out;
		}
		size = archive_entry_size(e);
		if (!archive_entry_size_is_set(e) || size < 0) {
			igfs_diag_set(c->diag, "'%s': entry '%s' has no size", c->src, name);
			err = -EBADMSG;
			goto out;
		}
		if ((uint64_t)size > IGFS_MAX_BLOB_SIZE) {
			igfs_diag_set(c->diag, "'%s': entry '%s' is larger than %u bytes", c->src,
				      name, IGFS_MAX_BLOB_SIZE);
			err = -EFBIG;
			goto out;
		}
		total += (uint64_t)size;
		if (total > IGFS_MAX_ARCHIVE_SIZE) {
			igfs_diag_set(c->diag, "'%s' unpacks to more than %u bytes", c->src,
				      IGFS_MAX_ARCHIVE_SIZE);
			err = -EFBIG;
			goto out;
		}
		err = oci_archive_data(c, a, (size_t)size, &buf);
		if (err)
			goto out;
		files = igfs_reallocarray(st->files, st->n + 1, sizeof(*files));
		if (!files) {
			err = -ENOMEM;
			goto out;
		}
		st->files = files;
		files[st->n].name = name;
		files[st->n].data = buf;
		files[st->n].len = (size_t)size;
		st->n++;
		name = NULL;
		buf = NULL;
	}
	if (!st->n) {
		igfs_diag_set(c->diag, "'%s' is an empty archive", c->src);
		err = -EBADMSG;
		goto out;
	}
	qsort(st->files, st->n, sizeof(st->files[0]), oci_file_cmp);
	for (i = 1; i < st->n; i++) {
		if (!strcmp(st->files[i - 1].name, st->files[i].name)) {
			igfs_diag_set(c->diag, "'%s' holds '%s' twice", c->src, st->files[i].name);
			err = -EBADMSG;
			goto out;
		}
	}
out:
	free(name);
	free(buf);
	archive_read_free(a);
	return err;
}

/* ---- JSON and descriptors ---- */

static int oci_json_parse(struct oci_ctx *c, const struct igfs_buf *b, const char *what,
			  json_t **ret)
{
	json_error_t jerr;
	json_t *j;

	j = json_loadb(b->data ? b->data : "", b->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		igfs_diag_set(c->diag, "'%s': %s is not valid JSON: %s (line %d)", c->src, what,
			      jerr.text, jerr.line);
		return -EBADMSG;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		igfs_diag_set(c->diag, "'%s': %s is not a JSON object", c->src, what);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

/* An optional string member; -EBADMSG when present with another type. */
static int oci_json_str(struct oci_ctx *c, json_t *obj, const char *key, const char *what,
			const char **ret)
{
	json_t *v = json_object_get(obj, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		igfs_diag_set(c->diag, "'%s': %s has a non-string '%s'", c->src, what, key);
		return -EBADMSG;
	}
	*ret = json_string_value(v);
	return 0;
}

static const char *oci_ref_of(json_t *desc)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *ref;

	ref = json_string_value(json_object_get(ann, IGFS_OCI_ANN_REF_NAME));
	return ref && *ref ? ref : NULL;
}

static int oci_desc_parse(struct oci_ctx *c, json_t *j, const char *what, struct oci_desc *d)
{
	json_t *v, *plat;
	const char *digest;
	int err;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(j)) {
		igfs_diag_set(c->diag, "'%s': %s is not a JSON object", c->src, what);
		return -EBADMSG;
	}
	if ((err = oci_json_str(c, j, "mediaType", what, &d->media_type)) ||
	    (err = oci_json_str(c, j, "artifactType", what, &d->artifact_type)) ||
	    (err = oci_json_str(c, j, "digest", what, &digest)))
		return err;
	if (!digest) {
		igfs_diag_set(c->diag, "'%s': %s has no digest", c->src, what);
		return -EBADMSG;
	}
	if (strncmp(digest, "sha256:", 7)) {
		if (strchr(digest, ':')) {
			igfs_diag_set(c->diag,
				      "'%s': %s has digest '%.80s' with an unsupported algorithm "
				      "(only sha256 is supported)",
				      c->src, what, digest);
			return -EINVAL;
		}
		igfs_diag_set(c->diag, "'%s': %s has a malformed digest '%.80s'", c->src, what,
			      digest);
		return -EBADMSG;
	}
	if (!oci_is_hex64(digest + 7)) {
		igfs_diag_set(c->diag, "'%s': %s has a malformed digest '%.80s'", c->src, what,
			      digest);
		return -EBADMSG;
	}
	d->digest = digest;
	d->hex = digest + 7;
	v = json_object_get(j, "size");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		igfs_diag_set(c->diag, "'%s': %s has no valid size", c->src, what);
		return -EBADMSG;
	}
	d->size = (uint64_t)json_integer_value(v);
	d->ref = oci_ref_of(j);
	plat = json_object_get(j, "platform");
	if (plat && !json_is_null(plat)) {
		if (!json_is_object(plat)) {
			igfs_diag_set(c->diag, "'%s': %s has a malformed platform", c->src, what);
			return -EBADMSG;
		}
		if ((err = oci_json_str(c, plat, "os", what, &d->os)) ||
		    (err = oci_json_str(c, plat, "architecture", what, &d->arch)))
			return err;
		d->has_platform = true;
	}
	d->has_subject = json_is_object(json_object_get(j, "subject"));
	return 0;
}

/* Whether a descriptor's platform (if any) fits this machine. */
static bool oci_platform_ok(const struct oci_ctx *c, const struct oci_desc *d)
{
	if (!d->has_platform)
		return true;
	return oci_streq(d->os, "linux") && oci_streq(d->arch, c->arch);
}

/* Read a blob, check its size and sha256 against the descriptor. */
static int oci_blob_read(struct oci_ctx *c, const struct oci_desc *d, size_t max,
			 struct igfs_buf *out)
{
	char name[sizeof(OCI_BLOB_DIR) + IGFS_SHA256_HEX_LEN];
	char hex[IGFS_SHA256_HEX_LEN + 1];
	size_t len;
	int err;

	if (d->size > max) {
		igfs_diag_set(c->diag,
			      "'%s': blob %s declares %llu bytes, more than the %zu allowed",
			      c->src, d->digest, (unsigned long long)d->size, max);
		return -EFBIG;
	}
	snprintf(name, sizeof(name), OCI_BLOB_DIR "%s", d->hex);
	/* Cap the read at the declared size: a longer file is a mismatch, read no further. */
	err = oci_store_read(c, name, (size_t)d->size, out, &len);
	if (err == -ENOENT) {
		igfs_diag_set(c->diag, "'%s': blob %s is missing", c->src, d->digest);
		return err;
	}
	if (err == -EFBIG) {
		igfs_diag_set(c->diag, "'%s': blob %s is %zu bytes, its descriptor says %llu",
			      c->src, d->digest, len, (unsigned long long)d->size);
		return -EBADMSG;
	}
	if (err)
		return err;
	if (out->len != d->size) {
		igfs_diag_set(c->diag, "'%s': blob %s is %zu bytes, its descriptor says %llu",
			      c->src, d->digest, out->len, (unsigned long long)d->size);
		return -EBADMSG;
	}
	err = igfs_sha256_hex(out->data ? out->data : "", out->len, hex);
	if (err)
		return err;
	if (strcmp(hex, d->hex)) {
		igfs_diag_set(c->diag, "'%s': blob %s does not match its digest", c->src,
			      d->digest);
		return -EBADMSG;
	}
	return 0;
}

static int oci_blob_json(struct oci_ctx *c, const struct oci_desc *d, const char *what,
			 json_t **ret)
{
	struct igfs_buf b = {};
	char label[128];
	int err;

	err = oci_blob_read(c, d, IGFS_MAX_JSON_SIZE, &b);
	if (err)
		goto out;
	snprintf(label, sizeof(label), "%s %s", what, d->digest);
	err = oci_json_parse(c, &b, label, ret);
out:
	igfs_buf_free(&b);
	return err;
}

/* ---- manifests and indexes ---- */

/* An image already produced for the same manifest and reference: skip the duplicate. */
static bool oci_seen(const struct oci_ctx *c, const char *digest, const char *ref)
{
	size_t i;

	for (i = 0; i < c->set->n; i++) {
		const struct igfs_image *img = c->set->images[i];

		if (oci_streq(img->manifest_digest, digest) &&
		    (img->ref == ref || oci_streq(img->ref, ref)))
			return true;
	}
	return false;
}

/*
 * Turn a manifest into an image. 1 when an image was added (or already was), 0 when the
 * manifest is a signature or other non-gadget artifact to ignore, or -errno.
 */
static int oci_manifest(struct oci_ctx *c, const struct oci_desc *d, json_t *m, const char *ref,
			const char *index_digest)
{
	struct oci_desc layer[OCI_LAYER_NR], cfg, ld;
	bool have[OCI_LAYER_NR] = {}, sig_layer = false;
	struct igfs_blob *slot[OCI_LAYER_NR];
	struct igfs_image *img = NULL;
	const char *mt, *artifact;
	struct igfs_buf b = {};
	char what[128];
	json_t *layers, *l;
	size_t i;
	int err, k;

	snprintf(what, sizeof(what), "manifest %s", d->digest);
	if ((err = oci_json_str(c, m, "mediaType", what, &mt)) ||
	    (err = oci_json_str(c, m, "artifactType", what, &artifact)))
		goto out;
	if (mt && !oci_is_manifest_mt(mt)) {
		igfs_diag_set(c->diag, "'%s': %s has media type '%.100s', not an image manifest",
			      c->src, what, mt);
		err = -EBADMSG;
		goto out;
	}
	layers = json_object_get(m, "layers");
	if (!json_is_object(json_object_get(m, "config")) || !json_is_array(layers)) {
		igfs_diag_set(c->diag, "'%s': %s lacks a config or a layers list", c->src, what);
		err = -EBADMSG;
		goto out;
	}
	snprintf(what, sizeof(what), "manifest %s config", d->digest);
	err = oci_desc_parse(c, json_object_get(m, "config"), what, &cfg);
	if (err)
		goto out;
	if (oci_is_signature_mt(artifact) || oci_is_signature_mt(cfg.media_type)) {
		pr_debug("'%s': skipping signature artifact %s", c->src, d->digest);
		err = 0;
		goto out;
	}
	json_array_foreach(layers, i, l)
	{
		snprintf(what, sizeof(what), "manifest %s layer %zu", d->digest, i);
		err = oci_desc_parse(c, l, what, &ld);
		if (err)
			goto out;
		for (k = 0; k < OCI_LAYER_NR; k++)
			if (oci_streq(ld.media_type, oci_layer_mt[k]))
				break;
		if (k == OCI_LAYER_NR) {
			sig_layer |= oci_is_signature_mt(ld.media_type);
			pr_debug("'%s': %s: skipping layer of unknown type '%s'", c->src, what,
				 ld.media_type ? ld.media_type : "");
			continue;
		}
		if (have[k]) {
			igfs_diag_set(c->diag, "'%s': manifest %s has more than one %s layer",
				      c->src, d->digest, oci_layer_what[k]);
			err = -EBADMSG;
			goto out;
		}
		have[k] = true;
		layer[k] = ld;
	}
	if (!have[OCI_LAYER_EBPF] && !have[OCI_LAYER_WASM]) {
		if (sig_layer || d->has_subject || json_is_object(json_object_get(m, "subject"))) {
			pr_debug("'%s': skipping artifact %s", c->src, d->digest);
			err = 0;
			goto out;
		}
		igfs_diag_set(c->diag,
			      "'%s': manifest %s is not a gadget image: it has no eBPF or WASM "
			      "program layer",
			      c->src, d->digest);
		err = -EINVAL;
		goto out;
	}
	if (oci_seen(c, d->digest, ref)) {
		err = 1;
		goto out;
	}

	img = calloc(1, sizeof(*img));
	if (!img) {
		err = -ENOMEM;
		goto out;
	}
	img->source = strdup(c->src);
	img->ref = ref ? strdup(ref) : NULL;
	img->name = oci_image_name(c, ref);
	img->manifest_digest = strdup(d->digest);
	img->index_digest = index_digest ? strdup(index_digest) : NULL;
	if (!img->source || (ref && !img->ref) || !img->name || !img->manifest_digest ||
	    (index_digest && !img->index_digest)) {
		err = -ENOMEM;
		goto out;
	}
	if (oci_streq(cfg.media_type, IGFS_OCI_MT_GADGET_CONFIG)) {
		err = oci_blob_read(c, &cfg, IGFS_MAX_META_SIZE, &b);
		if (!err)
			err = oci_blob_take(&img->yaml, &b);
		if (err)
			goto out;
	} else if (!oci_streq(cfg.media_type, IGFS_OCI_MT_EMPTY)) {
		pr_debug("'%s': manifest %s: ignoring config of type '%s'", c->src, d->digest,
			 cfg.media_type ? cfg.media_type : "");
	}
	slot[OCI_LAYER_EBPF] = &img->elf;
	slot[OCI_LAYER_WASM] = &img->wasm;
	slot[OCI_LAYER_BTFGEN] = &img->btfgen;
	for (k = 0; k < OCI_LAYER_NR; k++) {
		if (!have[k])
			continue;
		err = oci_blob_read(c, &layer[k], IGFS_MAX_BLOB_SIZE, &b);
		if (!err)
			err = oci_blob_take(slot[k], &b);
		if (err)
			goto out;
	}
	err = oci_set_add(c, img);
	if (err)
		goto out;
	img = NULL;
	err = 1;
out:
	igfs_buf_free(&b);
	igfs_image__free(img);
	return err;
}

/* Pick this machine's manifest from an image index. 1, 0 (none fits, when !@must) or -errno. */
static int oci_index(struct oci_ctx *c, const struct oci_desc *d, json_t *idx, const char *ref,
		     bool must)
{
	struct oci_desc md;
	json_t *list, *e, *m;
	char what[128];
	size_t i;
	int err;

	list = json_object_get(idx, "manifests");
	if (!json_is_array(list)) {
		igfs_diag_set(c->diag, "'%s': image index %s has no manifests list", c->src,
			      d->digest);
		return -EBADMSG;
	}
	json_array_foreach(list, i, e)
	{
		snprintf(what, sizeof(what), "image index %s entry %zu", d->digest, i);
		err = oci_desc_parse(c, e, what, &md);
		if (err)
			return err;
		if (!oci_platform_ok(c, &md) || oci_is_signature_mt(md.artifact_type))
			continue;
		if (oci_is_index_mt(md.media_type)) {
			pr_debug("'%s': %s: skipping nested image index", c->src, what);
			continue;
		}
		if (md.media_type && !oci_is_manifest_mt(md.media_type)) {
			pr_debug("'%s': %s: skipping entry of type '%s'", c->src, what,
				 md.media_type);
			continue;
		}
		err = oci_blob_json(c, &md, "manifest", &m);
		if (err)
			return err;
		err = oci_manifest(c, &md, m, ref, d->digest);
		json_decref(m);
		if (err)
			return err;
	}
	if (!must)
		return 0;
	igfs_diag_set(c->diag, "'%s': image '%s' has no gadget manifest for linux/%s", c->src,
		      ref ? ref : d->digest, c->arch);
	return -ENOENT;
}

/*
 * One entry of index.json. Tagged entries (@must) must give an image; an
 * untagged one may be skipped when it is a signature or for another machine.
 */
static int oci_entry(struct oci_ctx *c, json_t *e, size_t pos, bool must)
{
	const char *label;
	struct oci_desc d;
	bool is_index;
	char what[64];
	json_t *j = NULL;
	int err;

	snprintf(what, sizeof(what), "index.json entry %zu", pos);
	err = oci_desc_parse(c, e, what, &d);
	if (err)
		return err;
	label = d.ref ? d.ref : d.digest;
	if (oci_is_signature_mt(d.artifact_type) || oci_is_signature_mt(d.media_type))
		return 0;
	if (!oci_platform_ok(c, &d)) {
		if (!must)
			return 0;
		igfs_diag_set(c->diag, "'%s': image '%s' is for %s/%s, not linux/%s", c->src, label,
			      d.os ? d.os : "?", d.arch ? d.arch : "?", c->arch);
		return -ENOENT;
	}
	if (d.media_type && !oci_is_index_mt(d.media_type) && !oci_is_manifest_mt(d.media_type)) {
		if (!must) {
			pr_debug("'%s': %s: skipping entry of type '%s'", c->src, what,
				 d.media_type);
			return 0;
		}
		igfs_diag_set(c->diag, "'%s': image '%s' has unsupported media type '%.100s'",
			      c->src, label, d.media_type);
		return -EINVAL;
	}
	err = oci_blob_json(c, &d, oci_is_index_mt(d.media_type) ? "image index" : "manifest", &j);
	if (err)
		return err;
	/* Without a media type in the descriptor, the blob tells what it is. */
	is_index = d.media_type ? oci_is_index_mt(d.media_type)
				: json_is_array(json_object_get(j, "manifests"));
	if (is_index)
		err = oci_index(c, &d, j, d.ref, must);
	else
		err = oci_manifest(c, &d, j, d.ref, NULL);
	json_decref(j);
	if (err == 0 && must) {
		igfs_diag_set(c->diag, "'%s': image '%s' is not a gadget image", c->src, label);
		return -EINVAL;
	}
	return err < 0 ? err : 0;
}

static int oci_layout(struct oci_ctx *c)
{
	struct igfs_buf b = {};
	json_t *idx = NULL, *list, *e, *v;
	size_t i, len;
	int err;

	/* oci-layout is optional here, but when present it must be sane. */
	err = oci_store_read(c, "oci-layout", IGFS_MAX_JSON_SIZE, &b, &len);
	if (!err) {
		err = oci_json_parse(c, &b, "oci-layout", &idx);
		if (err)
			goto out;
		if (!json_is_string(json_object_get(idx, "imageLayoutVersion"))) {
			igfs_diag_set(c->diag, "'%s': oci-layout has no imageLayoutVersion",
				      c->src);
			err = -EBADMSG;
			goto out;
		}
		json_decref(idx);
		idx = NULL;
	} else if (err == -EFBIG) {
		igfs_diag_set(c->diag, "'%s': oci-layout is larger than %u bytes", c->src,
			      IGFS_MAX_JSON_SIZE);
		goto out;
	} else if (err != -ENOENT) {
		goto out;
	}

	err = oci_store_read(c, "index.json", IGFS_MAX_JSON_SIZE, &b, &len);
	if (err == -ENOENT)
		igfs_diag_set(c->diag, "'%s' has no index.json", c->src);
	else if (err == -EFBIG)
		igfs_diag_set(c->diag, "'%s': index.json is larger than %u bytes", c->src,
			      IGFS_MAX_JSON_SIZE);
	if (err)
		goto out;
	err = oci_json_parse(c, &b, "index.json", &idx);
	if (err)
		goto out;
	v = json_object_get(idx, "schemaVersion");
	if (v && (!json_is_integer(v) || json_integer_value(v) != 2)) {
		igfs_diag_set(c->diag, "'%s': index.json has schemaVersion other than 2", c->src);
		err = -EINVAL;
		goto out;
	}
	list = json_object_get(idx, "manifests");
	if (!json_is_array(list)) {
		igfs_diag_set(c->diag, "'%s': index.json has no manifests list", c->src);
		err = -EBADMSG;
		goto out;
	}
	/* IG's export lists per-arch manifests and signatures untagged beside the tag. */
	json_array_foreach(list, i, e) c->ntagged += oci_ref_of(e) != NULL;
	json_array_foreach(list, i, e)
	{
		if (c->ntagged && !oci_ref_of(e))
			continue;
		err = oci_entry(c, e, i, c->ntagged > 0);
		if (err)
			goto out;
	}
	if (!c->set->n) {
		igfs_diag_set(c->diag, "'%s' holds no gadget image for linux/%s", c->src, c->arch);
		err = -ENOENT;
	}
out:
	json_decref(idx);
	igfs_buf_free(&b);
	return err;
}

/* ---- entry points ---- */

static int oci_ctx_init(struct oci_ctx *c, struct oci_store *st, const char *src,
			const char *name_hint, struct igfs_diag *diag)
{
	memset(c, 0, sizeof(*c));
	c->src = src;
	c->name_hint = name_hint;
	c->st = st;
	c->arch = igfs_oci__host_arch();
	c->diag = diag;
	c->set = calloc(1, sizeof(*c->set));
	return c->set ? 0 : -ENOMEM;
}

static int oci_load_archive(const char *src, const void *data, size_t len, const char *name_hint,
			    struct igfs_image_set **ret, struct igfs_diag *diag)
{
	struct oci_store st = {.dirfd = -1};
	struct oci_ctx c;
	int err;

	err = oci_ctx_init(&c, &st, src, name_hint, diag);
	if (err)
		goto out;
	err = oci_archive_collect(&c, data, len);
	if (err)
		goto out;
	err = oci_layout(&c);
	if (err)
		goto out;
	*ret = c.set;
	c.set = NULL;
out:
	igfs_image_set__free(c.set);
	oci_store_release(&st);
	return err;
}

/* A directory with program.bpf.o (+ gadget.yaml, program.wasm): one untagged image. */
static int oci_load_plain(struct oci_ctx *c, int dirfd)
{
	static const struct {
		const char *file;
		size_t max;
		bool required;
	} parts[] = {
		{"program.bpf.o", IGFS_MAX_BLOB_SIZE, true},
		{"gadget.yaml", IGFS_MAX_META_SIZE, false},
		{"program.wasm", IGFS_MAX_BLOB_SIZE, false},
	};
	struct igfs_blob *slot[IGFS_ARRAY_SIZE(parts)];
	struct igfs_image *img;
	struct igfs_buf b = {};
	char *real = NULL;
	size_t i, len;
	int err;

	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	/* "." or "gadgets/x/.." name nothing: use the resolved directory's name. */
	real = realpath(c->src, NULL);
	img->source = strdup(c->src);
	img->name = igfs_oci__dir_name(real ? real : c->src);
	if (!img->source || !img->name) {
		err = -ENOMEM;
		goto out;
	}
	slot[0] = &img->elf;
	slot[1] = &img->yaml;
	slot[2] = &img->wasm;
	for (i = 0; i < IGFS_ARRAY_SIZE(parts); i++) {
		err = oci_dir_read(c, dirfd, parts[i].file, parts[i].max, &b, &len);
		if (err == -ENOENT && !parts[i].required)
			continue;
		if (err == -ENOENT)
			igfs_diag_set(c->diag, "'%s' has no %s", c->src, parts[i].file);
		else if (err == -EFBIG)
			igfs_diag_set(c->diag, "'%s': %s is larger than %zu bytes", c->src,
				      parts[i].file, parts[i].max);
		if (!err)
			err = oci_blob_take(slot[i], &b);
		if (err)
			goto out;
		igfs_buf_free(&b);
	}
	err = oci_set_add(c, img);
	if (!err)
		img = NULL;
out:
	free(real);
	igfs_buf_free(&b);
	igfs_image__free(img);
	return err;
}

static bool oci_dir_has(int dirfd, const char *name)
{
	struct stat st;

	return !fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
}

static int oci_load_dir(const char *path, struct igfs_image_set **ret, struct igfs_diag *diag)
{
	struct oci_store st = {.dirfd = -1};
	struct oci_ctx c;
	int err;

	err = oci_ctx_init(&c, &st, path, path, diag);
	if (err)
		goto out;
	st.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st.dirfd < 0) {
		err = -errno;
		igfs_diag_set(diag, "cannot open '%s': %s", path, strerror(-err));
		goto out;
	}
	if (oci_dir_has(st.dirfd, "index.json") || oci_dir_has(st.dirfd, "oci-layout")) {
		err = oci_layout(&c);
	} else if (oci_dir_has(st.dirfd, "program.bpf.o")) {
		err = oci_load_plain(&c, st.dirfd);
	} else {
		igfs_diag_set(diag,
			      "'%s' is neither an OCI image layout (no index.json) nor a gadget "
			      "directory (no program.bpf.o)",
			      path);
		err = -EINVAL;
	}
	if (err)
		goto out;
	*ret = c.set;
	c.set = NULL;
out:
	igfs_image_set__free(c.set);
	oci_store_release(&st);
	return err;
}

int igfs_oci__load(const char *path, struct igfs_image_set **ret, struct igfs_diag *diag)
{
	struct igfs_buf b = {};
	struct stat st;
	int err;

	if (stat(path, &st)) {
		err = -errno;
		igfs_diag_set(diag, "cannot open '%s': %s", path, strerror(-err));
		return err;
	}
	if (S_ISDIR(st.st_mode))
		return oci_load_dir(path, ret, diag);
	if (!S_ISREG(st.st_mode)) {
		igfs_diag_set(diag, "'%s' is neither a file nor a directory", path);
		return -EINVAL;
	}
	err = igfs_read_file(path, IGFS_MAX_ARCHIVE_SIZE, &b, diag);
	if (!err)
		err = oci_load_archive(path, b.data, b.len, path, ret, diag);
	igfs_buf_free(&b);
	return err;
}

int igfs_oci__load_mem(const void *data, size_t len, const char *name_hint,
		       struct igfs_image_set **ret, struct igfs_diag *diag)
{
	if (len > IGFS_MAX_ARCHIVE_SIZE) {
		igfs_diag_set(diag, "'%s' is larger than %u bytes", name_hint ? name_hint : "-",
			      IGFS_MAX_ARCHIVE_SIZE);
		return -EFBIG;
	}
	return oci_load_archive(name_hint ? name_hint : "-", data, len, name_hint, ret, diag);
}
