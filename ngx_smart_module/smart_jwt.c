
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: JWT access token verification.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "smart_b64.h"
#include "smart_jwt.h"


/* every decoded segment of a token that passed the size check fits */
#define SMART_JWT_BUF_LEN   (SMART_B64URL_DECODED_MAX(SMART_JWT_MAX_LEN) + 8)

/* DER of an ECDSA-Sig-Value with two 66-byte (P-521) integers */
#define SMART_ECDSA_DER_MAX (3 + 2 * (2 + 67))

/* claims outside +-2^62 seconds are nonsense; keeps the arithmetic exact */
#define SMART_TIME_LIMIT    4611686018427387904.0

#define SMART_FHIR_ID_MAX   64


typedef enum {
    SMART_SHA256 = 0,
    SMART_SHA384,
    SMART_SHA512,
    SMART_NHASH
} smart_hash_e;


/* The three segments of a token, decoded one after the other into buf. */
typedef struct {
    size_t             off[3];      /* where each starts in the token */
    size_t             dlen[3];     /* decoded bytes of each */
    unsigned char      buf[SMART_JWT_BUF_LEN];
} smart_jwt_segs_t;


static const char  *smart_hash_names[SMART_NHASH] = {
    "SHA256", "SHA384", "SHA512"
};

/*
 * Fetched once: an implicit fetch inside every EVP call would cost a
 * locked lookup per request.  The worker is single-threaded.
 */
static EVP_MD       *smart_md_cache[SMART_NHASH];
static EVP_MAC      *smart_hmac;
static EVP_MAC_CTX  *smart_hmac_ctx[SMART_NHASH];
static EVP_MD_CTX   *smart_md_ctx;

static const char  *smart_status_names[] = {
    "ok",
    "malformed",
    "alg-refused",
    "kid-unknown",
    "key-ambiguous",
    "key-mismatch",
    "no-keys",
    "bad-signature",
    "expired",
    "not-yet-valid",
    "claim-missing",
    "claim-invalid",
    "issuer",
    "audience"
};


static smart_jwt_status_e smart_fail(smart_jwt_status_e status, char *detail,
    size_t detail_len, const char *text);
static smart_jwt_status_e smart_jwt_segments(const char *token, size_t len,
    smart_jwt_segs_t *segs, const char **why);
static smart_jwt_status_e smart_jwt_header(const smart_jwt_segs_t *segs,
    const smart_jwt_policy_t *policy, smart_jwt_t *out, const char **why);
static smart_jwt_status_e smart_jwt_signature(const char *token,
    const smart_jwt_segs_t *segs, const smart_keyset_t *ks,
    const smart_jwt_t *out, const char **why);
static smart_jwt_status_e smart_jwt_claims(const smart_jwt_segs_t *segs,
    const smart_jwt_policy_t *policy, smart_jwt_t *out, const char **why);
static smart_jwt_status_e smart_jwt_times(const smart_jwt_policy_t *policy,
    smart_jwt_t *out, const char **why);
static int smart_json_too_deep(const unsigned char *p, size_t len);
static json_t *smart_json_object(const unsigned char *p, size_t len,
    smart_jwt_status_e *status, const char **why);
static smart_jwt_status_e smart_select_key(const smart_keyset_t *ks,
    unsigned alg, const char *kid, const smart_key_t **key,
    const char **why);
static smart_hash_e smart_alg_hash(unsigned alg);
static const EVP_MD *smart_md(smart_hash_e h);
static int smart_verify_pkey(EVP_PKEY *pkey, int rsa, smart_hash_e h,
    const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
    size_t siglen);
static int smart_verify_hmac(const smart_key_t *key, smart_hash_e h,
    const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
    size_t siglen);
static size_t smart_ecdsa_der(unsigned char *der, const unsigned char *rs,
    size_t coord);
static size_t smart_der_int(unsigned char *p, const unsigned char *v,
    size_t len);
static int smart_claim_time(json_t *payload, const char *name,
    long long *value);
