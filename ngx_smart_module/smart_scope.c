
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the SMART scope grammar.
 *
 * The claim is examined in two passes.  The first finds the scope
 * boundaries and applies the bounds, so that the set can be sized exactly
 * and allocated once; the second classifies each scope.  A resource scope
 * is committed to the set only after every part of it parsed: a failure
 * anywhere leaves no trace but the ignored record.
 */

#include <stdlib.h>
#include <string.h>

#include "smart_scope.h"
#include "smart_text.h"


#define SMART_SCOPE_OK  SMART_SCOPE_REASON__COUNT


/* Alignment for the pieces of the single allocation. */
typedef union {
    void                  *p;
    size_t                 z;
    long long              ll;
    double                 d;
    void                 (*f)(void);
} smart_scope_align_t;


typedef struct {
    char                  *pos;
    char                  *end;
} smart_scope_arena_t;


/* Working state of the second pass. */
typedef struct {
    smart_scope_t         *scopes;
    size_t                 nscopes;
    smart_scope_ignored_t *ignored;
    size_t                 nignored;
    smart_scope_param_t   *params;
    size_t                 nparams;
    size_t                 params_cap;
    smart_scope_arena_t    arena;
} smart_scope_build_t;


/* What the first pass finds: the sizes of the one allocation. */
typedef struct {
    size_t                 copylen;     /* claim bytes kept */
    size_t                 nproc;       /* scopes examined */
    size_t                 over_count;  /* dropped: SMART_SCOPE_MAX_SCOPES */
    size_t                 over_input;  /* dropped: SMART_SCOPE_MAX_INPUT */
    size_t                 neq;         /* '=' in the kept bytes */
} smart_scope_count_t;


typedef struct {
    const char            *name;
    smart_scope_kind_e     kind;
    const char            *text;
} smart_scope_reason_info_t;


/* One table: names, kinds and sentences of the reasons, in enum order. */
static const smart_scope_reason_info_t  smart_scope_reasons[] = {
    { "identity", SMART_SCOPE_KIND_NON_RESOURCE,
      "identity scope (openid, fhirUser, profile): not a resource scope" },
    { "launch", SMART_SCOPE_KIND_NON_RESOURCE,
      "launch context request: not a resource scope" },
    { "refresh", SMART_SCOPE_KIND_NON_RESOURCE,
      "refresh token request (offline_access, online_access): "
      "not a resource scope" },
    { "uri", SMART_SCOPE_KIND_NON_RESOURCE,
      "URI scope: not a SMART resource scope" },
    { "extension", SMART_SCOPE_KIND_NON_RESOURCE,
      "extension scope (starts with __): not a resource scope" },
    { "other", SMART_SCOPE_KIND_NON_RESOURCE,
      "scope outside the SMART grammar: not a resource scope" },

    { "nul-byte", SMART_SCOPE_KIND_INVALID,
      "contains a NUL byte" },
    { "whitespace", SMART_SCOPE_KIND_INVALID,
      "contains a tab, carriage return, line feed, vertical tab or "
      "form feed; scopes are separated by spaces only" },
    { "bad-character", SMART_SCOPE_KIND_INVALID,
      "contains a control character or a byte outside ASCII" },
    { "unknown-context", SMART_SCOPE_KIND_INVALID,
      "does not start with patient/, user/ or system/" },
    { "missing-type", SMART_SCOPE_KIND_INVALID,
      "no resource type before the dot" },
    { "bad-type", SMART_SCOPE_KIND_INVALID,
      "resource type is neither * nor [A-Z][A-Za-z]{0,63} "
      "(type names are case-sensitive)" },
    { "missing-permissions", SMART_SCOPE_KIND_INVALID,
      "no dot and permissions after the resource type" },
    { "multiple-dots", SMART_SCOPE_KIND_INVALID,
      "more than one dot before the granular part" },
    { "empty-permissions", SMART_SCOPE_KIND_INVALID,
      "nothing after the dot" },
    { "unknown-permission", SMART_SCOPE_KIND_INVALID,
      "permissions are not read, write, * or letters from c r u d s "
      "(lower case)" },
    { "repeated-permission", SMART_SCOPE_KIND_INVALID,
      "a permission letter appears more than once" },
    { "permission-order", SMART_SCOPE_KIND_INVALID,
      "permission letters out of the order c, r, u, d, s" },
    { "granular-with-v1", SMART_SCOPE_KIND_INVALID,
      "granular restriction on a v1 scope (read, write, *); SMART 2.2 "
      "defines restrictions for v2 letters only" },
    { "granular-syntax", SMART_SCOPE_KIND_INVALID,
      "granular part empty, or with an empty parameter (trailing ?, "
      "&&, leading or trailing &)" },
    { "granular-name", SMART_SCOPE_KIND_INVALID,
      "granular parameter name empty or not "
      "[A-Za-z_][A-Za-z0-9_-:.]*" },
    { "granular-missing-equals", SMART_SCOPE_KIND_INVALID,
      "granular parameter without =value" },
    { "granular-empty-value", SMART_SCOPE_KIND_INVALID,
      "granular parameter with an empty value" },
    { "granular-value-character", SMART_SCOPE_KIND_INVALID,
      "granular value contains a raw =, ? or # (percent-encode it)" },
    { "bad-escape", SMART_SCOPE_KIND_INVALID,
      "granular value has % not followed by two hex digits" },
    { "bad-decoded-value", SMART_SCOPE_KIND_INVALID,
      "granular value decodes to a control character or to bytes that "
      "are not UTF-8" },

    { "limit-scope-length", SMART_SCOPE_KIND_LIMIT,
      "scope longer than 1024 bytes" },
    { "limit-count", SMART_SCOPE_KIND_LIMIT,
      "scopes after the first 256 were not examined" },
    { "limit-length", SMART_SCOPE_KIND_LIMIT,
      "scopes not ending within the first 8192 bytes were not examined" }
};


