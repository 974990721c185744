
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: JWT access token verification.
 *
 * The token is split and decoded here (strict JSON: duplicate members and
 * deep nesting are refused), the algorithm is pinned against the allow-list
 * and the selected key's type before any signature check, the signature is
 * verified with OpenSSL EVP on keys parsed at load time, and the registered
 * claims are checked.  Plain C: no NGINX headers.
 */

#ifndef SMART_JWT_H
#define SMART_JWT_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "smart_jwks.h"


#define SMART_JWT_MAX_LEN    16384   /* bytes of the compact serialization */
#define SMART_JWT_MAX_DEPTH  16      /* JSON nesting in header and payload */


typedef enum {
    SMART_JWT_OK = 0,
    SMART_JWT_MALFORMED,        /* not three base64url segments, bad JSON,
                                   duplicate members, too deep, too long */
    SMART_JWT_ALG_REFUSED,      /* alg none/unknown/not allowed, crit */
    SMART_JWT_KID_UNKNOWN,      /* no key with this kid (refresh may help) */
    SMART_JWT_KEY_AMBIGUOUS,    /* no kid and not exactly one fitting key */
    SMART_JWT_KEY_MISMATCH,     /* key exists but does not fit alg */
    SMART_JWT_NO_KEYS,          /* key set empty: configuration problem */
    SMART_JWT_BAD_SIGNATURE,
    SMART_JWT_EXPIRED,
    SMART_JWT_NOT_YET_VALID,    /* nbf in the future, or iat in the future */
    SMART_JWT_CLAIM_MISSING,    /* exp (or another required claim) absent */
    SMART_JWT_CLAIM_INVALID,    /* claim of the wrong JSON type */
    SMART_JWT_ISSUER,
    SMART_JWT_AUDIENCE
} smart_jwt_status_e;


typedef struct {
    const char        *data;
    size_t             len;
} smart_str_t;


typedef struct {
    unsigned           algorithms;  /* SMART_ALG_* allow-list */
    const smart_str_t *issuers;     /* accepted iss values */
    size_t             nissuers;
    const smart_str_t *audiences;   /* accepted aud values */
    size_t             naudiences;
    long               leeway;      /* seconds */
    const char        *scope_claim;   /* NULL: "scope" */
    const char        *patient_claim; /* NULL: "patient" */
    time_t             now;
} smart_jwt_policy_t;


/*
 * A verified (or partly decoded) token.  String members point into payload
 * (owned by it) or are NULL when the claim is absent or not a string.
 * scope is the scope claim joined with single spaces (owned by the token);
 * the claim is read from policy->scope_claim, then "scp" when absent, and may
 * be a space-separated string or an array of strings.
 */
typedef struct {
    unsigned           alg;         /* SMART_ALG_* of the header */
    const char        *kid;         /* header kid or NULL */
    json_t            *header;
    json_t            *payload;
    const char        *iss;
    const char        *sub;
    const char        *client_id;   /* client_id, else azp */
    const char        *patient;     /* policy->patient_claim (string/number) */
    const char        *fhir_user;   /* fhirUser */
    const char        *jti;
    char              *scope;
    long long          exp;
    long long          nbf;         /* 0 when absent */
    long long          iat;         /* 0 when absent */
    char               patient_buf[32]; /* numeric patient claim as text */
} smart_jwt_t;


/*
 * Verifies token[0..len) against ks and policy.  Order: size, structure,
 * header (alg allow-list, crit, kid), key selection and algorithm pinning,
 * signature, then claims (exp required; nbf, iat; iss; aud).  On any status
 * the caller must call smart_jwt_release(out) (safe on a zeroed struct).
 * detail, when not NULL, receives a short reason for the error log; it never
 * contains token bytes or claim values.
 */
smart_jwt_status_e smart_jwt_verify(const char *token, size_t len,
    const smart_keyset_t *ks, const smart_jwt_policy_t *policy,
    smart_jwt_t *out, char *detail, size_t detail_len);

/*
 * The time checks alone (exp required and > now - leeway; nbf and iat, when
 * not 0, <= now + leeway).  smart_jwt_verify() uses it, and so does a
 * token-cache hit, whose signature, issuer and audience were checked when the
 * entry was made under the same policy.
 */
smart_jwt_status_e smart_jwt_check_time(long long exp, long long nbf,
    long long iat, long leeway, time_t now);

void smart_jwt_release(smart_jwt_t *jwt);

const char *smart_jwt_status_name(smart_jwt_status_e status);

#endif /* SMART_JWT_H */
