// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gadget.yaml -> struct igfs_meta in two passes: libyaml events build a small
 * bounded tree (size, depth, node count and scalar length capped), then the
 * tree is walked against IG's schema. Knows nothing about BPF or files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "meta.h"

enum meta_kind {
	META_SCALAR,
	META_MAP,
	META_SEQ,
};

/*
 * One tree node. Nodes live in one array and refer to each other by index
 * because the array moves when it grows. A mapping's children alternate
 * key, value, key, value; keys are always scalars.
 */
struct meta_node {
	enum meta_kind kind;
	bool null;	   /* a plain "", "~" or "null": an absent value */
	unsigned int line; /* 1-based, of the node's first character */
	unsigned int col;
	int parent; /* -1 for the root */
	int key;    /* the key node when the parent is a mapping, else -1 */
	int index;  /* position in a parent sequence */
	int first;  /* first child, -1 if none */
	int last;
	int next; /* next sibling, -1 if none */
	size_t n_kids;
	char *str; /* scalars: NUL-terminated, no NUL inside */
};

struct meta_tree {
	struct meta_node *nodes;
	size_t n;
	size_t cap;
	int root; /* -1 when the stream has no document */
	struct igfs_diag *diag;
};

/* A name and the node it came from, sorted to find duplicates in O(n log n). */
struct meta_name {
	const char *name;
	int node;
};

static void meta_tree_free(struct meta_tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->nodes[i].str);
	zfree(&t->nodes);
	t->n = 0;
	t->cap = 0;
}

