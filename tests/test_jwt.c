
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of smart_jwt.c: token verification against real signatures
 * made with the fixture keys, and the hostile tokens a gateway meets.
 */

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jwt.h>

#include "smart_b64.h"
#include "smart_jwks.h"
#include "smart_jwt.h"
#include "jwt_mint.h"


#define NOW      1700000000LL
#define ISS      "https://idp.example/realm"
#define AUD      "https://fhir.example/r4"

#define HDR_RS256  "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rsa-1\"}"
#define HDR_ES256  "{\"alg\":\"ES256\",\"kid\":\"ec-256\"}"


static smart_keyset_t  *ks_jwks;     /* fixtures/jwks.json: rsa-1, ec-* */
static smart_keyset_t  *ks_hmac;     /* fixtures/hmac64.key, no kid */

static const smart_str_t  issuers[] = {
    { "https://other.example", 21 },
    { ISS, sizeof(ISS) - 1 }
};

static const smart_str_t  audiences[] = {
    { AUD, sizeof(AUD) - 1 }
};


static smart_jwt_policy_t
policy(unsigned algs)
{
    smart_jwt_policy_t  p;

    memset(&p, 0, sizeof(p));
    p.algorithms = algs;
    p.issuers = issuers;
    p.nissuers = 2;
    p.audiences = audiences;
    p.naudiences = 1;
    p.leeway = 60;
    p.now = (time_t) NOW;

    return p;
}


/* A payload with the registered claims plus extra members (may be ""). */
static char *
payload(long long exp, const char *extra)
{
    char  *s;
    int    n;

    n = snprintf(NULL, 0, "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,"
                 "\"sub\":\"user-1\"%s%s}", ISS, AUD, exp,
                 extra[0] ? "," : "", extra);
    s = mint_xmalloc((size_t) n + 1);
    snprintf(s, (size_t) n + 1, "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,"
             "\"sub\":\"user-1\"%s%s}", ISS, AUD, exp, extra[0] ? "," : "",
             extra);

    return s;
}


/* Mints header/payload with keyfile and verifies; frees what it made. */
static smart_jwt_status_e
run_full(const char *header, const char *pay, const char *alg,
    const char *keyfile, const smart_keyset_t *ks,
    const smart_jwt_policy_t *pol, smart_jwt_t *out)
{
    char                *tok;
    char                 detail[128];
    smart_jwt_status_e   rc;

    tok = mint_token(header, pay, alg, keyfile);
    rc = smart_jwt_verify(tok, strlen(tok), ks, pol, out, detail,
                          sizeof(detail));
    free(tok);

    return rc;
}


static smart_jwt_status_e
run(const char *header, const char *pay, const char *alg, const char *keyfile,
    const smart_keyset_t *ks, unsigned algs)
{
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;
    smart_jwt_status_e   rc;

    pol = policy(algs);
    rc = run_full(header, pay, alg, keyfile, ks, &pol, &jwt);
    smart_jwt_release(&jwt);

    return rc;
}


/* Verifies a ready token string under the default policy. */
static smart_jwt_status_e
run_tok(const char *tok, size_t len, const smart_keyset_t *ks, unsigned algs)
{
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;
    smart_jwt_status_e   rc;
    char                 detail[128];

    pol = policy(algs);
    rc = smart_jwt_verify(tok, len, ks, &pol, &jwt, detail, sizeof(detail));
    smart_jwt_release(&jwt);

    return rc;
}


static smart_keyset_t *
load_jwks(const char *path)
{
    char            *doc, err[256];
    size_t           len;
    smart_keyset_t  *ks;

    ks = smart_keyset_new();
    doc = mint_read_file(path, &len);

    if (ks == NULL || smart_keyset_add_jwks(ks, doc, len, err, sizeof(err))
                      <= 0)
    {
        fprintf(stderr, "cannot load %s: %s\n", path, err);
        abort();
    }

    free(doc);

    return ks;
}


static smart_keyset_t *
load_hmac(const char *path)
{
    char            *key, err[256];
    size_t           len;
    smart_keyset_t  *ks;

    ks = smart_keyset_new();
    key = mint_read_file(path, &len);

    if (ks == NULL || smart_keyset_add_hmac(ks, (unsigned char *) key, len,
                                            err, sizeof(err)) != 1)
    {
        abort();
    }

    free(key);

    return ks;
}


static int
setup(void **state)
{
    (void) state;

    ks_jwks = load_jwks("fixtures/jwks.json");
    ks_hmac = load_hmac("fixtures/hmac64.key");

    return 0;
}


static int
teardown(void **state)
{
    (void) state;

    smart_keyset_free(ks_jwks);
    smart_keyset_free(ks_hmac);

    return 0;
}


/* --- valid tokens --------------------------------------------------------- */

static void
test_valid_every_alg(void **state)
{
    size_t        i;
    char         *pay, hdr[128];
    static const struct {
        const char *alg, *kid, *key;
    } v[] = {
        { "RS256", "rsa-1", "fixtures/rsa2048.pem" },
        { "RS384", "rsa-1", "fixtures/rsa2048.pem" },
        { "RS512", "rsa-1", "fixtures/rsa2048.pem" },
        { "ES256", "ec-256", "fixtures/ec256.pem" },
        { "ES384", "ec-384", "fixtures/ec384.pem" },
        { "ES512", "ec-521", "fixtures/ec521.pem" },
        { "HS256", NULL, "fixtures/hmac64.key" },
        { "HS384", NULL, "fixtures/hmac64.key" },
        { "HS512", NULL, "fixtures/hmac64.key" }
    };

    (void) state;
    pay = payload(NOW + 300, "\"scope\":\"patient/*.rs\"");

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (v[i].kid != NULL) {
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\"}",
                     v[i].alg, v[i].kid);
            assert_int_equal(run(hdr, pay, v[i].alg, v[i].key, ks_jwks,
                                 SMART_ALG_DEFAULT), SMART_JWT_OK);

            /* the same token without its kid: the one fitting key */
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", v[i].alg);
            assert_int_equal(run(hdr, pay, v[i].alg, v[i].key, ks_jwks,
                                 SMART_ALG_DEFAULT), SMART_JWT_OK);

        } else {
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
                     v[i].alg);
            assert_int_equal(run(hdr, pay, v[i].alg, v[i].key, ks_hmac,
                                 SMART_ALG_HS_ALL), SMART_JWT_OK);
        }
    }

    free(pay);
}