static const char *smart_claim_str(json_t *payload, const char *name);
static int smart_str_match(json_t *s, const smart_str_t *list, size_t n);
static int smart_audience_ok(json_t *aud, const smart_jwt_policy_t *policy);
static int smart_scope(json_t *payload, const char *name, char **scope);
static size_t smart_scope_put(char *dst, size_t n, const char *s, size_t len);
static int smart_patient(json_t *payload, const char *name, smart_jwt_t *out);
static long long smart_sat_add(long long a, long long b);


smart_jwt_status_e
smart_jwt_verify(const char *token, size_t len, const smart_keyset_t *ks,
    const smart_jwt_policy_t *policy, smart_jwt_t *out, char *detail,
    size_t detail_len)
{
    const char          *why;
    smart_jwt_segs_t     segs;
    smart_jwt_status_e   rc;

    if (detail != NULL && detail_len > 0) {
        detail[0] = '\0';
    }

    if (out == NULL || policy == NULL) {
        return smart_fail(SMART_JWT_MALFORMED, detail, detail_len,
                          "no token structure or policy");
    }

    memset(out, 0, sizeof(smart_jwt_t));

    rc = smart_jwt_segments(token, len, &segs, &why);

    if (rc == SMART_JWT_OK) {
        rc = smart_jwt_header(&segs, policy, out, &why);
    }

    if (rc == SMART_JWT_OK) {
        rc = smart_jwt_signature(token, &segs, ks, out, &why);
    }

    if (rc == SMART_JWT_OK) {
        rc = smart_jwt_claims(&segs, policy, out, &why);
    }

    if (rc != SMART_JWT_OK) {
        return smart_fail(rc, detail, detail_len, why);
    }

    return SMART_JWT_OK;
}


smart_jwt_status_e
smart_jwt_check_time(long long exp, long long nbf, long long iat, long leeway,
    time_t now)
{
    long long  n, lw, late;

    n = (long long) now;
    lw = (leeway > 0) ? leeway : 0;

    if (n >= smart_sat_add(exp, lw)) {
        return SMART_JWT_EXPIRED;
    }

    late = smart_sat_add(n, lw);

    if ((nbf != 0 && nbf > late) || (iat != 0 && iat > late)) {
        return SMART_JWT_NOT_YET_VALID;
    }

    return SMART_JWT_OK;
}


void
smart_jwt_release(smart_jwt_t *jwt)
{
    if (jwt == NULL) {
        return;
    }

    if (jwt->header != NULL) {
        json_decref(jwt->header);
    }

    if (jwt->payload != NULL) {
        json_decref(jwt->payload);
    }

    free(jwt->scope);

    memset(jwt, 0, sizeof(smart_jwt_t));
}


const char *
smart_jwt_status_name(smart_jwt_status_e status)
{
    if ((size_t) status
        >= sizeof(smart_status_names) / sizeof(smart_status_names[0]))
    {
        return "unknown";
    }

    return smart_status_names[status];
}


static smart_jwt_status_e
smart_fail(smart_jwt_status_e status, char *detail, size_t detail_len,
    const char *text)
{
    if (detail != NULL && detail_len > 0) {
        (void) snprintf(detail, detail_len, "%s", text);
    }

    /* a failed verification leaves errors that belong to no one */
    ERR_clear_error();

    return status;
}


/* Depth of [ and { outside strings, counted before jansson recurses. */
/* size, then structure: header.payload.signature, each strict base64url */
static smart_jwt_status_e
smart_jwt_segments(const char *token, size_t len, smart_jwt_segs_t *segs,
    const char **why)
{
    size_t  i, dots, seg[3], cap;

    if (token == NULL || len == 0) {
        *why = "empty token";
        return SMART_JWT_MALFORMED;
    }

    if (len > SMART_JWT_MAX_LEN) {
        *why = "token too long";
        return SMART_JWT_MALFORMED;
    }

    dots = 0;
    segs->off[0] = 0;

    for (i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (dots == 2) {
                dots++;
                break;
            }

            seg[dots] = i - segs->off[dots];
            segs->off[++dots] = i + 1;
        }
    }

    if (dots != 2) {
        *why = "not three dot-separated segments";
        return SMART_JWT_MALFORMED;
    }

    seg[2] = len - segs->off[2];

    if (seg[0] == 0 || seg[1] == 0) {
        *why = "empty header or payload segment";
        return SMART_JWT_MALFORMED;
    }

    cap = 0;

    for (i = 0; i < 3; i++) {
        if (smart_b64url_decode(token + segs->off[i], seg[i], segs->buf + cap,
                                sizeof(segs->buf) - cap, &segs->dlen[i])
            != 0)
        {
            *why = "segment is not strict base64url";
            return SMART_JWT_MALFORMED;
        }

        cap += segs->dlen[i];
    }

    return SMART_JWT_OK;
}


