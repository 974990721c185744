
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: what the files of the FHIR request
 * classifier share, and nothing else may use.
 *
 *   smart_fhir.c        the public functions, the classification in
 *                       order, the result's memory
 *   smart_fhir_path.c   the method and the path: the interaction, type,
 *                       ids and operation
 *   smart_fhir_query.c  the body framing and the parameters: query, form
 *                       body of _search, If-None-Exist of a create
 *
 * smart_fhir.h is the public header.  Plain C: no NGINX headers.
 */

#ifndef SMART_FHIR_PRIVATE_H
#define SMART_FHIR_PRIVATE_H

#include <stddef.h>

#include "smart_fhir.h"


/* one malloc() block of the result's memory (smart_fhir.c) */
typedef struct smart_fhir_blk_s  smart_fhir_blk_t;


/* Classification in progress. */
typedef struct {
    const smart_fhir_input_t  *in;
    smart_fhir_blk_t          *blocks;
    smart_fhir_req_t          *req;
    int                        nomem;
    smart_fhir_reason_e        reason;
    const char                *detail;

    smart_fhir_param_t        *params;      /* params_cap, grown up to
                                               SMART_FHIR_MAX_PARAMS */
    size_t                     nparams;
    size_t                     params_cap;
    int                       *types;       /* SMART_FHIR_NTYPES, made
                                               at the first _type */
    size_t                     ntypes;
    int                        search_body; /* POST .../_search */
} smart_fhir_ctx_t;


/*
 * smart_fhir.c: memory that lives as long as the result (NULL and
 * ctx->nomem set when it runs out), and the first refusal's reason (the
 * later ones are dropped); smart_fhir_fail() returns -1.
 */
void *smart_fhir_alloc(smart_fhir_ctx_t *ctx, size_t size);
char *smart_fhir_strdup(smart_fhir_ctx_t *ctx, const char *s, size_t len);
int smart_fhir_fail(smart_fhir_ctx_t *ctx, smart_fhir_reason_e r,
    const char *detail);

/*
 * smart_fhir_path.c: the method, then the path's bytes, segments and shape
 * (interaction, type, id, vid, operation, compartment).  0, or -1 after
 * smart_fhir_fail() or with ctx->nomem set; so are the next three.
 */
int smart_fhir_method(smart_fhir_ctx_t *ctx);
int smart_fhir_path(smart_fhir_ctx_t *ctx);

/*
 * smart_fhir_query.c: the body's framing and headers; the parameters of
 * the query and of a _search form body, within SMART_FHIR_MAX_INPUT; the
 * criteria of conditional interactions (If-None-Exist of a create, the
 * query of PUT, PATCH and DELETE on a type).
 */
int smart_fhir_framing(smart_fhir_ctx_t *ctx);
int smart_fhir_parameters(smart_fhir_ctx_t *ctx);
int smart_fhir_conditional(smart_fhir_ctx_t *ctx);

#endif /* SMART_FHIR_PRIVATE_H */
