
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the SMART scope grammar (docs/scopes.md,
 * docs/scopes.md "Scope grammar").
 *
 * smart_scope_parse() compiles the scope claim of a verified token into a
 * read-only set (one allocation, released with smart_scope_set_free()):
 * the resource scopes that parsed exactly, and a record of
 * every scope that was ignored, with a typed reason.  A scope that does not
 * parse exactly never grants anything and is never reinterpreted as
 * something broader; a non-resource scope (openid, launch/patient, ...) is
 * kept apart from the malformed ones so that the explanation tool can tell
 * "not an authorization scope" from "a broken authorization scope".
 *
 * Resource types are kept as raw strings that only passed the syntax check
 * [A-Z][A-Za-z]{0,63}; whether a type exists in FHIR R4 is for the consumer
 * to decide.  Granular restrictions are parsed and percent-decoded here, but
 * their meaning (which searches they allow) is the policy engine's business:
 * smart_scope_match() deliberately ignores them and hands back the matching
 * scopes instead.
 *
 * Plain C99: no NGINX headers, malloc()/free() only.
 */

#ifndef SMART_SCOPE_H
#define SMART_SCOPE_H

#include <stddef.h>


/* Bounds.  Input beyond them is ignored and reported, never truncated into
 * a scope: a truncated granular scope would be broader than the original. */
#define SMART_SCOPE_MAX_INPUT    8192   /* bytes of the claim examined */
#define SMART_SCOPE_MAX_SCOPES   256    /* scopes (of any kind) examined */
#define SMART_SCOPE_MAX_LEN      1024   /* bytes of one scope */
#define SMART_SCOPE_MAX_TYPE     64     /* bytes of a resource type name */


/* Contexts are bits, so that a caller can pass a mask of acceptable ones. */
typedef enum {
    SMART_SCOPE_PATIENT = 0x01,
    SMART_SCOPE_USER    = 0x02,
    SMART_SCOPE_SYSTEM  = 0x04
} smart_scope_context_e;

#define SMART_SCOPE_ANY_CONTEXT  0x07


/* Permissions, in the SMART v2 letter order c, r, u, d, s. */
#define SMART_SCOPE_C      0x01     /* create */
#define SMART_SCOPE_R      0x02     /* read, vread, history */
#define SMART_SCOPE_U      0x04     /* update, patch */
#define SMART_SCOPE_D      0x08     /* delete */
#define SMART_SCOPE_S      0x10     /* search */
#define SMART_SCOPE_CRUDS  0x1f

/* SMART v1 permission words mapped onto v2 letters (SMART 2.2, "Scopes for
 * requesting clinical data", v1 to v2 mapping). */
#define SMART_SCOPE_V1_READ   (SMART_SCOPE_R | SMART_SCOPE_S)
#define SMART_SCOPE_V1_WRITE  (SMART_SCOPE_C | SMART_SCOPE_U | SMART_SCOPE_D)
#define SMART_SCOPE_V1_ALL    SMART_SCOPE_CRUDS


/*
 * Why a scope was ignored.  The order groups the reasons by kind (see
 * smart_scope_reason_kind()); names are stable and appear in explanations.
 */
typedef enum {
    /* not a resource scope: ignored for authorization, not an error */
    SMART_SCOPE_NR_IDENTITY = 0,    /* openid, fhirUser, profile */
    SMART_SCOPE_NR_LAUNCH,          /* launch, launch/... */
    SMART_SCOPE_NR_REFRESH,         /* offline_access, online_access */
    SMART_SCOPE_NR_URI,             /* scheme://..., urn:... */
    SMART_SCOPE_NR_EXTENSION,       /* __... */
    SMART_SCOPE_NR_OTHER,           /* a bare word: email, api:read, ... */

    /* a malformed scope: never grants anything */
    SMART_SCOPE_BAD_NUL,            /* NUL byte inside the scope */
    SMART_SCOPE_BAD_WHITESPACE,     /* tab, CR, LF, VT or FF inside */
    SMART_SCOPE_BAD_CHAR,           /* other control byte or non-ASCII */
    SMART_SCOPE_BAD_CONTEXT,        /* not patient/, user/ or system/ */
    SMART_SCOPE_BAD_TYPE_MISSING,   /* patient/.rs */
    SMART_SCOPE_BAD_TYPE,           /* patient/observation.rs */
    SMART_SCOPE_BAD_PERMS_MISSING,  /* patient/Observation (no dot) */
    SMART_SCOPE_BAD_DOTS,           /* patient/Observation.r.s */
    SMART_SCOPE_BAD_PERMS_EMPTY,    /* patient/Observation. */
    SMART_SCOPE_BAD_PERMS_UNKNOWN,  /* patient/Observation.rx, .RS, .Read */
    SMART_SCOPE_BAD_PERMS_REPEAT,   /* patient/Observation.rrs */
    SMART_SCOPE_BAD_PERMS_ORDER,    /* patient/Observation.sr */
    SMART_SCOPE_BAD_GRANULAR_V1,    /* patient/Observation.read?a=b */
    SMART_SCOPE_BAD_GRANULAR_SYNTAX,    /* trailing ?, &&, leading/trailing & */
    SMART_SCOPE_BAD_GRANULAR_NAME,  /* parameter name empty or bad char */
    SMART_SCOPE_BAD_GRANULAR_NO_EQUALS, /* ?category */
    SMART_SCOPE_BAD_GRANULAR_EMPTY, /* ?category= */
    SMART_SCOPE_BAD_GRANULAR_CHAR,  /* raw '=', '?' or '#' in a value */
    SMART_SCOPE_BAD_ESCAPE,         /* '%' not followed by two hex digits */
    SMART_SCOPE_BAD_DECODED,        /* escape decodes to a control byte or
                                       the value is not valid UTF-8 */

    /* beyond a bound: ignored, never truncated */
    SMART_SCOPE_LIMIT_SCOPE_LEN,    /* one scope over SMART_SCOPE_MAX_LEN */
    SMART_SCOPE_LIMIT_COUNT,        /* marker: scopes after the 256th */
    SMART_SCOPE_LIMIT_INPUT,        /* marker: scopes ending past 8 KiB */

    SMART_SCOPE_REASON__COUNT
} smart_scope_reason_e;


