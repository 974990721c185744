
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: a verified token's claim as text
 * (smart_claim.h).  Plain C99 + jansson: no NGINX headers.
 */

#include <stdio.h>
#include <string.h>

#include "smart_claim.h"


/* The claim at name: the whole name first, then its "__" path. */
static const json_t *
smart_claim_find(const json_t *claims, const char *name, size_t len)
{
    char           key[SMART_CLAIM_NAME_MAX + 1];
    size_t         i, start, depth;
    const json_t  *v;

    memcpy(key, name, len);
    key[len] = '\0';

    v = json_object_get(claims, key);
    if (v != NULL) {
        return v;
    }

    v = claims;
    start = 0;
    depth = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && !(key[i] == '_' && i + 1 < len && key[i + 1] == '_'))
        {
            continue;
        }

        if (i == start || ++depth > SMART_CLAIM_DEPTH_MAX) {
            return NULL;
        }

        key[i] = '\0';
        v = json_object_get(v, key + start);

        if (v == NULL) {
            return NULL;
        }

        start = i + 2;
        i++;
    }

    return (depth > 1) ? v : NULL;
}


/* One scalar as text at out (room bytes): its length, or -1. */
static int
smart_claim_scalar(const json_t *v, char *out, size_t room, size_t *n)
{
    int          k;
    size_t       i;
    const char  *s;

    if (json_is_string(v)) {
        s = json_string_value(v);
        *n = json_string_length(v);

        if (*n >= room) {
            return -1;
        }

        /* no control characters: a value may end up in a header line */

        for (i = 0; i < *n; i++) {
            if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
                return -1;
            }
        }

        memcpy(out, s, *n);
        return 0;
    }

    if (json_is_integer(v)) {
        k = snprintf(out, room, "%lld", (long long) json_integer_value(v));

    } else if (json_is_real(v)) {
        k = snprintf(out, room, "%.17g", json_real_value(v));

    } else if (json_is_boolean(v)) {
        k = snprintf(out, room, "%d", json_is_true(v) ? 1 : 0);

    } else {
        return -1;
    }

    if (k < 0 || (size_t) k >= room) {
        return -1;
    }

    *n = (size_t) k;

    return 0;
}


int
smart_claim_text(const json_t *claims, const char *name, size_t len,
    char *out, size_t size, size_t *n)
{
    size_t         i, k, at;
    const json_t  *v;

    *n = 0;

    if (!json_is_object(claims) || len == 0 || len > SMART_CLAIM_NAME_MAX
        || memchr(name, '\0', len) != NULL || size == 0)
    {
        return -1;
    }

    if (size > SMART_CLAIM_TEXT_MAX + 1) {
        size = SMART_CLAIM_TEXT_MAX + 1;
    }

    v = smart_claim_find(claims, name, len);

    if (v == NULL) {
        return -1;
    }

    if (!json_is_array(v)) {
        if (smart_claim_scalar(v, out, size, n) != 0) {
            *n = 0;
            return -1;
        }

        out[*n] = '\0';
        return 0;
    }

    at = 0;

    for (i = 0; i < json_array_size(v); i++) {
        if (i > 0) {
            if (at + 1 >= size) {
                return -1;
            }

            out[at++] = ',';
        }

        if (smart_claim_scalar(json_array_get(v, i), out + at, size - at, &k)
            != 0)
        {
            *n = 0;
            return -1;
        }

        at += k;
    }

    out[at] = '\0';
    *n = at;

    return 0;
}
