
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of smart_jwks.c: JWKS, PEM and HMAC loaders, and the rules on
 * which keys are kept, skipped or fail the whole document.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smart_b64.h"
#include "smart_jwks.h"
#include "jwt_mint.h"


/* members of the fixture keys, cut out of fixtures/jwks.json */
static char  *rsa_n, *rsa_e, *ec_x, *ec_y, *ec384_x, *ec384_y;


/* The string value of "name" in the first object at or after from. */
static char *
member(const char *doc, const char *from, const char *name)
{
    char        key[32], *v;
    const char  *p, *end;

    snprintf(key, sizeof(key), "\"%s\":\"", name);
    p = strstr(strstr(doc, from), key);
    assert_non_null(p);
    p += strlen(key);
    end = strchr(p, '"');
    v = mint_xmalloc((size_t) (end - p) + 1);
    memcpy(v, p, (size_t) (end - p));
    v[end - p] = '\0';

    return v;
}


static int
setup(void **state)
{
    char  *doc;

    (void) state;

    doc = mint_read_file("fixtures/jwks.json", NULL);
    rsa_n = member(doc, "\"rsa-1\"", "n");
    rsa_e = member(doc, "\"rsa-1\"", "e");
    ec_x = member(doc, "\"ec-256\"", "x");
    ec_y = member(doc, "\"ec-256\"", "y");
    ec384_x = member(doc, "\"ec-384\"", "x");
    ec384_y = member(doc, "\"ec-384\"", "y");
    free(doc);

    return 0;
}


static int
teardown(void **state)
{
    (void) state;

    free(rsa_n);
    free(rsa_e);
    free(ec_x);
    free(ec_y);
    free(ec384_x);
    free(ec384_y);

    return 0;
}


/* Loads doc (printf format) into a fresh key set; returns the result. */
static int
load(smart_keyset_t **out, char *err, size_t errlen, const char *fmt, ...)
{
    int              n, rc;
    char            *doc;
    va_list          args;
    smart_keyset_t  *ks;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    doc = mint_xmalloc((size_t) n + 1);
    va_start(args, fmt);
    vsnprintf(doc, (size_t) n + 1, fmt, args);
    va_end(args);

    ks = smart_keyset_new();
    assert_non_null(ks);
    rc = smart_keyset_add_jwks(ks, doc, (size_t) n, err, errlen);
    free(doc);

    if (rc < 0) {
        assert_int_equal(ks->nkeys, 0);
    }

    if (out != NULL) {
        *out = ks;

    } else {
        smart_keyset_free(ks);
    }

    return rc;
}


#define RSA_JWK(extra) \
    "{\"kty\":\"RSA\"" extra ",\"n\":\"%s\",\"e\":\"%s\"}"
#define EC_JWK(extra) \
    "{\"kty\":\"EC\",\"crv\":\"P-256\"" extra ",\"x\":\"%s\",\"y\":\"%s\"}"


static void
test_fixture_jwks(void **state)
{
    char            *doc, err[256];
    size_t           len;
    smart_keyset_t  *ks;

    (void) state;

    doc = mint_read_file("fixtures/jwks.json", &len);
    ks = smart_keyset_new();
    assert_int_equal(smart_keyset_add_jwks(ks, doc, len, err, sizeof(err)),
                     4);
    assert_string_equal(err, "");
    assert_int_equal(ks->nkeys, 4);

    assert_string_equal(ks->keys[0].kid, "rsa-1");
    assert_int_equal(ks->keys[0].type, SMART_KEY_RSA);
    assert_int_equal(ks->keys[0].algs, SMART_ALG_RS_ALL);
    assert_non_null(ks->keys[0].pkey);
    assert_null(ks->keys[0].secret);

    assert_string_equal(ks->keys[1].kid, "ec-256");
    assert_int_equal(ks->keys[1].type, SMART_KEY_EC);
    assert_int_equal(ks->keys[1].algs, SMART_ALG_ES256);
    assert_string_equal(ks->keys[2].kid, "ec-384");
    assert_int_equal(ks->keys[2].algs, SMART_ALG_ES384);
    assert_string_equal(ks->keys[3].kid, "ec-521");
    assert_int_equal(ks->keys[3].algs, SMART_ALG_ES512);

    assert_int_equal(smart_keyset_algs(ks),
                     SMART_ALG_RS_ALL | SMART_ALG_ES_ALL);

    /* the same document again: every kid is now a duplicate */
    assert_int_equal(smart_keyset_add_jwks(ks, doc, len, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "duplicate kid"));
    assert_int_equal(ks->nkeys, 4);

    smart_keyset_free(ks);
    free(doc);

    doc = mint_read_file("fixtures/jwks_rs256.json", &len);
    ks = smart_keyset_new();
    assert_int_equal(smart_keyset_add_jwks(ks, doc, len, err, sizeof(err)),
                     1);
    assert_int_equal(ks->keys[0].algs, SMART_ALG_RS256);
    smart_keyset_free(ks);
    free(doc);
}


