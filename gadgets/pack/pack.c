// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Packs gadget images as a deterministic OCI image layout, as a tar archive or
 * a directory, shaped like `ig image export` (GADGET-FORMAT.md §7). Same
 * inputs, same bytes: sorted entries, mtime 0, uid/gid 0, sorted JSON keys.
 * Reports through diag, never prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <yaml.h>

#include "oci.h"
#include "pack.h"
#include "util.h"

#define PACK_COSIGN_SIG	    "application/vnd.dev.cosign.artifact.sig.v1+json"
#define PACK_COSIGN_PAYLOAD "application/vnd.dev.cosign.simplesigning.v1+json"
#define PACK_ANN	    "org.opencontainers.image."
#define PACK_ANN_BUILDER    "io.inspektor-gadget.builder.version"
#define PACK_DIGEST_LEN	    (7 + IGFS_SHA256_HEX_LEN + 1)

struct pack_blob {
	char hex[IGFS_SHA256_HEX_LEN + 1];
	char *data;
	size_t len;
};

struct igfs_pack {
	struct pack_blob *blobs;
	size_t nblobs;
	json_t *entries; /* index.json's manifests */
	struct igfs_pack_opts o;
	struct igfs_diag *diag; /* of the public call in progress */
};

/* A descriptor's identity, as written. */
struct pack_ref {
	char digest[PACK_DIGEST_LEN];
	size_t size;
};

static const struct {
	const char *key; /* gadget.yaml top-level key (case-insensitive) */
	const char *ann;
} pack_meta_keys[] = {
	{"name", PACK_ANN "title"},	  {"description", PACK_ANN "description"},
	{"homepageURL", PACK_ANN "url"},  {"documentationURL", PACK_ANN "documentation"},
	{"sourceURL", PACK_ANN "source"},
};

/* ---- blobs ---- */

int igfs_pack__new(const struct igfs_pack_opts *opts, struct igfs_pack **ret)
{
	struct igfs_pack *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->o = *opts;
	if (!p->o.n_archs)
		p->o.archs[p->o.n_archs++] = igfs_oci__host_arch();
	p->entries = json_array();
	if (!p->entries) {
		free(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

void igfs_pack__free(struct igfs_pack *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nblobs; i++)
		free(p->blobs[i].data);
	free(p->blobs);
	json_decref(p->entries);
	free(p);
}

static int pack_add_blob(struct igfs_pack *p, const void *data, size_t len, struct pack_ref *ret)
{
	char hex[IGFS_SHA256_HEX_LEN + 1];
	struct pack_blob *b;
	size_t i;
	int err;

	err = igfs_sha256_hex(len ? data : "", len, hex);
	if (err)
		return err;
	snprintf(ret->digest, sizeof(ret->digest), "sha256:%s", hex);
	ret->size = len;
	for (i = 0; i < p->nblobs; i++)
		if (!strcmp(p->blobs[i].hex, hex))
			return 0;
	b = igfs_reallocarray(p->blobs, p->nblobs + 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	p->blobs = b;
	b = &p->blobs[p->nblobs];
	b->data = malloc(len ? len : 1);
	if (!b->data)
		return -ENOMEM;
	if (len)
		memcpy(b->data, data, len);
	b->len = len;
	memcpy(b->hex, hex, sizeof(hex));
	p->nblobs++;
	return 0;
}

/* One serialization for every run: compact, keys sorted. */
static char *pack_dump(const json_t *j, size_t *ret_len)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	if (s)
		*ret_len = strlen(s);
	return s;
}

static int pack_add_json(struct igfs_pack *p, const json_t *j, struct pack_ref *ret)
{
	size_t len;
	char *s;
	int err;

	s = pack_dump(j, &len);
	if (!s)
		return -ENOMEM;
	err = pack_add_blob(p, s, len, ret);
	free(s);
	return err;
}

/* {mediaType, digest, size}; NULL on ENOMEM. */
static json_t *pack_desc(const char *mt, const struct pack_ref *r)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", r->digest, "size",
			 (json_int_t)r->size);
}

