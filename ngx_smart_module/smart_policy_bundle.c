
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: batch and transaction bundles.  Each entry
 * is classified and decided as its own request; one denied entry denies
 * the bundle (docs/scopes.md, "Bundles (batch and transaction)"); the
 * pre-reads of its writes by id are listed (smart_policy_precheck.c).
 *
 * Plain C99 + jansson: no NGINX headers, no global mutable state.
 */

#include <stdlib.h>
#include <string.h>

#include "smart_b64.h"
#include "smart_policy_private.h"


/* --- bundles ------------------------------------------------------------ */

/* Standard base64 (Binary.data) via the base64url decoder. */
static json_t *
smart_binary_json(const json_t *binary)
{
    size_t          i, n, out_len;
    char           *tmp;
    unsigned char  *dec;
    const char     *data;
    json_t         *j;

    data = json_string_value(json_object_get(binary, "data"));
    if (data == NULL) {
        return NULL;
    }

    n = strlen(data);
    tmp = malloc(n + 1);
    dec = malloc(SMART_B64URL_DECODED_MAX(n) + 1);

    if (tmp == NULL || dec == NULL) {
        free(tmp);
        free(dec);
        return NULL;
    }

    for (i = 0; i < n && data[i] != '='; i++) {
        tmp[i] = (data[i] == '+') ? '-' : (data[i] == '/') ? '_' : data[i];
    }

    j = NULL;

    if (smart_b64url_decode(tmp, i, dec, SMART_B64URL_DECODED_MAX(n) + 1,
                            &out_len) == 0)
    {
        j = smart_policy_json_load((const char *) dec, out_len);
    }

    free(tmp);
    free(dec);

    return j;
}


/*
 * The classifier's input for the request of a bundle entry: its method,
 * its url (relative to the base) split at the first '?', its ifNoneExist
 * as If-None-Exist.  NULL, or the refusal text.
 */
static const char *
smart_entry_input(const json_t *entry, smart_fhir_input_t *in)
{
    size_t         ulen;
    const char    *method, *url, *q, *ine;
    const json_t  *request;

    request = json_object_get(entry, "request");
    method = json_string_value(json_object_get(request, "method"));
    url = json_string_value(json_object_get(request, "url"));

    if (!json_is_object(entry) || method == NULL || url == NULL) {
        return "a bundle entry has no request method or url";
    }

    ulen = json_string_length(json_object_get(request, "url"));
    if (strlen(url) != ulen || strstr(url, "://") != NULL || url[0] == '/') {
        return "a bundle entry url is not relative to the base";
    }

    memset(in, 0, sizeof(smart_fhir_input_t));
    in->method = method;
    in->method_len = strlen(method);
    q = strchr(url, '?');
    in->path = url;
    in->path_len = q ? (size_t) (q - url) : ulen;

    if (q != NULL) {
        in->query = q + 1;
        in->query_len = ulen - in->path_len - 1;
    }

    ine = json_string_value(json_object_get(request, "ifNoneExist"));
    if (ine != NULL) {
        in->if_none_exist = ine;
        in->if_none_exist_len = strlen(ine);
    }

    return NULL;
}


/*
 * An entry whose criteria a server may take from elsewhere than the url
 * the gateway decides: NULL, or the refusal text.  A "POST T/_search"
 * entry has no form body: servers take its criteria from the entry's
 * resource, or from nothing, and drop the url's query (the sandbox server
 * among them), so what was decided here is not what they search.  An
 * entry that reads or deletes has its criteria in the url alone; a
 * resource next to it is refused for the same reason (docs/security.md,
 * "Parsing differentials").
 */
static const char *
smart_entry_ambiguous(const smart_fhir_req_t *req, const json_t *resource)
{
    if (req->method == SMART_FHIR_M_POST
        && (req->interaction == SMART_FHIR_I_SEARCH_TYPE
            || req->interaction == SMART_FHIR_I_SEARCH_SYSTEM
            || req->interaction == SMART_FHIR_I_SEARCH_COMPARTMENT))
    {
        return "a bundle entry searches by POST .../_search: servers "
               "differ on where its criteria are; use a GET entry";
    }

    if (resource != NULL
        && (req->method == SMART_FHIR_M_GET
            || req->method == SMART_FHIR_M_DELETE))
    {
        return "a bundle entry that reads, searches or deletes carries "
               "a resource: its criteria must be in the url alone";
    }

    return NULL;
}


/* One entry, decided as its own request (a PATCH's JSON Patch is the
   base64 data of a Binary resource). */
