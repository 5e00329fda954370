// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The raw files of an OCI image layout and the export of one of its images
 * as a tar. Archives are read whole through libarchive; directories through
 * openat, blobs on demand. Every blob handed out has been hashed against its
 * name. Knows nothing about BPF or gadget metadata.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "layout.h"
#include "pack.h"

#define LAYOUT_BLOB_DIR		  "blobs/sha256/"
#define LAYOUT_MAX_DEPTH	  8 /* index -> index -> manifest -> blobs, with room */
#define LAYOUT_MT_DOCKER_LIST	  "application/vnd.docker.distribution.manifest.list.v2+json"
#define LAYOUT_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define LAYOUT_MT_ARTIFACT	  "application/vnd.oci.artifact.manifest.v1+json"

struct layout_file {
	char *name; /* "index.json", "oci-layout" or "blobs/sha256/<hex>" */
	void *data;
	size_t len;
	bool checked; /* a blob whose sha256 matched its name */
};

struct igfs_layout {
	char *src;
	int dirfd;		   /* the layout directory, or -1 for an archive */
	struct layout_file *files; /* sorted by name */
	size_t n;
	json_t *index;
};

bool igfs_layout__is_digest(const char *s)
{
	size_t i;

	if (!s || strncmp(s, "sha256:", 7))
		return false;
	for (i = 0; i < IGFS_SHA256_HEX_LEN; i++) {
		char c = s[7 + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return !s[7 + i];
}

void igfs_layout__free(struct igfs_layout *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->files[i].name);
		free(l->files[i].data);
	}
	free(l->files);
	json_decref(l->index);
	zclose(&l->dirfd);
	free(l->src);
	free(l);
}

json_t *igfs_layout__index(const struct igfs_layout *l)
{
	return l->index;
}

static int layout_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct layout_file *)a)->name, ((const struct layout_file *)b)->name);
}

static struct layout_file *layout_find(const struct igfs_layout *l, const char *name)
{
	struct layout_file key = {.name = (char *)name};

	if (!l->n)
		return NULL;
	return bsearch(&key, l->files, l->n, sizeof(key), layout_file_cmp);
}

/* Add a file (takes @name and @data), keeping the array sorted. */
static struct layout_file *layout_add(struct igfs_layout *l, char *name, void *data, size_t len)
{
	struct layout_file *v;
	size_t i;

	v = igfs_reallocarray(l->files, l->n + 1, sizeof(*v));
	if (!v)
		return NULL;
	l->files = v;
	for (i = l->n; i > 0 && strcmp(v[i - 1].name, name) > 0; i--)
		v[i] = v[i - 1];
	v[i] = (struct layout_file){.name = name, .data = data, .len = len};
	l->n++;
	return &v[i];
}

/* The layout's names: "index.json", "oci-layout", "blobs/sha256/<hex>". */
static bool layout_wanted(const char *name)
{
	char digest[7 + IGFS_SHA256_HEX_LEN + 1];

	if (!strcmp(name, "index.json") || !strcmp(name, "oci-layout"))
		return true;
	if (strncmp(name, LAYOUT_BLOB_DIR, strlen(LAYOUT_BLOB_DIR)) ||
	    strlen(name) != strlen(LAYOUT_BLOB_DIR) + IGFS_SHA256_HEX_LEN)
		return false;
	snprintf(digest, sizeof(digest), "sha256:%s", name + strlen(LAYOUT_BLOB_DIR));
	return igfs_layout__is_digest(digest);
}

static int layout_parse_index(struct igfs_layout *l, struct igfs_diag *diag)
{
	struct layout_file *f = layout_find(l, "index.json");
	json_error_t jerr;

	if (!f) {
		igfs_diag_set(diag, "'%s' has no index.json: it is not an OCI image layout",
			      l->src);
		return -ENOENT;
	}
	l->index = json_loadb(f->data, f->len, 0, &jerr);
	if (!json_is_object(l->index) || !json_is_array(json_object_get(l->index, "manifests"))) {
		igfs_diag_set(diag, "'%s': index.json is not an OCI image index", l->src);
		return -EBADMSG;
	}
	return 0;
}

