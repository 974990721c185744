
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: verification key sets.
 *
 * A key set holds public keys (RSA, EC) or one HMAC secret, each parsed once
 * into an OpenSSL EVP_PKEY (or raw secret) at load time, so that the request
 * path never parses key material.  Plain C: no NGINX headers.
 */

#ifndef SMART_JWKS_H
#define SMART_JWKS_H

#include <stddef.h>
#include <openssl/evp.h>


/* JWS algorithms, as bits so that an allow-list is one unsigned. */
#define SMART_ALG_RS256     0x0001
#define SMART_ALG_RS384     0x0002
#define SMART_ALG_RS512     0x0004
#define SMART_ALG_ES256     0x0008
#define SMART_ALG_ES384     0x0010
#define SMART_ALG_ES512     0x0020
#define SMART_ALG_HS256     0x0040
#define SMART_ALG_HS384     0x0080
#define SMART_ALG_HS512     0x0100

#define SMART_ALG_RS_ALL    (SMART_ALG_RS256|SMART_ALG_RS384|SMART_ALG_RS512)
#define SMART_ALG_ES_ALL    (SMART_ALG_ES256|SMART_ALG_ES384|SMART_ALG_ES512)
#define SMART_ALG_HS_ALL    (SMART_ALG_HS256|SMART_ALG_HS384|SMART_ALG_HS512)
#define SMART_ALG_DEFAULT   (SMART_ALG_RS_ALL|SMART_ALG_ES_ALL)

#define SMART_KID_MAX       256     /* longest kid accepted anywhere */
#define SMART_JWKS_MAX_KEYS 64      /* keys kept from one JWKS document */
#define SMART_JWKS_MAX_SIZE (256 * 1024)
#define SMART_RSA_MIN_BITS  2048
#define SMART_HMAC_MIN_LEN  32      /* bytes; RFC 7518 3.2 for HS256 */


typedef enum {
    SMART_KEY_RSA = 1,
    SMART_KEY_EC,
    SMART_KEY_HMAC
} smart_key_type_e;


typedef struct {
    char              *kid;         /* NUL-terminated; NULL when absent */
    smart_key_type_e   type;
    unsigned           algs;        /* SMART_ALG_* this key may verify */
    EVP_PKEY          *pkey;        /* RSA and EC */
    unsigned char     *secret;      /* HMAC */
    size_t             secret_len;
} smart_key_t;


typedef struct {
    smart_key_t       *keys;
    size_t             nkeys;
    size_t             nalloc;
} smart_keyset_t;


/* Returns the SMART_ALG_* bit for a JOSE name ("RS256"), 0 if unknown. */
unsigned smart_alg_from_name(const char *name, size_t len);
/* Returns the JOSE name of one SMART_ALG_* bit, NULL if not exactly one. */
const char *smart_alg_name(unsigned alg);

smart_keyset_t *smart_keyset_new(void);
void smart_keyset_free(smart_keyset_t *ks);

/*
 * Each loader appends to ks and returns the number of keys added (>= 0), or
 * -1 with a one-line reason in err (always NUL-terminated) when the input is
 * unusable; on -1 the key set is left exactly as it was.
 *
 * smart_keyset_add_jwks(): RFC 7517 JWK Set.  RSA (n, e; at least
 * SMART_RSA_MIN_BITS) and EC (P-256, P-384, P-521) keys are loaded; keys with
 * "use" other than "sig", or a "key_ops" without "verify", or an unsupported
 * "kty" (including "oct": shared secrets never come from a JWKS) are skipped.
 * A key's "alg", when present, narrows the algorithms it may verify and must
 * fit its type and curve.  A duplicate kid, a private key ("d" present) or
 * malformed key members fail the whole document.
 */
int smart_keyset_add_jwks(smart_keyset_t *ks, const char *json, size_t len,
    char *err, size_t errlen);

/* One PEM public key (SubjectPublicKeyInfo or RSA PUBLIC KEY), no kid. */
int smart_keyset_add_pem(smart_keyset_t *ks, const char *pem, size_t len,
    char *err, size_t errlen);

/* One HMAC secret (raw bytes, trailing newline not stripped here), no kid. */
int smart_keyset_add_hmac(smart_keyset_t *ks, const unsigned char *secret,
    size_t len, char *err, size_t errlen);

/* Union of the algorithms of all keys. */
unsigned smart_keyset_algs(const smart_keyset_t *ks);

#endif /* SMART_JWKS_H */
