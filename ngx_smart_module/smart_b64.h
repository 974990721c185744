
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: base64.
 *
 * Strict base64url decoding (RFC 4648 section 5) for JWS segments and JWK
 * members, and standard base64 encoding (RFC 4648 section 4) for audit
 * records.  Plain C: no NGINX headers.
 */

#ifndef SMART_B64_H
#define SMART_B64_H

#include <stddef.h>


/* Bytes that smart_b64url_decode() may write for len input characters. */
#define SMART_B64URL_DECODED_MAX(len)  (((len) / 4) * 3 + 2)

/* Characters of the padded standard base64 of len bytes, without the NUL. */
#define SMART_B64_ENCODED_LEN(len)     ((((len) + 2) / 3) * 4)


/*
 * Decodes src[0..len) as unpadded base64url into dst, which holds cap bytes,
 * and stores the decoded length in *outlen.  Returns 0, or -1 (dst contents
 * unspecified) when: a character is outside [A-Za-z0-9_-] (so padding '=',
 * whitespace and the standard alphabet's '+' '/' are refused), len % 4 == 1,
 * the unused low bits of the last character are not zero (a non-canonical
 * encoding), or the result would not fit in cap.  An empty src decodes to
 * zero bytes.
 */
int smart_b64url_decode(const char *src, size_t len, unsigned char *dst,
    size_t cap, size_t *outlen);

/*
 * Encodes src[0..len) as padded standard base64 with snprintf() semantics:
 * returns the length of the full encoding (not counting the NUL) and writes
 * at most cap bytes including a NUL when cap is not 0.  Returns (size_t) -1
 * when the encoded length would overflow size_t.
 */
size_t smart_b64_encode(char *dst, size_t cap, const unsigned char *src,
    size_t len);

#endif /* SMART_B64_H */
