
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer target: the FHIR request classifier (smart_fhir.c).
 *
 * Input: byte 0 picks the method (six valid, two invalid) and the flags
 * (form body, method override, If-None-Exist, If-None-Exist repeated);
 * byte 1 scales the path
 * length (up to past SMART_FHIR_MAX_PATH), bytes 2-3 the query length; the
 * rest is split into path, query and body, each copied into a buffer of its
 * exact size so that any read past a length is caught by ASan.  The body
 * also serves as If-None-Exist when that flag is set.
 *
 * Aborts when the result breaks a promise of smart_fhir.h: a refusal
 * carries nothing but its reason; an accepted request has a path free of
 * '%', '\', ';', empty and dot segments, valid ids, consistent type
 * indexes, and parameters whose strings are NUL-free, control-free,
 * bounded and valid in their name syntax; a method override is always
 * refused; and the parsing differentials of docs/security.md are refused:
 * no accepted query, form body or If-None-Exist holds a raw '?', no
 * accepted conditional criteria a decoded one, a repeated If-None-Exist
 * never passes a create.  tests/fuzz/fuzz_fhir.dict seeds the tokens.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smart_fhir.h"

#include "fuzz_util.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  *fuzz_methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get"
};




static int
has_sub(const char *s, size_t n, const char *sub)
{
    size_t  i, k = strlen(sub);

    for (i = 0; i + k <= n; i++) {
        if (memcmp(s + i, sub, k) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
check_str(const char *s, size_t max)
{
    size_t  i, n;

    fuzz_check(s != NULL);
    n = strlen(s);
    fuzz_check(n <= max);

    for (i = 0; i < n; i++) {
        fuzz_check((unsigned char) s[i] >= 0x20
                   && (unsigned char) s[i] != 0x7f);
    }
}


static void
check_param(const smart_fhir_param_t *p)
{
    size_t  i, n;

    check_str(p->raw_name, SMART_FHIR_MAX_NAME);
    check_str(p->name, SMART_FHIR_MAX_NAME);
    fuzz_check(p->name[0] != '\0');
    fuzz_check(strspn(p->raw_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                      "qrstuvwxyz0123456789_-.:") == strlen(p->raw_name));
    fuzz_check(strcmp(p->name, "_method") != 0);

    if (p->modifier != NULL) {
        check_str(p->modifier, SMART_FHIR_MAX_NAME);
        fuzz_check(p->modifier[0] != '\0');
    }

    if (p->chain != NULL) {
        check_str(p->chain, SMART_FHIR_MAX_NAME);
        fuzz_check(p->chain[0] != '\0');
    }

    check_str(p->value, SMART_FHIR_MAX_VALUE);
    fuzz_check(strlen(p->value) == p->value_len);
    fuzz_check(p->nvalues >= 1 && p->nvalues <= SMART_FHIR_MAX_VALUES);

    n = 0;
    for (i = 0; i < p->nvalues; i++) {
        check_str(p->values[i], SMART_FHIR_MAX_VALUE);
        n += strlen(p->values[i]);
    }

    /* the pieces and the commas between them make up the value */
    fuzz_check(n + p->nvalues - 1 == p->value_len);

    if (p->kind == SMART_FHIR_P_INCLUDE
        || p->kind == SMART_FHIR_P_REVINCLUDE)
    {
        fuzz_check(p->nincludes == p->nvalues);

        for (i = 0; i < p->nincludes; i++) {
            fuzz_check(p->includes[i].src_type >= -1
                       && p->includes[i].src_type < SMART_FHIR_NTYPES);
            fuzz_check(p->includes[i].target_type >= -1
                       && p->includes[i].target_type < SMART_FHIR_NTYPES);
            fuzz_check(p->includes[i].src_type >= 0 || p->includes[i].wildcard);
        }

    } else {
        fuzz_check(p->nincludes == 0 && p->includes == NULL);
    }
}


static void
check_ok(const smart_fhir_input_t *in, const smart_fhir_req_t *req)
{
    size_t                     i;
    const smart_fhir_param_t  *p;

    fuzz_check(!in->method_override);
    fuzz_check(!in->content_type_repeated);
    fuzz_check(!in->body_sent || (req->method != SMART_FHIR_M_GET
                                  && req->method != SMART_FHIR_M_DELETE));

    /* parsing differentials (docs/security.md) */
    fuzz_check(in->query_len == 0
               || memchr(in->query, '?', in->query_len) == NULL);

    if (req->interaction == SMART_FHIR_I_CREATE) {
        fuzz_check(!(in->if_none_exist_repeated && in->if_none_exist_len > 0));
        fuzz_check(req->create_query == (in->query_len > 0
                                         && req->nparams > 0
                                         && req->params[0].source
                                            == SMART_FHIR_SRC_QUERY));

    } else {
        fuzz_check(req->create_query == 0);
    }

    for (i = 0; req->conditional && i < req->nparams; i++) {
        p = &req->params[i];

        if (p->source == SMART_FHIR_SRC_BODY) {
            continue;
        }

        if ((req->interaction == SMART_FHIR_I_CREATE)
            == (p->source == SMART_FHIR_SRC_IF_NONE_EXIST))
        {
            fuzz_check(strchr(p->raw_name, '?') == NULL);
            fuzz_check(strchr(p->value, '?') == NULL);
        }
    }
    fuzz_check(req->reason == SMART_FHIR_R_NONE);
    fuzz_check(req->interaction > SMART_FHIR_I_NONE
               && req->interaction <= SMART_FHIR_I_OPERATION);
    fuzz_check(req->method >= SMART_FHIR_M_GET
               && req->method <= SMART_FHIR_M_DELETE);

    fuzz_check(in->path_len <= SMART_FHIR_MAX_PATH);
    fuzz_check(memchr(in->path, '%', in->path_len) == NULL
               || in->path_len == 0);
    fuzz_check(in->path_len == 0
               || (memchr(in->path, '\\', in->path_len) == NULL
                   && memchr(in->path, ';', in->path_len) == NULL
                   && in->path[0] != '/' && in->path[in->path_len - 1] != '/'
                   && !has_sub(in->path, in->path_len, "//")
                   && !has_sub(in->path, in->path_len, "/./")
                   && !has_sub(in->path, in->path_len, "/../")));

    if (req->type >= 0) {
        fuzz_check(req->type < SMART_FHIR_NTYPES);
        fuzz_check(req->type_name == smart_fhir_types[req->type].name);

    } else {
        fuzz_check(req->type == -1 && req->type_name == NULL);
    }

    if (req->id != NULL) {
        fuzz_check(smart_fhir_valid_id(req->id, strlen(req->id)));
        fuzz_check(req->type >= 0);
    }

    if (req->vid != NULL) {
        fuzz_check(req->interaction == SMART_FHIR_I_VREAD);
        fuzz_check(smart_fhir_valid_id(req->vid, strlen(req->vid)));
    }

    if (req->interaction == SMART_FHIR_I_SEARCH_COMPARTMENT) {
        fuzz_check(req->compartment_type == SMART_FHIR_TYPE_PATIENT);
        fuzz_check(req->compartment_id != NULL);
        fuzz_check(smart_fhir_valid_id(req->compartment_id,
                                       strlen(req->compartment_id)));
        fuzz_check(req->compartment_all == (req->type == -1));

    } else {
        fuzz_check(req->compartment_type == -1 && req->compartment_id == NULL);
    }

    if (req->interaction == SMART_FHIR_I_OPERATION) {
        fuzz_check(req->operation != NULL && req->operation[0] != '\0');
        fuzz_check(strlen(req->operation) <= SMART_FHIR_MAX_OP);
        fuzz_check(req->op_level != SMART_FHIR_OP_NONE);
        fuzz_check(req->method == SMART_FHIR_M_GET
                   || req->method == SMART_FHIR_M_POST);

    } else {
        fuzz_check(req->operation == NULL
                   && req->op_level == SMART_FHIR_OP_NONE);
    }

    fuzz_check(req->nparams <= SMART_FHIR_MAX_PARAMS);

    for (i = 0; i < req->nparams; i++) {
        check_param(&req->params[i]);
    }

    fuzz_check(req->ntypes <= SMART_FHIR_NTYPES);

    for (i = 0; i < req->ntypes; i++) {
        fuzz_check(req->types[i] >= 0 && req->types[i] < SMART_FHIR_NTYPES);
    }
}


static void
check_invalid(const smart_fhir_req_t *req)
{
    fuzz_check(req->reason != SMART_FHIR_R_NONE);
    fuzz_check(req->detail != NULL);
    fuzz_check(req->interaction == SMART_FHIR_I_NONE);
    fuzz_check(req->type == -1 && req->type_name == NULL);
    fuzz_check(req->id == NULL && req->vid == NULL && req->operation == NULL);
    fuzz_check(req->compartment_type == -1 && req->compartment_id == NULL);
    fuzz_check(req->params == NULL && req->nparams == 0);
    fuzz_check(req->types == NULL && req->ntypes == 0);
    fuzz_check(req->features == 0 && req->conditional == 0);
    fuzz_check(req->create_query == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                rest, plen, qlen;
    const uint8_t        *p;
    smart_fhir_input_t    in;
    smart_fhir_req_t     *req;
    smart_fhir_status_e   st;
    char                 *path, *query, *body;

    if (size < 4) {
        return 0;
    }

    memset(&in, 0, sizeof(in));

    in.method = fuzz_methods[data[0] & 7];
    in.method_len = strlen(in.method);
    in.body_is_form = (data[0] >> 3) & 1;
    in.method_override = ((data[0] >> 4) & 3) == 3;
    in.content_type_repeated = ((data[0] >> 4) & 3) == 2;

    p = data + 4;
    rest = size - 4;

    plen = (size_t) data[1] * 3;
    plen = plen < rest ? plen : rest;
    qlen = ((size_t) data[2] << 8 | data[3]);
    qlen = qlen < rest - plen ? qlen : rest - plen;

    path = fuzz_dup_exact(p, plen);
    query = fuzz_dup_exact(p + plen, qlen);
    body = fuzz_dup_exact(p + plen + qlen, rest - plen - qlen);

    in.path = path;
    in.path_len = plen;
    in.query = query;
    in.query_len = qlen;
    in.body = body;
    in.body_len = rest - plen - qlen;
    in.body_sent = in.body_len > 0 && ((data[0] >> 4) & 3) == 1;

    if ((data[0] >> 6) & 1) {
        in.if_none_exist = body;
        in.if_none_exist_len = in.body_len;
        in.if_none_exist_repeated = (data[0] >> 7) & 1;
    }

    req = NULL;
    st = smart_fhir_classify(&in, &req);

    fuzz_check(st == SMART_FHIR_OK || st == SMART_FHIR_INVALID);
    fuzz_check(req != NULL && req->status == st);

    if (st == SMART_FHIR_OK) {
        check_ok(&in, req);

    } else {
        check_invalid(req);
    }

    (void) smart_fhir_interaction_name(req->interaction);
    (void) smart_fhir_reason_name(req->reason);

    smart_fhir_req_free(req);
    free(path);
    free(query);
    free(body);

    return 0;
}