static void
test_fields_filled(void **state)
{
    char                *pay;
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;

    (void) state;
    pol = policy(SMART_ALG_DEFAULT);
    pay = payload(NOW + 300, "\"nbf\":1699999000,\"iat\":1699999001,"
                  "\"client_id\":\"app-7\",\"azp\":\"other\","
                  "\"patient\":\"pat-123\",\"fhirUser\":\"Practitioner/9\","
                  "\"jti\":\"j-1\",\"scope\":\"launch/patient patient/*.rs\"");

    assert_int_equal(run_full(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                              ks_jwks, &pol, &jwt), SMART_JWT_OK);
    assert_int_equal(jwt.alg, SMART_ALG_RS256);
    assert_string_equal(jwt.kid, "rsa-1");
    assert_string_equal(jwt.iss, ISS);
    assert_string_equal(jwt.sub, "user-1");
    assert_string_equal(jwt.client_id, "app-7");
    assert_string_equal(jwt.patient, "pat-123");
    assert_string_equal(jwt.fhir_user, "Practitioner/9");
    assert_string_equal(jwt.jti, "j-1");
    assert_string_equal(jwt.scope, "launch/patient patient/*.rs");
    assert_true(jwt.exp == NOW + 300);
    assert_true(jwt.nbf == 1699999000LL);
    assert_true(jwt.iat == 1699999001LL);
    assert_non_null(jwt.header);
    assert_non_null(jwt.payload);

    smart_jwt_release(&jwt);
    assert_null(jwt.header);
    assert_null(jwt.scope);
    smart_jwt_release(&jwt);
    free(pay);
}


static void
test_client_id_azp_fallback(void **state)
{
    char                *pay;
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;

    (void) state;
    pol = policy(SMART_ALG_DEFAULT);
    pay = payload(NOW + 300, "\"azp\":\"app-azp\",\"client_id\":5");

    assert_int_equal(run_full(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                              ks_jwks, &pol, &jwt), SMART_JWT_OK);
    assert_string_equal(jwt.client_id, "app-azp");
    assert_null(jwt.patient);
    assert_null(jwt.scope);
    assert_null(jwt.fhir_user);
    smart_jwt_release(&jwt);
    free(pay);
}


/* --- time claims ---------------------------------------------------------- */

static void
test_expired_and_leeway(void **state)
{
    char  *pay;

    (void) state;

    /* leeway 60: valid while now < exp + 60 */
    pay = payload(NOW - 59, "");
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_OK);
    free(pay);

    pay = payload(NOW - 60, "");
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_EXPIRED);
    free(pay);

    pay = payload(NOW - 86400, "");
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_EXPIRED);
    free(pay);
}


static void
test_not_yet_valid(void **state)
{
    char  *pay, extra[64];

    (void) state;

    snprintf(extra, sizeof(extra), "\"nbf\":%lld", NOW + 60);
    pay = payload(NOW + 600, extra);
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_OK);
    free(pay);

    snprintf(extra, sizeof(extra), "\"nbf\":%lld", NOW + 61);
    pay = payload(NOW + 600, extra);
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_NOT_YET_VALID);
    free(pay);

    snprintf(extra, sizeof(extra), "\"iat\":%lld", NOW + 60);
    pay = payload(NOW + 600, extra);
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_OK);
    free(pay);

    snprintf(extra, sizeof(extra), "\"iat\":%lld", NOW + 61);
    pay = payload(NOW + 600, extra);
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_NOT_YET_VALID);
    free(pay);

    pay = payload(NOW + 600, "\"nbf\":\"soon\"");
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_CLAIM_INVALID);
    free(pay);

    pay = payload(NOW + 600, "\"iat\":true");
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_CLAIM_INVALID);
    free(pay);
}


static void
test_check_time_edges(void **state)
{
    (void) state;

    assert_int_equal(smart_jwt_check_time(NOW + 1, 0, 0, 0, NOW),
                     SMART_JWT_OK);
    assert_int_equal(smart_jwt_check_time(NOW, 0, 0, 0, NOW),
                     SMART_JWT_EXPIRED);
    assert_int_equal(smart_jwt_check_time(NOW - 10, 0, 0, 10, NOW),
                     SMART_JWT_EXPIRED);
    assert_int_equal(smart_jwt_check_time(NOW - 9, 0, 0, 10, NOW),
                     SMART_JWT_OK);
    assert_int_equal(smart_jwt_check_time(NOW + 100, NOW + 10, 0, 10, NOW),
                     SMART_JWT_OK);
    assert_int_equal(smart_jwt_check_time(NOW + 100, NOW + 11, 0, 10, NOW),
                     SMART_JWT_NOT_YET_VALID);
    assert_int_equal(smart_jwt_check_time(NOW + 100, 0, NOW + 11, 10, NOW),
                     SMART_JWT_NOT_YET_VALID);

    /* a negative leeway is no leeway, never a stricter-than-now window */
    assert_int_equal(smart_jwt_check_time(NOW + 1, 0, 0, -100, NOW),
                     SMART_JWT_OK);
    assert_int_equal(smart_jwt_check_time(NOW + 100, NOW + 1, 0, -100, NOW),
                     SMART_JWT_NOT_YET_VALID);

    /* no overflow at the extremes */
    assert_int_equal(smart_jwt_check_time(LLONG_MAX, 0, 0, LONG_MAX, NOW),
                     SMART_JWT_OK);
    assert_int_equal(smart_jwt_check_time(LLONG_MIN, 0, 0, LONG_MAX, NOW),
                     SMART_JWT_EXPIRED);
    assert_int_equal(smart_jwt_check_time(LLONG_MAX, LLONG_MAX, LLONG_MIN,
                                          LONG_MAX, NOW),
                     SMART_JWT_OK);
    assert_int_equal(smart_jwt_check_time(LLONG_MIN, 0, 0, 0, NOW),
                     SMART_JWT_EXPIRED);
}


static void
test_exp_claim_types(void **state)
{
    char                *pay;
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;

    (void) state;
    pol = policy(SMART_ALG_DEFAULT);

    pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_CLAIM_MISSING);

    pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":\"1800000000\"}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_CLAIM_INVALID);

    pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":null}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_CLAIM_INVALID);

    pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1e300}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_CLAIM_INVALID);

    pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":-1.5}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_EXPIRED);

    /* a real exp is floored */
    pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1700000300.9}";
    assert_int_equal(run_full(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                              ks_jwks, &pol, &jwt), SMART_JWT_OK);
    assert_true(jwt.exp == 1700000300LL);
    smart_jwt_release(&jwt);

    pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":-0.5}";
    assert_int_equal(run_full(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                              ks_jwks, &pol, &jwt), SMART_JWT_EXPIRED);
    assert_true(jwt.exp == -1);
    smart_jwt_release(&jwt);
}


/* --- issuer and audience -------------------------------------------------- */

