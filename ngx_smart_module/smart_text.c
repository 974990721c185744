
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: small text helpers (see smart_text.h).
 */

#include "smart_text.h"


int
smart_hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


size_t
smart_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t    need, i;
    uint32_t  c;
    unsigned  lo, hi;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }

    /* the second byte's range excludes overlong forms and surrogates */

    lo = 0x80;
    hi = 0xBF;

    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        need = 1;
        c = p[0] & 0x1F;

    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        need = 2;
        c = p[0] & 0x0F;
        if (p[0] == 0xE0) {
            lo = 0xA0;
        } else if (p[0] == 0xED) {
            hi = 0x9F;
        }

    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        need = 3;
        c = p[0] & 0x07;
        if (p[0] == 0xF0) {
            lo = 0x90;
        } else if (p[0] == 0xF4) {
            hi = 0x8F;
        }

    } else {
        return 0;
    }

    if (n < need + 1 || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 1; i <= need; i++) {
        if (i > 1 && (p[i] < 0x80 || p[i] > 0xBF)) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3F);
    }

    *cp = c;

    return need + 1;
}


int
smart_utf8_valid(const unsigned char *p, size_t n)
{
    size_t    k;
    uint32_t  cp;

    while (n > 0) {
        k = smart_utf8_decode(p, n, &cp);
        if (k == 0) {
            return 0;
        }

        p += k;
        n -= k;
    }

    return 1;
}


int
smart_cid_valid(const char *s, size_t n)
{
    size_t  i;
    char    c;

    if (s == NULL || n < SMART_CID_MIN || n > SMART_CID_MAX) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}
