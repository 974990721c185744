
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: FHIR REST request classification, the
 * parameters (docs/classifier.md): the body's framing, then the query, the
 * form body of POST _search and the If-None-Exist header of a create,
 * checked raw, split into pairs, decoded, split into name, modifier, chain
 * and comma-separated values; _type, _include and _revinclude are read
 * further.  Plain C: no NGINX headers.
 */

#include <string.h>

#include "smart_fhir_private.h"
#include "smart_text.h"


#define SMART_FHIR_PARAMS0    8         /* first size of the params array */


static int smart_fhir_parse_params(smart_fhir_ctx_t *ctx, const char *s,
    size_t len, smart_fhir_src_e src);
static int smart_fhir_grow_params(smart_fhir_ctx_t *ctx);
static int smart_fhir_parse_pair(smart_fhir_ctx_t *ctx, const char *s,
    size_t len, smart_fhir_src_e src);
static int smart_fhir_decode(smart_fhir_ctx_t *ctx, const char *s,
    size_t len, size_t max, char **out, size_t *outlen);
static int smart_fhir_split_name(smart_fhir_ctx_t *ctx,
    smart_fhir_param_t *p, char *name, size_t len);
static int smart_fhir_split_values(smart_fhir_ctx_t *ctx,
    smart_fhir_param_t *p);
static int smart_fhir_special(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p);
static int smart_fhir_types_param(smart_fhir_ctx_t *ctx,
    const smart_fhir_param_t *p);
static int smart_fhir_include_param(smart_fhir_ctx_t *ctx,
    smart_fhir_param_t *p);
static int smart_fhir_include_piece(smart_fhir_ctx_t *ctx, const char *s,
    smart_fhir_include_t *inc);
static size_t smart_fhir_count_src(const smart_fhir_ctx_t *ctx,
    smart_fhir_src_e src);
static int smart_fhir_if_none_exist(smart_fhir_ctx_t *ctx);
static int smart_fhir_criteria_qmark(smart_fhir_ctx_t *ctx);


/* Body framing and the headers that say how to read the body. */
int
smart_fhir_framing(smart_fhir_ctx_t *ctx)
{
    const smart_fhir_input_t  *in;

    in = ctx->in;

    if (in->content_type_repeated) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_HEADER_REPEATED,
                               "Content-Type is repeated");
    }

    if (!in->body_sent) {
        return 0;
    }

    if (in->body_encoded) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_BODY_ENCODED,
                               "the body has a Content-Encoding");
    }

    if (ctx->req->method == SMART_FHIR_M_GET
        || ctx->req->method == SMART_FHIR_M_DELETE)
    {
        return smart_fhir_fail(ctx, SMART_FHIR_R_BODY_UNEXPECTED,
                               "a body on GET, HEAD or DELETE");
    }

    return 0;
}


int
smart_fhir_parameters(smart_fhir_ctx_t *ctx)
{
    size_t                     total;
    const smart_fhir_input_t  *in;

    in = ctx->in;
    total = in->query_len;

    if (ctx->search_body) {
        total += in->body_len;
    }

    if (ctx->req->interaction == SMART_FHIR_I_CREATE) {
        total += in->if_none_exist_len;
    }

    if (total > SMART_FHIR_MAX_INPUT) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_LIMIT,
                               "query and body too large");
    }

    if (smart_fhir_parse_params(ctx, in->query, in->query_len,
                                SMART_FHIR_SRC_QUERY) != 0)
    {
        return -1;
    }

    if (ctx->search_body && in->body_len > 0) {
        if (!in->body_is_form) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_BODY_NOT_FORM,
                                   "_search body is not form-urlencoded");
        }

        return smart_fhir_parse_params(ctx, in->body, in->body_len,
                                       SMART_FHIR_SRC_BODY);
    }

    return 0;
}


