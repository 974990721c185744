
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: verification key sets.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "smart_b64.h"
#include "smart_jwks.h"


/*
 * Beyond 8192 bits a key buys nothing but verification time; an exponent
 * wider than 64 bits is not something any issuer publishes.
 */
#define SMART_RSA_MAX_BITS   8192
#define SMART_RSA_E_MAX_LEN  8
#define SMART_EC_COORD_MAX   66


typedef struct {
    const char        *name;
    unsigned           alg;
} smart_alg_entry_t;


typedef struct {
    const char        *crv;         /* JWK "crv" */
    const char        *group;       /* OpenSSL group name */
    int                nid;
    size_t             coord;       /* bytes of one coordinate */
    unsigned           alg;
} smart_curve_t;


static const smart_alg_entry_t  smart_algs[] = {
    { "RS256", SMART_ALG_RS256 },
    { "RS384", SMART_ALG_RS384 },
    { "RS512", SMART_ALG_RS512 },
    { "ES256", SMART_ALG_ES256 },
    { "ES384", SMART_ALG_ES384 },
    { "ES512", SMART_ALG_ES512 },
    { "HS256", SMART_ALG_HS256 },
    { "HS384", SMART_ALG_HS384 },
    { "HS512", SMART_ALG_HS512 }
};

static const smart_curve_t  smart_curves[] = {
    { "P-256", "prime256v1", NID_X9_62_prime256v1, 32, SMART_ALG_ES256 },
    { "P-384", "secp384r1", NID_secp384r1, 48, SMART_ALG_ES384 },
    { "P-521", "secp521r1", NID_secp521r1, 66, SMART_ALG_ES512 }
};

#define SMART_NALGS    (sizeof(smart_algs) / sizeof(smart_algs[0]))
#define SMART_NCURVES  (sizeof(smart_curves) / sizeof(smart_curves[0]))

/* members that only a private JWK carries (RFC 7518 6.2.2, 6.3.2) */
static const char  *smart_private_members[] = {
    "d", "p", "q", "dp", "dq", "qi", "oth"
};


static void smart_err(char *err, size_t errlen, const char *fmt, ...);
static void smart_key_clear(smart_key_t *key);
static int smart_keyset_append(smart_keyset_t *ks, smart_key_t *keys,
    size_t n, char *err, size_t errlen);
static int smart_kid_taken(const smart_keyset_t *ks, const smart_key_t *keys,
    size_t n, const char *kid);
static int smart_rsa_check(const BIGNUM *n, const BIGNUM *e, char *err,
    size_t errlen, const char *what);
static int smart_pkey_classify(EVP_PKEY *pkey, smart_key_type_e *type,
    unsigned *algs, char *err, size_t errlen, const char *what);
static int smart_jwk_parse(json_t *jwk, size_t idx, smart_key_t *key,
    char *err, size_t errlen);
static int smart_jwk_alg_kid(json_t *jwk, size_t idx, unsigned *alg,
    json_t **kid, char *err, size_t errlen);
static int smart_jwk_flag_skip(json_t *jwk, size_t idx, char *err,
    size_t errlen);
static int smart_jwk_b64(json_t *jwk, const char *name, unsigned char *buf,
    size_t cap, size_t *len);
static EVP_PKEY *smart_jwk_rsa(json_t *jwk, const char *what, char *err,
    size_t errlen);
static EVP_PKEY *smart_jwk_ec(json_t *jwk, const char *what, int *skip,
    char *err, size_t errlen);
static EVP_PKEY *smart_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld);
static const smart_curve_t *smart_curve_by_nid(int nid);
static int smart_contains(const char *hay, size_t len, const char *needle);


unsigned
smart_alg_from_name(const char *name, size_t len)
{
    size_t  i;

    if (name == NULL) {
        return 0;
    }

    for (i = 0; i < SMART_NALGS; i++) {
        if (strlen(smart_algs[i].name) == len
            && memcmp(smart_algs[i].name, name, len) == 0)
        {
            return smart_algs[i].alg;
        }
    }

    return 0;
}


const char *
smart_alg_name(unsigned alg)
{
    size_t  i;

    for (i = 0; i < SMART_NALGS; i++) {
        if (smart_algs[i].alg == alg) {
            return smart_algs[i].name;
        }
    }

    return NULL;
}


smart_keyset_t *
smart_keyset_new(void)
{
    return calloc(1, sizeof(smart_keyset_t));
}


