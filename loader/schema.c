// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The schema of a gadget as JSON: its data sources with their fields and
 * types, and its params with defaults. The mount's schema file and
 * igfs-image inspect print it; knows nothing about files or FUSE.
 */
#include <jansson.h>

#include "gadget.h"

static const char *schema_param_type(const struct igfs_param *p)
{
	switch (p->type) {
	case IGFS_PARAM_BOOL:
		return "bool";
	case IGFS_PARAM_STRING:
		return "string";
	case IGFS_PARAM_IP:
		return "ip";
	case IGFS_PARAM_INT:
		return p->size == 1 ? "int8" : p->size == 2 ? "int16" : p->size == 4 ? "int32" : "int64";
	case IGFS_PARAM_UINT:
		return p->size == 1	? "uint8"
		       : p->size == 2 ? "uint16"
		       : p->size == 4 ? "uint32"
				      : "uint64";
	}
	return "unknown";
}

json_t *igfs_gadget__schema(const struct igfs_gadget *g, const char *name)
{
	const struct igfs_meta *m = g->meta;
	json_t *root, *dss, *params;
	size_t i;

	root = json_object();
	dss = json_array();
	params = json_array();
	if (!root || !dss || !params) {
		json_decref(root);
		json_decref(dss);
		json_decref(params);
		return NULL;
	}
	json_object_set_new(root, "gadget", json_string(name));
	if (g->image->ref)
		json_object_set_new(root, "image", json_string(g->image->ref));
	if (g->image->manifest_digest)
		json_object_set_new(root, "digest", json_string(g->image->manifest_digest));
	if (m->description)
		json_object_set_new(root, "description", json_string(m->description));
	for (i = 0; i < g->info->n_ds; i++) {
		const struct igfs_ds *ds = &g->info->ds[i];
		json_t *o = json_object();
		const char *desc = NULL;

		if (!o)
			continue;
		json_object_set_new(o, "name", json_string(ds->name));
		json_object_set_new(o, "kind", json_string(igfs_ds_kind_str(ds->kind)));
		json_object_set_new(o, "file", json_string(igfs_ds_file_name(ds)));
		if (ds->map)
			json_object_set_new(o, "map", json_string(ds->map));
		if (ds->type_name)
			json_object_set_new(o, "struct", json_string(ds->type_name));
		json_object_set_new(o, "size", json_integer((json_int_t)ds->rec_size));
		if (ds->meta)
			desc = igfs_kvlist_get(&ds->meta->annotations, "description");
		if (desc)
			json_object_set_new(o, "description", json_string(desc));
		json_object_set_new(o, "fields", igfs_enc__fields_json(ds->enc));
		json_array_append_new(dss, o);
	}
	json_object_set_new(root, "datasources", dss);
	for (i = 0; i < g->info->n_params; i++) {
		const struct igfs_param *p = &g->info->params[i];
		json_t *o = json_object();

		if (!o)
			continue;
		json_object_set_new(o, "key", json_string(p->key));
		json_object_set_new(o, "variable", json_string(p->cname));
		json_object_set_new(o, "type", json_string(schema_param_type(p)));
		json_object_set_new(o, "ctype", json_string(p->ctype ? p->ctype : ""));
		json_object_set_new(o, "default", json_string(p->default_value));
		json_object_set_new(o, "description",
				    p->description ? json_string(p->description) : json_null());
		json_array_append_new(params, o);
	}
	json_object_set_new(root, "params", params);
	return root;
}