/* the table above has exactly one row per reason */
typedef char smart_scope_reasons_complete[
    (sizeof(smart_scope_reasons) / sizeof(smart_scope_reasons[0])
     == SMART_SCOPE_REASON__COUNT) ? 1 : -1];


/* Canonical letters of every subset, indexed by mask. */
static const char  *smart_scope_perm_strings[32] = {
    "",     "c",    "r",    "cr",    "u",    "cu",    "ru",    "cru",
    "d",    "cd",   "rd",   "crd",   "ud",   "cud",   "rud",   "crud",
    "s",    "cs",   "rs",   "crs",   "us",   "cus",   "rus",   "crus",
    "ds",   "cds",  "rds",  "crds",  "uds",  "cuds",  "ruds",  "cruds"
};


static void smart_scope_count(const char *s, size_t len,
    smart_scope_count_t *c);
static smart_scope_set_t *smart_scope_alloc(const char *s,
    const smart_scope_count_t *c, smart_scope_build_t *b, char **copy);
static void smart_scope_examine(smart_scope_set_t *set,
    smart_scope_build_t *b, const char *copy, const smart_scope_count_t *c);
static void smart_scope_finish(smart_scope_set_t *set,
    smart_scope_build_t *b, const smart_scope_count_t *c);
static int smart_scope_next(const char *s, size_t len, size_t *pos,
    size_t *start, size_t *end);
static smart_scope_reason_e smart_scope_classify(smart_scope_build_t *b,
    const char *t, size_t n);
static smart_scope_reason_e smart_scope_check_bytes(const char *t, size_t n);
static smart_scope_reason_e smart_scope_non_resource(const char *t,
    size_t n);
static int smart_scope_is_uri(const char *t, size_t n);
static smart_scope_reason_e smart_scope_resource(smart_scope_build_t *b,
    smart_scope_context_e ctx, const char *t, size_t n, size_t skip);
static int smart_scope_type_ok(const char *t, size_t n);
static smart_scope_reason_e smart_scope_perms(const char *p, size_t n,
    unsigned *perms, unsigned *v1);
static smart_scope_reason_e smart_scope_granular(smart_scope_build_t *b,
    const char *q, size_t n);
static smart_scope_reason_e smart_scope_param(smart_scope_build_t *b,
    const char *p, size_t n);
static int smart_scope_name_ok(const char *p, size_t n);
static char *smart_scope_store(smart_scope_arena_t *a, const char *p,
    size_t n);
static int smart_scope_prefix(const char *t, size_t n, const char *lit);
static int smart_scope_equals(const char *t, size_t n, const char *lit);
static size_t smart_scope_align(size_t n);