/* ---- gadget.yaml: only the top-level keys that become annotations ---- */

/* The file a YAML parse reads and where its error goes. */
struct pack_yaml {
	yaml_parser_t yp;
	const char *file;
	struct igfs_diag *diag;
};

static int pack_yaml_next(struct pack_yaml *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(&y->yp, ev))
		return 0;
	igfs_diag_set(y->diag, "'%s': line %zu col %zu: %s", y->file, y->yp.problem_mark.line + 1,
		      y->yp.problem_mark.column + 1, y->yp.problem ? y->yp.problem : "YAML error");
	return -EINVAL;
}

/* Skip the rest of a node whose first event was @type. */
static int pack_yaml_skip(struct pack_yaml *y, yaml_event_type_t type)
{
	yaml_event_t ev;
	size_t depth;
	int err;

	if (type != YAML_MAPPING_START_EVENT && type != YAML_SEQUENCE_START_EVENT)
		return 0;
	for (depth = 1; depth;) {
		err = pack_yaml_next(y, &ev);
		if (err)
			return err;
		if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		else if (ev.type == YAML_STREAM_END_EVENT)
			depth = 0;
		yaml_event_delete(&ev);
	}
	return 0;
}

static int pack_ann_set(struct pack_yaml *y, json_t *ann, const char *key, const yaml_event_t *val)
{
	json_t *s;

	if (!val->data.scalar.length)
		return 0;
	s = json_stringn((const char *)val->data.scalar.value, val->data.scalar.length);
	if (!s) {
		igfs_diag_set(y->diag, "'%s': the value of '%s' is not valid UTF-8", y->file, key);
		return -EINVAL;
	}
	return json_object_set_new(ann, key, s) ? -ENOMEM : 0;
}

/* The pairs of the gadget.yaml "annotations" mapping, whose start was just read. */
static int pack_yaml_annotations(struct pack_yaml *y, json_t *extra)
{
	yaml_event_t k = {}, v = {};
	char *key = NULL;
	int err;

	for (;;) {
		err = pack_yaml_next(y, &k);
		if (err)
			goto out;
		if (k.type == YAML_MAPPING_END_EVENT)
			break;
		/* A complex key's events come before its value's. */
		err = pack_yaml_skip(y, k.type);
		if (!err)
			err = pack_yaml_next(y, &v);
		if (err)
			goto out;
		if (k.type == YAML_SCALAR_EVENT && v.type == YAML_SCALAR_EVENT) {
			key = strndup((const char *)k.data.scalar.value, k.data.scalar.length);
			err = key ? pack_ann_set(y, extra, key, &v) : -ENOMEM;
			zfree(&key);
		} else {
			err = pack_yaml_skip(y, v.type);
		}
		if (err)
			goto out;
		yaml_event_delete(&k);
		yaml_event_delete(&v);
	}
out:
	yaml_event_delete(&k);
	yaml_event_delete(&v);
	return err;
}

/*
 * Read name, description, homepageURL, documentationURL, sourceURL and
 * annotations from gadget.yaml into @ann; the yaml annotations go last so
 * they can override.
 */
static int pack_yaml_meta(const char *file, const char *data, size_t len, json_t *ann,
			  struct igfs_diag *diag)
{
	struct pack_yaml y = { .file = file, .diag = diag };
	yaml_event_t ev = {}, v = {};
	json_t *extra = NULL;
	char *key = NULL;
	size_t i;
	int err;