int
smart_fhir_conditional(smart_fhir_ctx_t *ctx)
{
    smart_fhir_req_t  *req = ctx->req;

    if (req->interaction == SMART_FHIR_I_CREATE) {
        if (smart_fhir_if_none_exist(ctx) != 0) {
            return -1;
        }

        if (smart_fhir_count_src(ctx, SMART_FHIR_SRC_IF_NONE_EXIST) > 0) {
            req->conditional = 1;
        }

        req->create_query = (smart_fhir_count_src(ctx, SMART_FHIR_SRC_QUERY)
                             > 0);
    }

    if (req->conditional && smart_fhir_criteria_qmark(ctx) != 0) {
        return -1;
    }

    if (req->conditional
        && req->interaction != SMART_FHIR_I_CREATE
        && smart_fhir_count_src(ctx, SMART_FHIR_SRC_QUERY) == 0)
    {
        return smart_fhir_fail(ctx, SMART_FHIR_R_CONDITIONAL,
                               "conditional write without search "
                               "parameters");
    }

    return 0;
}


static size_t
smart_fhir_count_src(const smart_fhir_ctx_t *ctx, smart_fhir_src_e src)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < ctx->nparams; i++) {
        if (ctx->params[i].source == src) {
            n++;
        }
    }

    return n;
}


/*
 * The If-None-Exist header of a create: search parameters only.  Refused
 * when repeated (servers join the copies or take the first or the last),
 * and when it holds a '?' at all: some servers cut "Type?criteria" at the
 * '?', others read "Type?name" as a parameter name they then ignore, which
 * drops that criterion (docs/security.md, "Parsing differentials").
 */
static int
smart_fhir_if_none_exist(smart_fhir_ctx_t *ctx)
{
    const smart_fhir_input_t  *in;

    in = ctx->in;

    if (in->if_none_exist_repeated) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_IF_NONE_EXIST,
                               "If-None-Exist is repeated");
    }

    if (in->if_none_exist == NULL || in->if_none_exist_len == 0) {
        return 0;
    }

    if (memchr(in->if_none_exist, '?', in->if_none_exist_len) != NULL) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_IF_NONE_EXIST,
                               "If-None-Exist holds a '?' (\"Type?criteria\" "
                               "form)");
    }

    return smart_fhir_parse_params(ctx, in->if_none_exist,
                                   in->if_none_exist_len,
                                   SMART_FHIR_SRC_IF_NONE_EXIST);
}


/*
 * Conditional criteria (If-None-Exist of a create, the query of a
 * conditional update, patch or delete) with '?' in a decoded name or value:
 * a server that decodes before it looks for the start of the criteria would
 * cut there.  Raw '?' is refused for every query by
 * smart_fhir_parse_params().
 */
static int
smart_fhir_criteria_qmark(smart_fhir_ctx_t *ctx)
{
    size_t                     i;
    smart_fhir_src_e           src;
    const smart_fhir_param_t  *p;

    src = (ctx->req->interaction == SMART_FHIR_I_CREATE)
          ? SMART_FHIR_SRC_IF_NONE_EXIST : SMART_FHIR_SRC_QUERY;

    for (i = 0; i < ctx->nparams; i++) {
        p = &ctx->params[i];

        if (p->source == src
            && (strchr(p->raw_name, '?') != NULL
                || memchr(p->value, '?', p->value_len) != NULL))
        {
            return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_QMARK,
                                   "'?' inside conditional criteria");
        }
    }

    return 0;
}


static int
smart_fhir_parse_params(smart_fhir_ctx_t *ctx, const char *s, size_t len,
    smart_fhir_src_e src)
{
    size_t  i, start;

    if (s == NULL || len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) s[i];

        /*
         * ';' is a pair separator for some servers and frameworks: refused
         * so that no upstream sees a parameter the policy did not.
         */
        if (c <= 0x20 || c == 0x7f || c == '#' || c == ';') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_CHAR,
                                   "character not allowed in query");
        }

        /*
         * A second '?': servers cut criteria at the first or at the last
         * '?', or keep the text between two (docs/security.md, "parsing
         * differentials"), so no reading is safe.
         */
        if (c == '?') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_QMARK,
                                   "'?' inside a query or criteria");
        }
    }

    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != '&') {
            continue;
        }

        if (i > start
            && smart_fhir_parse_pair(ctx, s + start, i - start, src) != 0)
        {
            return -1;
        }

        start = i + 1;
    }

    return 0;
}