smart_scope_set_t *
smart_scope_parse(const char *s, size_t len)
{
    char                 *copy;
    smart_scope_set_t    *set;
    smart_scope_build_t   b;
    smart_scope_count_t   c;

    if (s == NULL) {
        if (len != 0) {
            return NULL;
        }

        s = "";
    }

    smart_scope_count(s, len, &c);

    set = smart_scope_alloc(s, &c, &b, &copy);
    if (set == NULL) {
        return NULL;
    }

    smart_scope_examine(set, &b, copy, &c);
    smart_scope_finish(set, &b, &c);

    return set;
}


/* pass 1: boundaries and bounds */
static void
smart_scope_count(const char *s, size_t len, smart_scope_count_t *c)
{
    size_t  pos, start, end, i;

    c->copylen = len < SMART_SCOPE_MAX_INPUT ? len : SMART_SCOPE_MAX_INPUT;
    c->nproc = 0;
    c->over_count = 0;
    c->over_input = 0;
    pos = 0;

    while (smart_scope_next(s, len, &pos, &start, &end)) {
        if (end > SMART_SCOPE_MAX_INPUT) {
            c->over_input++;

        } else if (c->nproc >= SMART_SCOPE_MAX_SCOPES) {
            c->over_count++;

        } else {
            c->nproc++;
        }
    }

    /* every granular parameter has its own '=' */
    c->neq = 0;
    for (i = 0; i < c->copylen; i++) {
        if (s[i] == '=') {
            c->neq++;
        }
    }
}


/*
 * The one allocation: the set, its scopes, ignored entries and parameters,
 * the copy of the claim and the arena; b is set up to fill it.
 */
static smart_scope_set_t *
smart_scope_alloc(const char *s, const smart_scope_count_t *c,
    smart_scope_build_t *b, char **copy)
{
    char    *mem;
    size_t   off_scopes, off_ignored, off_params, off_copy, off_arena, total;

    off_scopes = smart_scope_align(sizeof(smart_scope_set_t));
    off_ignored = off_scopes
                  + smart_scope_align(c->nproc * sizeof(smart_scope_t));
    off_params = off_ignored
                 + smart_scope_align((c->nproc + 2)
                                     * sizeof(smart_scope_ignored_t));
    off_copy = off_params
               + smart_scope_align(c->neq * sizeof(smart_scope_param_t));

    /*
     * The arena holds the NUL-terminated type, names and decoded values of
     * a scope; together they never exceed the scope's own length (the
     * context, '/', '.', letters, '?', '&' and '=' pay for the NULs).
     */
    off_arena = off_copy + c->copylen + 1;
    total = off_arena + c->copylen + 1;

    mem = malloc(total);
    if (mem == NULL) {
        return NULL;
    }

    memset(mem, 0, off_copy);

    *copy = mem + off_copy;
    if (c->copylen != 0) {
        memcpy(*copy, s, c->copylen);
    }
    (*copy)[c->copylen] = '\0';

    b->scopes = (smart_scope_t *) (void *) (mem + off_scopes);
    b->nscopes = 0;
    b->ignored = (smart_scope_ignored_t *) (void *) (mem + off_ignored);
    b->nignored = 0;
    b->params = (smart_scope_param_t *) (void *) (mem + off_params);
    b->nparams = 0;
    b->params_cap = c->neq;
    b->arena.pos = mem + off_arena;
    b->arena.end = mem + total;

    return (smart_scope_set_t *) (void *) mem;
}


/* pass 2: the examined scopes, all inside the copy */
static void
smart_scope_examine(smart_scope_set_t *set, smart_scope_build_t *b,
    const char *copy, const smart_scope_count_t *c)
{
    size_t                pos, start, end, i;
    smart_scope_reason_e  r;
    smart_scope_kind_e    kind;

    pos = 0;

    for (i = 0; i < c->nproc; i++) {
        if (!smart_scope_next(copy, c->copylen, &pos, &start, &end)) {
            break;
        }

        r = smart_scope_classify(b, copy + start, end - start);

        if (r == SMART_SCOPE_OK) {
            b->scopes[b->nscopes - 1].raw = copy + start;
            b->scopes[b->nscopes - 1].raw_len = end - start;
            continue;
        }

        b->ignored[b->nignored].reason = r;
        b->ignored[b->nignored].raw = copy + start;
        b->ignored[b->nignored].raw_len = end - start;
        b->ignored[b->nignored].count = 1;
        b->nignored++;

        kind = smart_scope_reason_kind(r);

        if (kind == SMART_SCOPE_KIND_NON_RESOURCE) {
            set->n_nonresource++;

        } else if (kind == SMART_SCOPE_KIND_LIMIT) {
            set->n_limit++;

        } else {
            set->n_invalid++;
        }
    }
}