	if (!yaml_parser_initialize(&y.yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&y.yp, (const unsigned char *)data, len);
	extra = json_object();
	if (!extra) {
		err = -ENOMEM;
		goto out;
	}
	/* Up to the first node: stream start, document start. */
	do {
		yaml_event_delete(&ev);
		err = pack_yaml_next(&y, &ev);
		if (err)
			goto out;
	} while (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT);
	if (ev.type == YAML_STREAM_END_EVENT ||
	    (ev.type == YAML_SCALAR_EVENT && !ev.data.scalar.length))
		goto out;
	if (ev.type != YAML_MAPPING_START_EVENT) {
		igfs_diag_set(diag, "'%s' is not a YAML mapping", file);
		err = -EINVAL;
		goto out;
	}
	for (;;) {
		yaml_event_delete(&ev);
		err = pack_yaml_next(&y, &ev);
		if (err)
			goto out;
		if (ev.type == YAML_MAPPING_END_EVENT)
			break;
		/* A complex key's events come before its value's. */
		err = pack_yaml_skip(&y, ev.type);
		if (!err)
			err = pack_yaml_next(&y, &v);
		if (err)
			goto out;
		if (ev.type != YAML_SCALAR_EVENT) {
			err = pack_yaml_skip(&y, v.type);
			if (err)
				goto out;
			yaml_event_delete(&v);
			continue;
		}
		key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
		if (!key) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < IGFS_ARRAY_SIZE(pack_meta_keys); i++)
			if (!strcasecmp(key, pack_meta_keys[i].key))
				break;
		if (i < IGFS_ARRAY_SIZE(pack_meta_keys) && v.type == YAML_SCALAR_EVENT)
			err = pack_ann_set(&y, ann, pack_meta_keys[i].ann, &v);
		else if (!strcasecmp(key, "annotations") && v.type == YAML_MAPPING_START_EVENT)
			err = pack_yaml_annotations(&y, extra);
		else
			err = pack_yaml_skip(&y, v.type);
		zfree(&key);
		yaml_event_delete(&v);
		if (err)
			goto out;
	}
	err = json_object_update(ann, extra) ? -ENOMEM : 0;
out:
	free(key);
	json_decref(extra);
	yaml_event_delete(&ev);
	yaml_event_delete(&v);
	yaml_parser_delete(&y.yp);
	return err;
}

/* ---- images ---- */

/* Read @dir/@file if it exists; *present says whether it did. */
static int pack_read_opt(struct igfs_pack *p, const char *dir, const char *file, size_t max,
			 struct igfs_buf *out, bool *present)
{
	struct stat st;
	char *path;
	int err;

	*present = false;
	igfs_buf_free(out);
	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return -ENOMEM;
	if (stat(path, &st) && errno == ENOENT) {
		err = 0;
		goto out;
	}
	err = igfs_read_file(path, max, out, p->diag);
	if (err)
		goto out;
	*present = true;
out:
	free(path);
	return err;
}

/* A cosign-style signature artifact for the image index @subject. */
static int pack_signature(struct igfs_pack *p, const char *full, const struct pack_ref *subject)
{
	json_t *payload = NULL, *m = NULL, *e = NULL;
	struct pack_ref empty, pl, mr;
	int err = -ENOMEM;

	payload =
		json_pack("{s:{s:{s:s}, s:{s:s}, s:s}, s:n}", "critical", "identity",
			  "docker-reference", full, "image", "docker-manifest-digest",
			  subject->digest, "type", "cosign container image signature", "optional");
	if (!payload)
		goto out;
	if ((err = pack_add_json(p, payload, &pl)) || (err = pack_add_blob(p, "{}", 2, &empty)))
		goto out;
	err = -ENOMEM;
	m = json_pack("{s:i, s:s, s:s, s:o, s:[{s:s, s:s, s:I, s:{s:s}}], s:o}", "schemaVersion", 2,
		      "mediaType", IGFS_OCI_MT_MANIFEST, "artifactType", PACK_COSIGN_SIG, "config",
		      pack_desc(IGFS_OCI_MT_EMPTY, &empty), "layers", "mediaType",
		      PACK_COSIGN_PAYLOAD, "digest", pl.digest, "size", (json_int_t)pl.size,
		      "annotations", "dev.cosignproject.cosign/signature", "", "subject",
		      pack_desc(IGFS_OCI_MT_INDEX, subject));
	if (!m)
		goto out;
	err = pack_add_json(p, m, &mr);
	if (err)
		goto out;
	e = pack_desc(IGFS_OCI_MT_MANIFEST, &mr);
	if (!e || json_object_set_new(e, "artifactType", json_string(PACK_COSIGN_SIG)) ||
	    json_array_append(p->entries, e)) {
		err = -ENOMEM;
		goto out;
	}
	err = 0;
out:
	json_decref(payload);
	json_decref(m);
	json_decref(e);
	return err;
}

