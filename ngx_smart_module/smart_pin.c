
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the version a write after a pre-read is
 * pinned to (smart_pin.h).  Plain C99 + jansson: no NGINX headers.
 */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "smart_json.h"
#include "smart_pin.h"


/* one edit of the body: p[start..end) becomes text[0..len) */
typedef struct {
    size_t                   start;
    size_t                   end;
    char                     text[SMART_PIN_TAG_MAX + 32];
    size_t                   len;
} smart_pin_edit_t;


static void
smart_pin_trim(const char **p, size_t *len)
{
    while (*len > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*len)--;
    }

    while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t')) {
        (*len)--;
    }
}


/*
 * The opaque part of one entity-tag, W/"x" or "x" (or a bare x, as some
 * clients send a version): *op, *olen.  -1 when it is not one tag of
 * visible ASCII.
 */
static int
smart_pin_opaque(const char *p, size_t len, const char **op, size_t *olen)
{
    size_t  i;

    smart_pin_trim(&p, &len);

    if (len >= 2 && p[0] == 'W' && p[1] == '/') {
        p += 2;
        len -= 2;
    }

    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p++;
        len -= 2;
    }

    if (len == 0) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '"' || p[i] == ','
            || p[i] == '\\')
        {
            return -1;
        }
    }

    *op = p;
    *olen = len;

    return 0;
}


int
smart_pin_tag(const char *etag, size_t elen, const char *vid, size_t vlen,
    char *out, size_t size, size_t *n)
{
    size_t       olen;
    const char  *op;

    *n = 0;

    if (etag != NULL) {
        smart_pin_trim(&etag, &elen);

        if (smart_pin_opaque(etag, elen, &op, &olen) == 0
            && etag[elen - 1] == '"' && elen + 1 <= size)
        {
            /* one tag, as the server sent it (a strong one stays strong) */
            memcpy(out, etag, elen);
            out[elen] = '\0';
            *n = elen;
            return 0;
        }
    }

    if (vid == NULL || smart_pin_opaque(vid, vlen, &op, &olen) != 0
        || vid[0] == '"' || vid[0] == 'W' || olen + 5 > size)
    {
        return -1;
    }

    memcpy(out, "W/\"", 3);
    memcpy(out + 3, op, olen);
    out[3 + olen] = '"';
    out[4 + olen] = '\0';
    *n = olen + 4;

    return 0;
}


smart_pin_e
smart_pin_client(const char *client, size_t clen, const char *tag,
    size_t tlen)
{
    size_t       i, olen, tolen;
    const char  *op, *top;

    if (client == NULL) {
        return SMART_PIN_SET;
    }

    smart_pin_trim(&client, &clen);

    if (clen == 0) {
        return SMART_PIN_SET;
    }

    for (i = 0; i < clen; i++) {
        if (client[i] == ',' || client[i] == '*') {
            /* a list or "*": matches any version, so none is proven */
            return SMART_PIN_SET;
        }
    }

    if (smart_pin_opaque(tag, tlen, &top, &tolen) != 0) {
        return SMART_PIN_BAD;
    }

    if (smart_pin_opaque(client, clen, &op, &olen) != 0) {
        /* a guard the gateway cannot read names no version it proved */
        return SMART_PIN_CONFLICT;
    }

    /* weak comparison: FHIR's versions are weak entity-tags */

    if (olen == tolen && memcmp(op, top, olen) == 0) {
        return SMART_PIN_KEEP;
    }

    return SMART_PIN_CONFLICT;
}


/* The tag as a JSON string: it has no '"' or '\\' inside its quotes but
   its own, which are escaped. */
static size_t
smart_pin_string(char *out, const char *tag, size_t tlen)
{
    size_t  i, k;

    k = 0;
    out[k++] = '"';

    for (i = 0; i < tlen; i++) {
        if (tag[i] == '"') {
            out[k++] = '\\';
        }

        out[k++] = tag[i];
    }

    out[k++] = '"';

    return k;
}


/*
 * The edit that pins entry e (its text starts at p[start]): replace the
 * value of request.ifMatch, or add the member first in request.
 */