static void
test_issuer(void **state)
{
    const char          *pay;
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;
    char                 detail[128];
    char                *tok;

    (void) state;

    pay = "{\"iss\":\"https://evil.example\",\"aud\":\"" AUD "\","
          "\"exp\":1800000000}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_ISSUER);

    /* detail never echoes claim values */
    pol = policy(SMART_ALG_DEFAULT);
    tok = mint_token(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem");
    assert_int_equal(smart_jwt_verify(tok, strlen(tok), ks_jwks, &pol, &jwt,
                                      detail, sizeof(detail)),
                     SMART_JWT_ISSUER);
    assert_null(strstr(detail, "evil"));
    assert_true(strlen(detail) > 0);
    smart_jwt_release(&jwt);
    free(tok);

    /* a prefix, a trailing slash, another case: not the same issuer */
    pay = "{\"iss\":\"" ISS "/\",\"aud\":\"" AUD "\",\"exp\":1800000000}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_ISSUER);
    pay = "{\"iss\":\"https://idp.example\",\"aud\":\"" AUD "\","
          "\"exp\":1800000000}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_ISSUER);
    pay = "{\"iss\":\"HTTPS://idp.example/realm\",\"aud\":\"" AUD "\","
          "\"exp\":1800000000}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_ISSUER);

    pay = "{\"aud\":\"" AUD "\",\"exp\":1800000000}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_ISSUER);

    pay = "{\"iss\":[\"" ISS "\"],\"aud\":\"" AUD "\",\"exp\":1800000000}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_ISSUER);

    /* the other accepted issuer */
    pay = "{\"iss\":\"https://other.example\",\"aud\":\"" AUD "\","
          "\"exp\":1800000000}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_OK);

    /* no configured issuer: nothing is accepted */
    pol = policy(SMART_ALG_DEFAULT);
    pol.nissuers = 0;
    pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1800000000}";
    assert_int_equal(run_full(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                              ks_jwks, &pol, &jwt), SMART_JWT_ISSUER);
    smart_jwt_release(&jwt);
}