/* Whether index.json already lists @digest untagged. */
static bool pack_listed(const struct igfs_pack *p, const char *digest)
{
	json_t *e;
	size_t i;

	json_array_foreach(p->entries, i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "digest")), digest) &&
		    !json_object_get(e, "annotations"))
			return true;
	}
	return false;
}

/* One manifest for @arch; its descriptor (with platform) goes to @list. */
static int pack_manifest(struct igfs_pack *p, const char *dir, const char *arch, json_t *cfg,
			 const struct igfs_buf *wasm, bool has_wasm, json_t *ann, json_t *list)
{
	struct igfs_buf elf = {};
	json_t *layers = NULL, *m = NULL, *d = NULL, *u = NULL;
	struct pack_ref r;
	bool has_elf;
	char file[64];
	int err;

	layers = json_array();
	if (!layers)
		return -ENOMEM;
	snprintf(file, sizeof(file), "program.%s.bpf.o", arch);
	err = pack_read_opt(p, dir, file, IGFS_MAX_BLOB_SIZE, &elf, &has_elf);
	if (!err && !has_elf)
		err = pack_read_opt(p, dir, "program.bpf.o", IGFS_MAX_BLOB_SIZE, &elf, &has_elf);
	if (err)
		goto out;
	if (!has_elf && !has_wasm) {
		igfs_diag_set(p->diag, "'%s' has neither program.bpf.o nor program.wasm", dir);
		err = -ENOENT;
		goto out;
	}
	/* Layers in IG's order: eBPF, then WASM. */
	if (has_elf) {
		err = pack_add_blob(p, elf.data, elf.len, &r);
		if (!err && json_array_append_new(layers, pack_desc(IGFS_OCI_MT_GADGET_EBPF, &r)))
			err = -ENOMEM;
		if (err)
			goto out;
	}
	if (has_wasm) {
		err = pack_add_blob(p, wasm->data, wasm->len, &r);
		if (!err && json_array_append_new(layers, pack_desc(IGFS_OCI_MT_GADGET_WASM, &r)))
			err = -ENOMEM;
		if (err)
			goto out;
	}
	/* IG's manifests carry artifactType and no mediaType. */
	m = json_pack("{s:i, s:s, s:O, s:O, s:O}", "schemaVersion", 2, "artifactType",
		      IGFS_OCI_ARTIFACT_GADGET, "config", cfg, "layers", layers, "annotations",
		      ann);
	if (!m) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = pack_add_json(p, m, &r)))
		goto out;
	err = -ENOMEM;
	d = pack_desc(IGFS_OCI_MT_MANIFEST, &r);
	if (!d || json_object_set_new(d, "artifactType", json_string(IGFS_OCI_ARTIFACT_GADGET)) ||
	    json_object_set_new(d, "platform",
				json_pack("{s:s, s:s}", "architecture", arch, "os", "linux")) ||
	    json_array_append(list, d))
		goto out;
	/* ig image export also lists each manifest untagged in index.json. */
	if (!p->o.tagged_only && !pack_listed(p, r.digest)) {
		u = json_deep_copy(d);
		if (!u || json_array_append(p->entries, u))
			goto out;
	}
	if (json_object_set(d, "annotations", ann))
		goto out;
	err = 0;
