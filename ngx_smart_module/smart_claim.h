
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: a verified token's claim as text, for
 * $smart_claim_NAME (docs/directives.md, "Variables").
 *
 * NAME is a top-level claim, or a path into nested objects with "__"
 * between the names (NGINX variable names hold only letters, digits and
 * "_"): $smart_claim_address__country is claims.address.country.  A claim
 * whose own name is NAME is taken first.  Values become text:
 *
 *   string              as is; none when it holds a control character
 *                       (CR, LF, NUL, ...: a value may go into a header)
 *   integer, real       decimal (%lld, %.17g)
 *   true, false         "1", "0" (so smart_require treats false as unmet)
 *   array of the above  the elements joined with "," (an element that holds
 *                       a comma is not escaped: ["a,b"] and ["a","b"] read
 *                       alike)
 *   anything else       no value (objects, null, arrays holding arrays or
 *                       objects)
 *
 * Bounded: at most SMART_CLAIM_DEPTH_MAX names in a path and
 * SMART_CLAIM_TEXT_MAX bytes of text; a longer value is no value (never
 * cut, so a prefix never matches).  Plain C99 + jansson: no NGINX headers.
 */

#ifndef SMART_CLAIM_H
#define SMART_CLAIM_H

#include <stddef.h>

#include <jansson.h>


#define SMART_CLAIM_NAME_MAX   128     /* bytes of NAME */
#define SMART_CLAIM_DEPTH_MAX  4       /* names in a path */
#define SMART_CLAIM_TEXT_MAX   4096    /* bytes of text */


/*
 * The text of claim name[0..len) of claims (an object) into out (size
 * bytes, NUL-terminated), *n bytes: 0, or -1 when it has no value.
 */
int smart_claim_text(const json_t *claims, const char *name, size_t len,
    char *out, size_t size, size_t *n);

#endif /* SMART_CLAIM_H */
