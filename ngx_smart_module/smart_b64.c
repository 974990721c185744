
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: base64.
 */

#include <stdint.h>

#include "smart_b64.h"


#define SMART_B64_BAD  0xff


/* base64url alphabet value of each byte, SMART_B64_BAD outside it */
static const unsigned char  smart_b64url_value[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /*  !"#$%&' */
    0xff, 0xff, 0xff, 0xff, 0xff, 62,   0xff, 0xff,     /* ()*+,-./ */
    52,   53,   54,   55,   56,   57,   58,   59,       /* 01234567 */
    60,   61,   0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* 89:;<=>? */
    0xff, 0,    1,    2,    3,    4,    5,    6,        /* @ABCDEFG */
    7,    8,    9,    10,   11,   12,   13,   14,       /* HIJKLMNO */
    15,   16,   17,   18,   19,   20,   21,   22,       /* PQRSTUVW */
    23,   24,   25,   0xff, 0xff, 0xff, 0xff, 63,       /* XYZ[\]^_ */
    0xff, 26,   27,   28,   29,   30,   31,   32,       /* `abcdefg */
    33,   34,   35,   36,   37,   38,   39,   40,       /* hijklmno */
    41,   42,   43,   44,   45,   46,   47,   48,       /* pqrstuvw */
    49,   50,   51,   0xff, 0xff, 0xff, 0xff, 0xff,     /* xyz{|}~  */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};

static const char  smart_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


int
smart_b64url_decode(const char *src, size_t len, unsigned char *dst,
    size_t cap, size_t *outlen)
{
    size_t         i, n, rem, need;
    uint32_t       acc;
    unsigned char  v;

    rem = len % 4;

    if (rem == 1) {
        return -1;
    }

    /* 4 characters carry 3 bytes; a tail of 2 or 3 carries 1 or 2 */
    need = (len / 4) * 3 + (rem == 0 ? 0 : rem - 1);

    if (need > cap || (need > 0 && dst == NULL)) {
        return -1;
    }

    n = 0;
    acc = 0;

    for (i = 0; i < len; i++) {
        v = smart_b64url_value[(unsigned char) src[i]];

        if (v == SMART_B64_BAD) {
            return -1;
        }

        acc = (acc << 6) | v;

        if ((i & 3) == 3) {
            dst[n++] = (unsigned char) (acc >> 16);
            dst[n++] = (unsigned char) (acc >> 8);
            dst[n++] = (unsigned char) acc;
            acc = 0;
        }
    }

    /*
     * The bits of the last character that no output byte uses must be zero:
     * otherwise several encodings would decode to the same bytes.
     */

    if (rem == 2) {
        if ((acc & 0x0f) != 0) {
            return -1;
        }

        dst[n++] = (unsigned char) (acc >> 4);

    } else if (rem == 3) {
        if ((acc & 0x03) != 0) {
            return -1;
        }

        dst[n++] = (unsigned char) (acc >> 10);
        dst[n++] = (unsigned char) (acc >> 2);
    }

    *outlen = n;

    return 0;
}


size_t
smart_b64_encode(char *dst, size_t cap, const unsigned char *src, size_t len)
{
    size_t    full, i, o;
    uint32_t  acc;
    char      q[4];
    int       k;

    if (len > (SIZE_MAX - 1) / 4 * 3 - 2) {
        return (size_t) -1;
    }

    full = SMART_B64_ENCODED_LEN(len);

    if (cap == 0) {
        return full;
    }

    o = 0;

    for (i = 0; i < len; i += 3) {
        acc = (uint32_t) src[i] << 16;

        if (i + 1 < len) {
            acc |= (uint32_t) src[i + 1] << 8;
        }

        if (i + 2 < len) {
            acc |= src[i + 2];
        }

        q[0] = smart_b64_alphabet[(acc >> 18) & 0x3f];
        q[1] = smart_b64_alphabet[(acc >> 12) & 0x3f];
        q[2] = (i + 1 < len) ? smart_b64_alphabet[(acc >> 6) & 0x3f] : '=';
        q[3] = (i + 2 < len) ? smart_b64_alphabet[acc & 0x3f] : '=';

        for (k = 0; k < 4; k++) {
            if (o + 1 >= cap) {
                dst[o] = '\0';
                return full;
            }

            dst[o++] = q[k];
        }
    }

    dst[o] = '\0';

    return full;
}