/* The limit markers last, the context flags, and the set is complete. */
static void
smart_scope_finish(smart_scope_set_t *set, smart_scope_build_t *b,
    const smart_scope_count_t *c)
{
    size_t  i;

    if (c->over_count != 0) {
        b->ignored[b->nignored].reason = SMART_SCOPE_LIMIT_COUNT;
        b->ignored[b->nignored].count = c->over_count;
        b->nignored++;
        set->n_limit += c->over_count;
    }

    if (c->over_input != 0) {
        b->ignored[b->nignored].reason = SMART_SCOPE_LIMIT_INPUT;
        b->ignored[b->nignored].count = c->over_input;
        b->nignored++;
        set->n_limit += c->over_input;
    }

    for (i = 0; i < b->nscopes; i++) {
        switch (b->scopes[i].context) {
        case SMART_SCOPE_PATIENT:
            set->has_patient_scopes = 1;
            break;
        case SMART_SCOPE_USER:
            set->has_user_scopes = 1;
            break;
        case SMART_SCOPE_SYSTEM:
            set->has_system_scopes = 1;
            break;
        }
    }

    set->scopes = b->scopes;
    set->nscopes = b->nscopes;
    set->ignored = b->ignored;
    set->nignored = b->nignored;
}


void
smart_scope_set_free(smart_scope_set_t *set)
{
    free(set);
}


/* Next run of non-space bytes at or after *pos; 0 at the end. */
static int
smart_scope_next(const char *s, size_t len, size_t *pos, size_t *start,
    size_t *end)
{
    size_t  p;

    p = *pos;

    while (p < len && s[p] == ' ') {
        p++;
    }

    if (p == len) {
        *pos = p;
        return 0;
    }

    *start = p;

    while (p < len && s[p] != ' ') {
        p++;
    }

    *end = p;
    *pos = p;

    return 1;
}


/* Returns SMART_SCOPE_OK after appending a scope, else the reason. */
static smart_scope_reason_e
smart_scope_classify(smart_scope_build_t *b, const char *t, size_t n)
{
    smart_scope_reason_e  r;

    if (n > SMART_SCOPE_MAX_LEN) {
        return SMART_SCOPE_LIMIT_SCOPE_LEN;
    }

    r = smart_scope_check_bytes(t, n);
    if (r != SMART_SCOPE_OK) {
        return r;
    }

    if (smart_scope_prefix(t, n, "patient/")) {
        return smart_scope_resource(b, SMART_SCOPE_PATIENT, t, n,
                                    sizeof("patient/") - 1);
    }

    if (smart_scope_prefix(t, n, "user/")) {
        return smart_scope_resource(b, SMART_SCOPE_USER, t, n,
                                    sizeof("user/") - 1);
    }

    if (smart_scope_prefix(t, n, "system/")) {
        return smart_scope_resource(b, SMART_SCOPE_SYSTEM, t, n,
                                    sizeof("system/") - 1);
    }

    return smart_scope_non_resource(t, n);
}


/*
 * Scopes are printable ASCII.  NUL is reported on its own because the
 * claim is handled by length and a NUL would cut a C-string consumer's view
 * of the scope short.
 */
static smart_scope_reason_e
smart_scope_check_bytes(const char *t, size_t n)
{
    size_t         i;
    unsigned char  c;
    int            nul, ws, bad;

    nul = 0;
    ws = 0;
    bad = 0;

    for (i = 0; i < n; i++) {
        c = (unsigned char) t[i];

        if (c == '\0') {
            nul = 1;

        } else if (c == '\t' || c == '\n' || c == '\v' || c == '\f'
                   || c == '\r')
        {
            ws = 1;

        } else if (c < 0x21 || c > 0x7e) {
            bad = 1;
        }
    }

    if (nul) {
        return SMART_SCOPE_BAD_NUL;
    }

    if (ws) {
        return SMART_SCOPE_BAD_WHITESPACE;
    }

    if (bad) {
        return SMART_SCOPE_BAD_CHAR;
    }

    return SMART_SCOPE_OK;
}