out:
	igfs_buf_free(&elf);
	json_decref(layers);
	json_decref(m);
	json_decref(d);
	json_decref(u);
	return err;
}

static int pack_image(struct igfs_pack *p, const char *ref, const char *dir)
{
	struct igfs_buf yaml = {}, wasm = {};
	json_t *ann = NULL, *cfg = NULL, *list = NULL, *idx = NULL, *e = NULL;
	bool has_yaml, has_wasm;
	struct pack_ref r;
	struct stat st;
	char *full = NULL, *path = NULL;
	size_t i;
	int err;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		igfs_diag_set(p->diag, "'%s' is not a directory", dir);
		return -ENOTDIR;
	}
	full = igfs_oci__full_ref(ref);
	if (!full)
		return -errno;
	ann = json_object();
	list = json_array();
	if (!ann || !list) {
		err = -ENOMEM;
		goto out;
	}
	err = pack_read_opt(p, dir, "gadget.yaml", IGFS_MAX_META_SIZE, &yaml, &has_yaml);
	if (!err)
		err = pack_read_opt(p, dir, "program.wasm", IGFS_MAX_BLOB_SIZE, &wasm, &has_wasm);
	if (err)
		goto out;

	err = -ENOMEM;
	if (json_object_set_new(ann, PACK_ANN_BUILDER, json_string(p->o.builder)) ||
	    (p->o.created &&
	     json_object_set_new(ann, PACK_ANN "created", json_string(p->o.created))))
		goto out;
	if (has_yaml) {
		if (asprintf(&path, "%s/gadget.yaml", dir) < 0)
			goto out;
		err = pack_yaml_meta(path, yaml.data, yaml.len, ann, p->diag);
		if (err)
			goto out;
		err = pack_add_blob(p, yaml.data, yaml.len, &r);
	} else {
		/* The OCI empty descriptor stands for "no config". */
		err = pack_add_blob(p, "{}", 2, &r);
	}
	if (err)
		goto out;
	err = -ENOMEM;
	cfg = pack_desc(has_yaml ? IGFS_OCI_MT_GADGET_CONFIG : IGFS_OCI_MT_EMPTY, &r);
	if (!cfg || json_object_set(cfg, "annotations", ann))
		goto out;

	for (i = 0; i < p->o.n_archs; i++) {
		err = pack_manifest(p, dir, p->o.archs[i], cfg, &wasm, has_wasm, ann, list);
		if (err)
			goto out;
	}
	err = -ENOMEM;
	idx = json_pack("{s:i, s:s, s:O, s:O}", "schemaVersion", 2, "mediaType", IGFS_OCI_MT_INDEX,
			"manifests", list, "annotations", ann);
	if (!idx)
		goto out;
	if ((err = pack_add_json(p, idx, &r)))
		goto out;
	err = -ENOMEM;
	e = pack_desc(IGFS_OCI_MT_INDEX, &r);
	if (!e ||
	    json_object_set_new(e, "annotations",
				json_pack("{s:s}", IGFS_OCI_ANN_REF_NAME, full)) ||
	    json_array_append(p->entries, e))
		goto out;
	err = p->o.signature ? pack_signature(p, full, &r) : 0;
out:
	igfs_buf_free(&yaml);
	igfs_buf_free(&wasm);
	json_decref(ann);
	json_decref(cfg);
	json_decref(list);
	json_decref(idx);
	json_decref(e);
	free(full);
	free(path);
	return err;
}

/* ---- output ---- */