static void
test_skipped_keys(void **state)
{
    char             err[256];
    smart_keyset_t  *ks;

    (void) state;

    /* oct (shared secrets never come from a JWKS), enc keys, OKP, an
     * unsupported curve, an algorithm this module does not verify */
    assert_int_equal(load(&ks, err, sizeof(err), "{\"keys\":["
        "{\"kty\":\"oct\",\"kid\":\"s\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0\"},"
        RSA_JWK(",\"kid\":\"enc\",\"use\":\"enc\"") ","
        RSA_JWK(",\"kid\":\"wrap\",\"key_ops\":[\"wrapKey\"]") ","
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7h"
        "cvPapiMlrwIaaPcHURo\"},"
        "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\",\"y\":\"AA\"},"
        RSA_JWK(",\"kid\":\"pss\",\"alg\":\"PS256\"") ","
        RSA_JWK(",\"kid\":\"oaep\",\"alg\":\"RSA-OAEP\"") ","
        RSA_JWK(",\"kid\":\"ok\",\"use\":\"sig\",\"key_ops\":[\"sign\","
                "\"verify\"]")
        "]}", rsa_n, rsa_e, rsa_n, rsa_e, rsa_n, rsa_e, rsa_n, rsa_e,
        rsa_n, rsa_e), 1);
    assert_int_equal(ks->nkeys, 1);
    assert_string_equal(ks->keys[0].kid, "ok");
    smart_keyset_free(ks);

    /* nothing usable is not an error; the caller decides */
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[]}"), 0);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"oct\",\"k\":\"AAAA\"}]}"), 0);

    /* no kid is fine */
    assert_int_equal(load(&ks, err, sizeof(err), "{\"keys\":[" EC_JWK("")
                          "]}", ec_x, ec_y), 1);
    assert_null(ks->keys[0].kid);
    smart_keyset_free(ks);
}


static void
test_private_keys_fail(void **state)
{
    char  err[256];

    (void) state;

    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"kid\":\"a\",\"d\":\"AQAB\"") "]}",
                          rsa_n, rsa_e), -1);
    assert_non_null(strstr(err, "private"));
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          EC_JWK(",\"d\":\"AQAB\"") "]}", ec_x, ec_y), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"p\":\"AQAB\"") "]}", rsa_n, rsa_e), -1);

    /* even on a key that would otherwise be skipped */
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"use\":\"enc\",\"d\":\"AQAB\"") "]}",
                          rsa_n, rsa_e), -1);
}


static void
test_duplicate_kid_fails(void **state)
{
    char  err[256];

    (void) state;

    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"kid\":\"k1\"") ","
                          EC_JWK(",\"kid\":\"k1\"") "]}",
                          rsa_n, rsa_e, ec_x, ec_y), -1);
    assert_non_null(strstr(err, "duplicate kid"));

    /* distinct kids are fine, and kid-less keys never collide */
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"kid\":\"k1\"") ","
                          EC_JWK(",\"kid\":\"k2\"") "," RSA_JWK("") ","
                          RSA_JWK("") "]}", rsa_n, rsa_e, ec_x, ec_y,
                          rsa_n, rsa_e, rsa_n, rsa_e), 4);
}


