/*
 * ngx_smart_module policy core: small text helpers shared by the parsers
 * and renderers (hex digits, strict UTF-8).  Plain C: no NGINX headers.
 */

#ifndef SMART_TEXT_H
#define SMART_TEXT_H

#include <stddef.h>
#include <stdint.h>


#define SMART_UTF8_REPLACEMENT  0xFFFD


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

#endif /* SMART_TEXT_H */
