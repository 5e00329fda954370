// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: the input is a gadget.yaml given to igfs_meta__parse. A parsed
 * document is walked whole (every string read) and every lookup must find
 * what the parser produced. Nothing may leak, crash or abort.
 */
#include <errno.h>

#include "fuzz.h"
#include "meta.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static size_t walk_str(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t walk_kvlist(const struct igfs_kvlist *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++) {
		FUZZ_CHECK(l->v[i].key);
		FUZZ_CHECK(l->v[i].value); /* a null value is "" (meta.h) */
		n += walk_str(l->v[i].key) + walk_str(l->v[i].value);
		FUZZ_CHECK(igfs_kvlist_get(l, l->v[i].key));
	}
	return n;
}

static void walk(const struct igfs_meta *m)
{
	size_t i, j, n = 0;

	n += walk_str(m->name) + walk_str(m->description) + walk_str(m->homepage_url);
	n += walk_str(m->documentation_url) + walk_str(m->source_url);
	n += walk_kvlist(&m->annotations) + walk_kvlist(&m->param_defaults);
	for (i = 0; i < m->n_ds; i++) {
		const struct igfs_meta_ds *ds = &m->ds[i];
		const struct igfs_meta_ds *found;

		FUZZ_CHECK(ds->name);
		found = igfs_meta__ds(m, ds->name);
		FUZZ_CHECK(found && !strcmp(found->name, ds->name));
		n += walk_kvlist(&ds->annotations);
		for (j = 0; j < ds->n_fields; j++) {
			const struct igfs_meta_field *f = &ds->fields[j];
			const struct igfs_meta_field *ff;

			FUZZ_CHECK(f->name);
			ff = igfs_meta__field(ds, f->name);
			FUZZ_CHECK(ff && !strcmp(ff->name, f->name));
			n += walk_kvlist(&f->annotations);
		}
	}
	for (i = 0; i < m->n_params; i++) {
		const struct igfs_meta_param *p = &m->params[i];
		const struct igfs_meta_param *pf;

		FUZZ_CHECK(p->cname);
		pf = igfs_meta__param(m, p->cname);
		FUZZ_CHECK(pf && !strcmp(pf->cname, p->cname));
		n += walk_str(p->key) + walk_str(p->default_value) + walk_str(p->description);
		n += walk_str(p->type) + walk_str(p->title) + walk_str(p->alias);
		for (j = 0; j < p->n_possible_values; j++) {
			FUZZ_CHECK(p->possible_values[j]);
			n += walk_str(p->possible_values[j]);
		}
	}
	for (i = 0; i < m->n_progs; i++) {
		const struct igfs_meta_prog *p = &m->progs[i];
		const struct igfs_meta_prog *pf;

		FUZZ_CHECK(p->name);
		pf = igfs_meta__prog(m, p->name);
		FUZZ_CHECK(pf && !strcmp(pf->name, p->name));
		n += walk_str(p->attach_to) + walk_kvlist(&p->settings);
	}
	/* Everything came from at most IGFS_MAX_META_NODES scalars of IGFS_MAX_STR bytes. */
	FUZZ_CHECK(n <= (size_t)IGFS_MAX_META_NODES * IGFS_MAX_STR);
	/* NULL arguments are lookups that find nothing. */
	FUZZ_CHECK(!igfs_meta__ds(m, NULL) && !igfs_meta__param(NULL, "x"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct igfs_diag diag = {};
	struct igfs_meta *meta = NULL;
	int err;

	err = igfs_meta__parse(data, size, &meta, &diag);
	if (err) {
		FUZZ_CHECK(err < 0 && !meta);
		/* Every refusal explains itself in one sentence. */
		FUZZ_CHECK(diag.msg[0] || err == -ENOMEM);
		return 0;
	}
	FUZZ_CHECK(meta);
	walk(meta);
	igfs_meta__free(meta);
	return 0;
}
