/*
 * router.c - segment trie over the route table (see routes.h).
 *
 * Each node has literal children and at most one parameter child; a match
 * tries the literal first and backtracks to the parameter, so
 * /v1/files/stats wins over /v1/files/:file_id while /v1/files/abc still
 * reaches the parameter route.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METHODS 5

static const char *const methods[MAX_METHODS] = { "GET", "POST", "PUT", "PATCH", "DELETE" };

struct node {
	char *seg;                 /* literal text, or parameter name for param child */
	struct node **lits;
	int nlits;
	struct node *param;
	const route_t *by_method[MAX_METHODS];
};

static struct node *root;

static int method_index(const char *m)
{
	for (int i = 0; i < MAX_METHODS; i++)
		if (strcmp(methods[i], m) == 0)
			return i;
	return -1;
}

static struct node *node_new(const char *seg, size_t len)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	n->seg = strndup(seg, len);
	if (!n->seg)
		abort();
	return n;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (int i = 0; i < n->nlits; i++)
		node_free(n->lits[i]);
	free(n->lits);
	node_free(n->param);
	free(n->seg);
	free(n);
}

static struct node *child_for(struct node *n, const char *seg, size_t len)
{
	if (seg[0] == ':') {
		/* Routes may name one position differently; router_match takes
		 * the names from the matched route, so the node keeps the first. */
		if (n->param)
			return n->param;
		n->param = node_new(seg + 1, len - 1);
		return n->param;
	}
	for (int i = 0; i < n->nlits; i++)
		if (strlen(n->lits[i]->seg) == len && !strncmp(n->lits[i]->seg, seg, len))
			return n->lits[i];
	struct node **lits = realloc(n->lits, sizeof(*lits) * (size_t)(n->nlits + 1));
	if (!lits)
		abort();
	n->lits = lits;
	n->lits[n->nlits] = node_new(seg, len);
	return n->lits[n->nlits++];
}

const field_t *route_body(const route_t *rt)
{
	if (rt->body || !rt->res)
		return rt->body;
	return resource_schema(rt->res, rt->op);
}

static route_perm_t *perms;

const route_perm_t *route_perm(const route_t *rt)
{
	return &perms[rt - routes];
}

/* Parses rt->perm into *out: "none", "area:verb" or "area:{type}:verb".
 * An end-user row must name one (default deny). */
static int perm_parse(const route_t *rt, route_perm_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!rt->perm) {
		if (!(rt->flags & R_USER))
			return 0;
		fprintf(stderr, "router: %s %s is open to end users but names no permission\n",
			rt->method, rt->path);
		return -1;
	}
	if (!(rt->flags & R_USER)) {
		fprintf(stderr, "router: %s %s names a permission but end users cannot call it\n",
			rt->method, rt->path);
		return -1;
	}
	if (!strcmp(rt->perm, "none"))
		return 0;
	const char *c1 = strchr(rt->perm, ':');
	const char *c2 = c1 ? strrchr(rt->perm, ':') : NULL;
	if (!c1 || c1 == rt->perm || !c2[1] ||
	    (c2 != c1 && strncmp(c1, ":{type}:", 8) != 0) || (c2 != c1 && c2 != c1 + 7)) {
		fprintf(stderr, "router: %s %s: bad permission \"%s\"\n", rt->method, rt->path, rt->perm);
		return -1;
	}
	out->area = strndup(rt->perm, (size_t)(c1 - rt->perm));
	out->verb = strdup(c2 + 1);
	out->typed = c2 != c1;
	return out->area && out->verb ? 0 : -1;
}

int router_init(void)
{
	router_free();
	root = node_new("", 0);
	perms = calloc(routes_count, sizeof(*perms));
	if (!perms)
		return -1;
	for (size_t i = 0; i < routes_count; i++) {
		const route_t *rt = &routes[i];
		int mi = method_index(rt->method);
		if (mi < 0 || rt->path[0] != '/') {
			fprintf(stderr, "router: bad route %s %s\n", rt->method, rt->path);
			return -1;
		}
		if (perm_parse(rt, &perms[i]) != 0)
			return -1;
		if (rt->res && (rt->handler != resource_handle || rt->op == OP_NONE ||
				resource_check(rt->res) != 0)) {
			fprintf(stderr, "router: CRUD route %s %s needs resource_handle and an operation\n",
				rt->method, rt->path);
			return -1;
		}
		struct node *n = root;
		const char *p = rt->path + 1;
		while (*p) {
			const char *e = strchr(p, '/');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			if (len == 0 || (p[0] == ':' && len == 1)) {
				fprintf(stderr, "router: bad pattern %s\n", rt->path);
				return -1;
			}
			n = child_for(n, p, len);
			p += len;
			if (*p == '/')
				p++;
		}
		if (n->by_method[mi]) {
			fprintf(stderr, "router: duplicate route %s %s\n", rt->method, rt->path);
			return -1;
		}
		n->by_method[mi] = rt;
	}
	return 0;
}

void router_free(void)
{
	node_free(root);
	root = NULL;
	for (size_t i = 0; perms && i < routes_count; i++) {
		free((char *)perms[i].area);
		free((char *)perms[i].verb);
	}
	free(perms);
	perms = NULL;
}