/* header: alg against the allow-list, no crit, kid */
static smart_jwt_status_e
smart_jwt_header(const smart_jwt_segs_t *segs,
    const smart_jwt_policy_t *policy, smart_jwt_t *out, const char **why)
{
    json_t              *v;
    unsigned             alg;
    const char          *kid;
    smart_jwt_status_e   rc;

    out->header = smart_json_object(segs->buf, segs->dlen[0], &rc, why);
    if (out->header == NULL) {
        return rc;
    }

    v = json_object_get(out->header, "alg");
    if (!json_is_string(v)) {
        *why = "alg missing or not a string";
        return SMART_JWT_ALG_REFUSED;
    }

    alg = smart_alg_from_name(json_string_value(v), json_string_length(v));

    if (alg == 0) {
        *why = "alg unknown or none";
        return SMART_JWT_ALG_REFUSED;
    }

    if ((alg & policy->algorithms) == 0) {
        *why = "alg not in the allow-list";
        return SMART_JWT_ALG_REFUSED;
    }

    out->alg = alg;

    /* no extension is understood, so none may be critical (RFC 7515 4.1.11) */
    if (json_object_get(out->header, "crit") != NULL) {
        *why = "crit header not supported";
        return SMART_JWT_ALG_REFUSED;
    }

    v = json_object_get(out->header, "kid");

    if (v != NULL) {
        if (!json_is_string(v)) {
            *why = "kid not a string";
            return SMART_JWT_MALFORMED;
        }

        kid = json_string_value(v);

        if (json_string_length(v) == 0
            || json_string_length(v) > SMART_KID_MAX
            || strlen(kid) != json_string_length(v))
        {
            *why = "kid empty or too long";
            return SMART_JWT_MALFORMED;
        }

        out->kid = kid;
    }

    return SMART_JWT_OK;
}


/*
 * Key selection (jku, x5u, jwk and x5c are never looked at), then the
 * signature over the ASCII bytes of "header.payload".
 */
static smart_jwt_status_e
smart_jwt_signature(const char *token, const smart_jwt_segs_t *segs,
    const smart_keyset_t *ks, const smart_jwt_t *out, const char **why)
{
    int                   rc;
    size_t                tbslen;
    smart_hash_e          h;
    const smart_key_t    *key;
    smart_jwt_status_e    st;
    const unsigned char  *tbs, *sig;

    st = smart_select_key(ks, out->alg, out->kid, &key, why);
    if (st != SMART_JWT_OK) {
        return st;
    }

    if (segs->dlen[2] == 0) {
        *why = "empty signature";
        return SMART_JWT_BAD_SIGNATURE;
    }

    h = smart_alg_hash(out->alg);
    tbs = (const unsigned char *) token;
    tbslen = segs->off[2] - 1;
    sig = segs->buf + segs->dlen[0] + segs->dlen[1];

    if (out->alg & SMART_ALG_HS_ALL) {
        rc = smart_verify_hmac(key, h, tbs, tbslen, sig, segs->dlen[2]);

    } else {
        rc = smart_verify_pkey(key->pkey, (out->alg & SMART_ALG_RS_ALL) != 0,
                               h, tbs, tbslen, sig, segs->dlen[2]);
    }

    if (rc != 0) {
        *why = "signature does not verify";
        return SMART_JWT_BAD_SIGNATURE;
    }

    return SMART_JWT_OK;
}


/*
 * Claims: the payload is parsed only once it is authentic.  exp is
 * required, nbf and iat are checked when present, then iss, aud, the
 * scope and the patient claim.
 */
