
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: FHIR REST request classification.
 *
 * smart_fhir_classify() turns the raw request (method, path below the FHIR
 * base, query string, form body) into one of the interactions of
 * docs/scopes.md, with the resource type, ids, operation and the decoded search
 * parameters, or refuses it as INVALID (400 request-invalid) with a reason.
 * It decides nothing about scopes: the policy engine consumes the result.
 *
 * The path is checked before anything is decoded, and only a narrow set of
 * bytes is accepted: [A-Za-z0-9], '-', '.', '_', '$', '*' and '/' as
 * separator.  No '%' at all (FHIR types, ids, version ids, "_history",
 * "_search" and "$op" never need encoding), so the path the policy sees is
 * byte for byte the path the upstream receives.  docs/classifier.md lists
 * every rule.  Plain C: no NGINX headers.
 */

#ifndef SMART_FHIR_H
#define SMART_FHIR_H

#include <stddef.h>

#include "smart_fhir_tables.h"


#define SMART_FHIR_MAX_PATH      512     /* raw path bytes below the base */
#define SMART_FHIR_MAX_INPUT     1048576 /* raw query + form body +
                                            If-None-Exist bytes */
#define SMART_FHIR_MAX_PARAMS    100     /* parameters, all sources */
#define SMART_FHIR_MAX_NAME      128     /* decoded parameter name bytes */
#define SMART_FHIR_MAX_VALUE     4096    /* decoded value bytes */
#define SMART_FHIR_MAX_VALUES    256     /* comma-separated pieces a value */
#define SMART_FHIR_MAX_ID        64      /* FHIR id: [A-Za-z0-9.-]{1,64} */
#define SMART_FHIR_MAX_OP        64      /* operation name without '$' */


typedef enum {
    SMART_FHIR_OK = 0,
    SMART_FHIR_INVALID,         /* refuse: 400 request-invalid */
    SMART_FHIR_NOMEM            /* allocation failed: no result at all */
} smart_fhir_status_e;


/* Why a request is INVALID; stable names via smart_fhir_reason_name(). */
typedef enum {
    SMART_FHIR_R_NONE = 0,
    SMART_FHIR_R_METHOD_OVERRIDE,   /* X-HTTP-Method-Override or a _method
                                       parameter */
    SMART_FHIR_R_METHOD,            /* not GET HEAD POST PUT PATCH DELETE */
    SMART_FHIR_R_PATH_TOO_LONG,     /* over SMART_FHIR_MAX_PATH */
    SMART_FHIR_R_PATH_PERCENT,      /* any '%' in the path */
    SMART_FHIR_R_PATH_BACKSLASH,    /* '\' in the path */
    SMART_FHIR_R_PATH_SEMICOLON,    /* ';' path parameter */
    SMART_FHIR_R_PATH_CHAR,         /* control, space, '#', '?', non-ASCII or
                                       any other byte outside the set */
    SMART_FHIR_R_PATH_EMPTY_SEGMENT,    /* leading, doubled or trailing '/' */
    SMART_FHIR_R_PATH_DOT_SEGMENT,  /* segment made of dots only */
    SMART_FHIR_R_PATH_SHAPE,        /* no interaction has this path shape */
    SMART_FHIR_R_METHOD_NOT_ALLOWED,    /* shape exists, not for this method */
    SMART_FHIR_R_UNKNOWN_TYPE,      /* not an R4 resource type (path, _type,
                                       _include, _revinclude) */
    SMART_FHIR_R_BAD_ID,            /* id or version id syntax */
    SMART_FHIR_R_BAD_OPERATION,     /* $name syntax */
    SMART_FHIR_R_COMPARTMENT,       /* compartment other than Patient */
    SMART_FHIR_R_CONDITIONAL,       /* PUT/PATCH/DELETE on a type without
                                       search parameters */
    SMART_FHIR_R_QUERY_CHAR,        /* raw control, space, '#' or ';' in the
                                       query, form body or If-None-Exist */
    SMART_FHIR_R_QUERY_ENCODING,    /* bad %XX, decoded control or NUL,
                                       invalid UTF-8 */
    SMART_FHIR_R_QUERY_LIMIT,       /* a SMART_FHIR_MAX_* bound exceeded */
    SMART_FHIR_R_PARAM_NAME,        /* empty or malformed parameter name */
    SMART_FHIR_R_PARAM_VALUE,       /* malformed _include/_revinclude */
    SMART_FHIR_R_BODY_NOT_FORM,     /* POST _search body that is not
                                       application/x-www-form-urlencoded */
    /*
     * Parsing differentials (docs/security.md): servers are known to read
     * these differently from the gateway, so they are refused by rule.
     */
    SMART_FHIR_R_QUERY_QMARK,       /* '?' inside a query, form body or
                                       If-None-Exist; in conditional
                                       criteria also as "%3F" */
    SMART_FHIR_R_IF_NONE_EXIST,     /* If-None-Exist repeated, or with a
                                       '?' ("Type?criteria" form) */
    SMART_FHIR_R_HEADER_REPEATED,   /* Content-Type repeated */
    SMART_FHIR_R_BODY_ENCODED,      /* a body with a Content-Encoding */
    SMART_FHIR_R_BODY_UNEXPECTED    /* a body on GET, HEAD or DELETE */
} smart_fhir_reason_e;