static void
test_bad_members_fail(void **state)
{
    char  err[256], kid[300];

    (void) state;

    /* base64url: standard alphabet, padding, whitespace, non-canonical */
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":\"%s+\",\"e\":\"AQAB\"}]}", rsa_n),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":\"%s\",\"e\":\"AQAB=\"}]}", rsa_n),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":\"%s\",\"e\":\"AQ AB\"}]}", rsa_n),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":\"%s\",\"e\":\"AQAC\"}]}", rsa_n),
                     -1);          /* e = 65538: even */
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":\"%s\",\"e\":\"AQ\"}]}", rsa_n),
                     -1);          /* e = 1: the signature is the message */
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":\"%s\",\"e\":\"AQABAQABAQAB\"}]}",
                          rsa_n), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":\"%s\"}]}", rsa_n), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":7,\"e\":\"AQAB\"}]}"), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}]}"), -1);

    /* EC coordinates of the wrong size (a P-384 point on P-256) */
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[" EC_JWK("")
                          "]}", ec384_x, ec384_y), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"}]}", ec_x),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":"
                          "\"EC\",\"x\":\"%s\",\"y\":\"%s\"}]}", ec_x, ec_y),
                     -1);

    /* kty, use, key_ops, alg, kid of the wrong shape */
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"n\":\"%s\","
                          "\"e\":\"%s\"}]}", rsa_n, rsa_e), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":1}]}"),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"use\":[\"sig\"]") "]}", rsa_n, rsa_e),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"key_ops\":\"verify\"") "]}", rsa_n,
                          rsa_e), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"key_ops\":[\"verify\",1]") "]}", rsa_n,
                          rsa_e), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"alg\":256") "]}", rsa_n, rsa_e), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"kid\":1") "]}", rsa_n, rsa_e), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"kid\":\"\"") "]}", rsa_n, rsa_e), -1);

    memset(kid, 'k', 257);
    kid[257] = '\0';
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"kid\":\"%s\"") "]}", kid, rsa_n, rsa_e),
                     -1);
    kid[256] = '\0';
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"kid\":\"%s\"") "]}", kid, rsa_n, rsa_e),
                     1);
}


static void
test_small_rsa_fails(void **state)
{
    char            *doc, err[256];
    size_t           len;
    smart_keyset_t  *ks;

    (void) state;

    doc = mint_read_file("fixtures/jwks_rsa1024.json", &len);
    ks = smart_keyset_new();
    assert_int_equal(smart_keyset_add_jwks(ks, doc, len, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "1024 bits"));
    assert_int_equal(ks->nkeys, 0);
    smart_keyset_free(ks);
    free(doc);
}


static void
test_even_modulus_fails(void **state)
{
    char           *n;
    size_t          len;
    unsigned char   buf[600];

    (void) state;

    assert_int_equal(smart_b64url_decode(rsa_n, strlen(rsa_n), buf,
                                         sizeof(buf), &len), 0);
    buf[len - 1] &= 0xfe;
    n = mint_b64url(buf, len);
    assert_int_equal(load(NULL, NULL, 0, "{\"keys\":[" RSA_JWK("") "]}",
                          n, rsa_e), -1);
    free(n);
}


static void
test_ec_point_not_on_curve(void **state)
{
    char           *y;
    size_t          len;
    unsigned char   buf[64];
    char            err[256];

    (void) state;

    assert_int_equal(smart_b64url_decode(ec_y, strlen(ec_y), buf,
                                         sizeof(buf), &len), 0);
    assert_int_equal(len, 32);
    buf[31] ^= 0x01;
    y = mint_b64url(buf, 32);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[" EC_JWK("")
                          "]}", ec_x, y), -1);
    assert_non_null(strstr(err, "curve"));
    free(y);

    /* the point at infinity has no affine encoding; (0, 0) is off-curve */
    memset(buf, 0, 32);
    y = mint_b64url(buf, 32);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[" EC_JWK("")
                          "]}", y, y), -1);
    free(y);

    /* a coordinate beyond the field prime */
    memset(buf, 0xff, 32);
    y = mint_b64url(buf, 32);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[" EC_JWK("")
                          "]}", ec_x, y), -1);
    free(y);
}


