
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: does a FHIR resource satisfy a granular
 * restriction (smart_restrict.h, docs/scopes.md "Granular scopes in
 * decisions")?
 *
 * Shape: a restriction's parameter is looked up among the generated
 * token parameters of the type, then of every resource
 * (smart_fhir_token_param()); each comma piece of its value is read as a
 * token (system, code); the resource is walked along each path of the
 * parameter, arrays by any element (smart_element_any(), the walk the
 * compartment check takes), and the element found at the end is compared
 * as its data type says.  Nothing is allocated but smart_restrict_copy()'s
 * block.  It reads a document smart_tape_parse() has parsed.  Plain C99:
 * no NGINX headers.
 */

#include <stdlib.h>
#include <string.h>

#include "smart_compartment.h"
#include "smart_fhir.h"
#include "smart_restrict.h"


/* One comma piece of a restriction value, unescaped. */
typedef struct {
    char                         system[SMART_SCOPE_MAX_LEN + 1];
    size_t                       system_len;
    char                         code[SMART_SCOPE_MAX_LEN + 1];
    size_t                       code_len;
    int                          bar;       /* "system|code", "|code",
                                               "system|": a system is
                                               named, maybe as none */
} smart_restrict_token_t;


int
smart_restrict_piece_next(const char *v, size_t n, size_t *next,
    size_t *start, size_t *end)
{
    size_t  i;

    if (*next > n) {
        return 0;
    }

    for (i = *next; i < n; i++) {
        if (v[i] == '\\' && i + 1 < n) {
            i++;
            continue;
        }

        if (v[i] == ',') {
            break;
        }
    }

    *start = *next;
    *end = i;
    *next = i + 1;

    return 1;
}


/*
 * Reads the piece v[0..n) as a token: '\' escapes ',' '|' '$' and '\'
 * (FHIR search, "Escaping Search Parameters"); the first other '|' splits
 * system from code.  0, or -1 for an empty piece, a lone '|', a second
 * '|', or a '\' that escapes nothing.
 */
static int
smart_restrict_token(const char *v, size_t n, smart_restrict_token_t *tok)
{
    size_t  i;

    if (n == 0 || n > SMART_SCOPE_MAX_LEN) {
        return -1;
    }

    tok->system_len = 0;
    tok->code_len = 0;
    tok->bar = 0;

    for (i = 0; i < n; i++) {
        if (v[i] == '\\') {
            if (i + 1 == n || v[i + 1] == '\0'
                || strchr("\\,|$", v[i + 1]) == NULL)
            {
                return -1;
            }

            tok->code[tok->code_len++] = v[++i];
            continue;
        }

        if (v[i] == '|') {
            if (tok->bar) {
                return -1;
            }

            /* what came before the bar was the system */
            memcpy(tok->system, tok->code, tok->code_len);
            tok->system_len = tok->code_len;
            tok->code_len = 0;
            tok->bar = 1;
            continue;
        }

        tok->code[tok->code_len++] = v[i];
    }

    return (tok->bar && tok->system_len == 0 && tok->code_len == 0) ? -1 : 0;
}


/* Can a path of tp hold a system (Coding, CodeableConcept, Identifier)? */
static int
smart_restrict_has_system(const smart_fhir_tokparam_t *tp)
{
    size_t  i;

    for (i = 0; i < tp->npaths; i++) {
        switch (tp->paths[i].datatype) {
        case SMART_FHIR_TOKEN_CODING:
        case SMART_FHIR_TOKEN_CODEABLECONCEPT:
        case SMART_FHIR_TOKEN_IDENTIFIER:
            return 1;
        default:
            break;
        }
    }

    return 0;
}


/* The tables' parameter for sp on t, when sp can be read; else NULL. */
static const smart_fhir_tokparam_t *
smart_restrict_readable(int t, const smart_scope_param_t *sp)
{
    int                             sys;
    size_t                          next, start, end;
    smart_restrict_token_t          tok;
    const smart_fhir_tokparam_t    *tp;

    if (t < 0 || t >= SMART_FHIR_NTYPES || sp->name == NULL
        || sp->value == NULL)
    {
        return NULL;
    }

    tp = smart_fhir_token_param(t, sp->name, sp->name_len);
    if (tp == NULL || tp->npaths == 0) {
        return NULL;
    }

    sys = smart_restrict_has_system(tp);
    next = 0;

    while (smart_restrict_piece_next(sp->value, sp->value_len, &next, &start,
                                     &end))
    {
        if (smart_restrict_token(sp->value + start, end - start, &tok) != 0
            || (tok.bar && !sys))
        {
            return NULL;
        }
    }

    return tp;
}


int
smart_restrict_supported(int t, const smart_scope_param_t *params, size_t n)
{
    size_t  i;

    if (params == NULL || n == 0) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (smart_restrict_readable(t, &params[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


/* 1 when v is the JSON string s[0..n). */
static int
smart_restrict_str_is(const smart_tape_node_t *v, const char *s, size_t n)
{
    return smart_tape_is(v, SMART_TAPE_STRING) && v->len == n
           && memcmp(v->str, s, n) == 0;
}


/*
 * A Coding (system, code) or an Identifier (system, value): the object's
 * members sname and cname read as the token's system and code.
 */
static int
smart_restrict_pair(const smart_tape_node_t *v, const char *sname,
    const char *cname, const smart_restrict_token_t *tok)
{
    const smart_tape_node_t  *sys, *code;

    sys = smart_tape_get(v, sname);
    code = smart_tape_get(v, cname);

    if (!tok->bar) {
        return smart_restrict_str_is(code, tok->code, tok->code_len);
    }

    if (tok->system_len == 0) {
        /* "|code": no system */
        return sys == NULL
               && smart_restrict_str_is(code, tok->code, tok->code_len);
    }

    if (!smart_restrict_str_is(sys, tok->system, tok->system_len)) {
        return 0;
    }

    /* "system|": any code of the system */
    return tok->code_len == 0
           || smart_restrict_str_is(code, tok->code, tok->code_len);
}


/* The element v at the end of a path, of the given data type. */
static int
smart_restrict_leaf(const smart_tape_node_t *v, int datatype,
    const smart_restrict_token_t *tok)
{
    const char               *b;
    const smart_tape_node_t  *coding, *c;

    switch (datatype) {

    case SMART_FHIR_TOKEN_CODING:
        return smart_tape_is(v, SMART_TAPE_OBJECT)
               && smart_restrict_pair(v, "system", "code", tok);

    case SMART_FHIR_TOKEN_CODEABLECONCEPT:
        coding = smart_tape_get(v, "coding");

        for (c = smart_tape_first(coding); c != NULL;
             c = smart_tape_next(coding, c))
        {
            if (smart_tape_is(c, SMART_TAPE_OBJECT)
                && smart_restrict_pair(c, "system", "code", tok))
            {
                return 1;
            }
        }

        return 0;

    case SMART_FHIR_TOKEN_IDENTIFIER:
        return smart_tape_is(v, SMART_TAPE_OBJECT)
               && smart_restrict_pair(v, "system", "value", tok);

    case SMART_FHIR_TOKEN_CONTACTPOINT:
        return !tok->bar
               && smart_restrict_str_is(smart_tape_get(v, "value"),
                                        tok->code, tok->code_len);

    case SMART_FHIR_TOKEN_STRING:
        return !tok->bar && smart_restrict_str_is(v, tok->code, tok->code_len);

    case SMART_FHIR_TOKEN_BOOLEAN:
        b = smart_tape_is(v, SMART_TAPE_TRUE) ? "true"
            : smart_tape_is(v, SMART_TAPE_FALSE) ? "false" : NULL;

        return !tok->bar && b != NULL && tok->code_len == strlen(b)
               && memcmp(tok->code, b, tok->code_len) == 0;

    default:
        return 0;
    }
}


/* What smart_restrict_leaf() compares, for smart_element_any(). */
typedef struct {
    int                              datatype;
    const smart_restrict_token_t    *tok;
} smart_restrict_want_t;


static int
smart_restrict_pred(const smart_tape_node_t *v, const void *data)
{
    const smart_restrict_want_t  *w;

    w = data;

    return smart_restrict_leaf(v, w->datatype, w->tok);
}


/* One parameter: one comma piece matches along one path (OR, OR). */
static int
smart_restrict_param_holds(int t, const smart_tape_node_t *resource,
    const smart_scope_param_t *sp)
{
    size_t                        k, next, start, end;
    smart_restrict_want_t         want;
    smart_restrict_token_t        tok;
    const smart_fhir_tokparam_t  *tp;

    tp = smart_restrict_readable(t, sp);
    if (tp == NULL) {
        return 0;
    }

    next = 0;

    while (smart_restrict_piece_next(sp->value, sp->value_len, &next, &start,
                                     &end))
    {
        if (smart_restrict_token(sp->value + start, end - start, &tok) != 0) {
            return 0;
        }

        want.tok = &tok;

        for (k = 0; k < tp->npaths; k++) {
            want.datatype = tp->paths[k].datatype;

            if (smart_element_any(resource, tp->paths[k].element,
                                  smart_restrict_pred, &want))
            {
                return 1;
            }
        }
    }

    return 0;
}


int
smart_restrict_match(int t, const smart_tape_node_t *resource,
    const smart_scope_param_t *params, size_t n)
{
    size_t  i;

    if (!smart_tape_is(resource, SMART_TAPE_OBJECT)
        || (n > 0 && params == NULL))
    {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (!smart_restrict_param_holds(t, resource, &params[i])) {
            return 0;
        }
    }

    return 1;
}


/* n rounded up to a multiple of size (which an alignment divides). */
static size_t
smart_restrict_round(size_t n, size_t size)
{
    return (n + size - 1) / size * size;
}


/* Copies s[0..n) and a NUL to *p, advancing it; returns the copy. */
static const char *
smart_restrict_put(char **p, const char *s, size_t n)
{
    char  *d;

    d = *p;
    memcpy(d, s, n);
    d[n] = '\0';
    *p += n + 1;

    return d;
}


smart_restriction_t *
smart_restrict_copy(const smart_scope_t *const *sc, size_t n)
{
    char                  *block, *str;
    size_t                 i, j, np, nstr, off;
    smart_scope_param_t   *pp;
    smart_restriction_t   *r;

    if (sc == NULL || n == 0) {
        return NULL;
    }

    np = 0;
    nstr = 0;

    for (i = 0; i < n; i++) {
        np += sc[i]->nparams;

        for (j = 0; j < sc[i]->nparams; j++) {
            nstr += sc[i]->params[j].name_len + sc[i]->params[j].value_len
                    + 2;
        }
    }

    off = smart_restrict_round(n * sizeof(smart_restriction_t),
                               sizeof(smart_scope_param_t));

    block = malloc(off + np * sizeof(smart_scope_param_t) + nstr);
    if (block == NULL) {
        return NULL;
    }

    r = (smart_restriction_t *) (void *) block;
    pp = (smart_scope_param_t *) (void *) (block + off);
    str = block + off + np * sizeof(smart_scope_param_t);

    for (i = 0; i < n; i++) {
        r[i].params = pp;
        r[i].nparams = sc[i]->nparams;
        r[i].patient = (sc[i]->context == SMART_SCOPE_PATIENT);

        for (j = 0; j < sc[i]->nparams; j++, pp++) {
            pp->name_len = sc[i]->params[j].name_len;
            pp->name = smart_restrict_put(&str, sc[i]->params[j].name,
                                          pp->name_len);
            pp->value_len = sc[i]->params[j].value_len;
            pp->value = smart_restrict_put(&str, sc[i]->params[j].value,
                                           pp->value_len);
        }
    }

    return r;
}
