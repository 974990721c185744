
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: where values start and end in JSON text
 * (smart_json.h).  Iterative scanners: no recursion, whatever the text.
 * Plain C: no NGINX headers.
 */

#include <string.h>

#include "smart_json.h"
#include "smart_text.h"


static size_t
smart_json_ws(const char *p, size_t len, size_t i)
{
    while (i < len
           && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
    {
        i++;
    }

    return i;
}


/* p[*i] is '"': *i becomes the offset just past the closing quote. */
static int
smart_json_string_end(const char *p, size_t len, size_t *i)
{
    size_t  k;

    for (k = *i + 1; k < len; k++) {
        if (p[k] == '\\') {
            k++;
            continue;
        }

        if (p[k] == '"') {
            *i = k + 1;
            return SMART_JSON_OK;
        }
    }

    return SMART_JSON_BAD;
}


/* A byte that ends a number or a literal. */
static int
smart_json_delimiter(char c)
{
    return c == ',' || c == ']' || c == '}' || c == ':' || c == ' '
           || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '['
           || c == '{';
}


int
smart_json_skip(const char *p, size_t len, size_t *off, unsigned max_depth)
{
    int       rc;
    size_t    i;
    unsigned  depth;

    i = smart_json_ws(p, len, *off);
    depth = 0;

    do {
        if (i >= len) {
            return SMART_JSON_BAD;
        }

        switch (p[i]) {

        case '{':
        case '[':
            if (depth == max_depth) {
                return SMART_JSON_DEEP;
            }

            depth++;
            i++;
            break;

        case '}':
        case ']':
            if (depth == 0) {
                return SMART_JSON_BAD;
            }

            depth--;
            i++;
            break;

        case '"':
            rc = smart_json_string_end(p, len, &i);
            if (rc != SMART_JSON_OK) {
                return rc;
            }
            break;

        case ',':
        case ':':
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            if (depth == 0) {
                return SMART_JSON_BAD;
            }

            i++;
            break;

        default:
            /* a number or a literal */
            while (i < len && !smart_json_delimiter(p[i])) {
                i++;
            }
        }

    } while (depth > 0);

    *off = i;

    return SMART_JSON_OK;
}


/*
 * Is the string body s[0..n) (between the quotes, escapes as written) the
 * ASCII name once decoded?  An escape that decodes to a byte above 0x7f
 * never matches an ASCII name, so code points are compared, not bytes.
 */
static int
smart_json_key_is(const char *s, size_t n, const char *name)
{
    size_t    i, j, k;
    unsigned  c;
    int       h;

    for (i = 0, j = 0; i < n; j++) {
        c = (unsigned char) s[i++];

        if (c == '\\') {
            if (i >= n) {
                return 0;
            }

            c = (unsigned char) s[i++];

            if (c == 'u') {
                if (n - i < 4) {
                    return 0;
                }

                for (c = 0, k = 0; k < 4; k++) {
                    h = smart_hex_digit((unsigned char) s[i++]);
                    if (h < 0) {
                        return 0;
                    }
                    c = c * 16 + (unsigned) h;
                }

            } else if (c != '"' && c != '\\' && c != '/') {
                /* \b \f \n \r \t: never in an element name */
                return 0;
            }
        }

        if (name[j] == '\0' || (unsigned char) name[j] != c) {
            return 0;
        }
    }

    return name[j] == '\0';
}


int
smart_json_member(const char *p, size_t len, size_t obj, const char *name,
    size_t *val)
{
    int     rc;
    size_t  i, ks, ke;

    i = smart_json_ws(p, len, obj);
    if (i >= len || p[i] != '{') {
        return SMART_JSON_BAD;
    }

    i = smart_json_ws(p, len, i + 1);
    if (i < len && p[i] == '}') {
        return SMART_JSON_ABSENT;
    }

    for ( ;; ) {
        if (i >= len || p[i] != '"') {
            return SMART_JSON_BAD;
        }

        ks = i + 1;
        rc = smart_json_string_end(p, len, &i);
        if (rc != SMART_JSON_OK) {
            return rc;
        }

        ke = i - 1;
        i = smart_json_ws(p, len, i);
        if (i >= len || p[i] != ':') {
            return SMART_JSON_BAD;
        }

        i = smart_json_ws(p, len, i + 1);

        if (smart_json_key_is(p + ks, ke - ks, name)) {
            *val = i;
            return SMART_JSON_OK;
        }

        rc = smart_json_skip(p, len, &i, SMART_JSON_ANY_DEPTH);
        if (rc != SMART_JSON_OK) {
            return rc;
        }

        i = smart_json_ws(p, len, i);
        if (i < len && p[i] == '}') {
            return SMART_JSON_ABSENT;
        }

        if (i >= len || p[i] != ',') {
            return SMART_JSON_BAD;
        }

        i = smart_json_ws(p, len, i + 1);
    }
}


int
smart_json_elements(const char *p, size_t len, size_t *off, size_t *end,
    size_t *starts, size_t *ends, size_t n)
{
    int     rc;
    size_t  i, k;

    i = smart_json_ws(p, len, *off);
    if (i >= len || p[i] != '[') {
        return SMART_JSON_BAD;
    }

    *off = i;
    i = smart_json_ws(p, len, i + 1);
    k = 0;

    if (i < len && p[i] == ']') {
        *end = i + 1;
        return (n == 0) ? SMART_JSON_OK : SMART_JSON_BAD;
    }

    for ( ;; ) {
        if (k == n) {
            return SMART_JSON_BAD;
        }

        starts[k] = smart_json_ws(p, len, i);
        i = starts[k];

        rc = smart_json_skip(p, len, &i, SMART_JSON_ANY_DEPTH);
        if (rc != SMART_JSON_OK) {
            return rc;
        }

        ends[k++] = i;
        i = smart_json_ws(p, len, i);

        if (i < len && p[i] == ']') {
            *end = i + 1;
            return (k == n) ? SMART_JSON_OK : SMART_JSON_BAD;
        }

        if (i >= len || p[i] != ',') {
            return SMART_JSON_BAD;
        }

        i++;
    }
}
