// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * igfs-image inspect and list: an image's descriptors walked from its
 * layout (every blob hashed again), its schema from the loader, and the
 * images of gadgets directories named as the daemon names them. Prints;
 * never writes to a gadgets directory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inspect.h"
#include "store.h"

#define INSPECT_ANN_REF_NAME IGFS_OCI_ANN_REF_NAME

/* {"mediaType","digest","size"} of descriptor @desc, its blob hashed and sized. */
static int inspect_desc(struct igfs_layout *l, json_t *desc, json_t **ret, struct igfs_diag *diag)
{
	const char *digest = json_string_value(json_object_get(desc, "digest"));
	const char *mt = json_string_value(json_object_get(desc, "mediaType"));
	json_t *size = json_object_get(desc, "size");
	const void *data;
	size_t len;
	int err;

	err = igfs_layout__blob(l, digest, &data, &len, diag);
	if (err)
		return err;
	if (json_is_integer(size) && (uint64_t)json_integer_value(size) != len) {
		igfs_diag_set(diag,
			      "blob %s has %zu bytes, its descriptor says %" JSON_INTEGER_FORMAT,
			      digest, len, json_integer_value(size));
		return -EBADMSG;
	}
	*ret = json_pack("{s:s?, s:s, s:I}", "mediaType", mt, "digest", digest, "size",
			 (json_int_t)len);
	return *ret ? 0 : -ENOMEM;
}

/* The entry of index @idx that points at @digest, borrowed, or NULL. */
static json_t *inspect_entry(json_t *idx, const char *digest)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(idx, "manifests"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "digest")) ?: "", digest))
			return e;
	}
	return NULL;
}

/* Set @key of @obj to @v (taken, even on failure). 0 or -ENOMEM. */
static int inspect_set(json_t *obj, const char *key, json_t *v)
{
	return v && !json_object_set_new(obj, key, v) ? 0 : -ENOMEM;
}

/* index, manifest, config, layers and annotations of @img into @obj. */
static int inspect_oci(struct igfs_layout *l, const struct igfs_image *img, json_t *obj,
		       struct igfs_diag *diag)
{
	json_t *idx = NULL, *man = NULL, *entry = NULL, *o, *layers = NULL, *d;
	const void *data;
	size_t len, i;
	int err = 0;

	if (img->index_digest) {
		err = igfs_layout__blob_json(l, img->index_digest, &idx, diag);
		if (!err)
			err = igfs_layout__blob(l, img->index_digest, &data, &len, diag);
		if (err)
			goto out;
		entry = inspect_entry(idx, img->manifest_digest);
		err = inspect_set(obj, "index",
				  json_pack("{s:s, s:I}", "digest", img->index_digest, "size",
					    (json_int_t)len));
	} else {
		err = inspect_set(obj, "index", json_null());
	}
	if (!err)
		err = igfs_layout__blob_json(l, img->manifest_digest, &man, diag);
	if (!err)
		err = igfs_layout__blob(l, img->manifest_digest, &data, &len, diag);
	if (!err)
		err = inspect_set(obj, "manifest",
				  json_pack("{s:s, s:I, s:s*, s:O*}", "digest",
					    img->manifest_digest, "size", (json_int_t)len,
					    "artifactType",
					    json_string_value(json_object_get(man, "artifactType")),
					    "platform", json_object_get(entry, "platform")));
	if (!err)
		err = inspect_desc(l, json_object_get(man, "config"), &o, diag);
	if (!err)
		err = inspect_set(obj, "config", o);
	if (err)
		goto out;
	layers = json_array();
	err = layers ? 0 : -ENOMEM;
	json_array_foreach(json_object_get(man, "layers"), i, d)
	{
		if (!err)
			err = inspect_desc(l, d, &o, diag);
		if (!err && json_array_append_new(layers, o))
			err = -ENOMEM;
	}
	if (!err)
		err = inspect_set(obj, "layers", json_incref(layers));
	if (err)
		goto out;
	/* IG puts the same annotations on the manifest and the index: prefer the manifest's. */
	d = json_object_get(man, "annotations");
	if (!json_is_object(d))
		d = json_object_get(json_object_get(idx, "annotations") ? idx : entry,
				    "annotations");
	err = inspect_set(obj, "annotations",
			  json_is_object(d) ? json_deep_copy(d) : json_object());
out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	json_decref(idx);
	json_decref(man);
	json_decref(layers);
	return err;
}

int igfs_inspect__image(struct igfs_source *src, const struct igfs_image *img, json_t **ret,
			struct igfs_diag *diag)
{
	struct igfs_layout *l;
	json_t *obj;
	int err;