static int pack_entry_cmp(const void *a, const void *b)
{
	json_t *const *ea = a, *const *eb = b;
	const char *ra, *rb;
	int r;

	r = strcmp(json_string_value(json_object_get(*ea, "digest")),
		   json_string_value(json_object_get(*eb, "digest")));
	if (r)
		return r;
	ra = json_string_value(
		json_object_get(json_object_get(*ea, "annotations"), IGFS_OCI_ANN_REF_NAME));
	rb = json_string_value(
		json_object_get(json_object_get(*eb, "annotations"), IGFS_OCI_ANN_REF_NAME));
	return strcmp(ra ? ra : "", rb ? rb : "");
}

/* index.json: every entry, tagged or not, sorted by digest (then reference). */
static char *pack_index_json(struct igfs_pack *p, size_t *ret_len)
{
	json_t **v, *list = NULL, *idx = NULL;
	size_t i, n = json_array_size(p->entries);
	char *s = NULL;

	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(p->entries, i);
	qsort(v, n, sizeof(*v), pack_entry_cmp);
	list = json_array();
	if (!list)
		goto out;
	for (i = 0; i < n; i++)
		if (json_array_append(list, v[i]))
			goto out;
	idx = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType", IGFS_OCI_MT_INDEX,
			"manifests", list);
	if (idx)
		s = pack_dump(idx, ret_len);
out:
	free(v);
	json_decref(list);
	json_decref(idx);
	return s;
}

static int pack_blob_cmp(const void *a, const void *b)
{
	const struct pack_blob *ba = a, *bb = b;

	return strcmp(ba->hex, bb->hex);
}

/* ---- public: images ---- */

int igfs_pack__add(struct igfs_pack *p, const char *ref, const char *dir, struct igfs_diag *diag)
{
	struct igfs_diag local = {};
	int err;

	p->diag = diag ? diag : &local;
	p->diag->msg[0] = '\0';
	err = pack_image(p, ref, dir);
	if (err && !p->diag->msg[0])
		igfs_diag_set(p->diag, "%s", err == -ENOMEM ? "out of memory" : strerror(-err));
	p->diag = NULL;
	return err;
}

/* ---- public: output ---- */

typedef int pack_put_fn(void *ctx, const char *name, const void *data, size_t len);

/* Every file of the layout, in byte order of their names. */
static int pack_emit(struct igfs_pack *p, pack_put_fn *put, void *ctx)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	char name[sizeof("blobs/sha256/") + IGFS_SHA256_HEX_LEN];
	char *index;
	size_t i, len;
	int err = 0;

	index = pack_index_json(p, &len);
	if (!index)
		return -ENOMEM;
	qsort(p->blobs, p->nblobs, sizeof(p->blobs[0]), pack_blob_cmp);
	for (i = 0; i < p->nblobs && !err; i++) {
		snprintf(name, sizeof(name), "blobs/sha256/%s", p->blobs[i].hex);
		err = put(ctx, name, p->blobs[i].data, p->blobs[i].len);
	}
	if (!err)
		err = put(ctx, "index.json", index, len);
	if (!err)
		err = put(ctx, "oci-layout", layout, sizeof(layout) - 1);
	free(index);
	return err;
}

/* A tar being written and where its error goes. */
struct pack_tar {
	struct archive *a;
	struct igfs_diag *diag;
};

static int pack_tar_put(void *ctx, const char *name, const void *data, size_t len)
{
	struct pack_tar *t = ctx;
	struct archive_entry *e;
	int err = 0;

	e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(t->a, e) != ARCHIVE_OK ||
	    (len && archive_write_data(t->a, data, len) != (la_ssize_t)len)) {
		igfs_diag_set(t->diag, "cannot write '%s': %s", name, archive_error_string(t->a));
		err = -EIO;
	}
	archive_entry_free(e);
	return err;
}

/* ustar: the names fit in 100 bytes and no pax header carries a time. */
static struct archive *pack_tar_new(void)
{
	struct archive *a = archive_write_new();

	if (a && (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
		  archive_write_add_filter_none(a) != ARCHIVE_OK)) {
		archive_write_free(a);
		a = NULL;
	}
	return a;
}