static smart_jwt_status_e
smart_jwt_claims(const smart_jwt_segs_t *segs,
    const smart_jwt_policy_t *policy, smart_jwt_t *out, const char **why)
{
    smart_jwt_status_e  rc;

    out->payload = smart_json_object(segs->buf + segs->dlen[0],
                                     segs->dlen[1], &rc, why);
    if (out->payload == NULL) {
        return rc;
    }

    out->iss = smart_claim_str(out->payload, "iss");
    out->sub = smart_claim_str(out->payload, "sub");
    out->jti = smart_claim_str(out->payload, "jti");
    out->fhir_user = smart_claim_str(out->payload, "fhirUser");
    out->client_id = smart_claim_str(out->payload, "client_id");

    if (out->client_id == NULL) {
        out->client_id = smart_claim_str(out->payload, "azp");
    }

    rc = smart_jwt_times(policy, out, why);
    if (rc != SMART_JWT_OK) {
        return rc;
    }

    if (policy->nissuers == 0) {
        *why = "no accepted issuer configured";
        return SMART_JWT_ISSUER;
    }

    if (!smart_str_match(json_object_get(out->payload, "iss"),
                         policy->issuers, policy->nissuers))
    {
        *why = "iss missing or not accepted";
        return SMART_JWT_ISSUER;
    }

    if (!smart_audience_ok(json_object_get(out->payload, "aud"), policy)) {
        *why = "aud missing or not accepted";
        return SMART_JWT_AUDIENCE;
    }

    if (smart_scope(out->payload, policy->scope_claim, &out->scope) != 0) {
        *why = "scope claim not a string or array of strings";
        return SMART_JWT_CLAIM_INVALID;
    }

    if (smart_patient(out->payload, policy->patient_claim, out) != 0) {
        *why = "patient claim not a FHIR id";
        return SMART_JWT_CLAIM_INVALID;
    }

    return SMART_JWT_OK;
}


/* exp (required), nbf and iat read, then checked against policy->now */
static smart_jwt_status_e
smart_jwt_times(const smart_jwt_policy_t *policy, smart_jwt_t *out,
    const char **why)
{
    smart_jwt_status_e  rc;

    switch (smart_claim_time(out->payload, "exp", &out->exp)) {
    case 0:
        *why = "exp claim missing";
        return SMART_JWT_CLAIM_MISSING;
    case -1:
        *why = "exp claim not a number in range";
        return SMART_JWT_CLAIM_INVALID;
    }

    if (smart_claim_time(out->payload, "nbf", &out->nbf) < 0) {
        *why = "nbf claim not a number in range";
        return SMART_JWT_CLAIM_INVALID;
    }

    if (smart_claim_time(out->payload, "iat", &out->iat) < 0) {
        *why = "iat claim not a number in range";
        return SMART_JWT_CLAIM_INVALID;
    }

    rc = smart_jwt_check_time(out->exp, out->nbf, out->iat, policy->leeway,
                              policy->now);

    if (rc == SMART_JWT_EXPIRED) {
        *why = "token expired";
        return rc;
    }

    if (rc != SMART_JWT_OK) {
        *why = "nbf or iat in the future";
        return rc;
    }

    return SMART_JWT_OK;
}


static int
smart_json_too_deep(const unsigned char *p, size_t len)
{
    int     depth, in_str;
    size_t  i;

    depth = 0;
    in_str = 0;

    for (i = 0; i < len; i++) {
        if (in_str) {
            if (p[i] == '\\') {
                i++;

            } else if (p[i] == '"') {
                in_str = 0;
            }

            continue;
        }

        switch (p[i]) {
        case '"':
            in_str = 1;
            break;

        case '{':
        case '[':
            if (++depth > SMART_JWT_MAX_DEPTH) {
                return 1;
            }
            break;

        case '}':
        case ']':
            if (depth > 0) {
                depth--;
            }
            break;
        }
    }

    return 0;
}