/*
 * Room for more parameters: 8, then 4 times as many, up to the limit; the
 * old array stays in the blocks (no pointer into it is kept).
 */

static int
smart_fhir_grow_params(smart_fhir_ctx_t *ctx)
{
    size_t               cap;
    smart_fhir_param_t  *params;

    cap = (ctx->params_cap == 0) ? SMART_FHIR_PARAMS0 : ctx->params_cap * 4;

    if (cap > SMART_FHIR_MAX_PARAMS) {
        cap = SMART_FHIR_MAX_PARAMS;
    }

    params = smart_fhir_alloc(ctx, cap * sizeof(smart_fhir_param_t));
    if (params == NULL) {
        return -1;
    }

    if (ctx->nparams != 0) {
        memcpy(params, ctx->params,
               ctx->nparams * sizeof(smart_fhir_param_t));
    }

    ctx->params = params;
    ctx->params_cap = cap;

    return 0;
}


static int
smart_fhir_parse_pair(smart_fhir_ctx_t *ctx, const char *s, size_t len,
    smart_fhir_src_e src)
{
    char                *name, *value;
    size_t               nlen, vlen, rawlen;
    const char          *eq;
    smart_fhir_param_t  *p;

    if (ctx->nparams >= SMART_FHIR_MAX_PARAMS) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_LIMIT,
                               "too many parameters");
    }

    if (ctx->nparams == ctx->params_cap && smart_fhir_grow_params(ctx) != 0) {
        return -1;
    }

    p = &ctx->params[ctx->nparams];
    memset(p, 0, sizeof(smart_fhir_param_t));
    p->source = src;

    eq = memchr(s, '=', len);
    rawlen = eq != NULL ? (size_t) (eq - s) : len;

    if (smart_fhir_decode(ctx, s, rawlen, SMART_FHIR_MAX_NAME, &name, &nlen)
        != 0)
    {
        return -1;
    }

    if (eq != NULL) {
        p->has_equals = 1;

        if (smart_fhir_decode(ctx, eq + 1, len - rawlen - 1,
                              SMART_FHIR_MAX_VALUE, &value, &vlen)
            != 0)
        {
            return -1;
        }

    } else {
        value = smart_fhir_strdup(ctx, "", 0);
        vlen = 0;
        if (value == NULL) {
            return -1;
        }
    }

    p->value = value;
    p->value_len = vlen;

    if (smart_fhir_split_name(ctx, p, name, nlen) != 0
        || smart_fhir_split_values(ctx, p) != 0
        || smart_fhir_special(ctx, p) != 0)
    {
        return -1;
    }

    ctx->nparams++;

    return 0;
}




/* application/x-www-form-urlencoded: "%XX" and '+' as space */
static int
smart_fhir_decode(smart_fhir_ctx_t *ctx, const char *s, size_t len,
    size_t max, char **out, size_t *outlen)
{
    int             hi, lo;
    char           *d;
    size_t          i, n;
    unsigned char   c;

    d = smart_fhir_alloc(ctx, (len < max ? len : max) + 1);
    if (d == NULL) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '+') {
            c = ' ';

        } else if (c == '%') {
            if (len - i < 3) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_ENCODING,
                                       "truncated percent-encoding");
            }

            hi = smart_hex_digit((unsigned char) s[i + 1]);
            lo = smart_hex_digit((unsigned char) s[i + 2]);

            if (hi < 0 || lo < 0) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_ENCODING,
                                       "malformed percent-encoding");
            }

            c = (unsigned char) (hi * 16 + lo);
            i += 2;

            if (c < 0x20 || c == 0x7f) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_ENCODING,
                                       "encoded control character");
            }
        }

        if (n >= max) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_LIMIT,
                                   "parameter name or value too long");
        }

        d[n++] = (char) c;
    }

    d[n] = '\0';

    if (!smart_utf8_valid((const unsigned char *) d, n)) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_ENCODING,
                               "invalid UTF-8");
    }

    *out = d;
    *outlen = n;

    return 0;
}




static int
smart_fhir_name_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'
           || c == ':';
}