void
smart_keyset_free(smart_keyset_t *ks)
{
    size_t  i;

    if (ks == NULL) {
        return;
    }

    for (i = 0; i < ks->nkeys; i++) {
        smart_key_clear(&ks->keys[i]);
    }

    free(ks->keys);
    free(ks);
}


unsigned
smart_keyset_algs(const smart_keyset_t *ks)
{
    size_t    i;
    unsigned  algs;

    algs = 0;

    if (ks == NULL) {
        return 0;
    }

    for (i = 0; i < ks->nkeys; i++) {
        algs |= ks->keys[i].algs;
    }

    return algs;
}


int
smart_keyset_add_jwks(smart_keyset_t *ks, const char *json, size_t len,
    char *err, size_t errlen)
{
    int           rc;
    size_t        i, n, nkeys;
    json_t       *doc, *keys;
    smart_key_t   key;
    smart_key_t   tmp[SMART_JWKS_MAX_KEYS];
    json_error_t  jerr;

    smart_err(err, errlen, "%s", "");

    if (ks == NULL || json == NULL) {
        smart_err(err, errlen, "no JWKS document");
        return -1;
    }

    if (len > SMART_JWKS_MAX_SIZE) {
        smart_err(err, errlen, "JWKS larger than %d bytes",
                  SMART_JWKS_MAX_SIZE);
        return -1;
    }

    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        smart_err(err, errlen, "JWKS is not valid JSON (line %d, column %d)",
                  jerr.line, jerr.column);
        return -1;
    }

    keys = json_object_get(doc, "keys");

    if (!json_is_object(doc) || !json_is_array(keys)) {
        json_decref(doc);
        smart_err(err, errlen, "JWKS is not an object with a \"keys\" array");
        return -1;
    }

    nkeys = json_array_size(keys);
    n = 0;

    for (i = 0; i < nkeys; i++) {
        rc = smart_jwk_parse(json_array_get(keys, i), i, &key, err, errlen);

        if (rc == 0) {
            continue;
        }

        if (rc == 1 && n == SMART_JWKS_MAX_KEYS) {
            smart_key_clear(&key);
            smart_err(err, errlen, "JWKS has more than %d usable keys",
                      SMART_JWKS_MAX_KEYS);
            rc = -1;
        }

        if (rc == 1 && key.kid != NULL
            && smart_kid_taken(ks, tmp, n, key.kid))
        {
            smart_key_clear(&key);
            smart_err(err, errlen, "keys[%zu]: duplicate kid", i);
            rc = -1;
        }

        if (rc == -1) {
            while (n > 0) {
                smart_key_clear(&tmp[--n]);
            }

            json_decref(doc);
            return -1;
        }

        tmp[n++] = key;
    }

    json_decref(doc);

    if (smart_keyset_append(ks, tmp, n, err, errlen) != 0) {
        while (n > 0) {
            smart_key_clear(&tmp[--n]);
        }

        return -1;
    }

    return (int) n;
}


int
smart_keyset_add_pem(smart_keyset_t *ks, const char *pem, size_t len,
    char *err, size_t errlen)
{
    BIO               *bio;
    EVP_PKEY          *pkey;
    smart_key_t        key;
    OSSL_DECODER_CTX  *dctx;

    smart_err(err, errlen, "%s", "");

    if (ks == NULL || pem == NULL) {
        smart_err(err, errlen, "no PEM key");
        return -1;
    }

    if (len > SMART_JWKS_MAX_SIZE) {
        smart_err(err, errlen, "PEM key file larger than %d bytes",
                  SMART_JWKS_MAX_SIZE);
        return -1;
    }

    /* a private key on the gateway is a deployment mistake: say so */
    if (smart_contains(pem, len, "PRIVATE KEY-----")) {
        smart_err(err, errlen, "PEM holds a private key, not a public key");
        return -1;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        smart_err(err, errlen, "out of memory");
        return -1;
    }

    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (pkey == NULL && smart_contains(pem, len, "BEGIN RSA PUBLIC KEY-----")) {
        ERR_clear_error();

        bio = BIO_new_mem_buf(pem, (int) len);
        if (bio == NULL) {
            smart_err(err, errlen, "out of memory");
            return -1;
        }

        dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", "type-specific",
                                             "RSA", EVP_PKEY_PUBLIC_KEY,
                                             NULL, NULL);
        if (dctx == NULL || OSSL_DECODER_from_bio(dctx, bio) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }

        OSSL_DECODER_CTX_free(dctx);
        BIO_free(bio);
    }

    if (pkey == NULL) {
        ERR_clear_error();
        smart_err(err, errlen, "no PUBLIC KEY or RSA PUBLIC KEY PEM block");
        return -1;
    }

    memset(&key, 0, sizeof(smart_key_t));
    key.pkey = pkey;

    if (smart_pkey_classify(pkey, &key.type, &key.algs, err, errlen, "PEM")
        != 0
        || smart_keyset_append(ks, &key, 1, err, errlen) != 0)
    {
        smart_key_clear(&key);
        return -1;
    }

    return 1;
}