/*
 * Anything that is not a resource scope.  A scope with a character of the
 * resource grammar ('/', '.', '?', '*', '&', '=', '%') that is neither a
 * known non-resource form nor a URI is a resource scope with a wrong or
 * missing context (Patient/..., Observation.rs), and is reported as
 * invalid rather than waved through as "other".
 */
static smart_scope_reason_e
smart_scope_non_resource(const char *t, size_t n)
{
    size_t  i;

    if (smart_scope_equals(t, n, "openid")
        || smart_scope_equals(t, n, "fhirUser")
        || smart_scope_equals(t, n, "profile"))
    {
        return SMART_SCOPE_NR_IDENTITY;
    }

    if (smart_scope_equals(t, n, "launch")
        || smart_scope_prefix(t, n, "launch/"))
    {
        return SMART_SCOPE_NR_LAUNCH;
    }

    if (smart_scope_equals(t, n, "offline_access")
        || smart_scope_equals(t, n, "online_access"))
    {
        return SMART_SCOPE_NR_REFRESH;
    }

    if (smart_scope_prefix(t, n, "__")) {
        return SMART_SCOPE_NR_EXTENSION;
    }

    if (smart_scope_is_uri(t, n)) {
        return SMART_SCOPE_NR_URI;
    }

    for (i = 0; i < n; i++) {
        if (strchr("/.?*&=%", t[i]) != NULL) {
            return SMART_SCOPE_BAD_CONTEXT;
        }
    }

    return SMART_SCOPE_NR_OTHER;
}


/* scheme://something or urn:something; scheme is [A-Za-z][A-Za-z0-9+.-]* */
static int
smart_scope_is_uri(const char *t, size_t n)
{
    size_t  i;
    char    c;

    if (n > 4
        && (t[0] == 'u' || t[0] == 'U')
        && (t[1] == 'r' || t[1] == 'R')
        && (t[2] == 'n' || t[2] == 'N')
        && t[3] == ':')
    {
        return 1;
    }

    if (n == 0 || !((t[0] >= 'a' && t[0] <= 'z')
                    || (t[0] >= 'A' && t[0] <= 'Z')))
    {
        return 0;
    }

    for (i = 1; i < n; i++) {
        c = t[i];

        if (c == ':') {
            return n - i > 3 && t[i + 1] == '/' && t[i + 2] == '/';
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '+' || c == '.'
              || c == '-'))
        {
            return 0;
        }
    }

    return 0;
}


/*
 * context/Type.perms[?granular]: t[skip..n) is what follows "context/".
 * The first '?' ends the resource part; dots after it belong to granular
 * parameter names.
 */
static smart_scope_reason_e
smart_scope_resource(smart_scope_build_t *b, smart_scope_context_e ctx,
    const char *t, size_t n, size_t skip)
{
    const char            *rest, *q, *dot, *perms;
    size_t                 rlen, reslen, tlen, plen, saved_nparams;
    char                  *saved_pos, *type;
    unsigned               mask, v1;
    smart_scope_reason_e   r;
    smart_scope_t         *sc;

    rest = t + skip;
    rlen = n - skip;

    q = memchr(rest, '?', rlen);
    reslen = (q != NULL) ? (size_t) (q - rest) : rlen;

    dot = memchr(rest, '.', reslen);
    if (dot == NULL) {
        return (reslen == 0) ? SMART_SCOPE_BAD_TYPE_MISSING
                             : SMART_SCOPE_BAD_PERMS_MISSING;
    }

    tlen = (size_t) (dot - rest);
    if (tlen == 0) {
        return SMART_SCOPE_BAD_TYPE_MISSING;
    }

    if (!smart_scope_type_ok(rest, tlen)) {
        return SMART_SCOPE_BAD_TYPE;
    }

    perms = dot + 1;
    plen = reslen - tlen - 1;

    if (memchr(perms, '.', plen) != NULL) {
        return SMART_SCOPE_BAD_DOTS;
    }

    r = smart_scope_perms(perms, plen, &mask, &v1);
    if (r != SMART_SCOPE_OK) {
        return r;
    }

    if (q != NULL && v1) {
        return SMART_SCOPE_BAD_GRANULAR_V1;
    }

    saved_pos = b->arena.pos;
    saved_nparams = b->nparams;

    type = smart_scope_store(&b->arena, rest, tlen);
    if (type == NULL) {
        return SMART_SCOPE_LIMIT_SCOPE_LEN;
    }

    if (q != NULL) {
        r = smart_scope_granular(b, q + 1, rlen - reslen - 1);
        if (r != SMART_SCOPE_OK) {
            b->arena.pos = saved_pos;
            b->nparams = saved_nparams;
            return r;
        }
    }

    sc = &b->scopes[b->nscopes++];

    sc->context = ctx;
    sc->type = type;
    sc->type_len = tlen;
    sc->is_wildcard = (tlen == 1 && rest[0] == '*');
    sc->perms = mask;
    sc->v1 = v1;
    sc->params = (b->nparams > saved_nparams) ? &b->params[saved_nparams]
                                               : NULL;
    sc->nparams = b->nparams - saved_nparams;

    return SMART_SCOPE_OK;
}