static void
test_alg_must_fit(void **state)
{
    char             err[256];
    smart_keyset_t  *ks;

    (void) state;

    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          EC_JWK(",\"alg\":\"ES384\"") "]}", ec_x, ec_y), -1);
    assert_non_null(strstr(err, "alg"));
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          EC_JWK(",\"alg\":\"RS256\"") "]}", ec_x, ec_y), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          EC_JWK(",\"alg\":\"HS256\"") "]}", ec_x, ec_y), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"alg\":\"ES256\"") "]}", rsa_n, rsa_e),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"alg\":\"HS256\"") "]}", rsa_n, rsa_e),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[{\"kty\":\"EC\","
                          "\"crv\":\"P-384\",\"alg\":\"ES256\",\"x\":\"%s\","
                          "\"y\":\"%s\"}]}", ec384_x, ec384_y), -1);

    assert_int_equal(load(&ks, err, sizeof(err), "{\"keys\":["
                          RSA_JWK(",\"alg\":\"RS384\"") ","
                          EC_JWK(",\"alg\":\"ES256\"") "]}", rsa_n, rsa_e,
                          ec_x, ec_y), 2);
    assert_int_equal(ks->keys[0].algs, SMART_ALG_RS384);
    assert_int_equal(ks->keys[1].algs, SMART_ALG_ES256);
    smart_keyset_free(ks);
}


static void
test_key_count_limit(void **state)
{
    int     i, n;
    char   *doc, *p;
    size_t  cap;

    (void) state;

    for (n = SMART_JWKS_MAX_KEYS; n <= SMART_JWKS_MAX_KEYS + 1; n++) {
        cap = (size_t) n * (strlen(ec_x) + strlen(ec_y) + 100) + 32;
        doc = mint_xmalloc(cap);
        p = doc + sprintf(doc, "{\"keys\":[");

        for (i = 0; i < n; i++) {
            p += sprintf(p, "%s" EC_JWK(",\"kid\":\"k%d\""), i ? "," : "",
                         i, ec_x, ec_y);
        }

        strcpy(p, "]}");
        assert_int_equal(load(NULL, NULL, 0, "%s", doc),
                         n == SMART_JWKS_MAX_KEYS ? SMART_JWKS_MAX_KEYS : -1);
        free(doc);
    }
}


static void
test_document_shape(void **state)
{
    char            *big;
    char             err[256];
    smart_keyset_t  *ks;

    (void) state;

    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["), -1);
    assert_non_null(strstr(err, "JSON"));
    assert_int_equal(load(NULL, err, sizeof(err), ""), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "[]"), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{}"), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":{}}"), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[1]}"), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[]} x"), -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":[],\"keys\":[]}"),
                     -1);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          "{\"kty\":\"RSA\",\"n\":\"%s\",\"n\":\"%s\","
                          "\"e\":\"%s\"}]}", rsa_n, rsa_n, rsa_e), -1);

    /* size limit, checked before parsing */
    big = mint_xmalloc(SMART_JWKS_MAX_SIZE + 2);
    memset(big, ' ', SMART_JWKS_MAX_SIZE + 1);
    memcpy(big, "{\"keys\":[]}", 11);
    big[SMART_JWKS_MAX_SIZE + 1] = '\0';
    ks = smart_keyset_new();
    assert_int_equal(smart_keyset_add_jwks(ks, big, SMART_JWKS_MAX_SIZE + 1,
                                           err, sizeof(err)), -1);
    assert_int_equal(smart_keyset_add_jwks(ks, big, SMART_JWKS_MAX_SIZE,
                                           err, sizeof(err)), 0);
    free(big);

    /* NULL inputs, tiny and absent error buffers */
    assert_int_equal(smart_keyset_add_jwks(ks, NULL, 0, err, sizeof(err)),
                     -1);
    assert_int_equal(smart_keyset_add_jwks(NULL, "{}", 2, err, sizeof(err)),
                     -1);
    assert_int_equal(smart_keyset_add_jwks(ks, "[", 1, err, 8), -1);
    assert_true(strlen(err) < 8);
    assert_int_equal(smart_keyset_add_jwks(ks, "[", 1, NULL, 0), -1);
    smart_keyset_free(ks);
}