static int
smart_fhir_split_name(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p,
    char *name, size_t len)
{
    size_t   i, b, m;
    int      prev_sep, sep;

    if (len == 0) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                               "empty parameter name");
    }

    /* [A-Za-z0-9_.:-], separators never first, last or doubled */
    prev_sep = 1;

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) name[i];

        if (!smart_fhir_name_char(c)) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "character not allowed in name");
        }

        sep = c == '.' || c == ':';

        if (sep && prev_sep) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "malformed parameter name");
        }

        prev_sep = sep;
    }

    if (prev_sep) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                               "malformed parameter name");
    }

    p->raw_name = name;

    b = strcspn(name, ":.");

    p->name = smart_fhir_strdup(ctx, name, b);
    if (p->name == NULL) {
        return -1;
    }

    if (strcmp(p->name, "_has") == 0) {
        if (b == len || name[b] != ':') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "malformed _has");
        }

        p->modifier = name + b + 1;
        return 0;
    }

    if (b == len) {
        return 0;
    }

    if (name[b] == '.') {
        p->chain = name + b + 1;
        return 0;
    }

    m = b + 1 + strcspn(name + b + 1, ":.");

    if (m < len && name[m] == ':') {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                               "more than one modifier");
    }

    p->modifier = smart_fhir_strdup(ctx, name + b + 1, m - b - 1);
    if (p->modifier == NULL) {
        return -1;
    }

    if (m < len) {
        p->chain = name + m + 1;
    }

    return 0;
}


static int
smart_fhir_split_values(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p)
{
    size_t        i, n, start;
    const char  **v;
    const char   *s = p->value;

    n = 1;

    for (i = 0; i < p->value_len; i++) {
        if (s[i] == '\\' && i + 1 < p->value_len) {
            i++;

        } else if (s[i] == ',') {
            n++;
        }
    }

    if (n > SMART_FHIR_MAX_VALUES) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_LIMIT,
                               "too many comma-separated values");
    }

    v = smart_fhir_alloc(ctx, n * sizeof(const char *));
    if (v == NULL) {
        return -1;
    }

    n = 0;
    start = 0;

    for (i = 0; i <= p->value_len; i++) {
        if (i < p->value_len) {
            if (s[i] == '\\' && i + 1 < p->value_len) {
                i++;
                continue;
            }

            if (s[i] != ',') {
                continue;
            }
        }

        v[n] = smart_fhir_strdup(ctx, s + start, i - start);
        if (v[n] == NULL) {
            return -1;
        }

        n++;
        start = i + 1;
    }

    p->values = v;
    p->nvalues = n;

    return 0;
}


static int
smart_fhir_special(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p)
{
    smart_fhir_req_t  *req = ctx->req;

    static const struct {
        const char           *name;
        smart_fhir_pkind_e    kind;
        unsigned              feature;
    } kinds[] = {
        { "_type",          SMART_FHIR_P_TYPE,       SMART_FHIR_F_TYPE },
        { "_include",       SMART_FHIR_P_INCLUDE,    SMART_FHIR_F_INCLUDE },
        { "_revinclude",    SMART_FHIR_P_REVINCLUDE, SMART_FHIR_F_REVINCLUDE },
        { "_has",           SMART_FHIR_P_HAS,        SMART_FHIR_F_HAS },
        { "_filter",        SMART_FHIR_P_FILTER,     SMART_FHIR_F_FILTER },
        { "_query",         SMART_FHIR_P_QUERY,      SMART_FHIR_F_QUERY },
        { "_list",          SMART_FHIR_P_LIST,       SMART_FHIR_F_LIST },
        { "_contained",     SMART_FHIR_P_CONTAINED,  SMART_FHIR_F_CONTAINED },
        { "_containedType", SMART_FHIR_P_CONTAINED,  SMART_FHIR_F_CONTAINED }
    };

    size_t  i;

    if (strcmp(p->name, "_method") == 0) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_OVERRIDE,
                               "_method parameter is not accepted");
    }

    if (p->chain != NULL) {
        req->features |= SMART_FHIR_F_CHAIN;
    }

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(p->name, kinds[i].name) == 0) {
            p->kind = kinds[i].kind;
            req->features |= kinds[i].feature;
            break;
        }
    }

    switch (p->kind) {

    case SMART_FHIR_P_TYPE:
        if (p->modifier != NULL || p->chain != NULL) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "modifier on _type");
        }

        return smart_fhir_types_param(ctx, p);

    case SMART_FHIR_P_INCLUDE:
    case SMART_FHIR_P_REVINCLUDE:
        return smart_fhir_include_param(ctx, p);

    default:
        return 0;
    }
}