static json_t *
smart_json_object(const unsigned char *p, size_t len,
    smart_jwt_status_e *status, const char **why)
{
    json_t        *j;
    json_error_t   jerr;

    *status = SMART_JWT_MALFORMED;

    if (smart_json_too_deep(p, len)) {
        *why = "JSON nested too deep";
        return NULL;
    }

    j = json_loadb((const char *) p, len, JSON_REJECT_DUPLICATES, &jerr);

    if (j == NULL) {
        *why = "not valid JSON or duplicate member";
        return NULL;
    }

    if (!json_is_object(j)) {
        json_decref(j);
        *why = "JSON is not an object";
        return NULL;
    }

    return j;
}


/*
 * The key's algs pin the algorithm: an HS token never meets an RSA key, an
 * ES384 token never meets a P-256 key.
 */
static smart_jwt_status_e
smart_select_key(const smart_keyset_t *ks, unsigned alg, const char *kid,
    const smart_key_t **key, const char **why)
{
    size_t              i, nfit;
    const smart_key_t  *k;

    *key = NULL;

    if (ks == NULL || ks->nkeys == 0) {
        *why = "no verification keys loaded";
        return SMART_JWT_NO_KEYS;
    }

    if (kid != NULL) {
        for (i = 0; i < ks->nkeys; i++) {
            k = &ks->keys[i];

            if (k->kid != NULL && strcmp(k->kid, kid) == 0) {
                if ((k->algs & alg) == 0) {
                    *why = "key for kid does not fit alg";
                    return SMART_JWT_KEY_MISMATCH;
                }

                *key = k;
                break;
            }
        }

        if (*key == NULL) {
            *why = "no key with this kid";
            return SMART_JWT_KID_UNKNOWN;
        }

    } else {
        nfit = 0;

        for (i = 0; i < ks->nkeys; i++) {
            if (ks->keys[i].algs & alg) {
                *key = &ks->keys[i];
                nfit++;
            }
        }

        if (nfit != 1) {
            *key = NULL;
            *why = "no kid and not exactly one key fits alg";
            return SMART_JWT_KEY_AMBIGUOUS;
        }
    }

    k = *key;

    if ((alg & SMART_ALG_HS_ALL) ? (k->type != SMART_KEY_HMAC
                                    || k->secret == NULL)
        : (alg & SMART_ALG_RS_ALL) ? (k->type != SMART_KEY_RSA
                                      || k->pkey == NULL)
        : (k->type != SMART_KEY_EC || k->pkey == NULL))
    {
        *key = NULL;
        *why = "key type does not fit alg";
        return SMART_JWT_KEY_MISMATCH;
    }

    return SMART_JWT_OK;
}


static smart_hash_e
smart_alg_hash(unsigned alg)
{
    if (alg & (SMART_ALG_RS256 | SMART_ALG_ES256 | SMART_ALG_HS256)) {
        return SMART_SHA256;
    }

    if (alg & (SMART_ALG_RS384 | SMART_ALG_ES384 | SMART_ALG_HS384)) {
        return SMART_SHA384;
    }

    return SMART_SHA512;
}


static const EVP_MD *
smart_md(smart_hash_e h)
{
    if (smart_md_cache[h] == NULL) {
        smart_md_cache[h] = EVP_MD_fetch(NULL, smart_hash_names[h], NULL);
    }

    return smart_md_cache[h];
}


/* RSASSA-PKCS1-v1_5 (rsa != 0) or ECDSA with the JOSE R||S signature. */
static int
smart_verify_pkey(EVP_PKEY *pkey, int rsa, smart_hash_e h,
    const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
    size_t siglen)
{
    int             rc;
    size_t          coord;
    EVP_PKEY_CTX   *pctx;
    const EVP_MD   *md;
    unsigned char   der[SMART_ECDSA_DER_MAX];

    md = smart_md(h);

    if (md == NULL) {
        return -1;
    }

    if (rsa) {
        if ((int) siglen != EVP_PKEY_get_size(pkey)) {
            return -1;
        }

    } else {
        /* RFC 7518 3.4: exactly R||S, each the size of the curve order */
        coord = (h == SMART_SHA256) ? 32 : (h == SMART_SHA384) ? 48 : 66;

        if (siglen != 2 * coord) {
            return -1;
        }

        siglen = smart_ecdsa_der(der, sig, coord);
        sig = der;
    }

    if (smart_md_ctx == NULL) {
        smart_md_ctx = EVP_MD_CTX_new();

        if (smart_md_ctx == NULL) {
            return -1;
        }
    }

    pctx = NULL;
    rc = -1;

    if (EVP_DigestVerifyInit(smart_md_ctx, &pctx, md, NULL, pkey) == 1
        && (!rsa
            || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1)
        && EVP_DigestVerify(smart_md_ctx, sig, siglen, tbs, tbslen) == 1)
    {
        rc = 0;
    }

    (void) EVP_MD_CTX_reset(smart_md_ctx);

    return rc;
}