/* In comments below STAR stands for the '*' path segment. */
typedef enum {
    SMART_FHIR_I_NONE = 0,          /* only in INVALID results */
    SMART_FHIR_I_CAPABILITIES,      /* GET metadata,
                                       GET .well-known/smart-configuration */
    SMART_FHIR_I_READ,              /* GET T/id */
    SMART_FHIR_I_VREAD,             /* GET T/id/_history/vid */
    SMART_FHIR_I_HISTORY_INSTANCE,  /* GET T/id/_history */
    SMART_FHIR_I_HISTORY_TYPE,      /* GET T/_history */
    SMART_FHIR_I_HISTORY_SYSTEM,    /* GET _history */
    SMART_FHIR_I_SEARCH_TYPE,       /* GET T, POST T/_search */
    SMART_FHIR_I_SEARCH_SYSTEM,     /* GET (base), POST _search */
    SMART_FHIR_I_SEARCH_COMPARTMENT,    /* GET Patient/id/T, Patient/id/STAR,
                                       POST Patient/id/(T|*)/_search */
    SMART_FHIR_I_CREATE,            /* POST T */
    SMART_FHIR_I_UPDATE,            /* PUT T/id, PUT T?criteria */
    SMART_FHIR_I_PATCH,             /* PATCH T/id, PATCH T?criteria */
    SMART_FHIR_I_DELETE,            /* DELETE T/id, DELETE T?criteria */
    SMART_FHIR_I_BATCH_OR_TRANSACTION,  /* POST (base); the Bundle.type in
                                       the body decides which */
    SMART_FHIR_I_OPERATION,         /* GET/POST $op, T/$op, T/id/$op */
    /* never produced by the classifier: for the policy engine once it has
       read Bundle.type, so that names stay in one place */
    SMART_FHIR_I_BATCH,
    SMART_FHIR_I_TRANSACTION
} smart_fhir_interaction_e;


typedef enum {
    SMART_FHIR_M_NONE = 0,          /* only in INVALID results */
    SMART_FHIR_M_GET,               /* also HEAD, see smart_fhir_req_t.head */
    SMART_FHIR_M_POST,
    SMART_FHIR_M_PUT,
    SMART_FHIR_M_PATCH,
    SMART_FHIR_M_DELETE
} smart_fhir_method_e;


typedef enum {
    SMART_FHIR_OP_NONE = 0,         /* not an operation */
    SMART_FHIR_OP_SYSTEM,           /* $op */
    SMART_FHIR_OP_TYPE,             /* T/$op */
    SMART_FHIR_OP_INSTANCE          /* T/id/$op */
} smart_fhir_op_level_e;


/* Where a parameter came from. */
typedef enum {
    SMART_FHIR_SRC_QUERY = 0,       /* URL query string */
    SMART_FHIR_SRC_BODY,            /* form body of POST _search */
    SMART_FHIR_SRC_IF_NONE_EXIST    /* If-None-Exist header of a create */
} smart_fhir_src_e;


/* Parameters the policy treats specially; everything else is NORMAL. */
typedef enum {
    SMART_FHIR_P_NORMAL = 0,
    SMART_FHIR_P_TYPE,              /* _type: type list (see req.types) */
    SMART_FHIR_P_INCLUDE,           /* _include (see includes) */
    SMART_FHIR_P_REVINCLUDE,        /* _revinclude (see includes) */
    SMART_FHIR_P_HAS,               /* _has:T:ref:param (reverse chain) */
    SMART_FHIR_P_FILTER,            /* _filter */
    SMART_FHIR_P_QUERY,             /* _query (named query) */
    SMART_FHIR_P_LIST,              /* _list */
    SMART_FHIR_P_CONTAINED          /* _contained, _containedType */
} smart_fhir_pkind_e;