static la_ssize_t pack_mem_write(struct archive *a, void *ctx, const void *data, size_t len)
{
	(void)a;
	return igfs_buf_append(ctx, data, len) ? -1 : (la_ssize_t)len;
}

static int pack_mem_close(struct archive *a, void *ctx)
{
	(void)a;
	(void)ctx;
	return ARCHIVE_OK;
}

/*
 * Open @a onto @out. archive_write_open_filename() does not pad a regular
 * file's last block (archive_write_open_filename.c); neither do we, so that
 * the bytes are the same either way.
 */
static int pack_tar_open_mem(struct archive *a, struct igfs_buf *out, struct igfs_diag *diag)
{
	if (archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, out, NULL, pack_mem_write, pack_mem_close, NULL) != ARCHIVE_OK) {
		igfs_diag_set(diag, "cannot write a tar archive in memory: %s",
			      archive_error_string(a));
		return -EIO;
	}
	return 0;
}

int igfs_pack__tar_files(const struct igfs_pack_file *files, size_t n, struct igfs_buf *out,
			 struct igfs_diag *diag)
{
	struct pack_tar t = { .diag = diag };
	size_t i, base = out->len;
	int err;

	t.a = pack_tar_new();
	if (!t.a) {
		igfs_diag_set(diag, "out of memory");
		return -ENOMEM;
	}
	err = pack_tar_open_mem(t.a, out, diag);
	for (i = 0; i < n && !err; i++)
		err = pack_tar_put(&t, files[i].name, files[i].data, files[i].len);
	if (!err && archive_write_close(t.a) != ARCHIVE_OK) {
		igfs_diag_set(diag, "cannot write a tar archive in memory: %s",
			      archive_error_string(t.a));
		err = -EIO;
	}
	archive_write_free(t.a);
	if (err)
		out->len = base;
	return err;
}

int igfs_pack__tar_mem(struct igfs_pack *p, struct igfs_buf *out, struct igfs_diag *diag)
{
	struct pack_tar t = { .diag = diag };
	size_t base = out->len;
	int err;

	t.a = pack_tar_new();
	if (!t.a) {
		igfs_diag_set(diag, "out of memory");
		return -ENOMEM;
	}
	err = pack_tar_open_mem(t.a, out, diag);
	if (!err)
		err = pack_emit(p, pack_tar_put, &t);
	if (!err && archive_write_close(t.a) != ARCHIVE_OK) {
		igfs_diag_set(diag, "cannot write a tar archive in memory: %s",
			      archive_error_string(t.a));
		err = -EIO;
	}
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	archive_write_free(t.a);
	if (err)
		out->len = base;
	return err;
}

int igfs_pack__write_tar(struct igfs_pack *p, const char *out, struct igfs_diag *diag)
{
	struct pack_tar t = { .diag = diag };
	char *tmp = NULL;
	int err;

	if (asprintf(&tmp, "%s.tmp", out) < 0) {
		igfs_diag_set(diag, "out of memory");
		return -ENOMEM;
	}
	t.a = pack_tar_new();
	if (!t.a) {
		igfs_diag_set(diag, "out of memory");
		err = -ENOMEM;
		goto out;
	}
	if (archive_write_open_filename(t.a, tmp) != ARCHIVE_OK) {
		igfs_diag_set(diag, "cannot write '%s': %s", tmp, archive_error_string(t.a));
		err = -EIO;
		goto out;
	}
	err = pack_emit(p, pack_tar_put, &t);
	if (!err && archive_write_close(t.a) != ARCHIVE_OK) {
		igfs_diag_set(diag, "cannot write '%s': %s", tmp, archive_error_string(t.a));
		err = -EIO;
	}
	if (!err && rename(tmp, out)) {
		err = -errno;
		igfs_diag_set(diag, "cannot rename '%s' to '%s': %s", tmp, out, strerror(-err));
	}
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
out:
	if (t.a)
		archive_write_free(t.a);
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

/* A layout directory being written and where its error goes. */
struct pack_dir {
	const char *root;
	struct igfs_diag *diag;
};

static int pack_dir_put(void *ctx, const char *name, const void *data, size_t len)
{
	struct pack_dir *d = ctx;
	size_t off = 0;
	char *path;
	ssize_t n;
	int fd, err = 0;

	if (asprintf(&path, "%s/%s", d->root, name) < 0)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	while (off < len) {
		n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto fail;
		}
		off += (size_t)n;
	}
	if (close(fd)) {
		fd = -1;
		err = -errno;
		goto fail;
	}
	free(path);
	return 0;
fail:
	igfs_diag_set(d->diag, "cannot write '%s': %s", path, strerror(-err));
	zclose(&fd);
	free(path);
	return err;
}

