
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: operations.  The smart_operation table
 * (the built-in entries and the parser of the directive's arguments,
 * docs/directives.md) and the decision of a $operation request
 * (docs/scopes.md, "Operations").
 *
 * Plain C99: no NGINX headers, no global mutable state.
 */

#include <string.h>

#include "smart_policy_private.h"


static const smart_policy_op_t  smart_policy_defaults[] = {
    { "everything", SMART_SCOPE_ANY_CONTEXT,
      { SMART_SCOPE_R | SMART_SCOPE_S }, 1,
      { SMART_POLICY_OP_TYPE_ANY }, 1 },
    { "export", SMART_SCOPE_SYSTEM,
      { SMART_SCOPE_R | SMART_SCOPE_S }, 1,
      { SMART_POLICY_OP_TYPE_ANY }, 1 },
    { "validate", SMART_SCOPE_ANY_CONTEXT,
      { SMART_SCOPE_C, SMART_SCOPE_U }, 2,
      { 0 }, 0 },
};


/* --- operations ----------------------------------------------------------- */

static const smart_policy_op_t *
smart_find_op(const smart_policy_conf_t *conf, const char *name)
{
    size_t  i;

    for (i = 0; i < conf->nops; i++) {
        if (strcmp(conf->ops[i].name, name) == 0) {
            return &conf->ops[i];
        }
    }

    for (i = 0; i < sizeof(smart_policy_defaults)
                    / sizeof(smart_policy_defaults[0]); i++)
    {
        if (strcmp(smart_policy_defaults[i].name, name) == 0) {
            return &smart_policy_defaults[i];
        }
    }

    return NULL;
}


/*
 * Can an instance operation with these letters be allowed on condition of
 * its response?  Only one that reads (r or s) and writes nothing (no c, u
 * or d): a refused response would hide a write that happened.  Never under
 * smart_response_check off.
 */
static int
smart_op_checkable(smart_policy_ctx_t *c, unsigned letters)
{
    return c->conf->response_check != SMART_RESPONSE_CHECK_OFF
           && (letters & (SMART_SCOPE_R | SMART_SCOPE_S)) != 0
           && (letters & (SMART_SCOPE_C | SMART_SCOPE_U | SMART_SCOPE_D))
              == 0;
}


/* The patient-side conditions of an operation granted by a patient scope. */
static void
smart_patient_op(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned letters, int nt, const smart_scope_t *sc, smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (req->op_level == SMART_FHIR_OP_INSTANCE
        && req->type == SMART_FHIR_TYPE_PATIENT)
    {
        if (!smart_own_record(c, req->id, nt, letters,
                              "operation on another patient's record", r))
        {
            return;
        }

        /* $everything: what the server decides is P's (linked patients,
           records that only reference P) is checked entry by entry */
        if (smart_op_checkable(c, letters)) {
            smart_res_allow_checked(r, sc, "operation on the patient's own "
                                           "record, checked on the response");
        } else {
            smart_res_allow(r, sc, "operation on the patient's own record");
        }

        return;
    }

    if (req->op_level == SMART_FHIR_OP_INSTANCE
        && smart_in_compartment(req->type))
    {
        if (smart_op_checkable(c, letters)) {
            if (!smart_unprovable_denied(c, req->type, letters, r)) {
                smart_res_allow_checked(r, sc, "operation on a compartment "
                                               "resource by id, checked on "
                                               "the response");
            }

            return;
        }

        smart_fmt_usable(c, needed, SMART_SCOPE_USER, nt, letters);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "an operation on a compartment resource by id cannot be "
                       "checked against the patient");
        return;
    }

    if ((letters & (SMART_SCOPE_R | SMART_SCOPE_S)) != 0
        && req->op_level != SMART_FHIR_OP_INSTANCE)
    {
        smart_fmt_usable(c, needed, SMART_SCOPE_USER, nt, letters);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "an operation that reads data at type or system level "
                       "cannot be limited to the patient");
        return;
    }

    smart_res_allow(r, sc, "operation allowed");
}


/*
 * One type nt the operation needs letters on, along every grant of the
 * contexts ctx: 1 when one allows it (*first: the first granting scope;
 * *check set when a patient grant leaves it to the response), else 0 with
 * the refusal offered to r.
 */
static int
smart_op_type(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned ctx, unsigned letters, int nt, const smart_scope_t **first,
    int *check, smart_policy_res_t *r)
{
    unsigned              nctx;
    smart_policy_res_t    part;
    char                  needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t  *sc;

    smart_res_init(&part);

    sc = smart_grant_full(c, ctx & SMART_POLICY_CTX_US, nt, letters);
    if (sc != NULL) {
        *first = *first ? *first : sc;
        return 1;
    }

    if ((ctx & SMART_SCOPE_PATIENT)
        && (sc = smart_grant_patient(c, nt, letters)) != NULL)
    {
        smart_patient_op(c, req, letters, nt, sc, &part);

        if (part.verdict == SMART_POLICY_V_ALLOW) {
            *first = *first ? *first : sc;
            *check |= part.check;
            return 1;
        }

    } else if ((ctx & SMART_SCOPE_PATIENT)
               && smart_context_missing(c, nt, letters, NULL, &part))
    {
        /* part holds the refusal */

    } else {
        nctx = (ctx == SMART_SCOPE_PATIENT || ctx == SMART_SCOPE_USER
                || ctx == SMART_SCOPE_SYSTEM) ? ctx : smart_guess_ctx(c);
        smart_fmt_usable(c, needed, nctx, nt, letters);
        smart_res_deny(&part, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "no scope grants what the operation needs");
    }

    smart_res_offer(r, &part);

    return 0;
}