static smart_pin_e
smart_pin_edit(const char *p, size_t len, size_t start, const json_t *e,
    const smart_pin_entry_t *pin, smart_pin_edit_t *ed)
{
    size_t         req, val, end, k;
    const char    *client;
    const json_t  *im;
    smart_pin_e    rc;

    im = json_object_get(json_object_get(e, "request"), "ifMatch");

    if (im != NULL && !json_is_string(im)) {
        return SMART_PIN_CONFLICT;
    }

    client = (im != NULL) ? json_string_value(im) : NULL;

    if (pin->len > SMART_PIN_TAG_MAX) {
        return SMART_PIN_BAD;
    }

    rc = smart_pin_client(client, client ? json_string_length(im) : 0,
                          pin->tag, pin->len);

    if (rc != SMART_PIN_SET) {
        return rc;
    }

    if (smart_json_member(p, len, start, "request", &req) != SMART_JSON_OK) {
        return SMART_PIN_BAD;
    }

    while (req < len && p[req] != '{') {
        req++;
    }

    if (req == len) {
        return SMART_PIN_BAD;
    }

    if (im != NULL) {
        /* the value alone is replaced: "ifMatch": stays as written */

        if (smart_json_member(p, len, req, "ifMatch", &val) != SMART_JSON_OK)
        {
            return SMART_PIN_BAD;
        }

        end = val;

        if (smart_json_skip(p, len, &end, SMART_JSON_ANY_DEPTH)
            != SMART_JSON_OK)
        {
            return SMART_PIN_BAD;
        }

        ed->len = smart_pin_string(ed->text, pin->tag, pin->len);
        ed->start = val;
        ed->end = end;

        return SMART_PIN_SET;
    }

    memcpy(ed->text, "\"ifMatch\":", 10);
    k = 10 + smart_pin_string(ed->text + 10, pin->tag, pin->len);

    for (end = req + 1; end < len; end++) {
        if (p[end] != ' ' && p[end] != '\t' && p[end] != '\n'
            && p[end] != '\r')
        {
            break;
        }
    }

    if (end < len && p[end] != '}') {
        ed->text[k++] = ',';
    }

    ed->len = k;
    ed->start = req + 1;
    ed->end = req + 1;

    return SMART_PIN_SET;
}


/* The body with the edits (ascending, not overlapping) made. */
static smart_pin_e
smart_pin_apply(const char *p, size_t len, const smart_pin_edit_t *ed,
    size_t ned, char **out, size_t *outlen)
{
    size_t   i, n, at;
    char    *o;

    n = len;

    for (i = 0; i < ned; i++) {
        n += ed[i].len - (ed[i].end - ed[i].start);
    }

    o = malloc(n + 1);
    if (o == NULL) {
        return SMART_PIN_NOMEM;
    }

    at = 0;
    n = 0;

    for (i = 0; i < ned; i++) {
        memcpy(o + n, p + at, ed[i].start - at);
        n += ed[i].start - at;
        memcpy(o + n, ed[i].text, ed[i].len);
        n += ed[i].len;
        at = ed[i].end;
    }

    memcpy(o + n, p + at, len - at);
    n += len - at;
    o[n] = '\0';

    *out = o;
    *outlen = n;

    return SMART_PIN_SET;
}


smart_pin_e
smart_pin_bundle(const char *body, size_t len, const smart_pin_entry_t *pins,
    size_t npins, char **out, size_t *outlen, size_t *entry)
{
    size_t             i, n, ned, off, end, *starts, *ends;
    json_t            *root, *entries;
    smart_pin_e        rc;
    smart_pin_edit_t  *ed;

    *out = NULL;
    *outlen = 0;
    *entry = 0;

    /* the text the policy parsed (jansson bounds its own recursion) */

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    entries = json_object_get(root, "entry");

    if (root == NULL || !json_is_array(entries)) {
        json_decref(root);
        return SMART_PIN_BAD;
    }

    n = json_array_size(entries);
    starts = calloc(n + 1, sizeof(size_t));
    ends = calloc(n + 1, sizeof(size_t));
    ed = calloc(npins + 1, sizeof(smart_pin_edit_t));

    rc = SMART_PIN_NOMEM;

    if (starts == NULL || ends == NULL || ed == NULL) {
        goto done;
    }

    rc = SMART_PIN_BAD;

    if (smart_json_member(body, len, 0, "entry", &off) != SMART_JSON_OK
        || smart_json_elements(body, len, &off, &end, starts, ends, n)
           != SMART_JSON_OK)
    {
        goto done;
    }

    ned = 0;

    for (i = 0; i < npins; i++) {
        if (pins[i].index >= n
            || (i > 0 && pins[i].index <= pins[i - 1].index))
        {
            rc = SMART_PIN_BAD;
            goto done;
        }

        rc = smart_pin_edit(body, len, starts[pins[i].index],
                            json_array_get(entries, pins[i].index),
                            &pins[i], &ed[ned]);

        if (rc == SMART_PIN_SET) {
            ned++;

        } else if (rc != SMART_PIN_KEEP) {
            *entry = pins[i].index;
            goto done;
        }
    }

    rc = smart_pin_apply(body, len, ed, ned, out, outlen);

done:

    free(starts);
    free(ends);
    free(ed);
    json_decref(root);

    return rc;
}