int
smart_keyset_add_hmac(smart_keyset_t *ks, const unsigned char *secret,
    size_t len, char *err, size_t errlen)
{
    smart_key_t  key;

    smart_err(err, errlen, "%s", "");

    if (ks == NULL || secret == NULL) {
        smart_err(err, errlen, "no HMAC secret");
        return -1;
    }

    if (len < SMART_HMAC_MIN_LEN) {
        smart_err(err, errlen, "HMAC secret shorter than %d bytes",
                  SMART_HMAC_MIN_LEN);
        return -1;
    }

    if (len > SMART_JWKS_MAX_SIZE) {
        smart_err(err, errlen, "HMAC secret longer than %d bytes",
                  SMART_JWKS_MAX_SIZE);
        return -1;
    }

    memset(&key, 0, sizeof(smart_key_t));
    key.type = SMART_KEY_HMAC;

    /* RFC 7518 3.2: the key is at least as long as the hash output */
    key.algs = SMART_ALG_HS256;

    if (len >= 48) {
        key.algs |= SMART_ALG_HS384;
    }

    if (len >= 64) {
        key.algs |= SMART_ALG_HS512;
    }

    key.secret = malloc(len);
    if (key.secret == NULL) {
        smart_err(err, errlen, "out of memory");
        return -1;
    }

    memcpy(key.secret, secret, len);
    key.secret_len = len;

    if (smart_keyset_append(ks, &key, 1, err, errlen) != 0) {
        smart_key_clear(&key);
        return -1;
    }

    return 1;
}


static void
smart_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    (void) vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


static void
smart_key_clear(smart_key_t *key)
{
    free(key->kid);
    EVP_PKEY_free(key->pkey);

    if (key->secret != NULL) {
        OPENSSL_cleanse(key->secret, key->secret_len);
        free(key->secret);
    }

    memset(key, 0, sizeof(smart_key_t));
}


/* Moves keys[0..n) into ks; on failure ks and keys are untouched. */
static int
smart_keyset_append(smart_keyset_t *ks, smart_key_t *keys, size_t n,
    char *err, size_t errlen)
{
    size_t        want;
    smart_key_t  *p;

    if (n == 0) {
        return 0;
    }

    if (ks->nkeys + n > ks->nalloc) {
        want = ks->nalloc * 2;

        if (want < ks->nkeys + n) {
            want = ks->nkeys + n;
        }

        p = realloc(ks->keys, want * sizeof(smart_key_t));
        if (p == NULL) {
            smart_err(err, errlen, "out of memory");
            return -1;
        }

        ks->keys = p;
        ks->nalloc = want;
    }

    memcpy(&ks->keys[ks->nkeys], keys, n * sizeof(smart_key_t));
    ks->nkeys += n;

    return 0;
}