/* One comma-separated piece of an _include/_revinclude value. */
typedef struct {
    int                          src_type;  /* type index before the first
                                               ':'; -1 for "*" */
    const char                  *param;     /* search parameter code, "*",
                                               or NULL for a bare "*" */
    int                          target_type;   /* type index of the optional
                                               third part, -1 when absent */
    int                          wildcard;  /* 1 when any part is "*" */
} smart_fhir_include_t;


/*
 * One search parameter.  Strings are NUL-terminated and contain no NUL and
 * no control character (such input is INVALID), and are valid UTF-8.
 *
 * The decoded name "subject:Patient.name:exact" splits into name "subject",
 * modifier "Patient" and chain "name:exact"; "patient.identifier" into name
 * "patient" and chain "identifier"; "code:text" into name "code" and
 * modifier "text".  For _has the whole rest after "_has:" is the modifier.
 */
typedef struct {
    smart_fhir_src_e             source;
    smart_fhir_pkind_e           kind;
    const char                  *raw_name;  /* whole decoded name */
    const char                  *name;      /* before the first ':' or '.' */
    const char                  *modifier;  /* after ':' up to '.', or NULL */
    const char                  *chain;     /* after the first '.', or NULL:
                                               non-NULL means chained */
    int                          has_equals;    /* "name=..." vs bare "name" */
    const char                  *value;     /* decoded whole value ("" when
                                               absent) */
    size_t                       value_len;
    /*
     * The value split on commas that are not escaped as "\,", after
     * percent-decoding, as the FHIR server splits it: "%2C" is a comma
     * exactly like ",".  Pieces keep their '\' escapes as sent, so a piece
     * containing '\' never equals a FHIR id.  Empty pieces are kept
     * ("a,,b" gives "a", "", "b").  At least one piece.
     */
    const char *const           *values;
    size_t                       nvalues;
    /* _include / _revinclude only: one entry per piece */
    const smart_fhir_include_t  *includes;
    size_t                       nincludes;
    int                          iterate;   /* :iterate (or :recurse) */
} smart_fhir_param_t;


/* Feature flags over all parameters, for quick policy checks. */
#define SMART_FHIR_F_CHAIN          0x0001  /* a parameter has a chain */
#define SMART_FHIR_F_HAS            0x0002  /* _has */
#define SMART_FHIR_F_FILTER         0x0004  /* _filter */
#define SMART_FHIR_F_INCLUDE        0x0008  /* _include */
#define SMART_FHIR_F_REVINCLUDE     0x0010  /* _revinclude */
#define SMART_FHIR_F_INCLUDE_WILD   0x0020  /* '*' in _include/_revinclude */
#define SMART_FHIR_F_ITERATE        0x0040  /* :iterate on an include */
#define SMART_FHIR_F_QUERY          0x0080  /* _query */
#define SMART_FHIR_F_LIST           0x0100  /* _list */
#define SMART_FHIR_F_CONTAINED      0x0200  /* _contained, _containedType */
#define SMART_FHIR_F_TYPE           0x0400  /* _type */


/*
 * The request as the glue (or the CLI, or a Bundle entry) sees it.  Lengths
 * count bytes; pointers need no NUL and may be NULL when the length is 0.
 */
typedef struct {
    const char                  *method;    /* "GET", case-sensitive */
    size_t                       method_len;
    /* raw request path below smart_fhir_base, without the leading '/', not
       decoded and not normalised (NGINX: from r->unparsed_uri, never from
       r->uri), without '?' and query; "" is the base itself */
    const char                  *path;
    size_t                       path_len;
    /* raw query string without '?' (NGINX: r->args); NULL/0: none */
    const char                  *query;
    size_t                       query_len;
    /* request body; only read for POST [..]/_search */
    const char                  *body;
    size_t                       body_len;
    int                          body_is_form;  /* Content-Type is
                                        application/x-www-form-urlencoded */
    /* raw If-None-Exist header (search parameters), only read for
       create */
    const char                  *if_none_exist;
    size_t                       if_none_exist_len;
    /* 1 when the request carried more than one If-None-Exist header
       (servers join or pick them differently): INVALID for a create */
    int                          if_none_exist_repeated;
    /* 1 when X-HTTP-Method-Override (or X-HTTP-Method, X-Method-Override)
       is present with any value */
    int                          method_override;
    /*
     * How the request's body is framed, as the glue saw it.  Each is a
     * parsing differential (docs/security.md) and refused: a body on GET,
     * HEAD or DELETE (frameworks merge form bodies into the parameters of
     * any method), a body with a Content-Encoding (the server decodes what
     * the gateway judged encoded), a repeated Content-Type (the server may
     * pick the other one).
     */
    int                          body_sent;     /* Content-Length > 0 or
                                                   chunked */
    int                          body_encoded;  /* Content-Encoding other
                                                   than identity */
    int                          content_type_repeated;
} smart_fhir_input_t;