void
smart_decide_op(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best)
{
    int                        ok, check;
    size_t                     a, i, ntypes;
    unsigned                   ctx;
    smart_policy_res_t         r;
    const smart_scope_t       *first;
    const smart_policy_op_t   *op;

    smart_res_init(&r);

    op = smart_find_op(c->conf, req->operation);
    if (op == NULL) {
        smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, NULL,
                       "the operation is not configured (smart_operation)");
        smart_res_offer(best, &r);
        return;
    }

    ctx = op->contexts & SMART_SCOPE_ANY_CONTEXT;
    ntypes = op->ntypes ? op->ntypes : 1;

    for (a = 0; a < op->nalts; a++) {
        first = NULL;
        check = 0;
        ok = 1;

        for (i = 0; i < ntypes && ok; i++) {
            ok = smart_op_type(c, req, ctx, op->alts[a],
                               op->ntypes ? op->types[i] : req->type, &first,
                               &check, &r);
        }

        if (ok) {
            smart_res_clear_params(&r);
            smart_res_init(&r);

            if (check) {
                smart_res_allow_checked(&r, first, "operation allowed, "
                                                   "checked on the response");
            } else {
                smart_res_allow(&r, first, "operation allowed");
            }

            break;
        }
    }

    smart_res_offer(best, &r);
}


/* --- the smart_operation table (smart_policy.h) -------------------------- */

/*
 * The context prefix of LETTERS ("patient/", "user/", "system/"), taken
 * off *letters; SMART_SCOPE_ANY_CONTEXT when there is none.
 */
static unsigned
smart_op_context(const char **letters, size_t *len)
{
    size_t  i, n;

    static const struct {
        const char  *prefix;
        unsigned     context;
    } prefixes[] = {
        { "patient/", SMART_SCOPE_PATIENT },
        { "user/", SMART_SCOPE_USER },
        { "system/", SMART_SCOPE_SYSTEM }
    };

    for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        n = strlen(prefixes[i].prefix);

        if (*len > n && memcmp(*letters, prefixes[i].prefix, n) == 0) {
            *letters += n;
            *len -= n;
            return prefixes[i].context;
        }
    }

    return SMART_SCOPE_ANY_CONTEXT;
}


const smart_policy_op_t *
smart_policy_default_ops(size_t *n)
{
    if (n != NULL) {
        *n = sizeof(smart_policy_defaults) / sizeof(smart_policy_defaults[0]);
    }

    return smart_policy_defaults;
}


int
smart_policy_op_parse(const char *name, size_t name_len,
    const char *letters, size_t letters_len, const char *const *types,
    const size_t *type_lens, size_t ntypes, smart_policy_op_t *op,
    const char **err)
{
    size_t       i, j, start;
    unsigned     m;
    const char  *e;

    e = NULL;

    if (op == NULL || name == NULL || letters == NULL
        || (ntypes > 0 && (types == NULL || type_lens == NULL)))
    {
        e = "missing argument";
        goto fail;
    }

    memset(op, 0, sizeof(smart_policy_op_t));

    if (name_len > 0 && name[0] == '$') {
        name++;
        name_len--;
    }

    if (name_len == 0 || name_len > SMART_FHIR_MAX_OP
        || !((name[0] >= 'A' && name[0] <= 'Z')
             || (name[0] >= 'a' && name[0] <= 'z')))
    {
        e = "invalid operation name";
        goto fail;
    }

    for (i = 0; i < name_len; i++) {
        if (!((name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '_' || name[i] == '-'))
        {
            e = "invalid operation name";
            goto fail;
        }
    }

    memcpy(op->name, name, name_len);
    op->name[name_len] = '\0';
    op->contexts = smart_op_context(&letters, &letters_len);

    start = 0;

    for (i = 0; i <= letters_len; i++) {
        if (i < letters_len && letters[i] != '|') {
            continue;
        }

        m = smart_scope_letters(letters + start, i - start);
        if (m == 0 || op->nalts == SMART_POLICY_OP_MAX_ALTS) {
            e = "invalid LETTERS: expected [context/]letters[|letters]";
            goto fail;
        }

        op->alts[op->nalts++] = m;
        start = i + 1;
    }

    if (ntypes > SMART_POLICY_OP_MAX_TYPES) {
        e = "too many types";
        goto fail;
    }

    for (j = 0; j < ntypes; j++) {
        if (type_lens[j] == 1 && types[j][0] == '*') {
            op->types[j] = SMART_POLICY_OP_TYPE_ANY;
            continue;
        }

        op->types[j] = smart_fhir_type_index(types[j], type_lens[j]);
        if (op->types[j] < 0) {
            e = "unknown resource type";
            goto fail;
        }
    }

    op->ntypes = ntypes;

    return 0;

fail:

    if (op != NULL) {
        memset(op, 0, sizeof(smart_policy_op_t));
    }

    if (err != NULL) {
        *err = e;
    }

    return -1;
}