	obj = json_pack("{s:s, s:s?, s:s, s:s}", "name", img->name, "ref", img->ref, "source",
			src->path, "format",
			!img->manifest_digest ? "directory"
			: src->is_dir	      ? "oci-layout"
					      : "oci-archive");
	if (!obj) {
		json_decref(obj);
		igfs_diag_set(diag, "out of memory");
		return -ENOMEM;
	}
	if (!img->manifest_digest) {
		/* A plain gadget directory: nothing is hashed, nothing has a digest. */
		if (json_object_set_new(obj, "index", json_null()) ||
		    json_object_set_new(obj, "manifest", json_null()) ||
		    json_object_set_new(obj, "config", json_null()) ||
		    json_object_set_new(obj, "layers", json_array()) ||
		    json_object_set_new(obj, "annotations", json_object())) {
			err = -ENOMEM;
			igfs_diag_set(diag, "out of memory");
			goto out;
		}
		*ret = obj;
		return 0;
	}
	err = igfs_source__layout(src, &l, diag);
	if (!err)
		err = inspect_oci(l, img, obj, diag);
out:
	if (err) {
		json_decref(obj);
		return err;
	}
	*ret = obj;
	return 0;
}

int igfs_inspect__gadget(json_t *obj, const struct igfs_gadget *g)
{
	json_t *progs, *p;
	size_t i;

	if (json_object_set_new(obj, "schema", igfs_gadget__schema(g, g->image->name)))
		return -ENOMEM;
	progs = json_array();
	if (!progs)
		return -ENOMEM;
	for (i = 0; i < g->n_progs; i++) {
		const struct igfs_prog *pr = &g->progs[i];

		p = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:s?}", "name", pr->name, "section",
			      pr->section, "attach", igfs_probe__attach_str(pr->kind), "target",
			      pr->target, "disabled", pr->disabled, "unsupported",
			      pr->support ? pr->unsupported : NULL);
		if (!p || json_array_append_new(progs, p)) {
			json_decref(progs);
			return -ENOMEM;
		}
	}
	return json_object_set_new(obj, "programs", progs) ? -ENOMEM : 0;
}

/* ---- text ---- */

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void print_desc(FILE *out, const char *what, const json_t *d)
{
	if (!json_is_object(d))
		return;
	fprintf(out, "%-12s %s  %" JSON_INTEGER_FORMAT " bytes", what, jstr(d, "digest") ?: "-",
		json_integer_value(json_object_get(d, "size")));
	if (jstr(d, "mediaType"))
		fprintf(out, "  %s", jstr(d, "mediaType"));
	fputc('\n', out);
}

/* The widest value of @key among the objects of @arr, at least @min: one table, aligned. */
static int col_width(const json_t *arr, const char *key, int min)
{
	const json_t *o;
	size_t i;
	int w = min;

	json_array_foreach(arr, i, o)
	{
		const char *s = jstr(o, key);

		if (s && (int)strlen(s) > w)
			w = (int)strlen(s);
	}
	return w;
}

static void print_fields(FILE *out, const json_t *fields)
{
	int wn = col_width(fields, "name", 4), wt = col_width(fields, "type", 4);
	int wc = col_width(fields, "ctype", 5);
	const json_t *f;
	size_t i;

	fprintf(out, "    %-*s  %-*s  %-*s  %s\n", wn, "FIELD", wt, "TYPE", wc, "CTYPE",
		"DESCRIPTION");
	json_array_foreach(fields, i, f)
	{
		fprintf(out, "    %-*s  %-*s  %-*s  %s\n", wn, jstr(f, "name") ?: "", wt,
			jstr(f, "type") ?: "", wc, jstr(f, "ctype") ?: "",
			jstr(f, "description") ?: "");
	}
}