static int layout_new(const char *src, struct igfs_layout **ret)
{
	struct igfs_layout *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->dirfd = -1;
	l->src = strdup(src);
	if (!l->src) {
		free(l);
		return -ENOMEM;
	}
	*ret = l;
	return 0;
}

/* An entry name without "./" prefixes; NULL for names outside the layout. */
static const char *layout_norm(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	return layout_wanted(name) ? name : NULL;
}

/* Read the current entry's @size bytes; 0 and *ret (malloc'd), or -errno. */
static int layout_entry_data(struct archive *a, size_t size, void **ret)
{
	char *data = malloc(size ? size : 1);
	size_t off = 0;
	la_ssize_t n;

	if (!data)
		return -ENOMEM;
	while (off < size) {
		n = archive_read_data(a, data + off, size - off);
		if (n <= 0) {
			free(data);
			return -EIO;
		}
		off += (size_t)n;
	}
	*ret = data;
	return 0;
}

int igfs_layout__from_tar(const void *data, size_t len, const char *src, struct igfs_layout **ret,
			  struct igfs_diag *diag)
{
	struct igfs_layout *l = NULL;
	struct archive_entry *e;
	struct archive *a;
	size_t entries = 0, total = 0;
	int r, err;

	err = layout_new(src, &l);
	if (err)
		return err;
	a = archive_read_new();
	if (!a) {
		err = -ENOMEM;
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		igfs_diag_set(diag, "'%s' is not a tar archive: %s", src, archive_error_string(a));
		err = -EBADMSG;
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = layout_norm(archive_entry_pathname(e) ?: "");
		la_int64_t size = archive_entry_size(e);
		char *copy;
		void *bytes;

		if (++entries > IGFS_MAX_ARCHIVE_ENTRIES) {
			igfs_diag_set(diag, "'%s' has more than %d entries", src,
				      IGFS_MAX_ARCHIVE_ENTRIES);
			err = -E2BIG;
			goto out;
		}
		if (!name || archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (size < 0 || (uint64_t)size > IGFS_MAX_BLOB_SIZE ||
		    total + (size_t)size > IGFS_MAX_ARCHIVE_SIZE) {
			igfs_diag_set(diag, "'%s': '%s' is too large", src, name);
			err = -EFBIG;
			goto out;
		}
		if (layout_find(l, name)) {
			igfs_diag_set(diag, "'%s' holds '%s' twice", src, name);
			err = -EBADMSG;
			goto out;
		}
		total += (size_t)size;
		err = layout_entry_data(a, (size_t)size, &bytes);
		if (err) {
			igfs_diag_set(diag, "cannot read '%s' from '%s': %s", name, src,
				      err == -ENOMEM ? "out of memory" : archive_error_string(a));
			goto out;
		}
		copy = strdup(name);
		if (!copy || !layout_add(l, copy, bytes, (size_t)size)) {
			free(copy);
			free(bytes);
			err = -ENOMEM;
			goto out;
		}
	}
	if (r != ARCHIVE_EOF) {
		igfs_diag_set(diag, "cannot read '%s': %s", src, archive_error_string(a));
		err = -EBADMSG;
		goto out;
	}
	err = layout_parse_index(l, diag);
out:
	if (a)
		archive_read_free(a);
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	if (err) {
		igfs_layout__free(l);
		return err;
	}
	*ret = l;
	return 0;
}

/* Read @rel below the layout directory (no symlink as the last component). */
static int layout_read_at(struct igfs_layout *l, const char *rel, size_t max, struct igfs_buf *out,
			  struct igfs_diag *diag)
{
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	fd = openat(l->dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
		if (err != -ENOENT)
			igfs_diag_set(diag, "cannot open '%s/%s': %s", l->src, rel, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		igfs_diag_set(diag, "'%s/%s' is not a regular file of at most %zu bytes", l->src,
			      rel, max);
		err = -EINVAL;
		goto out;
	}
	for (;;) {
		err = igfs_buf_reserve(out, 65536);
		if (err)
			goto out;
		n = read(fd, out->data + out->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			igfs_diag_set(diag, "cannot read '%s/%s': %s", l->src, rel, strerror(-err));
			goto out;
		}
		if (!n)
			break;
		out->len += (size_t)n;
		if (out->len > max) {
			igfs_diag_set(diag, "'%s/%s' grew while read", l->src, rel);
			err = -EFBIG;
			goto out;
		}
	}
out:
	close(fd);
	return err;
}

/* Read @rel into the file table; -ENOENT when it does not exist. */
static int layout_load_file(struct igfs_layout *l, const char *rel, size_t max,
			    struct layout_file **ret, struct igfs_diag *diag)
{
	struct igfs_buf b = {};
	struct layout_file *f;
	char *name = NULL;
	size_t len;
	int err;