typedef enum {
    SMART_SCOPE_KIND_NON_RESOURCE = 0,
    SMART_SCOPE_KIND_INVALID,
    SMART_SCOPE_KIND_LIMIT
} smart_scope_kind_e;


/* One granular restriction: name as written, value percent-decoded.  Both
 * are NUL-terminated and contain no NUL byte; len excludes the NUL. */
typedef struct {
    const char            *name;
    size_t                 name_len;
    const char            *value;
    size_t                 value_len;
} smart_scope_param_t;


/* One resource scope that parsed exactly. */
typedef struct {
    smart_scope_context_e  context;
    const char            *type;        /* "*" or the raw type name,
                                           NUL-terminated */
    size_t                 type_len;
    unsigned               is_wildcard; /* 1 when type is "*" */
    unsigned               perms;       /* SMART_SCOPE_C | ..., never 0 */
    unsigned               v1;          /* 1: written as read, write or * */

    /* granular restrictions in the order written; repeats are kept (they
     * mean AND, as in a FHIR search).  nparams == 0: unrestricted. */
    const smart_scope_param_t  *params;
    size_t                 nparams;

    const char            *raw;         /* the scope as received (not */
    size_t                 raw_len;     /* NUL-terminated) */
} smart_scope_t;


/* One ignored scope, or a limit marker (raw NULL, count >= 1). */
typedef struct {
    smart_scope_reason_e   reason;
    const char            *raw;         /* as received, not NUL-terminated; */
    size_t                 raw_len;     /* may hold NUL and control bytes */
    size_t                 count;       /* 1, or scopes behind a marker */
} smart_scope_ignored_t;


/*
 * The compiled scope claim.  Read-only for consumers; every pointer in it
 * stays valid until smart_scope_set_free().
 */
typedef struct {
    const smart_scope_t          *scopes;   /* in the order received */
    size_t                        nscopes;
    const smart_scope_ignored_t  *ignored;  /* in the order received, limit
                                               markers last */
    size_t                        nignored;

    size_t                        n_nonresource;
    size_t                        n_invalid;
    size_t                        n_limit;  /* scopes dropped by a bound,
                                               markers' counts included */

    unsigned                      has_patient_scopes;
    unsigned                      has_user_scopes;
    unsigned                      has_system_scopes;
} smart_scope_set_t;


/*
 * Compiles s[0..len).  Scopes are separated by runs of spaces (0x20); any
 * other byte, NUL included, belongs to a scope.  Never fails on content:
 * returns NULL only when memory runs out or when s is NULL and len is not 0,
 * and the caller must then treat the token as granting nothing.  s == NULL
 * with len == 0 gives an empty set.
 */
smart_scope_set_t *smart_scope_parse(const char *s, size_t len);

void smart_scope_set_free(smart_scope_set_t *set);


/*
 * Finds the scopes that grant every permission in need (a non-zero subset
 * of SMART_SCOPE_CRUDS) on resource type type[0..len), with a context in
 * ctx_mask, granular restrictions ignored.  A scope on "*" matches every
 * type; type "*" (a request on all types, e.g. system-level search) is
 * matched only by scopes on "*".
 *
 * Pointers to the matching scopes, in set order, are written to match[] up
 * to cap of them (match may be NULL when cap is 0).  Returns the number of
 * matching scopes, which may exceed cap; 0 means nothing grants it, as does
 * an invalid need, an empty ctx_mask or a NULL set.
 */
size_t smart_scope_match(const smart_scope_set_t *set, unsigned ctx_mask,
    const char *type, size_t type_len, unsigned need,
    const smart_scope_t **match, size_t cap);


/*
 * Canonical text of a scope: context/type.letters (v1 words printed as the
 * equivalent v2 letters), then ?name=value&... with each value
 * percent-encoded where needed (bytes outside 0x21-0x7e and % & = ? #) so
 * that the text parses back into the same scope.  snprintf() semantics:
 * returns the full length without the NUL, writes at most cap bytes with a
 * NUL when cap is not 0.  Returns 0 and writes "" for a NULL scope.
 */
size_t smart_scope_format(char *buf, size_t cap, const smart_scope_t *sc);

/*
 * Parses SMART v2 letters l[0..len) ("rs", "cruds"): a non-empty subset of
 * c r u d s, in that order, without repeats.  Returns the mask, or 0 for
 * anything else (v1 words included).
 */
unsigned smart_scope_letters(const char *l, size_t len);

/*
 * The letters of perms in canonical order ("rs"; "" for 0), from a static
 * table.  NULL when perms has bits outside SMART_SCOPE_CRUDS.
 */
const char *smart_scope_perm_string(unsigned perms);

/* "patient", "user", "system", or NULL. */
const char *smart_scope_context_name(smart_scope_context_e ctx);

/* Stable short name ("permission-order"), or NULL when out of range. */
const char *smart_scope_reason_name(smart_scope_reason_e reason);

/* A sentence for a reviewer, or NULL when out of range. */
const char *smart_scope_reason_text(smart_scope_reason_e reason);

/* The kind of a reason; SMART_SCOPE_KIND_INVALID when out of range. */
smart_scope_kind_e smart_scope_reason_kind(smart_scope_reason_e reason);

#endif /* SMART_SCOPE_H */