static void
smart_decide_entry(smart_policy_ctx_t *c, const json_t *entry,
    smart_policy_res_t *r)
{
    const char            *why;
    const json_t          *resource, *body;
    json_t                *decoded;
    smart_fhir_input_t     in;
    smart_fhir_req_t      *req;
    smart_fhir_status_e    st;

    why = smart_entry_input(entry, &in);
    if (why != NULL) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL, why);
        return;
    }

    req = NULL;
    st = smart_fhir_classify(&in, &req);

    if (st == SMART_FHIR_NOMEM) {
        c->nomem = 1;
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL, "no memory");
        return;
    }

    resource = json_object_get(entry, "resource");

    why = (st != SMART_FHIR_OK || req->status != SMART_FHIR_OK)
          ? "a bundle entry request is not a valid FHIR request"
          : smart_entry_ambiguous(req, resource);

    if (why != NULL) {
        smart_fhir_req_free(req);
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL, why);
        return;
    }

    body = resource;
    decoded = NULL;

    if (req->interaction == SMART_FHIR_I_PATCH
        && smart_resource_type_is(resource, "Binary"))
    {
        decoded = smart_binary_json(resource);
        body = decoded;
    }

    smart_decide_req(c, req, body, body != NULL, 1, r);

    json_decref(decoded);
    smart_fhir_req_free(req);
}


/*
 * Whether an entry writes (request.method other than GET or HEAD; a
 * malformed one counts): a bundle that writes cannot have reads checked
 * on its response, since a refused response would hide what was written.
 */
static int
smart_bundle_writes(const json_t *entries)
{
    size_t         i;
    const char    *m;
    const json_t  *req;

    for (i = 0; i < json_array_size(entries); i++) {
        req = json_object_get(json_array_get(entries, i), "request");
        m = json_string_value(json_object_get(req, "method"));

        if (m == NULL || (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)) {
            return 1;
        }
    }

    return 0;
}


/*
 * Entry i of the n entries, decided as its own request (er), then by the
 * rules of a bundle: no narrowing, no read checked on the response next to
 * writes (*check set for an allowed one), each write by id's pre-read
 * listed in d.  A refusal joins d->entries, the first one r.
 */
static void
smart_bundle_entry(smart_policy_ctx_t *c, const json_t *entries, size_t n,
    size_t i, int writes, smart_decision_t *d, int *check,
    smart_policy_res_t *r)
{
    smart_policy_res_t   er;

    smart_res_init(&er);
    smart_decide_entry(c, json_array_get(entries, i), &er);

    if (er.verdict == SMART_POLICY_V_NARROW) {
        smart_res_deny(&er, SMART_ERR_SCOPE_INSUFFICIENT, er.needed,
                       "the entry would need a narrowing, which a bundle "
                       "entry cannot carry");
    }

    if (er.verdict == SMART_POLICY_V_ALLOW && er.check) {
        if (writes) {
            smart_res_deny(&er, SMART_ERR_SCOPE_INSUFFICIENT, er.needed,
                           "a read checked on the response cannot share "
                           "a bundle with writes");
        }

        *check = 1;
    }

    if (er.verdict == SMART_POLICY_V_ALLOW && er.precheck) {
        smart_precheck_entry(c, d, n, i, &er);
    }

    if (er.verdict == SMART_POLICY_V_DENY) {
        d->entries[d->nentries].index = i;
        d->entries[d->nentries].reason = er.reason;
        d->entries[d->nentries].why = er.why;
        memcpy(d->entries[d->nentries].needed, er.needed, sizeof(er.needed));

        if (d->nentries == 0) {
            smart_res_deny(r, er.reason, er.needed, er.why);
        }

        d->nentries++;
    }

    smart_res_clear_params(&er);
}


void
smart_decide_bundle(smart_policy_ctx_t *c, const json_t *body, int body_present,
    smart_decision_t *d, smart_policy_res_t *r)
{
    int                  writes, check;
    size_t               i, n;
    const char          *type;
    const json_t        *entries;

    if (!body_present || !json_is_object(body)) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "the body is not a JSON Bundle");
        return;
    }

    type = json_string_value(json_object_get(body, "type"));

    if (!smart_resource_type_is(body, "Bundle") || type == NULL
        || (strcmp(type, "batch") != 0 && strcmp(type, "transaction") != 0))
    {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "the body is not a batch or transaction Bundle");
        return;
    }

    d->interaction = (strcmp(type, "batch") == 0) ? SMART_FHIR_I_BATCH
                                                  : SMART_FHIR_I_TRANSACTION;

    entries = json_object_get(body, "entry");
    if (entries != NULL && !json_is_array(entries)) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "Bundle.entry is not an array");
        return;
    }

    n = json_array_size(entries);
    if (n > SMART_POLICY_MAX_ENTRIES) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "the Bundle has more entries than the gateway checks");
        return;
    }

    if (n > 0) {
        d->entries = calloc(n, sizeof(smart_decision_entry_t));
        if (d->entries == NULL) {
            c->nomem = 1;
            return;
        }
    }

    writes = smart_bundle_writes(entries);
    check = 0;

    for (i = 0; i < n; i++) {
        smart_bundle_entry(c, entries, n, i, writes, d, &check, r);
    }

    if (d->nentries > 0) {
        return;
    }

    if (check) {
        smart_res_allow_checked(r, NULL, "every entry allowed, reads "
                                         "checked on the response");

    } else {
        smart_res_allow(r, NULL, d->nprereads ? "every entry allowed, writes "
                                                "by id after a pre-read"
                                              : "every entry allowed");
    }
}