	err = layout_read_at(l, rel, max, &b, diag);
	if (err)
		goto out;
	len = b.len;
	name = strdup(rel);
	/* An empty buffer has no data: make it a present, empty file. */
	if (name && !b.data)
		err = igfs_buf_reserve(&b, 1);
	if (!name || err) {
		err = -ENOMEM;
		goto out;
	}
	f = layout_add(l, name, b.data, len);
	if (!f) {
		err = -ENOMEM;
		goto out;
	}
	name = NULL;
	b = (struct igfs_buf){};
	*ret = f;
out:
	free(name);
	igfs_buf_free(&b);
	return err;
}

int igfs_layout__from_dir(const char *dir, struct igfs_layout **ret, struct igfs_diag *diag)
{
	struct igfs_layout *l = NULL;
	struct layout_file *f;
	int err;

	err = layout_new(dir, &l);
	if (err)
		return err;
	l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0) {
		err = -errno;
		igfs_diag_set(diag, "cannot open '%s': %s", dir, strerror(-err));
		goto out;
	}
	err = layout_load_file(l, "index.json", IGFS_MAX_JSON_SIZE, &f, diag);
	if (err == -ENOENT)
		igfs_diag_set(diag, "'%s' has no index.json: it is not an OCI image layout", dir);
	if (err)
		goto out;
	err = layout_load_file(l, "oci-layout", IGFS_MAX_JSON_SIZE, &f, diag);
	if (err == -ENOENT)
		err = 0;
	if (!err)
		err = layout_parse_index(l, diag);
out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	if (err) {
		igfs_layout__free(l);
		return err;
	}
	*ret = l;
	return 0;
}

int igfs_layout__blob(struct igfs_layout *l, const char *digest, const void **ret_data,
		      size_t *ret_len, struct igfs_diag *diag)
{
	char name[sizeof(LAYOUT_BLOB_DIR) + IGFS_SHA256_HEX_LEN], hex[IGFS_SHA256_HEX_LEN + 1];
	struct layout_file *f;
	int err;

	if (!igfs_layout__is_digest(digest)) {
		igfs_diag_set(diag, "'%s': '%s' is not a sha256 digest", l->src, digest ?: "");
		return -EINVAL;
	}
	snprintf(name, sizeof(name), LAYOUT_BLOB_DIR "%s", digest + 7);
	f = layout_find(l, name);
	if (!f && l->dirfd >= 0) {
		err = layout_load_file(l, name, IGFS_MAX_BLOB_SIZE, &f, diag);
		if (err == -ENOMEM)
			igfs_diag_set(diag, "out of memory");
		if (err && err != -ENOENT)
			return err;
	}
	if (!f) {
		igfs_diag_set(diag, "'%s' has no blob %s", l->src, digest);
		return -ENOENT;
	}
	if (!f->checked) {
		err = igfs_sha256_hex(f->data, f->len, hex);
		if (err)
			return err;
		if (strcmp(hex, digest + 7)) {
			igfs_diag_set(diag, "'%s': blob %s has sha256 %s: the data is corrupt",
				      l->src, digest, hex);
			return -EBADMSG;
		}
		f->checked = true;
	}
	*ret_data = f->data;
	*ret_len = f->len;
	return 0;
}

int igfs_layout__blob_json(struct igfs_layout *l, const char *digest, json_t **ret,
			   struct igfs_diag *diag)
{
	json_error_t jerr;
	const void *data;
	json_t *j;
	size_t len;
	int err;

