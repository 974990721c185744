
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer target: smart_jwt_verify() on arbitrary bytes.
 *
 * The key sets are built once from constants (public keys copied from
 * tests/fixtures/jwks.json; the target does not read files, since its cwd is
 * unknown).  Inputs whose first byte is odd are also wrapped as the payload
 * of a token the harness signs with the HMAC key, so that the claim checks
 * behind the signature are fuzzed too, not only what precedes it.
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c99 \
 *       -D_POSIX_C_SOURCE=200809L -Ingx_smart_module tests/fuzz/fuzz_jwt.c \
 *       ngx_smart_module/smart_b64.c ngx_smart_module/smart_jwks.c \
 *       ngx_smart_module/smart_jwt.c -ljansson -lcrypto
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "smart_b64.h"
#include "smart_jwks.h"
#include "smart_jwt.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  fuzz_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"use\":\"sig\",\"n\":\""
    "2mG3Lir8LE-55JDhwYBE6lXttF8dAv_2Brmv_flOeUKVxbeGDmI9ZmH-I3LH53Sp5BhCh8"
    "PENSi6-VwcRU9VxEISrcdvFqrQOfJTv9p5fRPkWfCcj42SoeVOYTve0gz_1VI7aVhBZ5ak"
    "3a7DBrqdbxtMRXa6dJEfTYlarnCMpBKueAYapryBVcQFw-yhf0o1o2q3U2e8wYoY3SI5RD"
    "6lkDNIZrMvN6SPWyNSouB0rVhDAN2-bM6EDoZ9bJdTz-yM6_xZpbYLTY5bK6y0qP-i2ZNh"
    "pMavGT76n4gHQHScCNK7AcB22fkWpYdSse43eO-l7yg_4jzhDTIApIzw3W1JxQ\",\"e\""
    ":\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"ec-256\",\"use\":\"sig\",\"crv\":"
    "\"P-256\",\"x\":\"YJ_gptqmU45SSjIMMkiRjyaQzGWQdC-Bq1pBZFdKq4s\",\"y\":"
    "\"zYnWS9hZ_xq0GlkQJEjzLl5sx0Y9kas_lrBZZdWDMcs\"},{\"kty\":\"EC\",\"kid"
    "\":\"ec-521\",\"use\":\"sig\",\"crv\":\"P-521\",\"x\":\"AWEXjWmaaSRevB"
    "AJ-qCGTXL8ZGmUbLB8R-Aj02MRyb3GuX-dyW91z4wql2cApTJa8k5AbGv-JM_Etm-G9x1d"
    "K_rs\",\"y\":\"AF3OkJU4O5iPk-PKKOm0WxZmuTRV9waBSKzaBKKEg62FPu3NwfRdsTG"
    "Wih-8snlxC7fDSqlzlT1FUm-fImC4ttFy\"}]}";

static const unsigned char  fuzz_secret[] =
    "fuzz-secret-fuzz-secret-fuzz-secret-fuzz-secret-fuzz-secret-64b!";

static const smart_str_t  fuzz_iss[] = {
    { "https://idp.example", 19 }
};

static const smart_str_t  fuzz_aud[] = {
    { "https://fhir.example", 20 }, { "aud2", 4 }
};

static smart_keyset_t  *fuzz_pub;
static smart_keyset_t  *fuzz_hmac;


static void
fuzz_init(void)
{
    char  err[256];

    fuzz_pub = smart_keyset_new();
    fuzz_hmac = smart_keyset_new();

    if (fuzz_pub == NULL || fuzz_hmac == NULL
        || smart_keyset_add_jwks(fuzz_pub, fuzz_jwks, sizeof(fuzz_jwks) - 1,
                                 err, sizeof(err)) != 3
        || smart_keyset_add_hmac(fuzz_hmac, fuzz_secret,
                                 sizeof(fuzz_secret) - 1, err, sizeof(err))
           != 1)
    {
        abort();
    }
}


static void
fuzz_verify(const char *tok, size_t len, const smart_keyset_t *ks,
    unsigned algs)
{
    char                 detail[128];
    smart_jwt_t          jwt;
    smart_jwt_policy_t   policy;

    memset(&policy, 0, sizeof(policy));
    policy.algorithms = algs;
    policy.issuers = fuzz_iss;
    policy.nissuers = 1;
    policy.audiences = fuzz_aud;
    policy.naudiences = 2;
    policy.leeway = 60;
    policy.now = 1700000000;

    (void) smart_jwt_verify(tok, len, ks, &policy, &jwt, detail,
                            sizeof(detail));
    (void) smart_jwt_status_name(smart_jwt_check_time(jwt.exp, jwt.nbf,
                                                      jwt.iat, 60, 1700000000));
    smart_jwt_release(&jwt);
}


/* base64url of src into dst (no padding); returns the length. */
static size_t
fuzz_b64url(char *dst, size_t cap, const unsigned char *src, size_t len)
{
    size_t  n, i;

    n = smart_b64_encode(dst, cap, src, len);

    if (n >= cap) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (dst[i] == '+') {
            dst[i] = '-';

        } else if (dst[i] == '/') {
            dst[i] = '_';

        } else if (dst[i] == '=') {
            break;
        }
    }

    return i;
}


/* "eyJhbGciOiJIUzI1NiJ9" = {"alg":"HS256"}; payload = the input. */
static void
fuzz_signed(const uint8_t *data, size_t size)
{
    char            *tok;
    size_t           cap, n, p;
    unsigned int     maclen;
    unsigned char    mac[EVP_MAX_MD_SIZE];
    static const char  hdr[] = "eyJhbGciOiJIUzI1NiJ9.";

    if (size > SMART_JWT_MAX_LEN) {
        return;
    }

    cap = sizeof(hdr) + SMART_B64_ENCODED_LEN(size) + 128;
    tok = malloc(cap);
    if (tok == NULL) {
        return;
    }

    memcpy(tok, hdr, sizeof(hdr) - 1);
    n = sizeof(hdr) - 1;
    p = fuzz_b64url(tok + n, cap - n, data, size);

    if (p == 0) {
        free(tok);
        return;
    }

    n += p;

    if (HMAC(EVP_sha256(), fuzz_secret, (int) sizeof(fuzz_secret) - 1,
             (unsigned char *) tok, n, mac, &maclen) == NULL)
    {
        free(tok);
        return;
    }

    tok[n++] = '.';
    n += fuzz_b64url(tok + n, cap - n, mac, maclen);

    fuzz_verify(tok, n, fuzz_hmac, SMART_ALG_HS_ALL);

    free(tok);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          n;
    unsigned char  *buf;

    if (fuzz_pub == NULL) {
        fuzz_init();
    }

    fuzz_verify((const char *) data, size, fuzz_pub,
                SMART_ALG_DEFAULT | SMART_ALG_HS_ALL);
    fuzz_verify((const char *) data, size, fuzz_hmac, SMART_ALG_HS_ALL);

    if (size > 0 && (data[0] & 1)) {
        fuzz_signed(data + 1, size - 1);
    }

    buf = malloc(SMART_B64URL_DECODED_MAX(size) + 1);
    if (buf != NULL) {
        (void) smart_b64url_decode((const char *) data, size, buf,
                                   SMART_B64URL_DECODED_MAX(size), &n);
        free(buf);
    }

    return 0;
}