static int
smart_scope_type_ok(const char *t, size_t n)
{
    size_t  i;

    if (n == 1 && t[0] == '*') {
        return 1;
    }

    if (n > SMART_SCOPE_MAX_TYPE || t[0] < 'A' || t[0] > 'Z') {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z')))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * v1 words first (they are not letter strings), then v2 letters.  The
 * reasons are checked in a fixed order, unknown letter before repeat before
 * order, so that each malformed string has exactly one reason.
 */
static smart_scope_reason_e
smart_scope_perms(const char *p, size_t n, unsigned *perms, unsigned *v1)
{
    size_t         i;
    unsigned       seen, bit, last;
    const char    *letter;
    static const char  letters[] = "cruds";

    *perms = 0;
    *v1 = 0;

    if (n == 0) {
        return SMART_SCOPE_BAD_PERMS_EMPTY;
    }

    if (smart_scope_equals(p, n, "read")) {
        *perms = SMART_SCOPE_V1_READ;
        *v1 = 1;
        return SMART_SCOPE_OK;
    }

    if (smart_scope_equals(p, n, "write")) {
        *perms = SMART_SCOPE_V1_WRITE;
        *v1 = 1;
        return SMART_SCOPE_OK;
    }

    if (smart_scope_equals(p, n, "*")) {
        *perms = SMART_SCOPE_V1_ALL;
        *v1 = 1;
        return SMART_SCOPE_OK;
    }

    for (i = 0; i < n; i++) {
        if (p[i] == '\0' || strchr(letters, p[i]) == NULL) {
            return SMART_SCOPE_BAD_PERMS_UNKNOWN;
        }
    }

    seen = 0;
    for (i = 0; i < n; i++) {
        letter = strchr(letters, p[i]);
        bit = 1u << (unsigned) (letter - letters);

        if (seen & bit) {
            return SMART_SCOPE_BAD_PERMS_REPEAT;
        }

        seen |= bit;
    }

    last = 0;
    for (i = 0; i < n; i++) {
        letter = strchr(letters, p[i]);
        bit = 1u << (unsigned) (letter - letters);

        if (bit < last) {
            return SMART_SCOPE_BAD_PERMS_ORDER;
        }

        last = bit;
    }

    *perms = seen;

    return SMART_SCOPE_OK;
}


/* name=value(&name=value)* in q[0..n) */
static smart_scope_reason_e
smart_scope_granular(smart_scope_build_t *b, const char *q, size_t n)
{
    const char            *amp;
    size_t                 plen;
    smart_scope_reason_e   r;

    if (n == 0) {
        return SMART_SCOPE_BAD_GRANULAR_SYNTAX;
    }

    for ( ;; ) {
        amp = memchr(q, '&', n);
        plen = (amp != NULL) ? (size_t) (amp - q) : n;

        if (plen == 0) {
            return SMART_SCOPE_BAD_GRANULAR_SYNTAX;
        }

        r = smart_scope_param(b, q, plen);
        if (r != SMART_SCOPE_OK) {
            return r;
        }

        if (amp == NULL) {
            return SMART_SCOPE_OK;
        }

        q = amp + 1;
        n -= plen + 1;

        if (n == 0) {
            /* trailing '&' */
            return SMART_SCOPE_BAD_GRANULAR_SYNTAX;
        }
    }
}


static smart_scope_reason_e
smart_scope_param(smart_scope_build_t *b, const char *p, size_t n)
{
    const char           *eq, *v;
    char                 *name, *value, *d;
    size_t                nlen, vlen, i;
    int                   hi, lo;
    unsigned char         c;
    smart_scope_param_t  *prm;

    eq = memchr(p, '=', n);
    if (eq == NULL) {
        return SMART_SCOPE_BAD_GRANULAR_NO_EQUALS;
    }

    nlen = (size_t) (eq - p);
    if (!smart_scope_name_ok(p, nlen)) {
        return SMART_SCOPE_BAD_GRANULAR_NAME;
    }

    v = eq + 1;
    vlen = n - nlen - 1;

    if (vlen == 0) {
        return SMART_SCOPE_BAD_GRANULAR_EMPTY;
    }

    for (i = 0; i < vlen; i++) {
        if (v[i] == '=' || v[i] == '?' || v[i] == '#') {
            return SMART_SCOPE_BAD_GRANULAR_CHAR;
        }
    }

    if (b->nparams >= b->params_cap) {
        /* cannot happen: every parameter has its own '=' */
        return SMART_SCOPE_LIMIT_SCOPE_LEN;
    }

    name = smart_scope_store(&b->arena, p, nlen);

    /* the decoded value is never longer than the raw one */
    value = smart_scope_store(&b->arena, v, vlen);

    if (name == NULL || value == NULL) {
        return SMART_SCOPE_LIMIT_SCOPE_LEN;
    }

    d = value;

    for (i = 0; i < vlen; i++) {
        c = (unsigned char) v[i];

        if (c == '%') {
            if (vlen - i < 3) {
                return SMART_SCOPE_BAD_ESCAPE;
            }

            hi = smart_hex_digit((unsigned char) v[i + 1]);
            lo = smart_hex_digit((unsigned char) v[i + 2]);

            if (hi < 0 || lo < 0) {
                return SMART_SCOPE_BAD_ESCAPE;
            }

            c = (unsigned char) (hi * 16 + lo);

            if (c < 0x20 || c == 0x7f) {
                return SMART_SCOPE_BAD_DECODED;
            }

            i += 2;
        }

        *d++ = (char) c;
    }

    *d = '\0';

    if (!smart_utf8_valid((const unsigned char *) value,
                             (size_t) (d - value)))
    {
        return SMART_SCOPE_BAD_DECODED;
    }

    /* give back what decoding saved */
    b->arena.pos = d + 1;

    prm = &b->params[b->nparams++];
    prm->name = name;
    prm->name_len = nlen;
    prm->value = value;
    prm->value_len = (size_t) (d - value);

    return SMART_SCOPE_OK;
}


/* [A-Za-z_][A-Za-z0-9_\-:.]* */
static int
smart_scope_name_ok(const char *p, size_t n)
{
    size_t  i;
    char    c;

    if (n == 0) {
        return 0;
    }

    c = p[0];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_')) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        c = p[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':'
              || c == '.'))
        {
            return 0;
        }
    }

    return 1;
}






