
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: small text helpers shared by the parsers
 * and renderers (hex digits, strict UTF-8, correlation IDs).  Plain C: no
 * NGINX headers.
 */

#ifndef SMART_TEXT_H
#define SMART_TEXT_H

#include <stddef.h>
#include <stdint.h>


#define SMART_UTF8_REPLACEMENT  0xFFFD

/* correlation IDs: [A-Za-z0-9._-]{8,128} (docs/errors.md) */
#define SMART_CID_MIN           8
#define SMART_CID_MAX           128


/* The value of one hex digit, or -1. */
int smart_hex_digit(int c);

/*
 * Decodes one strict UTF-8 sequence (Unicode 3.9 table 3-7: no overlong
 * forms, no surrogates, nothing above U+10FFFF) from p[0..n), n > 0.
 * Returns its length (1 to 4) with the code point in *cp, or 0 when the
 * bytes at p do not start a valid sequence.
 */
size_t smart_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* 1 when all of p[0..n) is strict UTF-8, else 0. */
int smart_utf8_valid(const unsigned char *p, size_t n);

/*
 * 1 when s[0..n) is a correlation ID the gateway keeps and renders:
 * SMART_CID_MIN to SMART_CID_MAX bytes of [A-Za-z0-9._-].  The one rule for
 * the incoming header and for every body that carries the ID.
 */
int smart_cid_valid(const char *s, size_t n);

#endif /* SMART_TEXT_H */