static __attribute__((format(printf, 5, 6))) int meta_err_line(struct igfs_diag *diag, int err,
							       unsigned int line, unsigned int col,
							       const char *fmt, ...)
{
	char msg[IGFS_DIAG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	igfs_diag_set(diag, "gadget.yaml line %u col %u: %s", line, col, msg);
	return err;
}

/* Record a sentence located at node @idx; returns @err. */
static __attribute__((format(printf, 4, 5))) int meta_err(struct meta_tree *t, int err, int idx,
							  const char *fmt, ...)
{
	char msg[IGFS_DIAG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return meta_err_line(t->diag, err, t->nodes[idx].line, t->nodes[idx].col, "%s", msg);
}

/*
 * The dotted key path of node @idx ("datasources.open.fields"), "[i]" for
 * sequence items, or "the top level" for the root. Truncated to @size.
 */
static const char *meta_path(const struct meta_tree *t, int idx, char *buf, size_t size)
{
	int chain[IGFS_MAX_META_DEPTH + 2];
	size_t n = 0, off = 0;
	int i, w;

	buf[0] = '\0';
	for (i = idx; i >= 0 && t->nodes[i].parent >= 0 && n < IGFS_ARRAY_SIZE(chain);
	     i = t->nodes[i].parent)
		chain[n++] = i;
	if (!n)
		return "the top level";
	while (n-- && off < size) {
		const struct meta_node *nd = &t->nodes[chain[n]];

		if (nd->key >= 0)
			w = snprintf(buf + off, size - off, "%s%s", off ? "." : "",
				     t->nodes[nd->key].str);
		else if (t->nodes[nd->parent].kind == META_MAP) /* a key itself */
			w = snprintf(buf + off, size - off, "%s%s", off ? "." : "", nd->str);
		else
			w = snprintf(buf + off, size - off, "[%d]", nd->index);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

static int meta_shape_err(struct meta_tree *t, int idx, const char *what)
{
	char path[256];

	return meta_err(t, -EINVAL, idx, "%s must be %s", meta_path(t, idx, path, sizeof(path)),
			what);
}

/* ---- pass 1: libyaml events -> tree ---- */

static int meta_yaml_err(const yaml_parser_t *p, const unsigned char *in, size_t len,
			 struct igfs_diag *diag)
{
	const char *problem = p->problem ? p->problem : "syntax error";
	unsigned int line = 1, col = 1;
	size_t i;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		igfs_diag_set(diag, "gadget.yaml: out of memory");
		return -ENOMEM;
	case YAML_READER_ERROR:
		/* Encoding errors carry a byte offset instead of a mark. */
		for (i = 0; i < p->problem_offset && i < len; i++) {
			if (in[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (p->problem_value >= 0)
			return meta_err_line(diag, -EINVAL, line, col, "%s (0x%X)", problem,
					     (unsigned int)p->problem_value);
		return meta_err_line(diag, -EINVAL, line, col, "%s", problem);
	default:
		line = (unsigned int)p->problem_mark.line + 1;
		col = (unsigned int)p->problem_mark.column + 1;
		if (p->context && p->context_mark.index == p->problem_mark.index)
			return meta_err_line(diag, -EINVAL, line, col, "%s (%s)", problem,
					     p->context);
		if (p->context)
			return meta_err_line(diag, -EINVAL, line, col, "%s (%s at line %u col %u)",
					     problem, p->context,
					     (unsigned int)p->context_mark.line + 1,
					     (unsigned int)p->context_mark.column + 1);
		return meta_err_line(diag, -EINVAL, line, col, "%s", problem);
	}
}

/* Append a node under @parent (-1: the root); its index or -errno. */
static int meta_add(struct meta_tree *t, enum meta_kind kind, const yaml_mark_t *mark, int parent)
{
	unsigned int line = (unsigned int)mark->line + 1, col = (unsigned int)mark->column + 1;
	struct meta_node *nd, *p;
	int idx;

	if (t->n >= IGFS_MAX_META_NODES)
		return meta_err_line(t->diag, -E2BIG, line, col,
				     "more than %d nodes; the document is too large",
				     IGFS_MAX_META_NODES);
	if (parent >= 0 && t->nodes[parent].kind == META_MAP && t->nodes[parent].n_kids % 2 == 0 &&
	    kind != META_SCALAR)
		return meta_err_line(t->diag, -EINVAL, line, col,
				     "a mapping key must be a scalar, not a %s",
				     kind == META_MAP ? "mapping" : "sequence");
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		void *v = igfs_reallocarray(t->nodes, cap, sizeof(*t->nodes));

		if (!v) {
			igfs_diag_set(t->diag, "gadget.yaml: out of memory");
			return -ENOMEM;
		}
		t->nodes = v;
		t->cap = cap;
	}
	idx = (int)t->n++;
	nd = &t->nodes[idx];
	memset(nd, 0, sizeof(*nd));
	nd->kind = kind;
	nd->line = line;
	nd->col = col;
	nd->parent = parent;
	nd->key = -1;
	nd->first = -1;
	nd->last = -1;
	nd->next = -1;
	if (parent < 0) {
		t->root = idx;
		return idx;
	}
	p = &t->nodes[parent];
	if (p->kind == META_MAP && p->n_kids % 2)
		nd->key = p->last;
	nd->index = (int)p->n_kids;
	if (p->last >= 0)
		t->nodes[p->last].next = idx;
	else
		p->first = idx;
	p->last = idx;
	p->n_kids++;
	return idx;
}

static int meta_name_cmp(const void *a, const void *b)
{
	const struct meta_name *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return (x->node > y->node) - (x->node < y->node);
}

/* Sort @v; the position of the second of two equal names, 0 if all differ. */
static size_t meta_find_dup(struct meta_name *v, size_t n)
{
	size_t i;

	if (n < 2)
		return 0;
	qsort(v, n, sizeof(*v), meta_name_cmp);
	for (i = 1; i < n; i++)
		if (!strcmp(v[i - 1].name, v[i].name))
			return i;
	return 0;
}

/* YAML forbids equal keys in one mapping (go-yaml refuses them too). */
static int meta_check_dup_keys(struct meta_tree *t, int map)
{
	size_t n = t->nodes[map].n_kids / 2, i = 0;
	struct meta_name *v;
	int k, err = 0;
	char path[256];

	if (n < 2)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v) {
		igfs_diag_set(t->diag, "gadget.yaml: out of memory");
		return -ENOMEM;
	}
	for (k = t->nodes[map].first; k >= 0 && i < n; k = t->nodes[t->nodes[k].next].next) {
		v[i].name = t->nodes[k].str;
		v[i++].node = k;
	}
	i = meta_find_dup(v, i);
	if (i)
		err = meta_err(t, -EINVAL, v[i].node, "duplicate key '%s' in %s (first at line %u)",
			       v[i].name, meta_path(t, map, path, sizeof(path)),
			       t->nodes[v[i - 1].node].line);
	free(v);
	return err;
}

static bool meta_scalar_is_null(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

struct meta_builder {
	int stack[IGFS_MAX_META_DEPTH];
	size_t depth;
	bool done;
};

static int meta_on_event(struct meta_tree *t, struct meta_builder *b, const yaml_event_t *ev)
{
	int parent = b->depth ? b->stack[b->depth - 1] : -1;
	const yaml_mark_t *m = &ev->start_mark;
	unsigned int line = (unsigned int)m->line + 1, col = (unsigned int)m->column + 1;
	size_t len;
	int idx;

	switch (ev->type) {
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		/* Only the first document counts, as with go-yaml's Unmarshal. */
		b->done = true;
		return 0;
	case YAML_ALIAS_EVENT:
		/* Aliases can expand exponentially ("billion laughs"). */
		return meta_err_line(t->diag, -EINVAL, line, col,
				     "aliases are not supported (found '*%s'); write the value out",
				     (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		len = ev->data.scalar.length;
		if (len > IGFS_MAX_STR)
			return meta_err_line(t->diag, -E2BIG, line, col,
					     "a scalar of %zu bytes is over the %d-byte limit", len,
					     IGFS_MAX_STR);
		if (memchr(ev->data.scalar.value, '\0', len))
			return meta_err_line(t->diag, -EINVAL, line, col,
					     "a scalar contains a NUL character");
		idx = meta_add(t, META_SCALAR, m, parent);
		if (idx < 0)
			return idx;
		t->nodes[idx].str = strndup((const char *)ev->data.scalar.value, len);
		if (!t->nodes[idx].str) {
			igfs_diag_set(t->diag, "gadget.yaml: out of memory");
			return -ENOMEM;
		}
		t->nodes[idx].null = meta_scalar_is_null(ev);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (b->depth >= IGFS_MAX_META_DEPTH)
			return meta_err_line(t->diag, -E2BIG, line, col,
					     "nested deeper than %d levels", IGFS_MAX_META_DEPTH);
		idx = meta_add(t, ev->type == YAML_MAPPING_START_EVENT ? META_MAP : META_SEQ, m,
			       parent);
		if (idx < 0)
			return idx;
		b->stack[b->depth++] = idx;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
		b->depth--;
		return 0;
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		return meta_check_dup_keys(t, b->stack[b->depth]);
	default:
		return 0;
	}
}

static int meta_build_tree(struct meta_tree *t, const void *yaml, size_t len)
{
	const unsigned char *in = yaml ? yaml : (const unsigned char *)"";
	struct meta_builder b = {0};
	yaml_parser_t p;
	yaml_event_t ev;
	int err = 0;

	if (!yaml_parser_initialize(&p)) {
		igfs_diag_set(t->diag, "gadget.yaml: out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, in, len);
	while (!b.done && !err) {
		if (!yaml_parser_parse(&p, &ev)) {
			err = meta_yaml_err(&p, in, len, t->diag);
			break;
		}
		err = meta_on_event(t, &b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return err;
}

/* ---- pass 2: tree -> struct igfs_meta ---- */

static int meta_oom(struct meta_tree *t)
{
	igfs_diag_set(t->diag, "gadget.yaml: out of memory");
	return -ENOMEM;
}

/*
 * 1 when @v is a node of @kind to walk, 0 when it is absent or null (taken
 * as empty), -EINVAL for any other shape.
 */
static int meta_want(struct meta_tree *t, int v, enum meta_kind kind)
{
	const struct meta_node *nd;

	if (v < 0)
		return 0;
	nd = &t->nodes[v];
	if (nd->kind == kind)
		return 1;
	if (nd->kind == META_SCALAR && nd->null)
		return 0;
	return meta_shape_err(t, v, kind == META_MAP ? "a mapping" : "a sequence");
}

/* The key following @k's value in the same mapping, -1 at the end. */
static int meta_next_key(const struct meta_tree *t, int k)
{
	return t->nodes[t->nodes[k].next].next;
}

static int meta_val(const struct meta_tree *t, int k)
{
	return t->nodes[k].next;
}

/*
 * For each of @n lower-case @words, the value node of the key of @map equal
 * to it case-insensitively, or -1. Two keys differing only in case are an
 * error: IG lower-cases keys (viper), so one would silently win.
 */
static int meta_pick(struct meta_tree *t, int map, const char *const *words, size_t n, int *vals)
{
	char path[256];
	size_t i;
	int k;

	for (i = 0; i < n; i++)
		vals[i] = -1;
	for (k = t->nodes[map].first; k >= 0; k = meta_next_key(t, k)) {
		for (i = 0; i < n; i++) {
			if (strcasecmp(t->nodes[k].str, words[i]))
				continue;
			if (vals[i] >= 0)
				return meta_err(t, -EINVAL, k,
						"duplicate key '%s' in %s (first at line %u; keys "
						"are case-insensitive)",
						t->nodes[k].str,
						meta_path(t, map, path, sizeof(path)),
						t->nodes[t->nodes[vals[i]].key].line);
			vals[i] = meta_val(t, k);
			break;
		}
	}
	return 0;
}

/* A scalar into *@out (left NULL when absent or null). */
static int meta_str(struct meta_tree *t, int v, char **out)
{
	const struct meta_node *nd;

	if (v < 0)
		return 0;
	nd = &t->nodes[v];
	if (nd->kind != META_SCALAR)
		return meta_shape_err(t, v, "a scalar");
	if (nd->null)
		return 0;
	*out = strdup(nd->str);
	return *out ? 0 : meta_oom(t);
}

static int meta_bool(struct meta_tree *t, int v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	const struct meta_node *nd;
	char path[256];
	size_t i;

	if (v < 0)
		return 0;
	nd = &t->nodes[v];
	if (nd->kind != META_SCALAR)
		return meta_shape_err(t, v, "a scalar");
	if (nd->null) {
		*out = false;
		return 0;
	}
	for (i = 0; i < IGFS_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(nd->str, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(nd->str, no[i])) {
			*out = false;
			return 0;
		}
	}
	return meta_err(t, -EINVAL, v, "%s must be true or false, not '%s'",
			meta_path(t, v, path, sizeof(path)), nd->str);
}

static int meta_kv_push(struct meta_tree *t, struct igfs_kvlist *l, const char *key,
			const char *value)
{
	struct igfs_kv *v = igfs_reallocarray(l->v, l->n + 1, sizeof(*l->v));

	if (!v)
		return meta_oom(t);
	l->v = v;
	v = &l->v[l->n++];
	v->key = strdup(key);
	v->value = strdup(value);
	return v->key && v->value ? 0 : meta_oom(t);
}

/* A mapping of scalars (null values become ""); @v may be absent or null. */
static int meta_kvlist(struct meta_tree *t, int v, struct igfs_kvlist *l)
{
	size_t n;
	int k, err;

	err = meta_want(t, v, META_MAP);
	if (err <= 0)
		return err;
	n = t->nodes[v].n_kids / 2;
	if (!n)
		return 0;
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v)
		return meta_oom(t);
	for (k = t->nodes[v].first; k >= 0; k = meta_next_key(t, k)) {
		const struct meta_node *val = &t->nodes[meta_val(t, k)];
		struct igfs_kv *kv;

		if (val->kind != META_SCALAR)
			return meta_shape_err(t, meta_val(t, k), "a scalar");
		kv = &l->v[l->n++];
		kv->key = strdup(t->nodes[k].str);
		kv->value = strdup(val->null ? "" : val->str);
		if (!kv->key || !kv->value)
			return meta_oom(t);
	}
	return 0;
}

enum { FIELD_ANNOTATIONS, FIELD_DESCRIPTION, FIELD_N };
static const char *const field_words[FIELD_N] = {
	[FIELD_ANNOTATIONS] = "annotations",
	[FIELD_DESCRIPTION] = "description",
};

static int meta_field(struct meta_tree *t, int v, struct igfs_meta_field *f)
{
	int vals[FIELD_N], err;
	const struct meta_node *d;

	err = meta_want(t, v, META_MAP);
	if (err <= 0)
		return err;
	err = meta_pick(t, v, field_words, FIELD_N, vals);
	if (err)
		return err;
	err = meta_kvlist(t, vals[FIELD_ANNOTATIONS], &f->annotations);
	if (err)
		return err;
	/* Older yaml has description directly in the field; annotations win. */
	if (vals[FIELD_DESCRIPTION] < 0)
		return 0;
	d = &t->nodes[vals[FIELD_DESCRIPTION]];
	if (d->kind != META_SCALAR)
		return meta_shape_err(t, vals[FIELD_DESCRIPTION], "a scalar");
	if (d->null || igfs_kvlist_get(&f->annotations, "description"))
		return 0;
	return meta_kv_push(t, &f->annotations, "description", d->str);
}

enum { DS_ANNOTATIONS, DS_FIELDS, DS_N };
static const char *const ds_words[DS_N] = {
	[DS_ANNOTATIONS] = "annotations",
	[DS_FIELDS] = "fields",
};

static int meta_ds(struct meta_tree *t, int v, struct igfs_meta_ds *ds)
{
	int vals[DS_N], fv, k, err;
	size_t n;

	err = meta_want(t, v, META_MAP);
	if (err <= 0)
		return err;
	err = meta_pick(t, v, ds_words, DS_N, vals);
	if (err)
		return err;
	err = meta_kvlist(t, vals[DS_ANNOTATIONS], &ds->annotations);
	if (err)
		return err;
	fv = vals[DS_FIELDS];
	err = meta_want(t, fv, META_MAP);
	if (err <= 0)
		return err;
	n = t->nodes[fv].n_kids / 2;
	if (!n)
		return 0;
	ds->fields = calloc(n, sizeof(*ds->fields));
	if (!ds->fields)
		return meta_oom(t);
	for (k = t->nodes[fv].first; k >= 0; k = meta_next_key(t, k)) {
		struct igfs_meta_field *f = &ds->fields[ds->n_fields++];

		f->name = strdup(t->nodes[k].str);
		if (!f->name)
			return meta_oom(t);
		err = meta_field(t, meta_val(t, k), f);
		if (err)
			return err;
	}
	return 0;
}

static int meta_datasources(struct meta_tree *t, int v, struct igfs_meta *meta)
{
	size_t n;
	int k, err;

	err = meta_want(t, v, META_MAP);
	if (err <= 0)
		return err;
	n = t->nodes[v].n_kids / 2;
	if (!n)
		return 0;
	meta->ds = calloc(n, sizeof(*meta->ds));
	if (!meta->ds)
		return meta_oom(t);
	for (k = t->nodes[v].first; k >= 0; k = meta_next_key(t, k)) {
		struct igfs_meta_ds *ds = &meta->ds[meta->n_ds++];

		ds->name = strdup(t->nodes[k].str);
		if (!ds->name)
			return meta_oom(t);
		err = meta_ds(t, meta_val(t, k), ds);
		if (err)
			return err;
	}
	return 0;
}

enum {
	PARAM_KEY,
	PARAM_DEFAULT,
	PARAM_DESCRIPTION,
	PARAM_TYPE,
	PARAM_TITLE,
	PARAM_ALIAS,
	PARAM_MANDATORY,
	PARAM_POSSIBLE,
	PARAM_N
};
static const char *const param_words[PARAM_N] = {
	[PARAM_KEY] = "key",
	[PARAM_DEFAULT] = "defaultvalue",
	[PARAM_DESCRIPTION] = "description",
	[PARAM_TYPE] = "type",
	[PARAM_TITLE] = "title",
	[PARAM_ALIAS] = "alias",
	[PARAM_MANDATORY] = "ismandatory",
	[PARAM_POSSIBLE] = "possiblevalues",
};

static int meta_param(struct meta_tree *t, int v, struct igfs_meta_param *p)
{
	int vals[PARAM_N], pv, i, err;
	size_t n;

	err = meta_want(t, v, META_MAP);
	if (err <= 0)
		return err;
	err = meta_pick(t, v, param_words, PARAM_N, vals);
	if (err)
		return err;
	err = meta_str(t, vals[PARAM_KEY], &p->key);
	if (!err)
		err = meta_str(t, vals[PARAM_DEFAULT], &p->default_value);
	if (!err)
		err = meta_str(t, vals[PARAM_DESCRIPTION], &p->description);
	if (!err)
		err = meta_str(t, vals[PARAM_TYPE], &p->type);
	if (!err)
		err = meta_str(t, vals[PARAM_TITLE], &p->title);
	if (!err)
		err = meta_str(t, vals[PARAM_ALIAS], &p->alias);
	if (!err)
		err = meta_bool(t, vals[PARAM_MANDATORY], &p->mandatory);
	if (err)
		return err;
	pv = vals[PARAM_POSSIBLE];
	err = meta_want(t, pv, META_SEQ);
	if (err <= 0)
		return err;
	n = t->nodes[pv].n_kids;
	if (!n)
		return 0;
	p->possible_values = calloc(n, sizeof(*p->possible_values));
	if (!p->possible_values)
		return meta_oom(t);
	for (i = t->nodes[pv].first; i >= 0; i = t->nodes[i].next) {
		const struct meta_node *nd = &t->nodes[i];
		char **s;

		if (nd->kind != META_SCALAR)
			return meta_shape_err(t, i, "a scalar");
		s = &p->possible_values[p->n_possible_values++];
		*s = strdup(nd->null ? "" : nd->str);
		if (!*s)
			return meta_oom(t);
	}
	return 0;
}

/* Append the entries of a params.ebpf-shaped mapping @v; @names parallels meta->params. */
static int meta_param_section(struct meta_tree *t, int v, struct igfs_meta *meta,
			      struct meta_name *names)
{
	int k, err;

	if (v < 0 || t->nodes[v].kind != META_MAP)
		return 0;
	for (k = t->nodes[v].first; k >= 0; k = meta_next_key(t, k)) {
		struct igfs_meta_param *p = &meta->params[meta->n_params];

		names[meta->n_params].name = t->nodes[k].str;
		names[meta->n_params++].node = k;
		p->cname = strdup(t->nodes[k].str);
		if (!p->cname)
			return meta_oom(t);
		err = meta_param(t, meta_val(t, k), p);
		if (err)
			return err;
	}
	return 0;
}

enum { PARAMS_EBPF, PARAMS_N };
static const char *const params_words[PARAMS_N] = {
	[PARAMS_EBPF] = "ebpf",
};

/* params.ebpf (wasm and custom sections are not ours) and legacy ebpfParams. */
static int meta_params(struct meta_tree *t, int params, int legacy, struct igfs_meta *meta)
{
	struct meta_name *names = NULL;
	int vals[PARAMS_N], ebpf = -1, err;
	size_t n = 0, i;

	err = meta_want(t, params, META_MAP);
	if (err < 0)
		return err;
	if (err) {
		err = meta_pick(t, params, params_words, PARAMS_N, vals);
		if (err)
			return err;
		ebpf = vals[PARAMS_EBPF];
		err = meta_want(t, ebpf, META_MAP);
		if (err < 0)
			return err;
		if (err)
			n += t->nodes[ebpf].n_kids / 2;
	}
	err = meta_want(t, legacy, META_MAP);
	if (err < 0)
		return err;
	if (err)
		n += t->nodes[legacy].n_kids / 2;
	if (!n)
		return 0;
	meta->params = calloc(n, sizeof(*meta->params));
	names = calloc(n, sizeof(*names));
	if (!meta->params || !names) {
		err = meta_oom(t);
		goto out;
	}
	err = meta_param_section(t, ebpf, meta, names);
	if (!err)
		err = meta_param_section(t, legacy, meta, names);
	if (err)
		goto out;
	i = meta_find_dup(names, meta->n_params);
	if (i)
		err = meta_err(
			t, -EINVAL, names[i].node,
			"param '%s' is declared in both params.ebpf (line %u) and ebpfParams",
			names[i].name, t->nodes[names[i - 1].node].line);
out:
	free(names);
	return err;
}

/* Flattening state for programs.<name>: settings and the nodes they came from. */
struct meta_flat {
	struct igfs_kvlist *l;
	struct meta_name *names;
	size_t cap;
	char key[IGFS_MAX_STR + 1];
};

static int meta_flat_push(struct meta_tree *t, struct meta_flat *f, int node)
{
	const struct meta_node *nd = &t->nodes[node];
	struct igfs_kv *kv;

	if (f->l->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		void *v = igfs_reallocarray(f->l->v, cap, sizeof(*f->l->v));

		if (!v)
			return meta_oom(t);
		f->l->v = v;
		v = igfs_reallocarray(f->names, cap, sizeof(*f->names));
		if (!v)
			return meta_oom(t);
		f->names = v;
		f->cap = cap;
	}
	kv = &f->l->v[f->l->n++];
	kv->key = strdup(f->key);
	kv->value = strdup(nd->null ? "" : nd->str);
	if (!kv->key || !kv->value)
		return meta_oom(t);
	f->names[f->l->n - 1].name = kv->key;
	f->names[f->l->n - 1].node = node;
	return 0;
}

/*
 * Append ".<component>" (lower-cased: these are yaml keywords) to f->key at
 * @len; the new length, or -E2BIG located at @node.
 */
static int meta_flat_key(struct meta_tree *t, struct meta_flat *f, size_t len, const char *comp,
			 int node)
{
	size_t n = strlen(comp), i;
	char path[256];

	if (len + !!len + n > IGFS_MAX_STR)
		return meta_err(t, -E2BIG, node, "%s gives a setting name longer than %d bytes",
				meta_path(t, node, path, sizeof(path)), IGFS_MAX_STR);
	if (len)
		f->key[len++] = '.';
	for (i = 0; i < n; i++)
		f->key[len + i] = (char)(comp[i] >= 'A' && comp[i] <= 'Z' ? comp[i] + 32 : comp[i]);
	len += n;
	f->key[len] = '\0';
	return (int)len;
}

/* Every scalar below @v, keyed by its dotted path from programs.<name>. */
static int meta_flatten(struct meta_tree *t, struct meta_flat *f, int v, size_t len, bool top)
{
	char idx[16];
	int k, w, err;

	switch (t->nodes[v].kind) {
	case META_SCALAR:
		return meta_flat_push(t, f, v);
	case META_MAP:
		for (k = t->nodes[v].first; k >= 0; k = meta_next_key(t, k)) {
			/* attach_to is a field of the program, not a setting. */
			if (top && !strcasecmp(t->nodes[k].str, "attach_to"))
				continue;
			w = meta_flat_key(t, f, len, t->nodes[k].str, k);
			if (w < 0)
				return w;
			err = meta_flatten(t, f, meta_val(t, k), (size_t)w, false);
			if (err)
				return err;
			f->key[len] = '\0';
		}
		return 0;
	case META_SEQ:
		for (k = t->nodes[v].first; k >= 0; k = t->nodes[k].next) {
			snprintf(idx, sizeof(idx), "%d", t->nodes[k].index);
			w = meta_flat_key(t, f, len, idx, k);
			if (w < 0)
				return w;
			err = meta_flatten(t, f, k, (size_t)w, false);
			if (err)
				return err;
			f->key[len] = '\0';
		}
		return 0;
	}
	return 0;
}

enum { PROG_ATTACH_TO, PROG_N };
static const char *const prog_words[PROG_N] = {
	[PROG_ATTACH_TO] = "attach_to",
};

static int meta_prog(struct meta_tree *t, int v, struct igfs_meta_prog *prog)
{
	struct meta_flat *f = NULL;
	int vals[PROG_N], err;
	char path[256];
	size_t i;

	err = meta_want(t, v, META_MAP);
	if (err <= 0)
		return err;
	err = meta_pick(t, v, prog_words, PROG_N, vals);
	if (!err)
		err = meta_str(t, vals[PROG_ATTACH_TO], &prog->attach_to);
	if (err)
		return err;
	f = calloc(1, sizeof(*f));
	if (!f)
		return meta_oom(t);
	f->l = &prog->settings;
	err = meta_flatten(t, f, v, 0, true);
	if (err)
		goto out;
	/* "perf: {frequency: 1}" and "perf.frequency: 2" (or "Perf:") collide. */
	i = meta_find_dup(f->names, prog->settings.n);
	if (i)
		err = meta_err(t, -EINVAL, f->names[i].node,
			       "%s: setting '%s' is given twice (first at line %u)",
			       meta_path(t, v, path, sizeof(path)), f->names[i].name,
			       t->nodes[f->names[i - 1].node].line);
out:
	if (f)
		free(f->names);
	free(f);
	return err;
}

static int meta_programs(struct meta_tree *t, int v, struct igfs_meta *meta)
{
	size_t n;
	int k, err;

	err = meta_want(t, v, META_MAP);
	if (err <= 0)
		return err;
	n = t->nodes[v].n_kids / 2;
	if (!n)
		return 0;
	meta->progs = calloc(n, sizeof(*meta->progs));
	if (!meta->progs)
		return meta_oom(t);
	for (k = t->nodes[v].first; k >= 0; k = meta_next_key(t, k)) {
		struct igfs_meta_prog *p = &meta->progs[meta->n_progs++];

		p->name = strdup(t->nodes[k].str);
		if (!p->name)
			return meta_oom(t);
		err = meta_prog(t, meta_val(t, k), p);
		if (err)
			return err;
	}
	return 0;
}

enum {
	TOP_NAME,
	TOP_DESCRIPTION,
	TOP_HOMEPAGE,
	TOP_DOCUMENTATION,
	TOP_SOURCE,
	TOP_ANNOTATIONS,
	TOP_DATASOURCES,
	TOP_PARAMS,
	TOP_EBPF_PARAMS,
	TOP_PARAM_DEFAULTS,
	TOP_PROGRAMS,
	TOP_N
};
static const char *const top_words[TOP_N] = {
	[TOP_NAME] = "name",
	[TOP_DESCRIPTION] = "description",
	[TOP_HOMEPAGE] = "homepageurl",
	[TOP_DOCUMENTATION] = "documentationurl",
	[TOP_SOURCE] = "sourceurl",
	[TOP_ANNOTATIONS] = "annotations",
	[TOP_DATASOURCES] = "datasources",
	[TOP_PARAMS] = "params",
	[TOP_EBPF_PARAMS] = "ebpfparams",
	[TOP_PARAM_DEFAULTS] = "paramdefaults",
	[TOP_PROGRAMS] = "programs",
};

static int meta_extract(struct meta_tree *t, struct igfs_meta *meta)
{
	int root = t->root, vals[TOP_N], k, err;

	err = meta_want(t, root, META_MAP);
	if (err <= 0)
		return err;
	for (k = t->nodes[root].first; k >= 0; k = meta_next_key(t, k)) {
		if (!strcasecmp(t->nodes[k].str, "tracers") ||
		    !strcasecmp(t->nodes[k].str, "toppers")) {
			igfs_diag_set(
				t->diag,
				"gadget.yaml uses the pre-v0.31 format (tracers/toppers); image "
				"too old, rebuild it with a current Inspektor Gadget");
			return -EPROTO;
		}
	}
	err = meta_pick(t, root, top_words, TOP_N, vals);
	if (!err)
		err = meta_str(t, vals[TOP_NAME], &meta->name);
	if (!err)
		err = meta_str(t, vals[TOP_DESCRIPTION], &meta->description);
	if (!err)
		err = meta_str(t, vals[TOP_HOMEPAGE], &meta->homepage_url);
	if (!err)
		err = meta_str(t, vals[TOP_DOCUMENTATION], &meta->documentation_url);
	if (!err)
		err = meta_str(t, vals[TOP_SOURCE], &meta->source_url);
	if (!err)
		err = meta_kvlist(t, vals[TOP_ANNOTATIONS], &meta->annotations);
	if (!err)
		err = meta_datasources(t, vals[TOP_DATASOURCES], meta);
	if (!err)
		err = meta_params(t, vals[TOP_PARAMS], vals[TOP_EBPF_PARAMS], meta);
	if (!err)
		err = meta_kvlist(t, vals[TOP_PARAM_DEFAULTS], &meta->param_defaults);
	if (!err)
		err = meta_programs(t, vals[TOP_PROGRAMS], meta);
	return err;
}

int igfs_meta__parse(const void *yaml, size_t len, struct igfs_meta **ret, struct igfs_diag *diag)
{
	struct meta_tree t = {.root = -1, .diag = diag};
	struct igfs_meta *meta = NULL;
	int err;

	if (len > IGFS_MAX_META_SIZE) {
		igfs_diag_set(diag, "gadget.yaml is %zu bytes, over the %u-byte limit", len,
			      IGFS_MAX_META_SIZE);
		return -E2BIG;
	}
	if (!yaml && len) {
		igfs_diag_set(diag, "gadget.yaml: no data");
		return -EINVAL;
	}
	meta = calloc(1, sizeof(*meta));
	if (!meta) {
		igfs_diag_set(diag, "gadget.yaml: out of memory");
		return -ENOMEM;
	}
	err = meta_build_tree(&t, yaml, len);
	if (err)
		goto out;
	if (t.root >= 0) {
		err = meta_extract(&t, meta);
		if (err)
			goto out;
	}
	*ret = meta;
	meta = NULL;
out:
	meta_tree_free(&t);
	igfs_meta__free(meta);
	return err;
}

static void meta_kvlist_free(struct igfs_kvlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	zfree(&l->v);
	l->n = 0;
}

void igfs_meta__free(struct igfs_meta *meta)
{
	size_t i, j;

	if (!meta)
		return;
	free(meta->name);
	free(meta->description);
	free(meta->homepage_url);
	free(meta->documentation_url);
	free(meta->source_url);
	meta_kvlist_free(&meta->annotations);
	for (i = 0; i < meta->n_ds; i++) {
		struct igfs_meta_ds *ds = &meta->ds[i];

		free(ds->name);
		meta_kvlist_free(&ds->annotations);
		for (j = 0; j < ds->n_fields; j++) {
			free(ds->fields[j].name);
			meta_kvlist_free(&ds->fields[j].annotations);
		}
		free(ds->fields);
	}
	free(meta->ds);
	for (i = 0; i < meta->n_params; i++) {
		struct igfs_meta_param *p = &meta->params[i];

		free(p->cname);
		free(p->key);
		free(p->default_value);
		free(p->description);
		free(p->type);
		free(p->title);
		free(p->alias);
		for (j = 0; j < p->n_possible_values; j++)
			free(p->possible_values[j]);
		free(p->possible_values);
	}
	free(meta->params);
	meta_kvlist_free(&meta->param_defaults);
	for (i = 0; i < meta->n_progs; i++) {
		free(meta->progs[i].name);
		free(meta->progs[i].attach_to);
		meta_kvlist_free(&meta->progs[i].settings);
	}
	free(meta->progs);
	free(meta);
}

const char *igfs_kvlist_get(const struct igfs_kvlist *l, const char *key)
{
	size_t i;

	if (!l || !key)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (l->v[i].key && !strcmp(l->v[i].key, key))
			return l->v[i].value;
	return NULL;
}

const struct igfs_meta_ds *igfs_meta__ds(const struct igfs_meta *meta, const char *name)
{
	size_t i;

	if (!meta || !name)
		return NULL;
	for (i = 0; i < meta->n_ds; i++)
		if (meta->ds[i].name && !strcmp(meta->ds[i].name, name))
			return &meta->ds[i];
	return NULL;
}

const struct igfs_meta_field *igfs_meta__field(const struct igfs_meta_ds *ds, const char *dotted)
{
	size_t i;

	if (!ds || !dotted)
		return NULL;
	for (i = 0; i < ds->n_fields; i++)
		if (ds->fields[i].name && !strcmp(ds->fields[i].name, dotted))
			return &ds->fields[i];
	return NULL;
}

const struct igfs_meta_param *igfs_meta__param(const struct igfs_meta *meta, const char *cname)
{
	size_t i;

	if (!meta || !cname)
		return NULL;
	for (i = 0; i < meta->n_params; i++)
		if (meta->params[i].cname && !strcmp(meta->params[i].cname, cname))
			return &meta->params[i];
	return NULL;
}

const struct igfs_meta_prog *igfs_meta__prog(const struct igfs_meta *meta, const char *name)
{
	size_t i;

	if (!meta || !name)
		return NULL;
	for (i = 0; i < meta->n_progs; i++)
		if (meta->progs[i].name && !strcmp(meta->progs[i].name, name))
			return &meta->progs[i];
	return NULL;
}
