
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Test helper: mints JWS compact tokens with OpenSSL from the private keys
 * in tests/fixtures/, so that the verifier is tested against real
 * signatures.  Header-only (static inline): the Makefile compiles one test
 * file plus the core sources.  Every failure aborts: a test that cannot
 * build its input must not pass.
 */

#ifndef JWT_MINT_H
#define JWT_MINT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "smart_b64.h"


#define MINT_RS_ES_R_S  0       /* ES*: JOSE R||S signature */
#define MINT_ES_DER     1       /* ES*: DER ECDSA-Sig-Value, wrong on purpose */


static inline void *
mint_xmalloc(size_t n)
{
    void  *p;

    p = malloc(n == 0 ? 1 : n);
    if (p == NULL) {
        fprintf(stderr, "jwt_mint: out of memory\n");
        abort();
    }

    return p;
}


/* Reads a whole fixture file; NUL-terminated, *len without the NUL. */
static inline char *
mint_read_file(const char *path, size_t *len)
{
    FILE    *f;
    char    *buf;
    long     size;

    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "jwt_mint: cannot read %s\n", path);
        abort();
    }

    buf = mint_xmalloc((size_t) size + 1);

    if (fread(buf, 1, (size_t) size, f) != (size_t) size) {
        fprintf(stderr, "jwt_mint: short read on %s\n", path);
        abort();
    }

    fclose(f);
    buf[size] = '\0';

    if (len != NULL) {
        *len = (size_t) size;
    }

    return buf;
}


/* Unpadded base64url, built from the core's standard encoder. */
static inline char *
mint_b64url(const unsigned char *p, size_t len)
{
    char    *s;
    size_t   n, i;

    n = smart_b64_encode(NULL, 0, p, len);
    s = mint_xmalloc(n + 1);
    (void) smart_b64_encode(s, n + 1, p, len);

    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            s[i] = '-';

        } else if (s[i] == '/') {
            s[i] = '_';

        } else if (s[i] == '=') {
            s[i] = '\0';
            break;
        }
    }

    return s;
}


static inline char *
mint_b64url_str(const char *s)
{
    return mint_b64url((const unsigned char *) s, strlen(s));
}


/* "a.b" or "a.b.c" joined from parts; c may be "" (a trailing dot). */
static inline char *
mint_join(const char *a, const char *b, const char *c)
{
    char    *s;
    size_t   n;

    n = strlen(a) + strlen(b) + (c != NULL ? strlen(c) + 1 : 0) + 2;
    s = mint_xmalloc(n);

    if (c != NULL) {
        snprintf(s, n, "%s.%s.%s", a, b, c);

    } else {
        snprintf(s, n, "%s.%s", a, b);
    }

    return s;
}


static inline const EVP_MD *
mint_md(const char *alg)
{
    if (strcmp(alg + 2, "256") == 0) {
        return EVP_sha256();
    }

    if (strcmp(alg + 2, "384") == 0) {
        return EVP_sha384();
    }

    return EVP_sha512();
}


/*
 * Signs input with alg ("RS256", "ES384", "HS512", ...).  key is PEM
 * private key text for RS and ES, the raw secret for HS.  Returns the raw
 * signature (malloc) and its length.
 */
static inline unsigned char *
mint_sign_raw(const char *input, const char *alg, const unsigned char *key,
    size_t keylen, int es_form, size_t *siglen)
{
    BIO            *bio;
    EVP_PKEY       *pkey;
    EVP_MD_CTX     *ctx;
    ECDSA_SIG      *es;
    unsigned char  *sig, *out;
    const unsigned char  *p;
    size_t          coord, n;
    unsigned int    hlen;

    if (alg[0] == 'H') {
        sig = mint_xmalloc(EVP_MAX_MD_SIZE);

        if (HMAC(mint_md(alg), key, (int) keylen,
                 (const unsigned char *) input, strlen(input), sig, &hlen)
            == NULL)
        {
            abort();
        }

        *siglen = hlen;
        return sig;
    }

    bio = BIO_new_mem_buf(key, (int) keylen);
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ctx = EVP_MD_CTX_new();

    if (pkey == NULL || ctx == NULL
        || EVP_DigestSignInit(ctx, NULL, mint_md(alg), NULL, pkey) != 1
        || EVP_DigestSign(ctx, NULL, &n, (const unsigned char *) input,
                          strlen(input)) != 1)
    {
        fprintf(stderr, "jwt_mint: cannot sign with %s\n", alg);
        abort();
    }

    sig = mint_xmalloc(n);

    if (EVP_DigestSign(ctx, sig, &n, (const unsigned char *) input,
                       strlen(input)) != 1)
    {
        abort();
    }

    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);

    if (alg[0] == 'R' || es_form == MINT_ES_DER) {
        *siglen = n;
        return sig;
    }

    coord = strcmp(alg, "ES256") == 0 ? 32 : strcmp(alg, "ES384") == 0
            ? 48 : 66;
    p = sig;
    es = d2i_ECDSA_SIG(NULL, &p, (long) n);

    if (es == NULL) {
        abort();
    }

    out = mint_xmalloc(2 * coord);

    if (BN_bn2binpad(ECDSA_SIG_get0_r(es), out, (int) coord) < 0
        || BN_bn2binpad(ECDSA_SIG_get0_s(es), out + coord, (int) coord) < 0)
    {
        abort();
    }

    ECDSA_SIG_free(es);
    free(sig);
    *siglen = 2 * coord;

    return out;
}


/* A complete token for header and payload JSON texts, key given inline. */
static inline char *
mint_token_key(const char *header, const char *payload, const char *alg,
    const unsigned char *key, size_t keylen, int es_form)
{
    char           *h, *p, *input, *s, *tok;
    size_t          siglen;
    unsigned char  *sig;

    h = mint_b64url_str(header);
    p = mint_b64url_str(payload);
    input = mint_join(h, p, NULL);

    sig = mint_sign_raw(input, alg, key, keylen, es_form, &siglen);
    s = mint_b64url(sig, siglen);
    tok = mint_join(h, p, s);

    free(h);
    free(p);
    free(input);
    free(sig);
    free(s);

    return tok;
}


/* A complete token signed with the fixture key file (PEM or secret). */
static inline char *
mint_token(const char *header, const char *payload, const char *alg,
    const char *keyfile)
{
    char    *key, *tok;
    size_t   keylen;

    key = mint_read_file(keyfile, &keylen);
    tok = mint_token_key(header, payload, alg, (unsigned char *) key, keylen,
                         MINT_RS_ES_R_S);
    free(key);

    return tok;
}


/* A token with an arbitrary signature segment text (may be ""). */
static inline char *
mint_token_unsigned(const char *header, const char *payload, const char *sig)
{
    char  *h, *p, *tok;

    h = mint_b64url_str(header);
    p = mint_b64url_str(payload);
    tok = mint_join(h, p, sig);

    free(h);
    free(p);

    return tok;
}

#endif /* JWT_MINT_H */