static void
test_audience(void **state)
{
    const char          *pay;
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;

    (void) state;

#define AUD_PAY(a) "{\"iss\":\"" ISS "\",\"aud\":" a ",\"exp\":1800000000}"

    assert_int_equal(run(HDR_RS256, AUD_PAY("\"https://fhir.example\""),
                         "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_AUDIENCE);
    assert_int_equal(run(HDR_RS256,
                         AUD_PAY("[\"https://a.example\",\"" AUD "\"]"),
                         "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_OK);
    assert_int_equal(run(HDR_RS256,
                         AUD_PAY("[\"https://a.example\",\"b\"]"),
                         "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_AUDIENCE);
    assert_int_equal(run(HDR_RS256, AUD_PAY("[]"), "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_AUDIENCE);
    assert_int_equal(run(HDR_RS256, AUD_PAY("[\"" AUD "\",7]"), "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_AUDIENCE);
    assert_int_equal(run(HDR_RS256, AUD_PAY("42"), "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_AUDIENCE);
    assert_int_equal(run(HDR_RS256, AUD_PAY("{\"" AUD "\":1}"), "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_AUDIENCE);

    pay = "{\"iss\":\"" ISS "\",\"exp\":1800000000}";
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_AUDIENCE);

    pol = policy(SMART_ALG_DEFAULT);
    pol.naudiences = 0;
    assert_int_equal(run_full(HDR_RS256, AUD_PAY("\"" AUD "\""), "RS256",
                              "fixtures/rsa2048.pem", ks_jwks, &pol, &jwt),
                     SMART_JWT_AUDIENCE);
    smart_jwt_release(&jwt);
#undef AUD_PAY
}


/* --- signatures ----------------------------------------------------------- */

static void
test_bad_signature(void **state)
{
    char    *pay, *tok, *last;
    size_t   len;

    (void) state;
    pay = payload(NOW + 300, "");

    tok = mint_token(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem");
    len = strlen(tok);
    assert_int_equal(run_tok(tok, len, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_OK);

    /* one flipped bit in the middle of the signature */
    last = strrchr(tok, '.') + 1;
    last[20] = (last[20] == 'A') ? 'B' : 'A';
    assert_int_equal(run_tok(tok, len, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    last[20] = (last[20] == 'A') ? 'B' : 'A';

    /* one changed payload character */
    tok[strchr(tok, '.') - tok + 5] ^= 0x01;
    assert_int_not_equal(run_tok(tok, len, ks_jwks, SMART_ALG_DEFAULT),
                         SMART_JWT_OK);
    free(tok);

    /* ES: the same */
    tok = mint_token(HDR_ES256, pay, "ES256", "fixtures/ec256.pem");
    len = strlen(tok);
    assert_int_equal(run_tok(tok, len, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_OK);
    last = strrchr(tok, '.') + 1;
    last[10] = (last[10] == 'A') ? 'B' : 'A';
    assert_int_equal(run_tok(tok, len, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    free(tok);

    /* HS: the same */
    tok = mint_token("{\"alg\":\"HS256\"}", pay, "HS256",
                     "fixtures/hmac64.key");
    len = strlen(tok);
    last = strrchr(tok, '.') + 1;
    last[10] = (last[10] == 'A') ? 'B' : 'A';
    assert_int_equal(run_tok(tok, len, ks_hmac, SMART_ALG_HS_ALL),
                     SMART_JWT_BAD_SIGNATURE);
    free(tok);

    /* signed with another secret */
    tok = mint_token("{\"alg\":\"HS256\"}", pay, "HS256",
                     "fixtures/hmac48.key");
    assert_int_equal(run_tok(tok, strlen(tok), ks_hmac, SMART_ALG_HS_ALL),
                     SMART_JWT_BAD_SIGNATURE);
    free(tok);

    free(pay);
}


static void
test_signature_stripped(void **state)
{
    char    *pay, *tok;
    size_t   len;

    (void) state;
    pay = payload(NOW + 300, "");

    tok = mint_token(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem");
    len = strrchr(tok, '.') - tok + 1;          /* "h.p." */
    assert_int_equal(run_tok(tok, len, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    assert_int_equal(run_tok(tok, len - 1, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);     /* "h.p" */
    free(tok);

    tok = mint_token("{\"alg\":\"HS256\"}", pay, "HS256",
                     "fixtures/hmac64.key");
    len = strrchr(tok, '.') - tok + 1;
    assert_int_equal(run_tok(tok, len, ks_hmac, SMART_ALG_HS_ALL),
                     SMART_JWT_BAD_SIGNATURE);
    free(tok);

    free(pay);
}


static void
test_es_signature_forms(void **state)
{
    char           *pay, *h, *p, *input, *s, *tok, *key;
    size_t          keylen, siglen;
    unsigned char  *sig;

    (void) state;
    pay = payload(NOW + 300, "");
    key = mint_read_file("fixtures/ec256.pem", &keylen);

    /* the DER form OpenSSL produces is not the JOSE form */
    tok = mint_token_key(HDR_ES256, pay, "ES256", (unsigned char *) key,
                         keylen, MINT_ES_DER);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    free(tok);

    /* R||S one byte short, one byte long, and ES384-sized */
    h = mint_b64url_str(HDR_ES256);
    p = mint_b64url_str(pay);
    input = mint_join(h, p, NULL);
    sig = mint_sign_raw(input, "ES256", (unsigned char *) key, keylen,
                        MINT_RS_ES_R_S, &siglen);
    assert_int_equal(siglen, 64);

    s = mint_b64url(sig, 64);
    tok = mint_join(h, p, s);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_OK);
    free(s);
    free(tok);

    s = mint_b64url(sig, 63);
    tok = mint_join(h, p, s);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    free(s);
    free(tok);

    sig = realloc(sig, 96);
    assert_non_null(sig);
    memset(sig + 64, 0, 32);

    s = mint_b64url(sig, 65);
    tok = mint_join(h, p, s);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    free(s);
    free(tok);

    s = mint_b64url(sig, 96);
    tok = mint_join(h, p, s);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    free(s);
    free(tok);

    /* r = 0, s = 0 */
    memset(sig, 0, 64);
    s = mint_b64url(sig, 64);
    tok = mint_join(h, p, s);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    free(s);
    free(tok);

    /* an ES256 token naming the P-384 key */
    tok = mint_token("{\"alg\":\"ES256\",\"kid\":\"ec-384\"}", pay, "ES256",
                     "fixtures/ec256.pem");
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_KEY_MISMATCH);
    free(tok);

    free(sig);
    free(input);
    free(h);
    free(p);
    free(key);
    free(pay);
}


static void
test_rsa_signature_length(void **state)
{
    char           *pay, *h, *p, *input, *s, *tok, *key;
    size_t          keylen, siglen;
    unsigned char  *sig;

    (void) state;
    pay = payload(NOW + 300, "");
    key = mint_read_file("fixtures/rsa2048.pem", &keylen);
    h = mint_b64url_str(HDR_RS256);
    p = mint_b64url_str(pay);
    input = mint_join(h, p, NULL);
    sig = mint_sign_raw(input, "RS256", (unsigned char *) key, keylen, 0,
                        &siglen);
    assert_int_equal(siglen, 256);

    /* a leading zero byte added, or the last byte dropped */
    sig = realloc(sig, 257);
    assert_non_null(sig);
    memmove(sig + 1, sig, 256);
    sig[0] = 0;
    s = mint_b64url(sig, 257);
    tok = mint_join(h, p, s);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    free(s);
    free(tok);

    s = mint_b64url(sig + 1, 255);
    tok = mint_join(h, p, s);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_BAD_SIGNATURE);
    free(s);
    free(tok);

    free(sig);
    free(input);
    free(h);
    free(p);
    free(key);
    free(pay);
}


/* --- algorithm handling --------------------------------------------------- */

static void
test_alg_none(void **state)
{
    char        *pay, *good, *tok, *sig;
    size_t       i;
    static const char  *hdrs[] = {
        "{\"alg\":\"none\"}",
        "{\"alg\":\"none\",\"kid\":\"rsa-1\"}",
        "{\"alg\":\"None\"}",
        "{\"alg\":\"NONE\",\"kid\":\"rsa-1\"}",
        "{\"alg\":\"\"}",
        "{\"alg\":\"rs256\",\"kid\":\"rsa-1\"}",
        "{\"alg\":\"RS256 \",\"kid\":\"rsa-1\"}",
        "{\"alg\":\"PS256\",\"kid\":\"rsa-1\"}",
        "{\"alg\":null}",
        "{\"alg\":256}",
        "{\"alg\":[\"RS256\"]}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":\"RS256\\u0000\",\"kid\":\"rsa-1\"}"
    };

    (void) state;
    pay = payload(NOW + 300, "");
    good = mint_token(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem");
    sig = strrchr(good, '.') + 1;

    for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        /* without a signature, and with a real one borrowed */
        tok = mint_token_unsigned(hdrs[i], pay, "");
        assert_int_not_equal(run_tok(tok, strlen(tok), ks_jwks,
                                     SMART_ALG_DEFAULT | SMART_ALG_HS_ALL),
                             SMART_JWT_OK);
        if (i < 12) {
            assert_int_equal(run_tok(tok, strlen(tok), ks_jwks,
                                     SMART_ALG_DEFAULT | SMART_ALG_HS_ALL),
                             SMART_JWT_ALG_REFUSED);
        }
        free(tok);

        tok = mint_token_unsigned(hdrs[i], pay, sig);
        assert_int_not_equal(run_tok(tok, strlen(tok), ks_jwks,
                                     SMART_ALG_DEFAULT | SMART_ALG_HS_ALL),
                             SMART_JWT_OK);
        free(tok);

        /* no state carried: the genuine token still passes, a forged one
         * (payload swapped under a real signature) still fails */
        assert_int_equal(run_tok(good, strlen(good), ks_jwks,
                                 SMART_ALG_DEFAULT), SMART_JWT_OK);
        tok = mint_token_unsigned(HDR_RS256,
            "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1800000000,"
            "\"scope\":\"system/*.cruds\"}", sig);
        assert_int_equal(run_tok(tok, strlen(tok), ks_jwks,
                                 SMART_ALG_DEFAULT), SMART_JWT_BAD_SIGNATURE);
        free(tok);
    }

    free(good);
    free(pay);
}


static void
test_alg_allow_list_and_pinning(void **state)
{
    char            *pay;
    smart_keyset_t  *ks256;

    (void) state;
    pay = payload(NOW + 300, "");

    /* allowed by the key but not by the policy */
    assert_int_equal(run("{\"alg\":\"RS384\",\"kid\":\"rsa-1\"}", pay,
                         "RS384", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_RS256), SMART_JWT_ALG_REFUSED);
    assert_int_equal(run("{\"alg\":\"HS256\"}", pay, "HS256",
                         "fixtures/hmac64.key", ks_hmac, SMART_ALG_DEFAULT),
                     SMART_JWT_ALG_REFUSED);

    /* allowed by the policy but the JWK's "alg" pins RS256 */
    ks256 = load_jwks("fixtures/jwks_rs256.json");
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"rsa-256\"}", pay,
                         "RS256", "fixtures/rsa2048.pem", ks256,
                         SMART_ALG_DEFAULT), SMART_JWT_OK);
    assert_int_equal(run("{\"alg\":\"RS384\",\"kid\":\"rsa-256\"}", pay,
                         "RS384", "fixtures/rsa2048.pem", ks256,
                         SMART_ALG_DEFAULT), SMART_JWT_KEY_MISMATCH);
    assert_int_equal(run("{\"alg\":\"RS384\"}", pay, "RS384",
                         "fixtures/rsa2048.pem", ks256, SMART_ALG_DEFAULT),
                     SMART_JWT_KEY_AMBIGUOUS);
    smart_keyset_free(ks256);

    /* an ES512 token whose kid names the RSA key */
    assert_int_equal(run("{\"alg\":\"ES512\",\"kid\":\"rsa-1\"}", pay,
                         "ES512", "fixtures/ec521.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_KEY_MISMATCH);

    free(pay);
}


/*
 * The classic confusion: HS256 keyed with the RSA public key's PEM bytes,
 * offered to a verifier that holds that RSA key.  Never OK.
 */
static void
test_hs256_with_rsa_public_key(void **state)
{
    char            *pay, *pem, *tok, err[256];
    size_t           pemlen;
    smart_keyset_t  *ks;
    static const char  *hdrs[] = {
        "{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}",
        "{\"alg\":\"HS256\"}"
    };
    static const smart_jwt_status_e  allowed[] = {
        SMART_JWT_KEY_MISMATCH, SMART_JWT_KEY_AMBIGUOUS
    };
    size_t  i;

    (void) state;
    pay = payload(NOW + 300, "\"scope\":\"system/*.cruds\"");
    pem = mint_read_file("fixtures/rsa2048.pub.pem", &pemlen);

    ks = smart_keyset_new();
    assert_non_null(ks);
    assert_int_equal(smart_keyset_add_pem(ks, pem, pemlen, err, sizeof(err)),
                     1);

    for (i = 0; i < 2; i++) {
        tok = mint_token_key(hdrs[i], pay, "HS256", (unsigned char *) pem,
                             pemlen, 0);

        assert_int_equal(run_tok(tok, strlen(tok), ks_jwks,
                                 SMART_ALG_DEFAULT), SMART_JWT_ALG_REFUSED);
        assert_int_equal(run_tok(tok, strlen(tok), ks_jwks,
                                 SMART_ALG_DEFAULT | SMART_ALG_HS_ALL),
                         allowed[i]);
        assert_int_equal(run_tok(tok, strlen(tok), ks, SMART_ALG_DEFAULT),
                         SMART_JWT_ALG_REFUSED);
        assert_int_not_equal(run_tok(tok, strlen(tok), ks,
                                     SMART_ALG_DEFAULT | SMART_ALG_HS_ALL),
                             SMART_JWT_OK);
        free(tok);
    }

    smart_keyset_free(ks);
    free(pem);
    free(pay);
}


static void
test_crit_and_key_headers(void **state)
{
    char        *pay, *attacker, *hdr, *doc;
    size_t       n;

    (void) state;
    pay = payload(NOW + 300, "");

    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"rsa-1\","
                         "\"crit\":[\"exp\"],\"exp\":1}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_ALG_REFUSED);
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[]}",
                         pay, "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_ALG_REFUSED);
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b64\":false,"
                         "\"crit\":[\"b64\"]}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_ALG_REFUSED);

    /* the attacker's own key, offered in every header that could carry it */
    doc = mint_read_file("fixtures/jwks_rsa1024.json", NULL);
    attacker = strstr(doc, "{\"kty\"");
    assert_non_null(attacker);
    attacker[strlen(attacker) - 3] = '\0';      /* strip "]}\n" */

    n = strlen(attacker) * 2 + 512;
    hdr = mint_xmalloc(n);
    snprintf(hdr, n, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"jwk\":%s,"
             "\"jku\":\"https://attacker.example/jwks\","
             "\"x5u\":\"https://attacker.example/cert\","
             "\"x5c\":[\"MIIB\"]}", attacker);
    assert_int_equal(run(hdr, pay, "RS256", "fixtures/rsa1024.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_BAD_SIGNATURE);

    /* the same headers on a token the real key signed change nothing */
    assert_int_equal(run(hdr, pay, "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_OK);

    snprintf(hdr, n, "{\"alg\":\"RS256\",\"jwk\":%s,"
             "\"jku\":\"https://attacker.example/jwks\"}", attacker);
    assert_int_equal(run(hdr, pay, "RS256", "fixtures/rsa1024.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_BAD_SIGNATURE);

    snprintf(hdr, n, "{\"alg\":\"RS256\",\"kid\":\"small-1\",\"jwk\":%s}",
             attacker);
    assert_int_equal(run(hdr, pay, "RS256", "fixtures/rsa1024.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_KID_UNKNOWN);

    free(hdr);
    free(doc);
    free(pay);
}


/* --- kid ------------------------------------------------------------------ */

static void
test_kid(void **state)
{
    char                *pay, *tok, hdr[600], kid[300];
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;
    char                 detail[128];

    (void) state;
    pay = payload(NOW + 300, "");

    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"rsa-2\"}", pay,
                         "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_KID_UNKNOWN);
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"RSA-1\"}", pay,
                         "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_KID_UNKNOWN);
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"rsa-1 \"}", pay,
                         "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_KID_UNKNOWN);

    pol = policy(SMART_ALG_DEFAULT);
    tok = mint_token("{\"alg\":\"RS256\",\"kid\":\"../../etc/passwd\"}", pay,
                     "RS256", "fixtures/rsa2048.pem");
    assert_int_equal(smart_jwt_verify(tok, strlen(tok), ks_jwks, &pol, &jwt,
                                      detail, sizeof(detail)),
                     SMART_JWT_KID_UNKNOWN);
    assert_null(strstr(detail, "passwd"));
    smart_jwt_release(&jwt);
    free(tok);

    /* 256 bytes: looked up; 257: refused as malformed */
    memset(kid, 'k', 256);
    kid[256] = '\0';
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
    assert_int_equal(run(hdr, pay, "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_KID_UNKNOWN);
    kid[256] = 'k';
    kid[257] = '\0';
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
    assert_int_equal(run(hdr, pay, "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_MALFORMED);

    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"\"}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":1}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":null}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":[\"rsa-1\"]}", pay,
                         "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_MALFORMED);
    assert_int_equal(run("{\"alg\":\"RS256\",\"kid\":\"rsa-1\\u0000x\"}", pay,
                         "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_MALFORMED);

    free(pay);
}


static void
test_no_kid_selection(void **state)
{
    char            *pay, *pem, err[256];
    size_t           len;
    smart_keyset_t  *ks;

    (void) state;
    pay = payload(NOW + 300, "");

    /* one RSA key in the set: selected */
    assert_int_equal(run("{\"alg\":\"RS256\"}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_OK);

    /* a PEM key (no kid) beside the JWKS key: two fit, ambiguous */
    ks = load_jwks("fixtures/jwks.json");
    pem = mint_read_file("fixtures/rsa2048.pub.pem", &len);
    assert_int_equal(smart_keyset_add_pem(ks, pem, len, err, sizeof(err)), 1);
    assert_int_equal(run("{\"alg\":\"RS256\"}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks, SMART_ALG_DEFAULT),
                     SMART_JWT_KEY_AMBIGUOUS);

    /* the kid still selects the JWKS key; EC still has one fitting key */
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem", ks,
                         SMART_ALG_DEFAULT), SMART_JWT_OK);
    assert_int_equal(run("{\"alg\":\"ES256\"}", pay, "ES256",
                         "fixtures/ec256.pem", ks, SMART_ALG_DEFAULT),
                     SMART_JWT_OK);
    smart_keyset_free(ks);
    free(pem);

    /* only a kid-less PEM key: a token with a kid cannot reach it */
    ks = smart_keyset_new();
    pem = mint_read_file("fixtures/ec256.pub.pem", &len);
    assert_int_equal(smart_keyset_add_pem(ks, pem, len, err, sizeof(err)), 1);
    assert_int_equal(run("{\"alg\":\"ES256\"}", pay, "ES256",
                         "fixtures/ec256.pem", ks, SMART_ALG_DEFAULT),
                     SMART_JWT_OK);
    assert_int_equal(run(HDR_ES256, pay, "ES256", "fixtures/ec256.pem", ks,
                         SMART_ALG_DEFAULT), SMART_JWT_KID_UNKNOWN);
    smart_keyset_free(ks);
    free(pem);

    /* empty and absent key sets */
    ks = smart_keyset_new();
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem", ks,
                         SMART_ALG_DEFAULT), SMART_JWT_NO_KEYS);
    assert_int_equal(run(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem",
                         NULL, SMART_ALG_DEFAULT), SMART_JWT_NO_KEYS);
    smart_keyset_free(ks);

    free(pay);
}


/* --- structure ------------------------------------------------------------ */

static void
test_structure(void **state)
{
    char    *pay, *tok, *bad;
    size_t   len, n;

    (void) state;
    pay = payload(NOW + 300, "");
    tok = mint_token(HDR_RS256, pay, "RS256", "fixtures/rsa2048.pem");
    len = strlen(tok);

    assert_int_equal(run_tok(tok, 0, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run_tok(NULL, 10, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);

    /* truncated anywhere: never OK; without its signature segment,
     * malformed */
    for (n = 1; n < len; n += 7) {
        assert_int_not_equal(run_tok(tok, n, ks_jwks, SMART_ALG_DEFAULT),
                             SMART_JWT_OK);
    }

    assert_int_equal(run_tok(tok, strchr(tok, '.') - tok + 10, ks_jwks,
                             SMART_ALG_DEFAULT), SMART_JWT_MALFORMED);

    /* extra segments */
    bad = mint_xmalloc(len + 16);
    snprintf(bad, len + 16, "%s.e30", tok);
    assert_int_equal(run_tok(bad, strlen(bad), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    snprintf(bad, len + 16, "%s.", tok);
    assert_int_equal(run_tok(bad, strlen(bad), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    snprintf(bad, len + 16, ".%s", tok);
    assert_int_equal(run_tok(bad, strlen(bad), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);

    /* padding, non-alphabet bytes, whitespace, NUL */
    snprintf(bad, len + 16, "%s=", tok);
    assert_int_equal(run_tok(bad, strlen(bad), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    snprintf(bad, len + 16, "%s==", tok);
    assert_int_equal(run_tok(bad, strlen(bad), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    snprintf(bad, len + 16, "%s\n", tok);
    assert_int_equal(run_tok(bad, strlen(bad), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    snprintf(bad, len + 16, " %s", tok);
    assert_int_equal(run_tok(bad, strlen(bad), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);

    {
        static const char  swap[] = { '+', '/', '*', ' ', '\0', '%', '\xff' };
        size_t             k, where[3];

        where[0] = 3;                                   /* header */
        where[1] = strchr(tok, '.') - tok + 3;          /* payload */
        where[2] = strrchr(tok, '.') - tok + 3;         /* signature */

        for (k = 0; k < sizeof(swap); k++) {
            for (n = 0; n < 3; n++) {
                memcpy(bad, tok, len + 1);
                bad[where[n]] = swap[k];
                assert_int_equal(run_tok(bad, len, ks_jwks,
                                         SMART_ALG_DEFAULT),
                                 SMART_JWT_MALFORMED);
            }
        }
    }

    /* the same token accepted, to show the mutations are what fails */
    assert_int_equal(run_tok(tok, len, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_OK);

    free(bad);
    free(tok);

    /* empty header or payload segments */
    assert_int_equal(run_tok("..", 2, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run_tok(".e30.", 5, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run_tok("e30..", 5, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);

    /* non-canonical trailing bits: "e30" is {}, "e31" decodes the same */
    assert_int_equal(run_tok("e31.e30.AAAA", 12, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run_tok("e30.e30.AAAA", 12, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_ALG_REFUSED);

    free(pay);
}


static void
test_header_payload_json(void **state)
{
    char    *pay, *tok, *deep;
    size_t   i, n;

    (void) state;
    pay = payload(NOW + 300, "");

    tok = mint_token_unsigned("[\"RS256\"]", pay, "AAAA");
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    free(tok);
    tok = mint_token_unsigned("\"RS256\"", pay, "AAAA");
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    free(tok);
    tok = mint_token_unsigned("{\"alg\":\"RS256\"", pay, "AAAA");
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    free(tok);
    tok = mint_token_unsigned("{\"alg\":\"RS256\"} {}", pay, "AAAA");
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    free(tok);
    tok = mint_token_unsigned("{\"alg\":\"RS256\",\"x\":\"\xc3\x28\"}", pay,
                              "AAAA");
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    free(tok);

    /* duplicate header members, even agreeing ones */
    assert_int_equal(run("{\"alg\":\"RS256\",\"alg\":\"RS256\","
                         "\"kid\":\"rsa-1\"}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run("{\"alg\":\"HS256\",\"kid\":\"rsa-1\","
                         "\"alg\":\"RS256\"}", pay, "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);

    /* signed payloads that are not one object */
    assert_int_equal(run(HDR_RS256, "[{\"exp\":1800000000}]", "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run(HDR_RS256, "null", "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_MALFORMED);

    /* duplicate claims: the second exp must not win, nor the first */
    assert_int_equal(run(HDR_RS256, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
                         "\",\"exp\":1,\"exp\":1800000000}", "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    assert_int_equal(run(HDR_RS256, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
                         "\",\"exp\":1800000000,\"scope\":\"a\","
                         "\"scope\":\"system/*.*\"}", "RS256",
                         "fixtures/rsa2048.pem", ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);

    /* depth 1000 in the header and in a signed payload */
    n = 1000;
    deep = mint_xmalloc(6 * n + 128);
    strcpy(deep, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"x\":");
    for (i = 0; i < n; i++) {
        strcat(deep, "[");
    }
    for (i = 0; i < n; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}");
    assert_int_equal(run(deep, pay, "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_MALFORMED);

    strcpy(deep, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1800000000,"
           "\"x\":");
    for (i = 0; i < n; i++) {
        strcat(deep, "{\"a\":");
    }
    strcat(deep, "1");
    for (i = 0; i < n; i++) {
        strcat(deep, "}");
    }
    strcat(deep, "}");
    assert_int_equal(run(HDR_RS256, deep, "RS256", "fixtures/rsa2048.pem",
                         ks_jwks, SMART_ALG_DEFAULT), SMART_JWT_MALFORMED);

    /* exactly SMART_JWT_MAX_DEPTH levels pass; one more does not */
    strcpy(deep, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"x\":");
    for (i = 0; i < SMART_JWT_MAX_DEPTH - 1; i++) {
        strcat(deep, "[");
    }
    for (i = 0; i < SMART_JWT_MAX_DEPTH - 1; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}");
    assert_int_equal(run(deep, pay, "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_OK);
    strcpy(deep, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"x\":");
    for (i = 0; i < SMART_JWT_MAX_DEPTH; i++) {
        strcat(deep, "[");
    }
    for (i = 0; i < SMART_JWT_MAX_DEPTH; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}");
    assert_int_equal(run(deep, pay, "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_MALFORMED);

    /* brackets inside strings (and escaped quotes) are not nesting */
    strcpy(deep, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"x\":\"\\\"");
    for (i = 0; i < 100; i++) {
        strcat(deep, "[{");
    }
    strcat(deep, "\"}");
    assert_int_equal(run(deep, pay, "RS256", "fixtures/rsa2048.pem", ks_jwks,
                         SMART_ALG_DEFAULT), SMART_JWT_OK);

    free(deep);
    free(pay);
}


/*
 * A valid token of exactly want bytes, padded through an extra claim; the
 * header varies too, since no base64url text is 4k+1 characters long.
 */
static char *
token_of_length(size_t want)
{
    int      n_over;
    char    *pad, *extra, *pay, *tok;
    size_t   n, h;
    static const char  *hdrs[] = {
        HDR_RS256,
        "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"x\":1}",
        "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"xy\":1}"
    };

    pad = mint_xmalloc(want);

    for (h = 0; h < 3; h++) {
        for (n = want * 3 / 4 - 700; n < want * 3 / 4; n++) {
            memset(pad, 'p', n);
            pad[n] = '\0';
            extra = mint_xmalloc(n + 16);
            snprintf(extra, n + 16, "\"pad\":\"%s\"", pad);
            pay = payload(NOW + 300, extra);
            tok = mint_token(hdrs[h], pay, "RS256", "fixtures/rsa2048.pem");
            free(extra);
            free(pay);

            if (strlen(tok) == want) {
                free(pad);
                return tok;
            }

            n_over = strlen(tok) > want;
            free(tok);

            if (n_over) {
                break;
            }
        }
    }

    free(pad);

    return NULL;
}


static void
test_size_limit(void **state)
{
    char  *tok;

    (void) state;

    tok = token_of_length(SMART_JWT_MAX_LEN);
    assert_non_null(tok);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_OK);
    free(tok);

    tok = token_of_length(SMART_JWT_MAX_LEN + 1);
    assert_non_null(tok);
    assert_int_equal(run_tok(tok, strlen(tok), ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    free(tok);

    tok = mint_xmalloc(1 << 20);
    memset(tok, 'A', 1 << 20);
    assert_int_equal(run_tok(tok, 1 << 20, ks_jwks, SMART_ALG_DEFAULT),
                     SMART_JWT_MALFORMED);
    free(tok);
}


/* --- scope and patient ---------------------------------------------------- */

static void
check_scope(const char *extra, const char *claim, smart_jwt_status_e want,
    const char *scope)
{
    char                *pay;
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;

    pol = policy(SMART_ALG_DEFAULT);
    pol.scope_claim = claim;
    pay = payload(NOW + 300, extra);

    assert_int_equal(run_full(HDR_ES256, pay, "ES256", "fixtures/ec256.pem",
                              ks_jwks, &pol, &jwt), want);

    if (scope == NULL) {
        assert_null(jwt.scope);

    } else {
        assert_non_null(jwt.scope);
        assert_string_equal(jwt.scope, scope);
    }

    smart_jwt_release(&jwt);
    free(pay);
}


static void
test_scope_claim(void **state)
{
    (void) state;

    check_scope("\"scope\":\"patient/*.rs openid\"", NULL, SMART_JWT_OK,
                "patient/*.rs openid");
    check_scope("\"scope\":\"  patient/*.rs    openid  \"", NULL,
                SMART_JWT_OK, "patient/*.rs openid");
    check_scope("\"scope\":\"\"", NULL, SMART_JWT_OK, "");
    check_scope("\"scope\":\"   \"", NULL, SMART_JWT_OK, "");
    check_scope("\"scope\":[\"patient/*.rs\",\"launch\"]", NULL,
                SMART_JWT_OK, "patient/*.rs launch");
    check_scope("\"scope\":[\"a\",\"\",\" b  c \"]", NULL, SMART_JWT_OK,
                "a b c");
    check_scope("\"scope\":[]", NULL, SMART_JWT_OK, "");
    check_scope("\"scp\":[\"user/*.rs\",\"openid\"]", NULL, SMART_JWT_OK,
                "user/*.rs openid");
    check_scope("\"scp\":\"user/*.rs\"", NULL, SMART_JWT_OK, "user/*.rs");
    check_scope("\"scope\":\"a\",\"scp\":\"b\"", NULL, SMART_JWT_OK, "a");
    check_scope("", NULL, SMART_JWT_OK, NULL);
    check_scope("\"smart_scopes\":\"x/y\",\"scope\":\"a\"", "smart_scopes",
                SMART_JWT_OK, "x/y");
    check_scope("\"scp\":\"b\"", "smart_scopes", SMART_JWT_OK, "b");

    /* a wrong type never falls back to scp */
    check_scope("\"scope\":[\"a\",1]", NULL, SMART_JWT_CLAIM_INVALID, NULL);
    check_scope("\"scope\":[\"a\",[\"b\"]]", NULL, SMART_JWT_CLAIM_INVALID,
                NULL);
    check_scope("\"scope\":{\"a\":1},\"scp\":\"b\"", NULL,
                SMART_JWT_CLAIM_INVALID, NULL);
    check_scope("\"scope\":7", NULL, SMART_JWT_CLAIM_INVALID, NULL);
    check_scope("\"scope\":null,\"scp\":\"b\"", NULL,
                SMART_JWT_CLAIM_INVALID, NULL);
}


static void
check_patient(const char *extra, const char *claim, smart_jwt_status_e want,
    const char *patient)
{
    char                *pay;
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;

    pol = policy(SMART_ALG_DEFAULT);
    pol.patient_claim = claim;
    pay = payload(NOW + 300, extra);

    assert_int_equal(run_full(HDR_ES256, pay, "ES256", "fixtures/ec256.pem",
                              ks_jwks, &pol, &jwt), want);

    if (patient == NULL) {
        assert_null(jwt.patient);

    } else {
        assert_non_null(jwt.patient);
        assert_string_equal(jwt.patient, patient);
    }

    smart_jwt_release(&jwt);
    free(pay);
}


static void
test_patient_claim(void **state)
{
    (void) state;

    check_patient("\"patient\":\"abc-1.2\"", NULL, SMART_JWT_OK, "abc-1.2");
    check_patient("\"patient\":123456", NULL, SMART_JWT_OK, "123456");
    check_patient("\"patient\":-9223372036854775807", NULL, SMART_JWT_OK,
                  "-9223372036854775807");
    check_patient("\"patient_id\":\"p9\",\"patient\":\"p1\"", "patient_id",
                  SMART_JWT_OK, "p9");
    check_patient("\"patient_id\":77", "patient_id", SMART_JWT_OK, "77");
    check_patient("\"patient\":null", NULL, SMART_JWT_OK, NULL);
    check_patient("", NULL, SMART_JWT_OK, NULL);

    /* not a FHIR id: could smuggle a second query parameter or path */
    check_patient("\"patient\":\"p1&patient=p2\"", NULL,
                  SMART_JWT_CLAIM_INVALID, NULL);
    check_patient("\"patient\":\"../Patient/p2\"", NULL,
                  SMART_JWT_CLAIM_INVALID, NULL);
    check_patient("\"patient\":\"\"", NULL, SMART_JWT_CLAIM_INVALID, NULL);
    check_patient("\"patient\":\"p 1\"", NULL, SMART_JWT_CLAIM_INVALID, NULL);
    check_patient("\"patient\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaa\"", NULL, SMART_JWT_CLAIM_INVALID,
                  NULL);
    check_patient("\"patient\":1.5", NULL, SMART_JWT_CLAIM_INVALID, NULL);
    check_patient("\"patient\":[\"p1\"]", NULL, SMART_JWT_CLAIM_INVALID,
                  NULL);
    check_patient("\"patient\":true", NULL, SMART_JWT_CLAIM_INVALID, NULL);
}


/* --- release, names, libjwt ----------------------------------------------- */

static void
test_release_and_names(void **state)
{
    smart_jwt_t          jwt;
    smart_jwt_policy_t   pol;
    char                *tok;
    size_t               i, j;

    (void) state;

    memset(&jwt, 0, sizeof(jwt));
    smart_jwt_release(&jwt);
    smart_jwt_release(&jwt);
    smart_jwt_release(NULL);

    /* partly filled: header parsed, then refused */
    pol = policy(SMART_ALG_DEFAULT);
    tok = mint_token_unsigned("{\"alg\":\"RS256\",\"kid\":\"nope\"}", "{}",
                              "AAAA");
    assert_int_equal(smart_jwt_verify(tok, strlen(tok), ks_jwks, &pol, &jwt,
                                      NULL, 0), SMART_JWT_KID_UNKNOWN);
    assert_non_null(jwt.header);
    assert_null(jwt.payload);
    assert_string_equal(jwt.kid, "nope");
    smart_jwt_release(&jwt);
    smart_jwt_release(&jwt);
    free(tok);

    /* no policy or no output: refused, not a crash */
    assert_int_equal(smart_jwt_verify("e30.e30.", 8, ks_jwks, NULL, &jwt,
                                      NULL, 0), SMART_JWT_MALFORMED);
    assert_int_equal(smart_jwt_verify("e30.e30.", 8, ks_jwks, &pol, NULL,
                                      NULL, 0), SMART_JWT_MALFORMED);

    assert_string_equal(smart_jwt_status_name(SMART_JWT_OK), "ok");
    assert_string_equal(smart_jwt_status_name(SMART_JWT_MALFORMED),
                        "malformed");
    assert_string_equal(smart_jwt_status_name(SMART_JWT_ALG_REFUSED),
                        "alg-refused");
    assert_string_equal(smart_jwt_status_name(SMART_JWT_KID_UNKNOWN),
                        "kid-unknown");
    assert_string_equal(smart_jwt_status_name(SMART_JWT_EXPIRED), "expired");
    assert_string_equal(smart_jwt_status_name(SMART_JWT_AUDIENCE),
                        "audience");
    assert_string_equal(smart_jwt_status_name((smart_jwt_status_e) 99),
                        "unknown");

    for (i = SMART_JWT_OK; i <= SMART_JWT_AUDIENCE; i++) {
        for (j = i + 1; j <= SMART_JWT_AUDIENCE; j++) {
            assert_string_not_equal(
                smart_jwt_status_name((smart_jwt_status_e) i),
                smart_jwt_status_name((smart_jwt_status_e) j));
        }
    }
}


static void
test_libjwt_interop(void **state)
{
    jwt_t   *j;
    char    *key, *tok;
    size_t   keylen;
    static const struct {
        jwt_alg_t    alg;
        const char  *kid, *key;
        unsigned     algs;
    } v[] = {
        { JWT_ALG_RS256, "rsa-1", "fixtures/rsa2048.pem", SMART_ALG_DEFAULT },
        { JWT_ALG_RS256, NULL, "fixtures/rsa2048.pem", SMART_ALG_DEFAULT },
        { JWT_ALG_HS256, NULL, "fixtures/hmac64.key", SMART_ALG_HS_ALL }
    };
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        key = mint_read_file(v[i].key, &keylen);

        assert_int_equal(jwt_new(&j), 0);
        assert_int_equal(jwt_add_grant(j, "iss", ISS), 0);
        assert_int_equal(jwt_add_grant(j, "aud", AUD), 0);
        assert_int_equal(jwt_add_grant(j, "sub", "libjwt-user"), 0);
        assert_int_equal(jwt_add_grant_int(j, "exp", (long) NOW + 300), 0);
        assert_int_equal(jwt_add_grant_int(j, "iat", (long) NOW), 0);

        if (v[i].kid != NULL) {
            assert_int_equal(jwt_add_header(j, "kid", v[i].kid), 0);
        }

        assert_int_equal(jwt_set_alg(j, v[i].alg, (unsigned char *) key,
                                     (int) keylen), 0);
        tok = jwt_encode_str(j);
        assert_non_null(tok);

        assert_int_equal(run_tok(tok, strlen(tok),
                                 v[i].alg == JWT_ALG_HS256 ? ks_hmac
                                                           : ks_jwks,
                                 v[i].algs), SMART_JWT_OK);

        free(tok);
        jwt_free(j);
        free(key);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_valid_every_alg),
        cmocka_unit_test(test_fields_filled),
        cmocka_unit_test(test_client_id_azp_fallback),
        cmocka_unit_test(test_expired_and_leeway),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_check_time_edges),
        cmocka_unit_test(test_exp_claim_types),
        cmocka_unit_test(test_issuer),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_signature_stripped),
        cmocka_unit_test(test_es_signature_forms),
        cmocka_unit_test(test_rsa_signature_length),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_allow_list_and_pinning),
        cmocka_unit_test(test_hs256_with_rsa_public_key),
        cmocka_unit_test(test_crit_and_key_headers),
        cmocka_unit_test(test_kid),
        cmocka_unit_test(test_no_kid_selection),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_header_payload_json),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_scope_claim),
        cmocka_unit_test(test_patient_claim),
        cmocka_unit_test(test_release_and_names),
        cmocka_unit_test(test_libjwt_interop)
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
