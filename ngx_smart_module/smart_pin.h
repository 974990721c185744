
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the version a write after a pre-read is
 * pinned to (docs/scopes.md, "Writes by id: the pre-read").
 *
 * A pre-read proves one version of T/id the patient's.  The write that
 * follows must replace that version and no other, or a change between the
 * read and the write (the record moved to another patient) would be
 * overwritten unproven.  The gateway pins the write to the version read:
 * If-Match for a single write, entry.request.ifMatch for each entry of a
 * batch or transaction, always as the tag of the version read.  None or
 * "*" (any version) gets that tag; a client's own guard (one tag or a
 * list) is honoured, never widened: it goes on as that tag when it names
 * the version read, and is refused as a conflict when it names only
 * other versions or holds anything unreadable (the server would have
 * refused it, unless the record changed to that very version in
 * between).
 *
 * Plain C99 + jansson: no NGINX headers.
 */

#ifndef SMART_PIN_H
#define SMART_PIN_H

#include <stddef.h>


/* bytes of an entity-tag the gateway sends, W/"..." included */
#define SMART_PIN_TAG_MAX  72


typedef enum {
    SMART_PIN_SET = 0,      /* pin to the version read */
    SMART_PIN_KEEP,         /* the client's guard names that version */
    SMART_PIN_CONFLICT,     /* the client's guard names another version */
    SMART_PIN_BAD,          /* the text is not what it must be */
    SMART_PIN_NOMEM
} smart_pin_e;


/* One Bundle entry to pin: entry[index] to the entity-tag tag. */
typedef struct {
    size_t                   index;
    const char              *tag;
    size_t                   len;
} smart_pin_entry_t;


/*
 * The entity-tag of the version read in out (NUL-terminated, *n bytes):
 * the server's ETag when it is one tag (etag, elen; NULL when none), else
 * W/"v" for meta.versionId v (vid, vlen; NULL when none; v is the opaque
 * part whatever its first bytes).  -1 when neither gives one tag of
 * visible ASCII (no comma or backslash) that fits size and
 * SMART_PIN_TAG_MAX.
 */
int smart_pin_tag(const char *etag, size_t elen, const char *vid,
    size_t vlen, char *out, size_t size, size_t *n);

/*
 * What the client's If-Match (client, clen; NULL when it sent none) says
 * of a write pinned to tag (one entity-tag, as smart_pin_tag() writes
 * it): SET (none, or "*"), KEEP (one tag or a list naming the version
 * read; the caller still sends tag, not the client's spelling), CONFLICT
 * (only other versions, or anything unreadable in it), BAD (tag is not
 * one entity-tag).
 */
smart_pin_e smart_pin_client(const char *client, size_t clen,
    const char *tag, size_t tlen);

/*
 * The Bundle body with entry[pins[k].index].request.ifMatch pinned, for
 * pins in ascending index order: *out (malloc'ed, *outlen bytes; the
 * caller frees it) is the body with each ifMatch set or added and every
 * other byte as the client sent it.  SMART_PIN_CONFLICT with *entry set
 * when an entry's own ifMatch names another version; SMART_PIN_BAD when
 * the body is not a Bundle with those entries (the policy parsed it: only
 * a caller's mistake); SMART_PIN_NOMEM.
 */
smart_pin_e smart_pin_bundle(const char *body, size_t len,
    const smart_pin_entry_t *pins, size_t npins, char **out,
    size_t *outlen, size_t *entry);

#endif /* SMART_PIN_H */