static int
smart_verify_hmac(const smart_key_t *key, smart_hash_e h,
    const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
    size_t siglen)
{
    int            rc;
    size_t         maclen;
    OSSL_PARAM     params[2];
    EVP_MAC_CTX   *ctx;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    if (smart_hmac == NULL) {
        smart_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);

        if (smart_hmac == NULL) {
            return -1;
        }
    }

    if (smart_hmac_ctx[h] == NULL) {
        ctx = EVP_MAC_CTX_new(smart_hmac);

        if (ctx == NULL) {
            return -1;
        }

        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                    (char *) smart_hash_names[h], 0);
        params[1] = OSSL_PARAM_construct_end();

        if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
            EVP_MAC_CTX_free(ctx);
            return -1;
        }

        smart_hmac_ctx[h] = ctx;
    }

    ctx = smart_hmac_ctx[h];

    /* a new key re-initialises the context; the digest stays set */
    if (EVP_MAC_init(ctx, key->secret, key->secret_len, NULL) != 1
        || EVP_MAC_update(ctx, tbs, tbslen) != 1
        || EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) != 1)
    {
        return -1;
    }

    rc = (siglen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0) ? 0 : -1;

    OPENSSL_cleanse(mac, sizeof(mac));

    return rc;
}


/* R||S (each coord bytes) to DER ECDSA-Sig-Value; der holds the maximum. */
static size_t
smart_ecdsa_der(unsigned char *der, const unsigned char *rs, size_t coord)
{
    size_t         n, body;
    unsigned char  tmp[SMART_ECDSA_DER_MAX];

    body = smart_der_int(tmp, rs, coord);
    body += smart_der_int(tmp + body, rs + coord, coord);

    n = 0;
    der[n++] = 0x30;

    if (body >= 0x80) {
        der[n++] = 0x81;
    }

    der[n++] = (unsigned char) body;
    memcpy(der + n, tmp, body);

    return n + body;
}


/* A non-negative DER INTEGER of v[0..len), len <= 66; returns its size. */
static size_t
smart_der_int(unsigned char *p, const unsigned char *v, size_t len)
{
    size_t  n, pad;

    while (len > 1 && v[0] == 0) {
        v++;
        len--;
    }

    pad = (v[0] & 0x80) ? 1 : 0;
    n = 0;

    p[n++] = 0x02;
    p[n++] = (unsigned char) (len + pad);

    if (pad) {
        p[n++] = 0x00;
    }

    memcpy(p + n, v, len);

    return n + len;
}


/* 1 with *value set, 0 absent, -1 not a number or out of range. */
static int
smart_claim_time(json_t *payload, const char *name, long long *value)
{
    double      d;
    json_t     *v;
    long long   t;

    v = json_object_get(payload, name);

    if (v == NULL) {
        return 0;
    }

    if (json_is_integer(v)) {
        t = json_integer_value(v);

        if ((double) t >= SMART_TIME_LIMIT || (double) t <= -SMART_TIME_LIMIT)
        {
            return -1;
        }

        *value = t;
        return 1;
    }

    if (!json_is_real(v)) {
        return -1;
    }

    d = json_real_value(v);

    if (!(d < SMART_TIME_LIMIT && d > -SMART_TIME_LIMIT)) {
        return -1;
    }

    /* floor() without libm: truncate, then step down for negatives */
    t = (long long) d;

    if ((double) t > d) {
        t--;
    }

    *value = t;

    return 1;
}


static const char *
smart_claim_str(json_t *payload, const char *name)
{
    json_t  *v;

    v = json_object_get(payload, name);

    return json_is_string(v) ? json_string_value(v) : NULL;
}


