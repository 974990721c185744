
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * For tests that build documents with jansson (json_pack) and check them
 * with code that reads a tape (smart_tape.h): the document written out
 * and parsed, as the response check parses a body.  Shared by the unit
 * tests and the libFuzzer targets.
 */

#ifndef TAPE_JSON_H
#define TAPE_JSON_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "smart_tape.h"


typedef struct {
    smart_tape_t             t;
    char                    *text;
} tape_json_t;


/* j written out and parsed into d; the root node, NULL on failure (d is
   then empty).  j is not taken. */
static inline const smart_tape_node_t *
tape_json(tape_json_t *d, const json_t *j)
{
    memset(d, 0, sizeof(tape_json_t));

    if (j == NULL) {
        return NULL;
    }

    d->text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (d->text == NULL
        || smart_tape_parse(&d->t, d->text, strlen(d->text), 100)
           != SMART_TAPE_OK)
    {
        free(d->text);
        d->text = NULL;
        return NULL;
    }

    return smart_tape_root(&d->t);
}


static inline void
tape_json_free(tape_json_t *d)
{
    smart_tape_free(&d->t);
    free(d->text);
    d->text = NULL;
}

#endif /* TAPE_JSON_H */
