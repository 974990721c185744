
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer target: the tree-less parser (smart_tape.c) against jansson,
 * which the response check used before, on the same bytes.
 *
 * Aborts when the two disagree: a document one accepts and the other
 * refuses (save the differences smart_tape.h names: numbers too large
 * for jansson, NUL bytes between tokens, which jansson skips, and nesting
 * deeper than the tape was allowed), or, when
 * both accept, a value that differs: its type, a string's decoded bytes,
 * a container's size, or an object member one finds and the other does
 * not.  Every node's offsets are checked against the text and against
 * smart_json_skip().  The input is copied into a buffer of its exact size
 * so that ASan catches any read past its length.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "smart_json.h"
#include "smart_tape.h"

#include "fuzz_util.h"


#define FUZZ_TAPE_DEPTH  100


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void fuzz_tape_same(const char *text, size_t len, const json_t *j,
    const smart_tape_node_t *v);


/* The node's offsets frame its value in the text. */
static void
fuzz_tape_offsets(const char *text, size_t len, const smart_tape_node_t *v)
{
    size_t  off;

    fuzz_check(v->start < v->end && v->end <= len);

    off = v->start;
    fuzz_check(smart_json_skip(text, len, &off, SMART_JSON_ANY_DEPTH)
               == SMART_JSON_OK);
    fuzz_check(off == v->end);

    switch (v->type) {

    case SMART_TAPE_OBJECT:
        fuzz_check(text[v->start] == '{' && text[v->end - 1] == '}');
        break;

    case SMART_TAPE_ARRAY:
        fuzz_check(text[v->start] == '[' && text[v->end - 1] == ']');
        break;

    case SMART_TAPE_STRING:
        fuzz_check(text[v->start] == '"' && text[v->end - 1] == '"');
        break;

    case SMART_TAPE_NUMBER:
        fuzz_check(v->str == text + v->start
                   && v->len == v->end - v->start);
        break;

    default:
        break;
    }
}


static void
fuzz_tape_object(const char *text, size_t len, const json_t *j,
    const smart_tape_node_t *v)
{
    size_t                    i, n;
    const char               *name;
    const json_t             *jv;
    const smart_tape_node_t  *k, *m;

    fuzz_check(v->type == SMART_TAPE_OBJECT
               && v->count == json_object_size(j));

    m = smart_tape_member_first(v);

    for (k = v + 1, i = 0; i < v->count; i++, k += k->skip) {
        /* the accessors walk the members the same way */
        fuzz_check(m == k);
        m = smart_tape_member_next(v, m);

        name = smart_tape_member_name(k, &n);
        fuzz_check(name != NULL && name == k->key && n == k->key_len);

        jv = json_object_getn(j, name, n);
        fuzz_check(jv != NULL);
        fuzz_check(smart_tape_getn(v, name, n) == k);

        fuzz_tape_same(text, len, jv, k);
    }

    fuzz_check(m == NULL);
    fuzz_check(k == v + v->skip);
}


static void
fuzz_tape_array(const char *text, size_t len, const json_t *j,
    const smart_tape_node_t *v)
{
    size_t                    i;
    const smart_tape_node_t  *e;

    fuzz_check(v->type == SMART_TAPE_ARRAY
               && v->count == json_array_size(j)
               && smart_tape_count(v) == v->count);

    for (e = smart_tape_first(v), i = 0; e != NULL;
         e = smart_tape_next(v, e), i++)
    {
        fuzz_check(i < v->count && e->key == NULL);
        fuzz_tape_same(text, len, json_array_get(j, i), e);
    }

    fuzz_check(i == v->count);
}


static void
fuzz_tape_same(const char *text, size_t len, const json_t *j,
    const smart_tape_node_t *v)
{
    size_t       n;
    const char  *s;

    fuzz_tape_offsets(text, len, v);

    switch (json_typeof(j)) {

    case JSON_OBJECT:
        fuzz_tape_object(text, len, j, v);
        return;

    case JSON_ARRAY:
        fuzz_tape_array(text, len, j, v);
        return;

    case JSON_STRING:
        s = smart_tape_str(v, &n);
        fuzz_check(s != NULL && n == json_string_length(j)
                   && memcmp(s, json_string_value(j), n) == 0);
        return;

    case JSON_INTEGER:
    case JSON_REAL:
        fuzz_check(v->type == SMART_TAPE_NUMBER && v->skip == 1);
        return;

    case JSON_TRUE:
        fuzz_check(v->type == SMART_TAPE_TRUE);
        return;

    case JSON_FALSE:
        fuzz_check(v->type == SMART_TAPE_FALSE);
        return;

    case JSON_NULL:
        fuzz_check(v->type == SMART_TAPE_NULL);
        return;
    }

    fuzz_check(0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 rc;
    char               *text;
    size_t              nstock;
    json_t             *j;
    json_error_t        err;
    smart_tape_t        t;
    smart_tape_node_t   stock[8];

    text = fuzz_dup_exact(data, size);

    /* a lent array of 0 to 8 nodes: the move to the heap exercised */
    nstock = (size > 0) ? data[size - 1] % 9 : 0;

    rc = smart_tape_parse_in(&t, text, size, FUZZ_TAPE_DEPTH, stock, nstock);
    j = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err);

    fuzz_check(rc == SMART_TAPE_OK || rc == SMART_TAPE_BAD
               || rc == SMART_TAPE_DEEP);
    fuzz_check(rc == SMART_TAPE_OK || smart_tape_root(&t) == NULL);

    if (rc == SMART_TAPE_OK && j == NULL) {
        /* the one difference on purpose */
        fuzz_check(json_error_code(&err) == json_error_numeric_overflow);

    } else if (rc == SMART_TAPE_BAD) {
        /* jansson skips a NUL byte between tokens; the tape refuses it */
        fuzz_check(j == NULL || memchr(text, '\0', size) != NULL);

    } else if (rc == SMART_TAPE_OK) {
        fuzz_check(t.n == smart_tape_root(&t)->skip
                   && smart_tape_root(&t)->key == NULL);

        /* the node array's bound (smart_tape_grow()) */
        fuzz_check(t.n <= (size + 1) / 2
                   && (t.nodes == stock || t.cap <= size / 2 + 1));
        fuzz_tape_same(text, size, j, smart_tape_root(&t));
    }

    json_decref(j);
    smart_tape_free(&t);
    free(text);

    return 0;
}