static int
smart_kid_taken(const smart_keyset_t *ks, const smart_key_t *keys, size_t n,
    const char *kid)
{
    size_t  i;

    for (i = 0; i < ks->nkeys; i++) {
        if (ks->keys[i].kid != NULL && strcmp(ks->keys[i].kid, kid) == 0) {
            return 1;
        }
    }

    for (i = 0; i < n; i++) {
        if (keys[i].kid != NULL && strcmp(keys[i].kid, kid) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * Parses one JWK into key.  Returns 1 when the key is kept, 0 when it is
 * skipped (not a signature key, or a type, curve or algorithm this module
 * does not verify), -1 with err set when the member values are unusable.
 */
static int
smart_jwk_parse(json_t *jwk, size_t idx, smart_key_t *key, char *err,
    size_t errlen)
{
    int                rc, skip;
    char               what[32];
    size_t             i;
    json_t            *kty, *kid;
    unsigned           alg, algs;
    const char        *s;
    smart_key_type_e   type;

    memset(key, 0, sizeof(smart_key_t));

    if (!json_is_object(jwk)) {
        smart_err(err, errlen, "keys[%zu]: not an object", idx);
        return -1;
    }

    for (i = 0; i < sizeof(smart_private_members) / sizeof(char *); i++) {
        if (json_object_get(jwk, smart_private_members[i]) != NULL) {
            smart_err(err, errlen, "keys[%zu]: private key material (\"%s\")",
                      idx, smart_private_members[i]);
            return -1;
        }
    }

    kty = json_object_get(jwk, "kty");
    if (!json_is_string(kty)) {
        smart_err(err, errlen, "keys[%zu]: \"kty\" missing or not a string",
                  idx);
        return -1;
    }

    rc = smart_jwk_flag_skip(jwk, idx, err, errlen);
    if (rc != 1) {
        return rc;
    }

    s = json_string_value(kty);

    if (strcmp(s, "RSA") != 0 && strcmp(s, "EC") != 0) {
        return 0;
    }

    rc = smart_jwk_alg_kid(jwk, idx, &alg, &kid, err, errlen);
    if (rc != 1) {
        return rc;
    }

    skip = 0;
    (void) snprintf(what, sizeof(what), "keys[%zu]", idx);

    if (strcmp(s, "RSA") == 0) {
        key->pkey = smart_jwk_rsa(jwk, what, err, errlen);

    } else {
        key->pkey = smart_jwk_ec(jwk, what, &skip, err, errlen);
    }

    if (key->pkey == NULL) {
        return skip ? 0 : -1;
    }

    if (smart_pkey_classify(key->pkey, &type, &algs, err, errlen, what) != 0) {
        smart_key_clear(key);
        return -1;
    }

    if (alg != 0) {
        if ((algs & alg) == 0) {
            smart_err(err, errlen, "keys[%zu]: \"alg\" does not fit the key "
                      "type or curve", idx);
            smart_key_clear(key);
            return -1;
        }

        algs = alg;
    }

    key->type = type;
    key->algs = algs;

    if (kid != NULL) {
        key->kid = strdup(json_string_value(kid));

        if (key->kid == NULL) {
            smart_err(err, errlen, "out of memory");
            smart_key_clear(key);
            return -1;
        }
    }

    return 1;
}


/* "use" and "key_ops": 1 keep, 0 skip, -1 malformed. */
/*
 * The optional "alg" and "kid" members of a JWK: 1 with *alg (0 when
 * absent) and *kid (the member, NULL when absent) set, 0 when alg names an
 * algorithm this module does not verify, -1 with err set when either is
 * malformed.
 */
static int
smart_jwk_alg_kid(json_t *jwk, size_t idx, unsigned *alg, json_t **kid,
    char *err, size_t errlen)
{
    size_t   klen;
    json_t  *v;

    *alg = 0;
    *kid = NULL;
    v = json_object_get(jwk, "alg");

    if (v != NULL) {
        if (!json_is_string(v)) {
            smart_err(err, errlen, "keys[%zu]: \"alg\" not a string", idx);
            return -1;
        }

        *alg = smart_alg_from_name(json_string_value(v),
                                   json_string_length(v));

        if (*alg == 0) {
            /* PS256, RSA-OAEP, EdDSA...: not ours to verify */
            return 0;
        }
    }

    v = json_object_get(jwk, "kid");

    if (v != NULL) {
        if (!json_is_string(v)) {
            smart_err(err, errlen, "keys[%zu]: \"kid\" not a string", idx);
            return -1;
        }

        klen = json_string_length(v);

        if (klen == 0 || klen > SMART_KID_MAX
            || strlen(json_string_value(v)) != klen)
        {
            smart_err(err, errlen, "keys[%zu]: \"kid\" empty or longer than "
                      "%d bytes", idx, SMART_KID_MAX);
            return -1;
        }
    }

    *kid = v;

    return 1;
}


static int
smart_jwk_flag_skip(json_t *jwk, size_t idx, char *err, size_t errlen)
{
    int      verify;
    size_t   i;
    json_t  *v, *op;

    v = json_object_get(jwk, "use");

    if (v != NULL) {
        if (!json_is_string(v)) {
            smart_err(err, errlen, "keys[%zu]: \"use\" not a string", idx);
            return -1;
        }

        if (strcmp(json_string_value(v), "sig") != 0) {
            return 0;
        }
    }

    v = json_object_get(jwk, "key_ops");

    if (v == NULL) {
        return 1;
    }

    if (!json_is_array(v)) {
        smart_err(err, errlen, "keys[%zu]: \"key_ops\" not an array", idx);
        return -1;
    }

    verify = 0;

    json_array_foreach(v, i, op) {
        if (!json_is_string(op)) {
            smart_err(err, errlen, "keys[%zu]: \"key_ops\" member not a "
                      "string", idx);
            return -1;
        }

        if (strcmp(json_string_value(op), "verify") == 0) {
            verify = 1;
        }
    }

    return verify;
}


/* Decodes a base64url string member; -1 when absent, not a string, bad. */
static int
smart_jwk_b64(json_t *jwk, const char *name, unsigned char *buf, size_t cap,
    size_t *len)
{
    json_t  *v;

    v = json_object_get(jwk, name);

    if (!json_is_string(v)) {
        return -1;
    }

    return smart_b64url_decode(json_string_value(v), json_string_length(v),
                               buf, cap, len);
}


static EVP_PKEY *
smart_jwk_rsa(json_t *jwk, const char *what, char *err, size_t errlen)
{
    size_t           nlen, elen;
    BIGNUM          *n, *e;
    EVP_PKEY        *pkey;
    OSSL_PARAM_BLD  *bld;
    unsigned char    nbuf[SMART_RSA_MAX_BITS / 8 + 1];
    unsigned char    ebuf[SMART_RSA_E_MAX_LEN];

    if (smart_jwk_b64(jwk, "n", nbuf, sizeof(nbuf), &nlen) != 0
        || nlen == 0)
    {
        smart_err(err, errlen, "%s: \"n\" missing, not base64url or larger "
                  "than %d bits", what, SMART_RSA_MAX_BITS);
        return NULL;
    }

    if (smart_jwk_b64(jwk, "e", ebuf, sizeof(ebuf), &elen) != 0
        || elen == 0)
    {
        smart_err(err, errlen, "%s: \"e\" missing, not base64url or too "
                  "large", what);
        return NULL;
    }

    pkey = NULL;
    n = BN_bin2bn(nbuf, (int) nlen, NULL);
    e = BN_bin2bn(ebuf, (int) elen, NULL);
    bld = OSSL_PARAM_BLD_new();

    if (n == NULL || e == NULL || bld == NULL
        || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1
        || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
    {
        smart_err(err, errlen, "out of memory");
        goto done;
    }

    /* checked before OpenSSL sees the numbers, with a reason to log */
    if (smart_rsa_check(n, e, err, errlen, what) != 0) {
        goto done;
    }

    pkey = smart_pkey_fromdata("RSA", bld);

    if (pkey == NULL) {
        smart_err(err, errlen, "%s: RSA key refused by OpenSSL", what);
    }

done:

    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    return pkey;
}


static EVP_PKEY *
smart_jwk_ec(json_t *jwk, const char *what, int *skip, char *err,
    size_t errlen)
{
    size_t                i, xlen, ylen;
    json_t               *crv;
    EVP_PKEY             *pkey;
    OSSL_PARAM_BLD       *bld;
    const smart_curve_t  *c;
    unsigned char         pt[1 + 2 * SMART_EC_COORD_MAX];

    crv = json_object_get(jwk, "crv");

    if (!json_is_string(crv)) {
        smart_err(err, errlen, "%s: \"crv\" missing or not a string", what);
        return NULL;
    }

    c = NULL;

    for (i = 0; i < SMART_NCURVES; i++) {
        if (strcmp(json_string_value(crv), smart_curves[i].crv) == 0) {
            c = &smart_curves[i];
            break;
        }
    }

    if (c == NULL) {
        /* secp256k1, X25519...: not a curve this module verifies */
        *skip = 1;
        return NULL;
    }

    /* RFC 7518 6.2.1.2: each coordinate is the full size of the field */
    if (smart_jwk_b64(jwk, "x", pt + 1, c->coord + 1, &xlen) != 0
        || xlen != c->coord
        || smart_jwk_b64(jwk, "y", pt + 1 + c->coord, c->coord + 1, &ylen)
           != 0
        || ylen != c->coord)
    {
        smart_err(err, errlen, "%s: \"x\" or \"y\" missing, not base64url or "
                  "not %zu bytes", what, c->coord);
        return NULL;
    }

    pt[0] = 0x04;
    pkey = NULL;
    bld = OSSL_PARAM_BLD_new();

    if (bld == NULL
        || OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           c->group, 0) != 1
        || OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            pt, 1 + 2 * c->coord) != 1)
    {
        smart_err(err, errlen, "out of memory");
        OSSL_PARAM_BLD_free(bld);
        return NULL;
    }

    pkey = smart_pkey_fromdata("EC", bld);
    OSSL_PARAM_BLD_free(bld);

    if (pkey == NULL) {
        smart_err(err, errlen, "%s: EC point is not on curve %s", what,
                  c->crv);
    }

    return pkey;
}


static EVP_PKEY *
smart_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY      *pkey;
    OSSL_PARAM    *params;
    EVP_PKEY_CTX  *ctx;

    pkey = NULL;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        EVP_PKEY_free(pkey);
        pkey = NULL;
        ERR_clear_error();
    }

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);

    return pkey;
}