void igfs_inspect__print(const json_t *obj, FILE *out)
{
	const json_t *schema = json_object_get(obj, "schema"), *v, *m, *ann;
	const char *key;
	size_t i;

	fprintf(out, "%-12s %s\n", "name:", jstr(obj, "name") ?: "");
	fprintf(out, "%-12s %s\n", "reference:", jstr(obj, "ref") ?: "-");
	fprintf(out, "%-12s %s (%s)\n", "source:", jstr(obj, "source") ?: "",
		jstr(obj, "format") ?: "");
	if (jstr(schema, "description"))
		fprintf(out, "%-12s %s\n", "description:", jstr(schema, "description"));
	v = json_object_get(obj, "index");
	if (json_is_object(v))
		print_desc(out, "index:", v);
	m = json_object_get(obj, "manifest");
	if (json_is_object(m)) {
		v = json_object_get(m, "platform");
		fprintf(out, "%-12s %s  %" JSON_INTEGER_FORMAT " bytes",
			"manifest:", jstr(m, "digest") ?: "",
			json_integer_value(json_object_get(m, "size")));
		if (json_is_object(v))
			fprintf(out, "  %s/%s", jstr(v, "os") ?: "?",
				jstr(v, "architecture") ?: "?");
		fputc('\n', out);
	}
	print_desc(out, "config:", json_object_get(obj, "config"));
	json_array_foreach(json_object_get(obj, "layers"), i, v) print_desc(out, "layer:", v);
	ann = json_object_get(obj, "annotations");
	json_object_foreach((json_t *)ann, key, v)
		fprintf(out, "%-12s %s=%s\n", "annotation:", key, json_string_value(v) ?: "");

	json_array_foreach(json_object_get(schema, "datasources"), i, v)
	{
		fprintf(out, "\ndata source %s: %s, read from %s", jstr(v, "name") ?: "",
			jstr(v, "kind") ?: "", jstr(v, "file") ?: "");
		if (jstr(v, "struct"))
			fprintf(out, ", struct %s", jstr(v, "struct"));
		if (jstr(v, "map"))
			fprintf(out, ", map %s", jstr(v, "map"));
		fputc('\n', out);
		if (jstr(v, "description"))
			fprintf(out, "    %s\n", jstr(v, "description"));
		print_fields(out, json_object_get(v, "fields"));
	}
	m = json_object_get(schema, "params");
	if (json_array_size(m)) {
		int wk = col_width(m, "key", 3), wt = col_width(m, "type", 4);
		int wd = col_width(m, "default", 7);

		fprintf(out, "\nparams:\n    %-*s  %-*s  %-*s  %s\n", wk, "KEY", wt, "TYPE", wd,
			"DEFAULT", "DESCRIPTION");
		json_array_foreach(m, i, v)
		{
			fprintf(out, "    %-*s  %-*s  %-*s  %s\n", wk, jstr(v, "key") ?: "", wt,
				jstr(v, "type") ?: "", wd, jstr(v, "default") ?: "",
				jstr(v, "description") ?: "");
		}
	}
	m = json_object_get(obj, "programs");
	if (json_array_size(m)) {
		fprintf(out, "\nprograms:\n");
		json_array_foreach(m, i, v)
		{
			fprintf(out, "    %s  %s %s", jstr(v, "name") ?: "",
				jstr(v, "attach") ?: "", jstr(v, "target") ?: "");
			if (json_is_true(json_object_get(v, "disabled")))
				fputs("  (disabled)", out);
			else if (jstr(v, "unsupported"))
				fprintf(out, "  (cannot attach here: %s)", jstr(v, "unsupported"));
			fputc('\n', out);
		}
	}
}

bool igfs_inspect__ref_matches(const struct igfs_image *img, const char *want)
{
	char *full;
	bool same;

	if (igfs_store__name_matches(want, img->name, img->ref))
		return true;
	if (!img->ref)
		return false;
	if (!strcmp(want, img->ref))
		return true;
	full = igfs_oci__full_ref(want);
	same = full && !strcmp(full, img->ref);
	free(full);
	return same;
}

/* ---- list ---- */

/* The gadget names given so far, to name clashes as the daemon does (fs/catalog.c). */
struct list_names {
	char **v;
	size_t n;
};

static bool list_taken(const struct list_names *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i], name))
			return true;
	return false;
}

/* The name the daemon gives @img after the ones in @t; malloc'd, or NULL on ENOMEM. */
static char *list_unique(struct list_names *t, const struct igfs_image *img)
{
	const char *tag = igfs_store__tag(img->ref);
	char *name = NULL, **v;
	int i;

	if (!list_taken(t, img->name)) {
		name = strdup(img->name);
	} else {
		for (i = 1; i < 1000; i++) {
			if ((tag && i == 1 ? asprintf(&name, "%s@%s", img->name, tag)
					   : asprintf(&name, "%s@%d", img->name, i)) < 0)
				return NULL;
			if (!list_taken(t, name))
				break;
			zfree(&name);
		}
	}
	if (!name)
		return NULL;
	v = igfs_reallocarray(t->v, t->n + 1, sizeof(*v));
	if (!v) {
		free(name);
		return NULL;
	}
	t->v = v;
	t->v[t->n++] = name;
	return name;
}