static int pack_mkdir(const char *root, const char *sub, struct igfs_diag *diag)
{
	char *path;
	int err = 0;

	if (asprintf(&path, "%s%s", root, sub) < 0)
		return -ENOMEM;
	if (mkdir(path, 0755) && errno != EEXIST) {
		err = -errno;
		igfs_diag_set(diag, "cannot create '%s': %s", path, strerror(-err));
	}
	free(path);
	return err;
}

int igfs_pack__write_dir(struct igfs_pack *p, const char *dir, struct igfs_diag *diag)
{
	struct pack_dir d = { .root = dir, .diag = diag };
	int err;

	if ((err = pack_mkdir(dir, "", diag)) || (err = pack_mkdir(dir, "/blobs", diag)) ||
	    (err = pack_mkdir(dir, "/blobs/sha256", diag)))
		goto out;
	err = pack_emit(p, pack_dir_put, &d);
out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	return err;
}

/* ---- options ---- */

static bool pack_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool igfs_pack__is_rfc3339(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (!s[i] || (shape[i] == 'd' ? !pack_digits(s + i, 1) : s[i] != shape[i]))
			return false;
	}
	s += i;
	if (*s == '.') {
		for (i = 1; s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 1)
			return false;
		s += i;
	}
	if (!strcmp(s, "Z"))
		return true;
	return (s[0] == '+' || s[0] == '-') && pack_digits(s + 1, 2) && s[3] == ':' &&
	       pack_digits(s + 4, 2) && !s[6];
}

int igfs_pack__parse_archs(struct igfs_pack_opts *o, char *list, struct igfs_diag *diag)
{
	char *tok, *save = NULL;
	size_t i, j;

	o->n_archs = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (j = 0; tok[j]; j++)
			if (!((tok[j] >= 'a' && tok[j] <= 'z') || (tok[j] >= '0' && tok[j] <= '9')))
				break;
		if (!j || tok[j]) {
			igfs_diag_set(diag, "invalid architecture '%s'", tok);
			return -EINVAL;
		}
		for (i = 0; i < o->n_archs; i++)
			if (!strcmp(o->archs[i], tok))
				break;
		if (i < o->n_archs)
			continue;
		if (o->n_archs == IGFS_PACK_MAX_ARCHS) {
			igfs_diag_set(diag, "more than %d architectures", IGFS_PACK_MAX_ARCHS);
			return -E2BIG;
		}
		o->archs[o->n_archs++] = tok;
	}
	if (!o->n_archs) {
		igfs_diag_set(diag, "--arch needs at least one architecture");
		return -EINVAL;
	}
	return 0;
}

int igfs_pack__source_date(char *buf, size_t len, struct igfs_diag *diag)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	struct tm tm;
	char *end;
	time_t t;

	if (!sde || !*sde)
		return 0;
	t = (time_t)strtoll(sde, &end, 10);
	if (*end || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		igfs_diag_set(diag, "SOURCE_DATE_EPOCH '%s' is not a number of seconds", sde);
		return -EINVAL;
	}
	return 1;
}