/* Copies p[0..n) and a NUL into the arena; NULL if it does not fit. */
static char *
smart_scope_store(smart_scope_arena_t *a, const char *p, size_t n)
{
    char  *dst;

    if ((size_t) (a->end - a->pos) < n + 1) {
        return NULL;
    }

    dst = a->pos;
    memcpy(dst, p, n);
    dst[n] = '\0';
    a->pos += n + 1;

    return dst;
}


static int
smart_scope_prefix(const char *t, size_t n, const char *lit)
{
    size_t  l;

    l = strlen(lit);

    return n >= l && memcmp(t, lit, l) == 0;
}


static int
smart_scope_equals(const char *t, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(t, lit, n) == 0;
}


static size_t
smart_scope_align(size_t n)
{
    size_t  a;

    a = sizeof(smart_scope_align_t);

    return (n + a - 1) / a * a;
}


size_t
smart_scope_match(const smart_scope_set_t *set, unsigned ctx_mask,
    const char *type, size_t type_len, unsigned need,
    const smart_scope_t **match, size_t cap)
{
    size_t               i, found;
    int                  all_types;
    const smart_scope_t  *sc;

    if (set == NULL || type == NULL || type_len == 0 || need == 0
        || (need & ~(unsigned) SMART_SCOPE_CRUDS) != 0
        || (ctx_mask & SMART_SCOPE_ANY_CONTEXT) == 0)
    {
        return 0;
    }

    all_types = (type_len == 1 && type[0] == '*');
    found = 0;

    for (i = 0; i < set->nscopes; i++) {
        sc = &set->scopes[i];

        if ((sc->context & ctx_mask) == 0 || (sc->perms & need) != need) {
            continue;
        }

        if (!sc->is_wildcard
            && (all_types || sc->type_len != type_len
                || memcmp(sc->type, type, type_len) != 0))
        {
            continue;
        }

        if (match != NULL && found < cap) {
            match[found] = sc;
        }

        found++;
    }

    return found;
}


