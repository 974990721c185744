
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer target for the scope grammar: parse, check the set's
 * invariants, format every scope and parse the canonical text back (it must
 * give the same scope), match, free.  Any broken invariant aborts.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smart_scope.h"

#include "fuzz_util.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fuzz_same_scope(const smart_scope_t *a, const smart_scope_t *b)
{
    size_t  k;

    fuzz_check(a->context == b->context);
    fuzz_check(a->type_len == b->type_len);
    fuzz_check(memcmp(a->type, b->type, a->type_len) == 0);
    fuzz_check(a->is_wildcard == b->is_wildcard);
    fuzz_check(a->perms == b->perms);
    fuzz_check(a->nparams == b->nparams);

    for (k = 0; k < a->nparams; k++) {
        fuzz_check(a->params[k].name_len == b->params[k].name_len);
        fuzz_check(memcmp(a->params[k].name, b->params[k].name,
                               a->params[k].name_len) == 0);
        fuzz_check(a->params[k].value_len == b->params[k].value_len);
        fuzz_check(memcmp(a->params[k].value, b->params[k].value,
                               a->params[k].value_len) == 0);
    }
}


static void
fuzz_scope(const smart_scope_set_t *set, const smart_scope_t *sc)
{
    char                  small[16], *buf;
    size_t                n, m, k;
    smart_scope_set_t    *again;
    const smart_scope_t  *match[4];

    fuzz_check(sc->perms != 0 && (sc->perms & ~SMART_SCOPE_CRUDS) == 0);
    fuzz_check(sc->type_len != 0 && sc->type[sc->type_len] == '\0');
    fuzz_check(sc->raw_len <= SMART_SCOPE_MAX_LEN);

    for (k = 0; k < sc->nparams; k++) {
        fuzz_check(sc->params[k].value_len != 0);
        fuzz_check(strlen(sc->params[k].name) == sc->params[k].name_len);
        fuzz_check(strlen(sc->params[k].value) == sc->params[k].value_len);
    }

    n = smart_scope_format(small, sizeof(small), sc);
    fuzz_check(strlen(small) == (n < sizeof(small) ? n : sizeof(small) - 1));

    buf = malloc(n + 1);
    if (buf == NULL) {
        return;
    }

    m = smart_scope_format(buf, n + 1, sc);
    fuzz_check(m == n && strlen(buf) == n);
    fuzz_check(memcmp(small, buf, strlen(small)) == 0);

    /* canonical text is itself one valid scope with the same meaning; it
     * may exceed the one-scope bound only where percent-encoding grew it */
    again = smart_scope_parse(buf, n);
    if (again != NULL) {
        if (n <= SMART_SCOPE_MAX_LEN) {
            fuzz_check(again->nscopes == 1 && again->nignored == 0);
            fuzz_same_scope(sc, &again->scopes[0]);

        } else {
            fuzz_check(again->nscopes == 0);
        }

        smart_scope_set_free(again);
    }

    free(buf);

    m = smart_scope_match(set, sc->context, sc->type, sc->type_len,
                          sc->perms, match, 4);
    fuzz_check(m >= 1);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              i, total;
    smart_scope_set_t  *set;

    set = smart_scope_parse((const char *) data, size);
    if (set == NULL) {
        return 0;
    }

    fuzz_check(set->nscopes <= SMART_SCOPE_MAX_SCOPES);
    fuzz_check(set->nignored <= SMART_SCOPE_MAX_SCOPES + 2);
    fuzz_check(set->n_nonresource + set->n_invalid <= set->nignored);

    for (i = 0; i < set->nscopes; i++) {
        fuzz_scope(set, &set->scopes[i]);
    }

    total = 0;
    for (i = 0; i < set->nignored; i++) {
        fuzz_check(smart_scope_reason_name(set->ignored[i].reason) != NULL);
        fuzz_check(set->ignored[i].count >= 1);
        total += set->ignored[i].count;
    }

    fuzz_check(total == set->n_nonresource + set->n_invalid + set->n_limit);

    smart_scope_set_free(set);

    return 0;
}