struct seg {
	const char *s;
	size_t len;
};

#define MAX_SEGS 32


/*
 * Depth-first match, literals before the parameter.  Returns the node that
 * has a route for method index mi; *any receives the first node that ends a
 * route for some other method (for 405 and its Allow header).
 */
static struct node *walk(struct node *n, const struct seg *segs, int nseg,
			 int depth, int mi, const struct node **params,
			 unsigned *any)
{
	if (depth == nseg) {
		if (mi >= 0 && n->by_method[mi])
			return n;
		for (int i = 0; i < MAX_METHODS; i++)
			if (n->by_method[i])
				*any |= 1u << i;
		return NULL;
	}
	const struct seg *s = &segs[depth];
	for (int i = 0; i < n->nlits; i++) {
		struct node *c = n->lits[i];
		if (strlen(c->seg) == s->len && !memcmp(c->seg, s->s, s->len)) {
			struct node *m = walk(c, segs, nseg, depth + 1, mi, params, any);
			if (m)
				return m;
		}
	}
	if (n->param) {
		params[depth] = n->param;
		struct node *m = walk(n->param, segs, nseg, depth + 1, mi, params, any);
		if (m)
			return m;
		params[depth] = NULL;
	}
	return NULL;
}

enum route_match router_match(req_t *r, const char *method, const char *path,
			      const char **allow)
{
	struct seg segs[MAX_SEGS];
	int nseg = 0;
	if (!root || path[0] != '/')
		return MATCH_NO_PATH;
	const char *p = path + 1;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 0)
			return MATCH_NO_PATH; /* "//": one trailing slash is consumed below */
		if (nseg == MAX_SEGS)
			return MATCH_NO_PATH;
		segs[nseg].s = p;
		segs[nseg].len = len;
		nseg++;
		p += len;
		if (*p == '/')
			p++;
	}
	const struct node *params[MAX_SEGS] = { 0 };
	unsigned any = 0;
	int mi = method_index(strcmp(method, "HEAD") == 0 ? "GET" : method);
	struct node *n = walk(root, segs, nseg, 0, mi, params, &any);
	if (!n) {
		if (!any)
			return MATCH_NO_PATH;
		if (allow) {
			char buf[64] = "";
			size_t len = 0;
			for (int i = 0; i < MAX_METHODS; i++) {
				if (!(any & (1u << i)))
					continue;
				/* GET routes answer HEAD too (see below). */
				int w = snprintf(buf + len, sizeof(buf) - len, "%s%s%s",
						 len ? ", " : "", methods[i], i == 0 ? ", HEAD" : "");
				if (w > 0)
					len += (size_t)w;
			}
			*allow = arena_strdup(r->a, buf);
		}
		return MATCH_NO_METHOD;
	}
	const route_t *rt = n->by_method[mi];
	/* Names come from the matched route's own pattern: two routes may
	 * share a parameter position under different names. */
	r->nparams = 0;
	const char *pat = rt->path + 1;
	for (int i = 0; i < nseg && *pat; i++) {
		size_t plen = strcspn(pat, "/");
		if (params[i] && pat[0] == ':' && r->nparams < REQ_MAX_PARAMS) {
			char *v = url_decode(r->a, segs[i].s, segs[i].len, false);
			if (!v)
				return MATCH_NO_PATH;
			r->param_names[r->nparams] = arena_strndup(r->a, pat + 1, plen - 1);
			r->param_values[r->nparams] = v;
			r->nparams++;
		}
		pat += plen;
		if (*pat == '/')
			pat++;
	}
	r->route = rt;
	return MATCH_OK;
}

unsigned scope_bit(const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "read", SCOPE_READ }, { "write", SCOPE_WRITE },
		{ "schema", SCOPE_SCHEMA }, { "files", SCOPE_FILES },
		{ "auth", SCOPE_AUTH }, { "ai", SCOPE_AI }, { "*", SCOPE_ALL },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].bit;
	return 0;
}

unsigned route_scope_bits(const route_t *rt)
{
	return rt->scope[0] ? scope_bit(rt->scope) : 0;
}

int route_body_max(const route_t *rt)
{
	if (rt->body_max > 0)
		return rt->body_max;
	if (rt->body_max == BODY_MAX_CONFIG || rt->auth == AUTH_BEARER)
		return g_config.max_body_bytes;
	return BODY_MAX_PUBLIC;
}

const char *route_tenant_name(const route_t *rt)
{
	switch (rt->tenant) {
	case TENANT_AUTO:
		return rt->auth == AUTH_BEARER ? "credential" : "none";
	case TENANT_CREDENTIAL_PARAM:
		return "credential (tenant_id must match)";
	case TENANT_CREDENTIAL_PARAM_REQUIRED:
		return "credential (tenant_id required, must match)";
	case TENANT_NAMED:
		return "tenant_id";
	case TENANT_NAMED_OR_HOST:
		return "tenant_id or custom domain";
	case TENANT_SIGNED:
		return "signed URL";
	case TENANT_SHARED:
		return "share token";
	}
	return "none";
}
