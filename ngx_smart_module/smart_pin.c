
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


/*
 * One edit of the body: p[start..end) becomes text[0..len).  The longest
 * text is "ifMatch": and a tag of SMART_PIN_TAG_MAX bytes as a JSON
 * string: its two quotes escaped (smart_pin_tag_ok() allows no others),
 * its own two and a comma.
 */
typedef struct {
    size_t                   start;
    size_t                   end;
    char                     text[SMART_PIN_TAG_MAX + 16];
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


/* Is c a byte of an opaque tag the gateway writes (RFC 9110 etagc, but
   visible ASCII only, and no comma or backslash)? */
static int
smart_pin_etagc(char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != '\\';
}


/*
 * Is tag[0..len) exactly one entity-tag, W/"x" or "x" (x of
 * smart_pin_etagc() bytes), of at most SMART_PIN_TAG_MAX bytes?
 */
static int
smart_pin_tag_ok(const char *tag, size_t len)
{
    size_t  i, start;

    if (tag == NULL || len > SMART_PIN_TAG_MAX) {
        return 0;
    }

    start = (len >= 2 && tag[0] == 'W' && tag[1] == '/') ? 2 : 0;

    if (len < start + 3 || tag[start] != '"' || tag[len - 1] != '"') {
        return 0;
    }

    for (i = start + 1; i < len - 1; i++) {
        if (!smart_pin_etagc(tag[i])) {
            return 0;
        }
    }

    return 1;
}


int
smart_pin_tag(const char *etag, size_t elen, const char *vid, size_t vlen,
    char *out, size_t size, size_t *n)
{
    size_t  i;

    *n = 0;

    if (etag != NULL) {
        smart_pin_trim(&etag, &elen);

        if (smart_pin_tag_ok(etag, elen) && elen + 1 <= size) {
            /* one tag, as the server sent it (a strong one stays strong) */
            memcpy(out, etag, elen);
            out[elen] = '\0';
            *n = elen;
            return 0;
        }
    }

    /* a versionId is the opaque part itself, whatever its first bytes */

    if (vid == NULL || vlen == 0 || vlen + 5 > size
        || vlen + 4 > SMART_PIN_TAG_MAX)
    {
        return -1;
    }

    for (i = 0; i < vlen; i++) {
        if (!smart_pin_etagc(vid[i])) {
            return -1;
        }
    }

    memcpy(out, "W/\"", 3);
    memcpy(out + 3, vid, vlen);
    out[3 + vlen] = '"';
    out[4 + vlen] = '\0';
    *n = vlen + 4;

    return 0;
}


smart_pin_e
smart_pin_client(const char *client, size_t clen, const char *tag,
    size_t tlen)
{
    int          found;
    size_t       n, mlen, olen, tolen;
    const char  *m, *next, *comma, *op, *top, *end;

    if (!smart_pin_tag_ok(tag, tlen)
        || smart_pin_opaque(tag, tlen, &top, &tolen) != 0)
    {
        return SMART_PIN_BAD;
    }

    if (client == NULL) {
        return SMART_PIN_SET;
    }

    smart_pin_trim(&client, &clen);

    if (clen == 0 || (clen == 1 && client[0] == '*')) {
        /* none, or "*": any version would do, so the one read is set */
        return SMART_PIN_SET;
    }

    /*
     * One tag or a list (several headers arrive joined): every member
     * must be a tag the gateway reads ("*" is never a member; a comma
     * inside a tag, which FHIR versions never hold, reads as two), and
     * the version read must be one of them (weak comparison: FHIR's
     * versions are weak entity-tags).  Anything else names no version the
     * gateway proved.
     */

    found = 0;
    n = 0;
    end = client + clen;

    for (next = client; next != NULL; /* void */) {
        m = next;
        comma = memchr(m, ',', (size_t) (end - m));
        next = (comma != NULL) ? comma + 1 : NULL;

        mlen = (size_t) (((comma != NULL) ? comma : end) - m);
        smart_pin_trim(&m, &mlen);

        if (mlen == 0) {
            continue;           /* an empty list element (RFC 9110 5.6.1) */
        }

        n++;

        if ((mlen == 1 && m[0] == '*')
            || smart_pin_opaque(m, mlen, &op, &olen) != 0)
        {
            return SMART_PIN_CONFLICT;
        }

        if (olen == tolen && memcmp(op, top, olen) == 0) {
            found = 1;
        }
    }

    return (n > 0 && found) ? SMART_PIN_KEEP : SMART_PIN_CONFLICT;
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
 * value of request.ifMatch with the tag (the client's own naming the
 * version read is written as that tag too), or add the member first in
 * request.  SMART_PIN_SET when an edit is made.
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

    rc = smart_pin_client(client, client ? json_string_length(im) : 0,
                          pin->tag, pin->len);

    if (rc != SMART_PIN_SET && rc != SMART_PIN_KEEP) {
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

        if (rc != SMART_PIN_SET) {
            *entry = pins[i].index;
            goto done;
        }

        ned++;
    }

    rc = smart_pin_apply(body, len, ed, ned, out, outlen);

done:

    free(starts);
    free(ends);
    free(ed);
    json_decref(root);

    return rc;
}