static void
test_unchanged_on_failure(void **state)
{
    char            *doc, err[256];
    size_t           len;
    smart_key_t     *keys;
    smart_keyset_t  *ks;
    int              n;

    (void) state;

    doc = mint_read_file("fixtures/jwks.json", &len);
    ks = smart_keyset_new();
    assert_int_equal(smart_keyset_add_jwks(ks, doc, len, err, sizeof(err)),
                     4);
    keys = ks->keys;
    free(doc);

    /* good keys first, then a bad one: nothing of it is kept */
    n = snprintf(NULL, 0, "{\"keys\":[" RSA_JWK(",\"kid\":\"new-1\"") ","
                 EC_JWK(",\"kid\":\"new-2\"") ",{\"kty\":\"RSA\","
                 "\"n\":\"AA\",\"e\":\"AQAB\"}]}", rsa_n, rsa_e, ec_x, ec_y);
    doc = mint_xmalloc((size_t) n + 1);
    snprintf(doc, (size_t) n + 1, "{\"keys\":["
             RSA_JWK(",\"kid\":\"new-1\"") "," EC_JWK(",\"kid\":\"new-2\"")
             ",{\"kty\":\"RSA\",\"n\":\"AA\",\"e\":\"AQAB\"}]}", rsa_n, rsa_e,
             ec_x, ec_y);
    assert_int_equal(smart_keyset_add_jwks(ks, doc, (size_t) n, err,
                                           sizeof(err)), -1);
    assert_int_equal(ks->nkeys, 4);
    assert_ptr_equal(ks->keys, keys);
    assert_string_equal(ks->keys[3].kid, "ec-521");
    assert_int_equal(smart_keyset_algs(ks),
                     SMART_ALG_RS_ALL | SMART_ALG_ES_ALL);

    /* and the PEM and HMAC loaders likewise */
    assert_int_equal(smart_keyset_add_pem(ks, "junk", 4, err, sizeof(err)),
                     -1);
    assert_int_equal(smart_keyset_add_hmac(ks, (unsigned char *) "short", 5,
                                           err, sizeof(err)), -1);
    assert_int_equal(ks->nkeys, 4);

    /* a good document still appends after the failures */
    doc[0] = '\0';
    free(doc);
    assert_int_equal(load(NULL, err, sizeof(err), "{\"keys\":["
                          EC_JWK(",\"kid\":\"x\"") "]}", ec_x, ec_y), 1);
    smart_keyset_free(ks);
}


static void
check_pem(const char *path, int want, smart_key_type_e type, unsigned algs)
{
    char            *pem, err[256];
    size_t           len;
    smart_keyset_t  *ks;

    pem = mint_read_file(path, &len);
    ks = smart_keyset_new();

    assert_int_equal(smart_keyset_add_pem(ks, pem, len, err, sizeof(err)),
                     want);

    if (want == 1) {
        assert_int_equal(ks->nkeys, 1);
        assert_null(ks->keys[0].kid);
        assert_int_equal(ks->keys[0].type, type);
        assert_int_equal(ks->keys[0].algs, algs);

    } else {
        assert_int_equal(ks->nkeys, 0);
        assert_true(strlen(err) > 0);
    }

    smart_keyset_free(ks);
    free(pem);
}


static void
test_pem(void **state)
{
    smart_keyset_t  *ks;
    char             err[256];
    static const char  bad_pem[] =
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";

    (void) state;

    check_pem("fixtures/rsa2048.pub.pem", 1, SMART_KEY_RSA, SMART_ALG_RS_ALL);
    check_pem("fixtures/rsa2048.rsapub.pem", 1, SMART_KEY_RSA,
              SMART_ALG_RS_ALL);
    check_pem("fixtures/ec256.pub.pem", 1, SMART_KEY_EC, SMART_ALG_ES256);
    check_pem("fixtures/ec384.pub.pem", 1, SMART_KEY_EC, SMART_ALG_ES384);
    check_pem("fixtures/ec521.pub.pem", 1, SMART_KEY_EC, SMART_ALG_ES512);

    check_pem("fixtures/rsa1024.pub.pem", -1, 0, 0);
    check_pem("fixtures/ec256k1.pub.pem", -1, 0, 0);
    check_pem("fixtures/rsa2048.pem", -1, 0, 0);
    check_pem("fixtures/ec256.pem", -1, 0, 0);
    check_pem("fixtures/jwks.json", -1, 0, 0);
    check_pem("fixtures/hmac64.key", -1, 0, 0);

    ks = smart_keyset_new();
    assert_int_equal(smart_keyset_add_pem(ks, bad_pem, strlen(bad_pem), err,
                                          sizeof(err)), -1);
    assert_int_equal(smart_keyset_add_pem(ks, "", 0, err, sizeof(err)), -1);
    assert_int_equal(smart_keyset_add_pem(ks, NULL, 0, err, sizeof(err)), -1);
    assert_int_equal(ks->nkeys, 0);
    smart_keyset_free(ks);
}


