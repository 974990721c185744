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


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  *fuzz_methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get"
};


static void
check(int ok)
{
    if (!ok) {
        abort();
    }
}


static char *
dup_exact(const uint8_t *p, size_t n)
{
    char  *d;

    /* never NUL-terminated: the classifier must honour the length */
    d = malloc(n > 0 ? n : 1);
    check(d != NULL);

    if (n > 0) {
        memcpy(d, p, n);
    }

    return d;
}


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

    check(s != NULL);
    n = strlen(s);
    check(n <= max);

    for (i = 0; i < n; i++) {
        check((unsigned char) s[i] >= 0x20 && (unsigned char) s[i] != 0x7f);
    }
}


static void
check_param(const smart_fhir_param_t *p)
{
    size_t  i, n;

    check_str(p->raw_name, SMART_FHIR_MAX_NAME);
    check_str(p->name, SMART_FHIR_MAX_NAME);
    check(p->name[0] != '\0');
    check(strspn(p->raw_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                 "qrstuvwxyz0123456789_-.:") == strlen(p->raw_name));
    check(strcmp(p->name, "_method") != 0);

    if (p->modifier != NULL) {
        check_str(p->modifier, SMART_FHIR_MAX_NAME);
        check(p->modifier[0] != '\0');
    }

    if (p->chain != NULL) {
        check_str(p->chain, SMART_FHIR_MAX_NAME);
        check(p->chain[0] != '\0');
    }

    check_str(p->value, SMART_FHIR_MAX_VALUE);
    check(strlen(p->value) == p->value_len);
    check(p->nvalues >= 1 && p->nvalues <= SMART_FHIR_MAX_VALUES);

    n = 0;
    for (i = 0; i < p->nvalues; i++) {
        check_str(p->values[i], SMART_FHIR_MAX_VALUE);
        n += strlen(p->values[i]);
    }

    /* the pieces and the commas between them make up the value */
    check(n + p->nvalues - 1 == p->value_len);

    if (p->kind == SMART_FHIR_P_INCLUDE
        || p->kind == SMART_FHIR_P_REVINCLUDE)
    {
        check(p->nincludes == p->nvalues);

        for (i = 0; i < p->nincludes; i++) {
            check(p->includes[i].src_type >= -1
                  && p->includes[i].src_type < SMART_FHIR_NTYPES);
            check(p->includes[i].target_type >= -1
                  && p->includes[i].target_type < SMART_FHIR_NTYPES);
            check(p->includes[i].src_type >= 0 || p->includes[i].wildcard);
        }

    } else {
        check(p->nincludes == 0 && p->includes == NULL);
    }
}


static void
check_ok(const smart_fhir_input_t *in, const smart_fhir_req_t *req)
{
    size_t                     i;
    const smart_fhir_param_t  *p;

    check(!in->method_override);
    check(!in->content_type_repeated);
    check(!in->body_sent || (req->method != SMART_FHIR_M_GET
                             && req->method != SMART_FHIR_M_DELETE));

    /* parsing differentials (docs/security.md) */
    check(in->query_len == 0 || memchr(in->query, '?', in->query_len) == NULL);

    if (req->interaction == SMART_FHIR_I_CREATE) {
        check(!(in->if_none_exist_repeated && in->if_none_exist_len > 0));
        check(req->create_query == (in->query_len > 0
                                    && req->nparams > 0
                                    && req->params[0].source
                                       == SMART_FHIR_SRC_QUERY));

    } else {
        check(req->create_query == 0);
    }

    for (i = 0; req->conditional && i < req->nparams; i++) {
        p = &req->params[i];

        if (p->source == SMART_FHIR_SRC_BODY) {
            continue;
        }

        if ((req->interaction == SMART_FHIR_I_CREATE)
            == (p->source == SMART_FHIR_SRC_IF_NONE_EXIST))
        {
            check(strchr(p->raw_name, '?') == NULL);
            check(strchr(p->value, '?') == NULL);
        }
    }
    check(req->reason == SMART_FHIR_R_NONE);
    check(req->interaction > SMART_FHIR_I_NONE
          && req->interaction <= SMART_FHIR_I_OPERATION);
    check(req->method >= SMART_FHIR_M_GET
          && req->method <= SMART_FHIR_M_DELETE);

    check(in->path_len <= SMART_FHIR_MAX_PATH);
    check(memchr(in->path, '%', in->path_len) == NULL || in->path_len == 0);
    check(in->path_len == 0
          || (memchr(in->path, '\\', in->path_len) == NULL
              && memchr(in->path, ';', in->path_len) == NULL
              && in->path[0] != '/' && in->path[in->path_len - 1] != '/'
              && !has_sub(in->path, in->path_len, "//")
              && !has_sub(in->path, in->path_len, "/./")
              && !has_sub(in->path, in->path_len, "/../")));

    if (req->type >= 0) {
        check(req->type < SMART_FHIR_NTYPES);
        check(req->type_name == smart_fhir_types[req->type].name);

    } else {
        check(req->type == -1 && req->type_name == NULL);
    }

    if (req->id != NULL) {
        check(smart_fhir_valid_id(req->id, strlen(req->id)));
        check(req->type >= 0);
    }

    if (req->vid != NULL) {
        check(req->interaction == SMART_FHIR_I_VREAD);
        check(smart_fhir_valid_id(req->vid, strlen(req->vid)));
    }

    if (req->interaction == SMART_FHIR_I_SEARCH_COMPARTMENT) {
        check(req->compartment_type == SMART_FHIR_TYPE_PATIENT);
        check(req->compartment_id != NULL);
        check(smart_fhir_valid_id(req->compartment_id,
                                  strlen(req->compartment_id)));
        check(req->compartment_all == (req->type == -1));

    } else {
        check(req->compartment_type == -1 && req->compartment_id == NULL);
    }

    if (req->interaction == SMART_FHIR_I_OPERATION) {
        check(req->operation != NULL && req->operation[0] != '\0');
        check(strlen(req->operation) <= SMART_FHIR_MAX_OP);
        check(req->op_level != SMART_FHIR_OP_NONE);
        check(req->method == SMART_FHIR_M_GET
              || req->method == SMART_FHIR_M_POST);

    } else {
        check(req->operation == NULL && req->op_level == SMART_FHIR_OP_NONE);
    }

    check(req->nparams <= SMART_FHIR_MAX_PARAMS);

    for (i = 0; i < req->nparams; i++) {
        check_param(&req->params[i]);
    }

    check(req->ntypes <= SMART_FHIR_NTYPES);

    for (i = 0; i < req->ntypes; i++) {
        check(req->types[i] >= 0 && req->types[i] < SMART_FHIR_NTYPES);
    }
}


static void
check_invalid(const smart_fhir_req_t *req)
{
    check(req->reason != SMART_FHIR_R_NONE);
    check(req->detail != NULL);
    check(req->interaction == SMART_FHIR_I_NONE);
    check(req->type == -1 && req->type_name == NULL);
    check(req->id == NULL && req->vid == NULL && req->operation == NULL);
    check(req->compartment_type == -1 && req->compartment_id == NULL);
    check(req->params == NULL && req->nparams == 0);
    check(req->types == NULL && req->ntypes == 0);
    check(req->features == 0 && req->conditional == 0);
    check(req->create_query == 0);
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

    path = dup_exact(p, plen);
    query = dup_exact(p + plen, qlen);
    body = dup_exact(p + plen + qlen, rest - plen - qlen);

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

    check(st == SMART_FHIR_OK || st == SMART_FHIR_INVALID);
    check(req != NULL && req->status == st);

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