/*
 * The classification.  Allocated by smart_fhir_classify() and released
 * with smart_fhir_req_free(); every pointer inside points into memory owned
 * by the result (or into the static tables) and lives as long as it.
 *
 * When status is INVALID only status, reason, detail, method and head are
 * set; everything else is zero / NULL / -1, never a partial
 * classification.
 */
typedef struct {
    smart_fhir_status_e          status;    /* OK or INVALID */
    smart_fhir_reason_e          reason;    /* SMART_FHIR_R_NONE when OK */
    const char                  *detail;    /* static text for logs and
                                               X-Smart-Decision; never
                                               contains request bytes */

    smart_fhir_method_e          method;    /* HEAD is reported as GET */
    int                          head;      /* 1 when the method was HEAD */
    smart_fhir_interaction_e     interaction;

    /* resource type the interaction is about, -1 when none (system level,
       capabilities, Patient/id/STAR); for compartment searches the searched
       type T, not Patient */
    int                          type;
    const char                  *type_name; /* smart_fhir_types[type].name */
    const char                  *id;        /* logical id, or NULL */
    const char                  *vid;       /* version id (vread), or NULL */

    /* compartment searches only: Patient/<compartment_id>/... */
    int                          compartment_type;  /* index of Patient or
                                                       -1 */
    const char                  *compartment_name;  /* "Patient" or NULL */
    const char                  *compartment_id;
    int                          compartment_all;   /* Patient/id/STAR */

    /* operations only: name without '$' and level */
    const char                  *operation;
    smart_fhir_op_level_e        op_level;

    /* 1 for PUT/PATCH/DELETE T?criteria and POST T with If-None-Exist */
    int                          conditional;

    /* create only: the URL carried a query.  Servers never read it as
       criteria (only If-None-Exist is), so its parameters are kept with
       source SMART_FHIR_SRC_QUERY but are not criteria; the policy refuses
       it under patient scopes */
    int                          create_query;

    /* all parameters: query first, then form body, then If-None-Exist */
    const smart_fhir_param_t    *params;
    size_t                       nparams;
    unsigned                     features;  /* SMART_FHIR_F_* */

    /* union of all _type values (any source), deduplicated, in order of
       first appearance; ntypes 0 when _type is absent */
    const int                   *types;
    size_t                       ntypes;

    void                        *arena;     /* private */
} smart_fhir_req_t;


/*
 * Classifies in.  Returns OK or INVALID with *out set (the caller frees it
 * with smart_fhir_req_free()), or NOMEM with *out NULL.  Never reads more
 * than the given lengths; no global mutable state, so it is thread-safe.
 */
smart_fhir_status_e smart_fhir_classify(const smart_fhir_input_t *in,
    smart_fhir_req_t **out);

void smart_fhir_req_free(smart_fhir_req_t *req);

/* docs/scopes.md names: "read", "search-type", "batch-or-transaction"... */
const char *smart_fhir_interaction_name(smart_fhir_interaction_e i);

/* Stable short code for logs and tests: "path-percent", "unknown-type"... */
const char *smart_fhir_reason_name(smart_fhir_reason_e r);

/* First parameter of req with the given (base) name, or NULL. */
const smart_fhir_param_t *smart_fhir_find_param(const smart_fhir_req_t *req,
    const char *name);

/*
 * Patient compartment parameter "name" of type index type, or NULL when the
 * type is not in the compartment or has no such parameter.
 */
const smart_fhir_cparam_t *smart_fhir_compartment_param(int type,
    const char *name, size_t len);

/* Reference search parameter "name" of type index type, or NULL. */
const smart_fhir_refparam_t *smart_fhir_reference_param(int type,
    const char *name, size_t len);

/*
 * Token search parameter "name" of type index type, or of every type
 * (_id, _security, _tag), or NULL (smart_fhir_token_params[]).
 */
const smart_fhir_tokparam_t *smart_fhir_token_param(int type,
    const char *name, size_t len);

/*
 * 1 when name[0..len) is the code of a SearchParameter R4 defines on type
 * index type, or on Resource/DomainResource (every type); type -1: on any
 * type.
 */
int smart_fhir_param_defined(int type, const char *name, size_t len);

/* 1 when s[0..len) is a valid FHIR id: [A-Za-z0-9.-]{1,64}, not all dots. */
int smart_fhir_valid_id(const char *s, size_t len);

#endif /* SMART_FHIR_H */