	err = igfs_layout__blob(l, digest, &data, &len, diag);
	if (err)
		return err;
	j = json_loadb(data, len, 0, &jerr);
	if (!j) {
		igfs_diag_set(diag, "'%s': blob %s is not JSON: %s", l->src, digest, jerr.text);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

/* ---- export ---- */

/* The blobs one export takes, found by walking descriptors. */
struct layout_walk {
	struct igfs_layout *l;
	const char *essential[2]; /* the image's index and manifest digests */
	char **digests;		  /* "sha256:<hex>" of each blob taken */
	size_t n;
	struct igfs_diag *diag;
};

static bool walk_has(const struct layout_walk *w, const char *digest)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (!strcmp(w->digests[i], digest))
			return true;
	return false;
}

static bool walk_essential(const struct layout_walk *w, const char *digest)
{
	size_t i;

	for (i = 0; i < IGFS_ARRAY_SIZE(w->essential); i++)
		if (w->essential[i] && !strcmp(w->essential[i], digest))
			return true;
	return false;
}

enum layout_kind {
	LAYOUT_BLOB,
	LAYOUT_INDEX,
	LAYOUT_MANIFEST,
};

/* What a descriptor points at: by media type, else (IG omits it in manifests) by shape. */
static enum layout_kind walk_kind(const char *mt, const void *data, size_t len)
{
	json_t *j;
	enum layout_kind k = LAYOUT_BLOB;

