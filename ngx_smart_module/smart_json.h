
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: where values start and end in JSON text.
 *
 * jansson gives a tree without positions.  Write pinning (smart_pin.c)
 * sets entry.request.ifMatch in a batch or transaction body the policy
 * parsed with jansson and must keep every other byte as the client sent
 * it (a decimal keeps its digits, a string its escapes), so it edits the
 * text itself, at the positions these scanners find.  (The response check
 * reads bodies with smart_tape.h, whose nodes carry their positions.)
 *
 * The scanners never read past the given length and answer
 * SMART_JSON_BAD for anything cut short or out of place where they look;
 * they do not validate everything (numbers, literals, UTF-8), so the
 * positions they give are only trusted in text jansson has accepted.
 * Offsets are byte offsets into the text.  Plain C: no NGINX headers.
 */

#ifndef SMART_JSON_H
#define SMART_JSON_H

#include <stddef.h>


#define SMART_JSON_OK           0
#define SMART_JSON_BAD          (-1)    /* cut short, or not JSON here */
#define SMART_JSON_DEEP         (-2)    /* nested deeper than allowed */
#define SMART_JSON_ABSENT       (-3)    /* the object has no such member */

/* no bound on nesting: for text whose depth was already checked */
#define SMART_JSON_ANY_DEPTH    ((unsigned) -1)


/*
 * Skips the white space at p[*off..len) and the one value after it, with
 * at most max_depth levels of objects and arrays (1 for "[1]"); *off is
 * then the offset just past the value.  On an error *off is unchanged.
 */
int smart_json_skip(const char *p, size_t len, size_t *off,
    unsigned max_depth);

/*
 * The object at p[obj..len) (white space first allowed): the offset of the
 * value of its member called name (ASCII, compared with the key's escapes
 * decoded: "\u0065ntry" is "entry"), in *val.  The first such member
 * counts, which is the only one in text parsed with
 * JSON_REJECT_DUPLICATES.  SMART_JSON_ABSENT when there is none.
 */
int smart_json_member(const char *p, size_t len, size_t obj,
    const char *name, size_t *val);

/*
 * The array at p[*off..len) (white space first allowed) with exactly n
 * elements: element k is p[starts[k]..ends[k]).  *off becomes the offset
 * of its '[' and *end the offset just past its ']'.  SMART_JSON_BAD when
 * the array has another number of elements.
 */
int smart_json_elements(const char *p, size_t len, size_t *off,
    size_t *end, size_t *starts, size_t *ends, size_t n);

#endif /* SMART_JSON_H */