/* Byte-exact comparison of a JSON string with one of n accepted values. */
static int
smart_str_match(json_t *s, const smart_str_t *list, size_t n)
{
    size_t       i, len;
    const char  *p;

    if (!json_is_string(s) || list == NULL) {
        return 0;
    }

    p = json_string_value(s);
    len = json_string_length(s);

    for (i = 0; i < n; i++) {
        if (list[i].len == len
            && (len == 0 || memcmp(list[i].data, p, len) == 0))
        {
            return 1;
        }
    }

    return 0;
}


static int
smart_audience_ok(json_t *aud, const smart_jwt_policy_t *policy)
{
    int      ok;
    size_t   i;
    json_t  *v;

    if (policy->naudiences == 0) {
        return 0;
    }

    if (json_is_string(aud)) {
        return smart_str_match(aud, policy->audiences, policy->naudiences);
    }

    if (!json_is_array(aud)) {
        return 0;
    }

    ok = 0;

    json_array_foreach(aud, i, v) {
        if (!json_is_string(v)) {
            return 0;
        }

        if (smart_str_match(v, policy->audiences, policy->naudiences)) {
            ok = 1;
        }
    }

    return ok;
}


/*
 * The scope claim (or "scp" when it is absent) as one string of scopes
 * separated by single spaces.  0 with *scope NULL when both are absent.
 */
static int
smart_scope(json_t *payload, const char *name, char **scope)
{
    char    *s;
    size_t   i, n, total;
    json_t  *claim, *v;

    *scope = NULL;

    claim = json_object_get(payload, name != NULL ? name : "scope");

    if (claim == NULL) {
        claim = json_object_get(payload, "scp");
    }

    if (claim == NULL) {
        return 0;
    }

    if (json_is_string(claim)) {
        total = json_string_length(claim);

    } else if (json_is_array(claim)) {
        total = 0;

        json_array_foreach(claim, i, v) {
            if (!json_is_string(v)) {
                return -1;
            }

            total += json_string_length(v) + 1;
        }

    } else {
        return -1;
    }

    s = malloc(total + 1);
    if (s == NULL) {
        return -1;
    }

    if (json_is_string(claim)) {
        n = smart_scope_put(s, 0, json_string_value(claim), total);

    } else {
        n = 0;

        json_array_foreach(claim, i, v) {
            n = smart_scope_put(s, n, json_string_value(v),
                                json_string_length(v));
        }
    }

    s[n] = '\0';
    *scope = s;

    return 0;
}


/* Appends the space-separated words of s to dst[0..n), one space apart. */
static size_t
smart_scope_put(char *dst, size_t n, const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == ' ') {
            continue;
        }

        if (n > 0 && (i == 0 || s[i - 1] == ' ')) {
            dst[n++] = ' ';
        }

        dst[n++] = s[i];
    }

    return n;
}


/*
 * The launch patient: a string, or an integer rendered into patient_buf.
 * It must be a FHIR id ([A-Za-z0-9.-]{1,64}) because it is compared with
 * and written into FHIR paths and queries.  Absent or null: no patient.
 */
static int
smart_patient(json_t *payload, const char *name, smart_jwt_t *out)
{
    json_t      *v;
    size_t       i, len;
    const char  *p;

    v = json_object_get(payload, name != NULL ? name : "patient");

    if (v == NULL || json_is_null(v)) {
        return 0;
    }

    if (json_is_integer(v)) {
        (void) snprintf(out->patient_buf, sizeof(out->patient_buf),
                        "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        out->patient = out->patient_buf;
        return 0;
    }

    if (!json_is_string(v)) {
        return -1;
    }

    p = json_string_value(v);
    len = json_string_length(v);

    if (len == 0 || len > SMART_FHIR_ID_MAX) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '.'))
        {
            return -1;
        }
    }

    out->patient = p;

    return 0;
}


static long long
smart_sat_add(long long a, long long b)
{
    if (b > 0 && a > LLONG_MAX - b) {
        return LLONG_MAX;
    }

    if (b < 0 && a < LLONG_MIN - b) {
        return LLONG_MIN;
    }

    return a + b;
}