	if (mt) {
		if (!strcmp(mt, IGFS_OCI_MT_INDEX) || !strcmp(mt, LAYOUT_MT_DOCKER_LIST))
			return LAYOUT_INDEX;
		if (!strcmp(mt, IGFS_OCI_MT_MANIFEST) || !strcmp(mt, LAYOUT_MT_DOCKER_MANIFEST) ||
		    !strcmp(mt, LAYOUT_MT_ARTIFACT))
			return LAYOUT_MANIFEST;
		return LAYOUT_BLOB;
	}
	if (len > IGFS_MAX_JSON_SIZE || !len || *(const char *)data != '{')
		return LAYOUT_BLOB;
	j = json_loadb(data, len, 0, NULL);
	if (json_is_array(json_object_get(j, "manifests")))
		k = LAYOUT_INDEX;
	else if (json_object_get(j, "config") || json_object_get(j, "layers"))
		k = LAYOUT_MANIFEST;
	json_decref(j);
	return k;
}

static int walk_desc(struct layout_walk *w, json_t *desc, bool essential, int depth);

static int walk_array(struct layout_walk *w, json_t *arr, bool essential, int depth)
{
	json_t *d;
	size_t i;
	int err;

	json_array_foreach(arr, i, d)
	{
		err = walk_desc(w, d, essential, depth);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Take the blob of descriptor @desc and what it reaches. A blob absent from
 * the layout is skipped unless it is @essential (the image's own): a layout
 * holding one architecture of a multi-architecture index is still whole for
 * that architecture. Wrong bytes are always an error.
 */
static int walk_desc(struct layout_walk *w, json_t *desc, bool essential, int depth)
{
	const char *digest = json_string_value(json_object_get(desc, "digest"));
	const char *mt = json_string_value(json_object_get(desc, "mediaType"));
	json_t *size = json_object_get(desc, "size"), *j = NULL;
	const void *data;
	char **v;
	size_t len;
	int err;

	if (!digest)
		return 0;
	if (depth > LAYOUT_MAX_DEPTH) {
		igfs_diag_set(w->diag, "'%s': descriptors nest deeper than %d", w->l->src,
			      LAYOUT_MAX_DEPTH);
		return -ELOOP;
	}
	if (walk_has(w, digest))
		return 0;
	essential = essential || walk_essential(w, digest);
	err = igfs_layout__blob(w->l, digest, &data, &len, w->diag);
	if (err == -ENOENT && !essential)
		return 0;
	if (err)
		return err;
	if (json_is_integer(size) && (uint64_t)json_integer_value(size) != len) {
		igfs_diag_set(
			w->diag,
			"'%s': blob %s has %zu bytes, its descriptor says %" JSON_INTEGER_FORMAT,
			w->l->src, digest, len, json_integer_value(size));
		return -EBADMSG;
	}
	v = igfs_reallocarray(w->digests, w->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	w->digests = v;
	w->digests[w->n] = strdup(digest);
	if (!w->digests[w->n])
		return -ENOMEM;
	w->n++;
	switch (walk_kind(mt, data, len)) {
	case LAYOUT_BLOB:
		return 0;
	case LAYOUT_INDEX:
		err = igfs_layout__blob_json(w->l, digest, &j, w->diag);
		/* Only the image's own manifest among an index's entries is essential. */
		if (!err)
			err = walk_array(w, json_object_get(j, "manifests"), false, depth + 1);
		break;
	case LAYOUT_MANIFEST:
		err = igfs_layout__blob_json(w->l, digest, &j, w->diag);
		if (!err)
			err = walk_desc(w, json_object_get(j, "config"), essential, depth + 1);
		if (!err)
			err = walk_array(w, json_object_get(j, "layers"), essential, depth + 1);
		if (!err)
			err = walk_array(w, json_object_get(j, "blobs"), essential, depth + 1);
		break;
	}
	json_decref(j);
	return err;
}

static const char *entry_ref(json_t *e)
{
	return json_string_value(
		json_object_get(json_object_get(e, "annotations"), IGFS_OCI_ANN_REF_NAME));
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Whether index.json entry @e is where the loader found @img. */
static bool entry_is_root(json_t *e, const struct igfs_image *img)
{
	const char *d = json_string_value(json_object_get(e, "digest"));

	if (!d || !str_same(entry_ref(e), img->ref))
		return false;
	return (img->index_digest && !strcmp(d, img->index_digest)) ||
	       (img->manifest_digest && !strcmp(d, img->manifest_digest));
}

/* Tag index.json entry @e (a copy) as @ref, keeping its other annotations. */
static int export_retag(json_t *e, const char *ref)
{
	json_t *ann = json_object_get(e, "annotations");

	if (!json_is_object(ann)) {
		ann = json_object();
		if (!ann || json_object_set_new(e, "annotations", ann))
			return -ENOMEM;
	}
	return json_object_set_new(ann, IGFS_OCI_ANN_REF_NAME, json_string(ref)) ? -ENOMEM : 0;
}

/*
 * The entries of index.json that make up @img, walked: its tagged index or
 * manifest (tagged @ref instead when given) and, as ig image export lists
 * them, its manifests untagged beside it. New array.
 */
static int export_entries(struct layout_walk *w, const struct igfs_image *img, const char *ref,
			  json_t **ret)
{
	json_t *all = json_object_get(w->l->index, "manifests"), *kept, *e, *copy;
	bool found = false;
	size_t i;
	int err = 0;

	kept = json_array();
	if (!kept)
		return -ENOMEM;
	json_array_foreach(all, i, e)
	{
		if (found || !entry_is_root(e, img))
			continue;
		found = true;
		err = walk_desc(w, e, false, 0);
		if (err)
			goto out;
		copy = json_deep_copy(e);
		if (!copy || json_array_append_new(kept, copy)) {
			err = -ENOMEM;
			goto out;
		}
		if (ref) {
			err = export_retag(copy, ref);
			if (err)
				goto out;
		}
	}
	if (!found) {
		igfs_diag_set(w->diag, "'%s': index.json does not list image '%s'", w->l->src,
			      img->name);
		err = -ENOENT;
		goto out;
	}
	json_array_foreach(all, i, e)
	{
		const char *d = json_string_value(json_object_get(e, "digest"));

		if (entry_ref(e) || !d || !walk_has(w, d) || entry_is_root(e, img))
			continue;
		if (json_array_append(kept, e)) {
			err = -ENOMEM;
			goto out;
		}
	}
out:
	if (err) {
		json_decref(kept);
		return err;
	}
	*ret = kept;
	return 0;
}

static int export_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct igfs_pack_file *)a)->name,
		      ((const struct igfs_pack_file *)b)->name);
}

int igfs_layout__export(struct igfs_layout *l, const struct igfs_image *img, const char *ref,
			struct igfs_buf *out, struct igfs_diag *diag)
{
	static const char std_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	struct layout_walk w = {.l = l, .diag = diag};
	struct igfs_pack_file *files = NULL;
	struct layout_file *oci_layout;
	json_t *kept = NULL, *idx = NULL;
	char *index_new = NULL, **names = NULL;
	size_t i, n = 0;
	int err;

	w.essential[0] = img->index_digest;
	w.essential[1] = img->manifest_digest;
	if (!img->manifest_digest) {
		igfs_diag_set(diag, "'%s' is a gadget directory, not an OCI image", l->src);
		return -EINVAL;
	}
	err = export_entries(&w, img, ref, &kept);
	if (err)
		goto out;
	err = -ENOMEM;
	files = calloc(w.n + 2, sizeof(*files));
	names = calloc(w.n + 1, sizeof(*names));
	if (!files || !names)
		goto out;
	for (i = 0; i < w.n; i++) {
		const void *data;
		size_t len;

		if (asprintf(&names[i], LAYOUT_BLOB_DIR "%s", w.digests[i] + 7) < 0) {
			names[i] = NULL;
			err = -ENOMEM;
			goto out;
		}
		err = igfs_layout__blob(l, w.digests[i], &data, &len, diag);
		if (err)
			goto out;
		files[n++] = (struct igfs_pack_file){names[i], data, len};
	}
	err = -ENOMEM;
	qsort(files, n, sizeof(*files), export_name_cmp);
	idx = json_deep_copy(l->index);
	if (!idx || json_object_set(idx, "manifests", kept))
		goto out;
	index_new = json_dumps(idx, JSON_COMPACT);
	if (!index_new)
		goto out;
	files[n++] = (struct igfs_pack_file){"index.json", index_new, strlen(index_new)};
	oci_layout = layout_find(l, "oci-layout");
	files[n++] =
		oci_layout
			? (struct igfs_pack_file){"oci-layout", oci_layout->data, oci_layout->len}
			: (struct igfs_pack_file){"oci-layout", std_layout, sizeof(std_layout) - 1};
	err = igfs_pack__tar_files(files, n, out, diag);
out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	if (names)
		for (i = 0; i < w.n; i++)
			free(names[i]);
	free(names);
	free(files);
	for (i = 0; i < w.n; i++)
		free(w.digests[i]);
	free(w.digests);
	free(index_new);
	json_decref(kept);
	json_decref(idx);
	return err;
}

/* ---- sources ---- */

void igfs_source__free(struct igfs_source *s)
{
	if (!s)
		return;
	igfs_layout__free(s->layout);
	igfs_image_set__free(s->set);
	igfs_buf_free(&s->bytes);
	free(s->path);
	free(s);
}

int igfs_source__open(const char *path, struct igfs_source **ret, struct igfs_diag *diag)
{
	struct igfs_source *s;
	struct stat st;
	int err;

	if (stat(path, &st)) {
		err = -errno;
		igfs_diag_set(diag, "cannot open '%s': %s", path, strerror(-err));
		return err;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	if (!s->path) {
		err = -ENOMEM;
		goto out;
	}
	s->is_dir = S_ISDIR(st.st_mode);
	if (s->is_dir) {
		err = igfs_oci__load(path, &s->set, diag);
	} else {
		err = igfs_read_file(path, IGFS_MAX_ARCHIVE_SIZE, &s->bytes, diag);
		if (!err)
			err = igfs_oci__load_mem(s->bytes.data, s->bytes.len, path, &s->set, diag);
	}
out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	if (err) {
		igfs_source__free(s);
		return err;
	}
	*ret = s;
	return 0;
}

int igfs_source__layout(struct igfs_source *s, struct igfs_layout **ret, struct igfs_diag *diag)
{
	char path[PATH_MAX + 16];
	int err;

	if (!s->layout) {
		if (s->is_dir) {
			snprintf(path, sizeof(path), "%s/index.json", s->path);
			if (access(path, F_OK)) {
				igfs_diag_set(diag, "'%s' is a gadget directory, not an OCI image",
					      s->path);
				return -EINVAL;
			}
			err = igfs_layout__from_dir(s->path, &s->layout, diag);
		} else {
			err = igfs_layout__from_tar(s->bytes.data, s->bytes.len, s->path,
						    &s->layout, diag);
		}
		if (err)
			return err;
	}
	*ret = s->layout;
	return 0;
}