static void
test_hmac(void **state)
{
    char            *key, err[256];
    size_t           len;
    smart_keyset_t  *ks;
    unsigned char    secret[64];

    (void) state;

    memset(secret, 0x5a, sizeof(secret));
    ks = smart_keyset_new();

    assert_int_equal(smart_keyset_add_hmac(ks, secret, 31, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "32"));
    assert_int_equal(smart_keyset_add_hmac(ks, secret, 32, err, sizeof(err)),
                     1);
    assert_int_equal(smart_keyset_add_hmac(ks, secret, 48, err, sizeof(err)),
                     1);
    assert_int_equal(smart_keyset_add_hmac(ks, secret, 64, err, sizeof(err)),
                     1);
    assert_int_equal(smart_keyset_add_hmac(ks, NULL, 64, err, sizeof(err)),
                     -1);

    /* RFC 7518 3.2: the key is at least as long as the hash output */
    assert_int_equal(ks->nkeys, 3);
    assert_int_equal(ks->keys[0].type, SMART_KEY_HMAC);
    assert_int_equal(ks->keys[0].algs, SMART_ALG_HS256);
    assert_int_equal(ks->keys[1].algs, SMART_ALG_HS256 | SMART_ALG_HS384);
    assert_int_equal(ks->keys[2].algs, SMART_ALG_HS_ALL);
    assert_int_equal(ks->keys[2].secret_len, 64);
    assert_memory_equal(ks->keys[2].secret, secret, 64);
    assert_null(ks->keys[2].kid);
    assert_null(ks->keys[2].pkey);
    smart_keyset_free(ks);

    key = mint_read_file("fixtures/hmac16.key", &len);
    ks = smart_keyset_new();
    assert_int_equal(smart_keyset_add_hmac(ks, (unsigned char *) key, len,
                                           err, sizeof(err)), -1);
    smart_keyset_free(ks);
    free(key);
}


static void
test_alg_names(void **state)
{
    (void) state;

    assert_int_equal(smart_alg_from_name("RS256", 5), SMART_ALG_RS256);
    assert_int_equal(smart_alg_from_name("ES512", 5), SMART_ALG_ES512);
    assert_int_equal(smart_alg_from_name("HS384", 5), SMART_ALG_HS384);
    assert_int_equal(smart_alg_from_name("RS2567", 5), SMART_ALG_RS256);
    assert_int_equal(smart_alg_from_name("RS256", 6), 0);
    assert_int_equal(smart_alg_from_name("RS25", 4), 0);
    assert_int_equal(smart_alg_from_name("rs256", 5), 0);
    assert_int_equal(smart_alg_from_name("none", 4), 0);
    assert_int_equal(smart_alg_from_name("", 0), 0);
    assert_int_equal(smart_alg_from_name(NULL, 5), 0);

    assert_string_equal(smart_alg_name(SMART_ALG_RS256), "RS256");
    assert_string_equal(smart_alg_name(SMART_ALG_HS512), "HS512");
    assert_null(smart_alg_name(SMART_ALG_RS256 | SMART_ALG_RS384));
    assert_null(smart_alg_name(0));
    assert_null(smart_alg_name(0x8000));

    assert_int_equal(smart_keyset_algs(NULL), 0);
    smart_keyset_free(NULL);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_fixture_jwks),
        cmocka_unit_test(test_skipped_keys),
        cmocka_unit_test(test_private_keys_fail),
        cmocka_unit_test(test_duplicate_kid_fails),
        cmocka_unit_test(test_bad_members_fail),
        cmocka_unit_test(test_small_rsa_fails),
        cmocka_unit_test(test_even_modulus_fails),
        cmocka_unit_test(test_ec_point_not_on_curve),
        cmocka_unit_test(test_alg_must_fit),
        cmocka_unit_test(test_key_count_limit),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_unchanged_on_failure),
        cmocka_unit_test(test_pem),
        cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_alg_names)
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
