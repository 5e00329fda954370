// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * uid/gid -> name tables, read once from passwd- and group-format files
 * (name:x:id:...), like IG's uidgidresolver: files only, no NSS. Bounded:
 * long lines are skipped and the entry count is capped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "enc.h"

#define NAMES_MAX_LINE	  4096
#define NAMES_MAX_ENTRIES (1u << 20)

struct names_entry {
	__u32 id;
	__u32 seq; /* line order: the last entry of an id wins, as in IG's map */
	char *name;
	char *json;	 /* the name as a JSON string, quotes included */
	size_t json_len;
};

struct names_table {
	struct names_entry *v;
	size_t n, cap;
};

struct igfs_names {
	struct names_table users;
	struct names_table groups;
};

static void names_table_free(struct names_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].json);
	}
	zfree(&t->v);
	t->n = t->cap = 0;
}

/* One line: name:passwd:id[:...]; 1 if an entry was added, 0 if skipped. */
static int names_parse_line(struct names_table *t, char *line)
{
	char *name, *colon1, *colon2, *id_s, *end;
	unsigned long long id;
	struct names_entry *e;

	while (*line == ' ' || *line == '\t')
		line++;
	line[strcspn(line, "\r\n")] = '\0';
	if (!*line || *line == '#')
		return 0;
	name = line;
	colon1 = strchr(name, ':');
	if (!colon1)
		return 0;
	colon2 = strchr(colon1 + 1, ':');
	if (!colon2)
		return 0;
	*colon1 = '\0';
	id_s = colon2 + 1;
	end = id_s + strcspn(id_s, ":");
	*end = '\0';
	if (!*name || !*id_s || strspn(id_s, "0123456789") != strlen(id_s))
		return 0;
	/* base-10 uint32 like Go's ParseUint; too many digits saturate and fail */
	id = strtoull(id_s, NULL, 10);
	if (id > UINT32_MAX)
		return 0;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		void *p = igfs_reallocarray(t->v, ncap, sizeof(*t->v));

		if (!p)
			return -ENOMEM;
		t->v = p;
		t->cap = ncap;
	}
	e = &t->v[t->n];
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	{
		/* Escaped once here rather than for every event that shows it. */
		struct igfs_buf b = {};

		if (igfs_buf_puts(&b, "\"") || igfs_json_escape(&b, name, strlen(name)) ||
		    igfs_buf_puts(&b, "\"")) {
			igfs_buf_free(&b);
			free(e->name);
			return -ENOMEM;
		}
		e->json_len = b.len;
		e->json = igfs_buf_steal(&b);
	}
	e->id = (__u32)id;
	e->seq = (__u32)t->n;
	t->n++;
	return 1;
}

static int names_cmp(const void *a, const void *b)
{
	const struct names_entry *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Read @path into @t; a missing file gives an empty table. */
static int names_load(struct names_table *t, const char *path)
{
	char line[NAMES_MAX_LINE + 2];
	bool skipping = false;
	size_t i, w;
	FILE *f;
	int err = 0;

	if (!path)
		return 0;
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		return err == -ENOENT || err == -ENOTDIR ? 0 : err;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		bool whole = len && line[len - 1] == '\n';

		if (skipping || (!whole && len > NAMES_MAX_LINE)) {
			/* The rest of an over-long line: skip up to its newline. */
			skipping = !whole;
			continue;
		}
		if (t->n >= NAMES_MAX_ENTRIES)
			break;
		err = names_parse_line(t, line);
		if (err < 0)
			break;
		err = 0;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err)
		return err;
	qsort(t->v, t->n, sizeof(*t->v), names_cmp);
	/* Keep the last entry of each id. */
	for (i = 0, w = 0; i < t->n; i++) {
		if (i + 1 < t->n && t->v[i + 1].id == t->v[i].id) {
			free(t->v[i].name);
			free(t->v[i].json);
			continue;
		}
		t->v[w++] = t->v[i];
	}
	t->n = w;
	return 0;
}

int igfs_names__load(const char *passwd, const char *group, struct igfs_names **ret)
{
	struct igfs_names *names;
	int err;

	names = calloc(1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	err = names_load(&names->users, passwd);
	if (!err)
		err = names_load(&names->groups, group);
	if (err) {
		igfs_names__free(names);
		return err;
	}
	*ret = names;
	return 0;
}

void igfs_names__free(struct igfs_names *names)
{
	if (!names)
		return;
	names_table_free(&names->users);
	names_table_free(&names->groups);
	free(names);
}

static const struct names_entry *names_entry(const struct names_table *t, __u32 id)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->v[lo].id == id ? &t->v[lo] : NULL;
}

static const char *names_json(const struct names_table *t, __u32 id, size_t *len)
{
	const struct names_entry *e = names_entry(t, id);

	if (!e)
		return NULL;
	*len = e->json_len;
	return e->json;
}

const char *igfs_names__user_json(const struct igfs_names *names, __u32 uid, size_t *len)
{
	return names ? names_json(&names->users, uid, len) : NULL;
}

const char *igfs_names__group_json(const struct igfs_names *names, __u32 gid, size_t *len)
{
	return names ? names_json(&names->groups, gid, len) : NULL;
}

static const char *names_find(const struct names_table *t, __u32 id)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->v[lo].id == id ? t->v[lo].name : NULL;
}

const char *igfs_names__user(const struct igfs_names *names, __u32 uid)
{
	return names ? names_find(&names->users, uid) : NULL;
}

const char *igfs_names__group(const struct igfs_names *names, __u32 gid)
{
	return names ? names_find(&names->groups, gid) : NULL;
}