/* snprintf()-style writer */
typedef struct {
    char    *buf;
    size_t   cap;
    size_t   len;
} smart_scope_out_t;


static void
smart_scope_out_put(smart_scope_out_t *o, const char *p, size_t n)
{
    size_t  room;

    if (o->len < o->cap) {
        room = o->cap - o->len;
        memcpy(o->buf + o->len, p, n < room ? n : room);
    }

    o->len += n;
}


static void
smart_scope_out_value(smart_scope_out_t *o, const char *v, size_t n)
{
    size_t         i;
    unsigned char  c;
    char           esc[3];
    static const char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < n; i++) {
        c = (unsigned char) v[i];

        if (c < 0x21 || c > 0x7e || c == '%' || c == '&' || c == '='
            || c == '?' || c == '#')
        {
            esc[0] = '%';
            esc[1] = hex[c >> 4];
            esc[2] = hex[c & 0x0f];
            smart_scope_out_put(o, esc, 3);

        } else {
            smart_scope_out_put(o, (const char *) &v[i], 1);
        }
    }
}


size_t
smart_scope_format(char *buf, size_t cap, const smart_scope_t *sc)
{
    size_t              i;
    const char         *ctx, *letters;
    smart_scope_out_t   o;

    o.buf = buf;
    o.cap = (cap != 0) ? cap - 1 : 0;
    o.len = 0;

    if (sc != NULL) {
        ctx = smart_scope_context_name(sc->context);
        letters = smart_scope_perm_string(sc->perms);

        if (ctx != NULL && letters != NULL) {
            smart_scope_out_put(&o, ctx, strlen(ctx));
            smart_scope_out_put(&o, "/", 1);
            smart_scope_out_put(&o, sc->type, sc->type_len);
            smart_scope_out_put(&o, ".", 1);
            smart_scope_out_put(&o, letters, strlen(letters));

            for (i = 0; i < sc->nparams; i++) {
                smart_scope_out_put(&o, (i == 0) ? "?" : "&", 1);
                smart_scope_out_put(&o, sc->params[i].name,
                                sc->params[i].name_len);
                smart_scope_out_put(&o, "=", 1);
                smart_scope_out_value(&o, sc->params[i].value,
                                      sc->params[i].value_len);
            }
        }
    }

    if (cap != 0) {
        buf[o.len < o.cap ? o.len : o.cap] = '\0';
    }

    return o.len;
}


unsigned
smart_scope_letters(const char *l, size_t len)
{
    unsigned  perms, v1;

    if (l == NULL
        || smart_scope_perms(l, len, &perms, &v1) != SMART_SCOPE_OK
        || v1)
    {
        return 0;
    }

    return perms;
}


const char *
smart_scope_perm_string(unsigned perms)
{
    if ((perms & ~(unsigned) SMART_SCOPE_CRUDS) != 0) {
        return NULL;
    }

    return smart_scope_perm_strings[perms];
}


const char *
smart_scope_context_name(smart_scope_context_e ctx)
{
    switch (ctx) {
    case SMART_SCOPE_PATIENT:
        return "patient";
    case SMART_SCOPE_USER:
        return "user";
    case SMART_SCOPE_SYSTEM:
        return "system";
    }

    return NULL;
}


const char *
smart_scope_reason_name(smart_scope_reason_e reason)
{
    if ((unsigned) reason >= SMART_SCOPE_REASON__COUNT) {
        return NULL;
    }

    return smart_scope_reasons[reason].name;
}


const char *
smart_scope_reason_text(smart_scope_reason_e reason)
{
    if ((unsigned) reason >= SMART_SCOPE_REASON__COUNT) {
        return NULL;
    }

    return smart_scope_reasons[reason].text;
}


smart_scope_kind_e
smart_scope_reason_kind(smart_scope_reason_e reason)
{
    if ((unsigned) reason >= SMART_SCOPE_REASON__COUNT) {
        return SMART_SCOPE_KIND_INVALID;
    }

    return smart_scope_reasons[reason].kind;
}