static int
smart_fhir_types_param(smart_fhir_ctx_t *ctx, const smart_fhir_param_t *p)
{
    int     t;
    size_t  i, k;

    if (ctx->types == NULL) {
        ctx->types = smart_fhir_alloc(ctx, SMART_FHIR_NTYPES * sizeof(int));
        if (ctx->types == NULL) {
            return -1;
        }
    }

    for (i = 0; i < p->nvalues; i++) {
        t = smart_fhir_type_index(p->values[i], strlen(p->values[i]));
        if (t < 0) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_UNKNOWN_TYPE,
                                   "unknown resource type in _type");
        }

        for (k = 0; k < ctx->ntypes; k++) {
            if (ctx->types[k] == t) {
                break;
            }
        }

        if (k == ctx->ntypes) {
            ctx->types[ctx->ntypes++] = t;
        }
    }

    return 0;
}


static int
smart_fhir_include_param(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p)
{
    size_t                 i;
    smart_fhir_include_t  *inc;

    if (p->chain != NULL) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                               "chain on an include");
    }

    if (p->modifier != NULL) {
        if (strcmp(p->modifier, "iterate") != 0
            && strcmp(p->modifier, "recurse") != 0)
        {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "unknown include modifier");
        }

        p->iterate = 1;
        ctx->req->features |= SMART_FHIR_F_ITERATE;
    }

    inc = smart_fhir_alloc(ctx, p->nvalues * sizeof(smart_fhir_include_t));
    if (inc == NULL) {
        return -1;
    }

    for (i = 0; i < p->nvalues; i++) {
        if (smart_fhir_include_piece(ctx, p->values[i], &inc[i]) != 0) {
            return -1;
        }

        if (inc[i].wildcard) {
            ctx->req->features |= SMART_FHIR_F_INCLUDE_WILD;
        }
    }

    p->includes = inc;
    p->nincludes = p->nvalues;

    return 0;
}


/* "*", "T:*", "T:param", "T:param:Target" */
static int
smart_fhir_include_piece(smart_fhir_ctx_t *ctx, const char *s,
    smart_fhir_include_t *inc)
{
    size_t        i, a, b;
    const char   *c1, *c2;

    inc->src_type = -1;
    inc->param = NULL;
    inc->target_type = -1;
    inc->wildcard = 0;

    if (strcmp(s, "*") == 0) {
        inc->wildcard = 1;
        return 0;
    }

    c1 = strchr(s, ':');
    if (c1 == NULL) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_VALUE,
                               "malformed include");
    }

    c2 = strchr(c1 + 1, ':');
    a = (size_t) (c1 - s);
    b = c2 != NULL ? (size_t) (c2 - c1 - 1) : strlen(c1 + 1);

    if (a == 0 || b == 0 || (c2 != NULL && c2[1] == '\0')) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_VALUE,
                               "malformed include");
    }

    if (a == 1 && s[0] == '*') {
        inc->wildcard = 1;

    } else {
        inc->src_type = smart_fhir_type_index(s, a);
        if (inc->src_type < 0) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_UNKNOWN_TYPE,
                                   "unknown resource type in include");
        }
    }

    if (b == 1 && c1[1] == '*') {
        inc->wildcard = 1;

    } else {
        for (i = 1; i <= b; i++) {
            unsigned char  c = (unsigned char) c1[i];

            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                  || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            {
                return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_VALUE,
                                       "malformed include parameter");
            }
        }
    }

    inc->param = smart_fhir_strdup(ctx, c1 + 1, b);
    if (inc->param == NULL) {
        return -1;
    }

    if (c2 != NULL) {
        inc->target_type = smart_fhir_type_index(c2 + 1, strlen(c2 + 1));
        if (inc->target_type < 0) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_UNKNOWN_TYPE,
                                   "unknown target type in include");
        }
    }

    return 0;
}
