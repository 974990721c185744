
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: does a FHIR resource satisfy a granular
 * restriction (docs/scopes.md, "Granular scopes in decisions")?
 *
 * A granular scope ("user/Observation.rs?category=http://terminology.hl7.
 * org/CodeSystem/observation-category|laboratory") restricts its letters
 * to the resources a search with its parameters would find.  A search can
 * be held to it up front (smart_policy_granular.c); a read by id can only
 * be held to it on the response, which is what this unit answers: along
 * the element paths of the parameter in the generated tables
 * (smart_fhir_token_params[]), read as FHIR token search reads them.
 *
 * Only token parameters are read (category, code, status, identifier,
 * _id, _tag, _security, ...); a restriction on a parameter of another type
 * (string, date, reference, uri, quantity, ...), with a modifier or a
 * chain, is never satisfied.  Plain C99 + jansson: no NGINX headers.
 */

#ifndef SMART_RESTRICT_H
#define SMART_RESTRICT_H

#include <stddef.h>

#include "smart_scope.h"
#include "smart_tape.h"


/*
 * One granular restriction a resource may satisfy: the parameters of one
 * scope, as smart_scope.h stores them (name as written, value
 * percent-decoded).  Every parameter must hold (AND, repeats included);
 * within one, any comma piece of the value (OR).  patient: the scope is a
 * patient/ scope, so the resource must also be in the patient's
 * compartment (the caller's check, smart_response.c).
 */
typedef struct {
    const smart_scope_param_t   *params;
    size_t                       nparams;
    int                          patient;
} smart_restriction_t;


/*
 * The next comma piece v[*start..*end) of v[0..n), from *next on, split
 * as the classifier (and the FHIR server) splits: '\' escapes the next
 * byte, so "\\," is an escaped backslash followed by a separator.  Every
 * value has one piece more than separators ("" has one empty piece).
 * Start with *next 0; returns 1 for each piece, then 0.
 */
int smart_restrict_piece_next(const char *v, size_t n, size_t *next,
    size_t *start, size_t *end);

/*
 * 1 when every parameter of params[0..n) can be read on a resource of
 * type t (a smart_fhir_types[] index): a token parameter of t or of every
 * resource, written without modifier or chain, with paths in the tables,
 * and every comma piece of its value a token value ("code", "system|code",
 * "|code", "system|", with '\' escaping ',' '|' '$' '\') that one of the
 * paths' data types can hold (a system only on Coding, CodeableConcept and
 * Identifier).  0 otherwise, and for n 0.
 */
int smart_restrict_supported(int t, const smart_scope_param_t *params,
    size_t n);

/*
 * 1 when resource, of type t, satisfies every parameter of params[0..n):
 * for each, one comma piece matches one element along one of its paths
 * (an array anywhere along a path counts by any element), by FHIR token
 * search:
 *
 *   piece          Coding, CodeableConcept  Identifier      code, id,
 *                  (any coding)                             string, uri,
 *                                                           boolean,
 *                                                           ContactPoint
 *   code           code                     value           the value
 *   system|code    system and code          system, value   never
 *   |code          code, no system          value, no       never
 *                                           system
 *   system|        system                   system          never
 *
 * compared byte for byte (a code system that ignores case is still read
 * exactly: the answer can be "no" where the server would say "yes", never
 * the other way).  A parameter smart_restrict_supported() refuses is
 * never satisfied; n 0 is (nothing restricts).  resource is not checked
 * against t: the caller has.
 */
int smart_restrict_match(int t, const smart_tape_node_t *resource,
    const smart_scope_param_t *params, size_t n);

/*
 * Copies of the restrictions of the scopes sc[0..n), in one malloc()
 * block (the array, the parameter arrays and their strings) that free()
 * releases; patient is 1 for patient/ scopes.  NULL when n is 0 or memory
 * runs out.
 */
smart_restriction_t *smart_restrict_copy(const smart_scope_t *const *sc,
    size_t n);

#endif /* SMART_RESTRICT_H */