static int
smart_rsa_check(const BIGNUM *n, const BIGNUM *e, char *err, size_t errlen,
    const char *what)
{
    int  bits;

    bits = BN_num_bits(n);

    if (bits < SMART_RSA_MIN_BITS) {
        smart_err(err, errlen, "%s: RSA key of %d bits, at least %d required",
                  what, bits, SMART_RSA_MIN_BITS);
        return -1;
    }

    if (bits > SMART_RSA_MAX_BITS) {
        smart_err(err, errlen, "%s: RSA key larger than %d bits", what,
                  SMART_RSA_MAX_BITS);
        return -1;
    }

    /* an even modulus, or e of 1 (the signature is the message), is junk */
    if (!BN_is_odd(n) || !BN_is_odd(e) || BN_num_bits(e) < 2
        || BN_num_bits(e) > SMART_RSA_E_MAX_LEN * 8)
    {
        smart_err(err, errlen, "%s: RSA modulus or exponent invalid", what);
        return -1;
    }

    return 0;
}


/*
 * Decides what a parsed public key may verify, and refuses what it may not:
 * small or odd-shaped RSA keys, EC keys off the three JOSE curves or whose
 * point fails OpenSSL's public key check (on the curve, right order).
 */
static int
smart_pkey_classify(EVP_PKEY *pkey, smart_key_type_e *type, unsigned *algs,
    char *err, size_t errlen, const char *what)
{
    int                   rc, nid;
    char                  group[64];
    BIGNUM               *n, *e;
    EVP_PKEY_CTX         *ctx;
    const smart_curve_t  *c;

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        n = NULL;
        e = NULL;

        if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1
            || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
        {
            smart_err(err, errlen, "%s: RSA key without modulus", what);
            rc = -1;

        } else {
            rc = smart_rsa_check(n, e, err, errlen, what);
        }

        BN_free(n);
        BN_free(e);
        ERR_clear_error();

        if (rc != 0) {
            return -1;
        }

        *type = SMART_KEY_RSA;
        *algs = SMART_ALG_RS_ALL;

        return 0;
    }

    if (!EVP_PKEY_is_a(pkey, "EC")) {
        smart_err(err, errlen, "%s: key type is neither RSA nor EC", what);
        return -1;
    }

    if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1) {
        ERR_clear_error();
        smart_err(err, errlen, "%s: EC key without a named curve", what);
        return -1;
    }

    nid = OBJ_sn2nid(group);

    if (nid == NID_undef) {
        nid = EC_curve_nist2nid(group);
    }

    c = smart_curve_by_nid(nid);

    if (c == NULL) {
        smart_err(err, errlen, "%s: EC curve is not P-256, P-384 or P-521",
                  what);
        return -1;
    }

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    rc = (ctx != NULL && EVP_PKEY_public_check(ctx) == 1) ? 0 : -1;
    EVP_PKEY_CTX_free(ctx);

    if (rc != 0) {
        ERR_clear_error();
        smart_err(err, errlen, "%s: EC point is not a valid point of %s",
                  what, c->crv);
        return -1;
    }

    *type = SMART_KEY_EC;
    *algs = c->alg;

    return 0;
}


static const smart_curve_t *
smart_curve_by_nid(int nid)
{
    size_t  i;

    for (i = 0; i < SMART_NCURVES; i++) {
        if (smart_curves[i].nid == nid) {
            return &smart_curves[i];
        }
    }

    return NULL;
}


static int
smart_contains(const char *hay, size_t len, const char *needle)
{
    size_t  i, n;

    n = strlen(needle);

    for (i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return 1;
        }
    }

    return 0;
}