/* "name:kind,..." of @g's data sources. */
static int list_sources(const struct igfs_gadget *g, struct igfs_buf *b)
{
	size_t i;
	int err = 0;

	for (i = 0; i < g->info->n_ds && !err; i++)
		err = igfs_buf_printf(b, "%s%s:%s", i ? "," : "", g->info->ds[i].name,
				      igfs_ds_kind_str(g->info->ds[i].kind));
	if (!err && !g->info->n_ds)
		err = igfs_buf_puts(b, "-");
	return err;
}

static void list_bad(FILE *out, bool json, const char *source, const char *why)
{
	if (json) {
		json_t *o = json_pack("{s:s, s:s}", "source", source, "error", why);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (s)
			fprintf(out, "%s\n", s);
		free(s);
		json_decref(o);
		return;
	}
	fflush(out);
	/* The loader's sentences name the file already. */
	if (strstr(why, source))
		fprintf(stderr, "igfs-image: %s\n", why);
	else
		fprintf(stderr, "igfs-image: %s: %s\n", source, why);
}

/* One row per gadget of @path appended to @rows. 0 or -ENOMEM. */
static int list_source(const char *path, struct list_names *names, json_t *rows, bool json,
		       FILE *out)
{
	struct igfs_image_set *set = NULL;
	struct igfs_diag diag = {};
	int err;

	err = igfs_oci__load(path, &set, &diag);
	if (err) {
		list_bad(out, json, path, diag.msg);
		return err == -ENOMEM ? err : 0;
	}
	err = 0;
	while (set->n && !err) {
		struct igfs_image *img = igfs_image_set__take(set, 0);
		struct igfs_gadget *g = NULL;
		struct igfs_buf ds = {};
		const char *ref, *digest;
		char *name;
		json_t *row;

		if (!img)
			continue;
		ref = img->ref;
		if (igfs_gadget__open(img, NULL, &g, &diag)) {
			list_bad(out, json, path, diag.msg);
			continue;
		}
		img = g->image;
		name = list_unique(names, img);
		err = name ? list_sources(g, &ds) : -ENOMEM;
		digest = img->index_digest ?: img->manifest_digest;
		row = err ? NULL
			  : json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:s}", "name", name,
				      "ref", ref, "digest", digest, "index_digest",
				      img->index_digest, "manifest_digest", img->manifest_digest,
				      "datasources", ds.data ?: "-", "source", path);
		if (!err && (!row || json_array_append_new(rows, row)))
			err = -ENOMEM;
		igfs_buf_free(&ds);
		igfs_gadget__free(g);
	}
	igfs_image_set__free(set);
	return err;
}

static void list_print(const json_t *rows, bool json, FILE *out)
{
	int wn = col_width(rows, "name", 4), wr = col_width(rows, "ref", 9);
	int wd = col_width(rows, "datasources", 11);
	const json_t *r;
	size_t i;

	if (json) {
		json_array_foreach(rows, i, r)
		{
			char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);

			if (s)
				fprintf(out, "%s\n", s);
			free(s);
		}
		return;
	}
	fprintf(out, "%-*s  %-*s  %-12s  %-*s  %s\n", wn, "NAME", wr, "REFERENCE", "DIGEST", wd,
		"DATASOURCES", "SOURCE");
	json_array_foreach(rows, i, r)
	{
		char sd[16];

		fprintf(out, "%-*s  %-*s  %-12s  %-*s  %s\n", wn, jstr(r, "name"), wr,
			jstr(r, "ref") ?: "-",
			igfs_store__short_digest(jstr(r, "digest"), sd, sizeof(sd)), wd,
			jstr(r, "datasources"), jstr(r, "source"));
	}
}

int igfs_inspect__list(const char *const *dirs, size_t n, const struct igfs_list_opts *o, FILE *out)
{
	struct list_names names = {};
	struct igfs_diag diag = {};
	size_t i, j, n_src;
	json_t *rows;
	char **src;
	int status = 0, err = 0;

	rows = json_array();
	if (!rows) {
		fprintf(stderr, "igfs-image: out of memory\n");
		return 1;
	}
	for (i = 0; i < n && !err; i++) {
		if (igfs_store__sources(dirs[i], &src, &n_src, &diag)) {
			/* The default imports directory exists only after a first mount or import. */
			if (o->explicit_dirs) {
				fprintf(stderr, "igfs-image: %s\n", diag.msg);
				status = 1;
			}
			continue;
		}
		for (j = 0; j < n_src; j++) {
			if (!err)
				err = list_source(src[j], &names, rows, o->json, out);
			free(src[j]);
		}
		free(src);
	}
	if (err) {
		fprintf(stderr, "igfs-image: out of memory\n");
		status = 1;
	} else if (json_array_size(rows) || !status) {
		list_print(rows, o->json, out);
	}
	for (i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	json_decref(rows);
	return status;
}
