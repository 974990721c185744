
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: a strict JSON parser that builds no tree.
 *
 * smart_tape_parse() reads a document once and writes one node per value
 * into a flat array, in document order: a container's members follow it,
 * and each node knows how many nodes its subtree takes, so the next
 * sibling is one addition away.  An object's member is one node: its
 * value, carrying the member's name.  Strings point into the text unless
 * they hold escapes; those are decoded once into one buffer of the text's
 * size.  A caller may lend a first array of nodes (smart_tape_parse_in()):
 * a check of a 2 KB resource then allocates nothing
 * (docs/performance.md, fifth round).
 *
 * What it accepts is what jansson's json_loadb(JSON_REJECT_DUPLICATES)
 * accepts (the response check used jansson before; tests/fuzz/
 * fuzz_tape.c compares the two): RFC 8259 JSON with an object or an array
 * at the top, strict UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF), no control characters in strings, no lone surrogate
 * escapes, no \u0000, no repeated member names (compared decoded), white
 * space only after the value.  Two differences, on purpose: a number of
 * any size is taken (jansson refuses integers outside 64 bits and reals
 * that overflow a double; numbers are kept as text, never converted),
 * and a NUL byte between tokens is refused (jansson 2.14 skips it: it
 * reads "[1,2\0]" as [1,2], where a browser's JSON.parse refuses it).
 *
 * Nesting is bounded by the caller (the parser does not recurse), the
 * text by 4 GiB - 2 bytes.  Plain C: no NGINX headers.
 */

#ifndef SMART_TAPE_H
#define SMART_TAPE_H

#include <stddef.h>
#include <stdint.h>


#define SMART_TAPE_OK           0
#define SMART_TAPE_BAD          (-1)    /* not JSON as above */
#define SMART_TAPE_DEEP         (-2)    /* nested deeper than allowed */
#define SMART_TAPE_NOMEM        (-3)

/* node types */
#define SMART_TAPE_OBJECT       1
#define SMART_TAPE_ARRAY        2
#define SMART_TAPE_STRING       3
#define SMART_TAPE_NUMBER       4
#define SMART_TAPE_TRUE         5
#define SMART_TAPE_FALSE        6
#define SMART_TAPE_NULL         7


typedef struct {
    const char              *str;       /* STRING: the decoded bytes (no
                                           NUL after them); NUMBER: its
                                           text; NULL otherwise */
    const char              *key;       /* a member of an object: its
                                           name, decoded; NULL otherwise */
    uint32_t                 len;       /* of str */
    uint32_t                 key_len;   /* of key */
    uint32_t                 skip;      /* nodes of this value's subtree,
                                           itself included: the next
                                           sibling is this + skip */
    uint32_t                 count;     /* OBJECT: members; ARRAY:
                                           elements */
    uint32_t                 start;     /* the value's first byte in the
                                           text (not its name's) */
    uint32_t                 end;       /* just past its last byte */
    uint8_t                  type;      /* SMART_TAPE_* */
} smart_tape_node_t;


typedef struct {
    smart_tape_node_t       *nodes;     /* nodes[0]: the document */
    size_t                   n;
    size_t                   cap;
    smart_tape_node_t       *stock;     /* the caller's first array, not
                                           freed here */
    char                    *decoded;   /* escaped strings, decoded */
    size_t                   used;
} smart_tape_t;


/*
 * Parses p[0..len), at most max_depth levels of objects and arrays deep
 * (1 for "[1]").  On success t holds the nodes until smart_tape_free();
 * on an error t holds nothing (smart_tape_free() is still allowed).
 */
int smart_tape_parse(smart_tape_t *t, const char *p, size_t len,
    unsigned max_depth);

/*
 * The same, with the caller's array of nstock nodes used first (the
 * parse moves to the heap when the document needs more).  The array must
 * outlive t's use; smart_tape_free() does not free it.
 */
int smart_tape_parse_in(smart_tape_t *t, const char *p, size_t len,
    unsigned max_depth, smart_tape_node_t *stock, size_t nstock);

void smart_tape_free(smart_tape_t *t);

/* nodes[0] of a parsed tape, NULL when there is none */
const smart_tape_node_t *smart_tape_root(const smart_tape_t *t);


/*
 * Accessors.  Each takes NULL, or a node of the wrong type, and answers
 * NULL, 0 or "none" for it, so that lookups chain like jansson's.
 */

/* The value of obj's member name[0..n), NULL when absent. */
const smart_tape_node_t *smart_tape_getn(const smart_tape_node_t *obj,
    const char *name, size_t n);

/* The same for a NUL-terminated name. */
const smart_tape_node_t *smart_tape_get(const smart_tape_node_t *obj,
    const char *name);

/* The first element of an array, NULL when empty (or not an array). */
const smart_tape_node_t *smart_tape_first(const smart_tape_node_t *arr);

/* The element after v in its array, NULL after the last.  v must be an
   element of arr. */
const smart_tape_node_t *smart_tape_next(const smart_tape_node_t *arr,
    const smart_tape_node_t *v);

/* The first member of an object, NULL when empty (or not an object). */
const smart_tape_node_t *smart_tape_member_first(
    const smart_tape_node_t *obj);

/* The member after v in its object, NULL after the last.  v must be a
   member of obj. */
const smart_tape_node_t *smart_tape_member_next(const smart_tape_node_t *obj,
    const smart_tape_node_t *v);

/* The name of the member v, NULL (and *n 0) when v is not a member. */
const char *smart_tape_member_name(const smart_tape_node_t *v, size_t *n);

/* Elements of an array, members of an object; 0 for anything else. */
size_t smart_tape_count(const smart_tape_node_t *v);

/* The bytes of a string, NULL (and *n 0) when v is not a string. */
const char *smart_tape_str(const smart_tape_node_t *v, size_t *n);

/* Is v the string s (NUL-terminated)? */
int smart_tape_str_is(const smart_tape_node_t *v, const char *s);

static inline int
smart_tape_is(const smart_tape_node_t *v, int type)
{
    return v != NULL && v->type == type;
}

#endif /* SMART_TAPE_H */
