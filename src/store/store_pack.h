/*
 * The history pack: how every backend stores an instance's history, one row
 * per run of events of one instance and actor in an append, the events a
 * JSON array in a text column. The format lives here, once, so that the
 * backends write and read it alike (a database moved from SQLite to
 * PostgreSQL reads back the same events) and the kinds list cannot drift.
 *
 * This file knows JSON and the event row, nothing of SQL or of any backend:
 * a backend stores the text pack_event builds and hands what it reads to
 * unpack.
 *
 * An event of a pack: [kind, key, dt, element_id, detail, variables] with
 * the trailing items that are null (or a dt of 0) left out; kind a number
 * (1-based index into the well-known kinds) or a string, key a number, dt
 * the event's time minus the row's. The first format, written before, had
 * the key as a string: [kind, "key", element_id, detail, variables, at_ms?];
 * unpack reads both.
 */
#ifndef CF_STORE_PACK_H
#define CF_STORE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cf_buf.h"
#include "store/cf_store.h"

struct json_object;

/* Appends one event to b (a pack's array; the caller writes '[', ',' and ']'); row_at is the time
 * the row stores, dt is taken from it. Out of memory: b->oom. */
void cf__store_pack_event(struct cf_buf *b, const struct cf_store_event *e, int64_t row_at);

/*
 * Unpacks the events of one row (text, len bytes; at_ms and actor are the
 * row's) onto *out (n rows, cap allocated; grown with cf_grow), each event a
 * new row the caller releases. A row that is not a pack: CF_EIO, err saying
 * that db ("/path/crm.db", "the PostgreSQL database D on H:P") is corrupt;
 * CF_ENOMEM. On error the events unpacked before stay on the list (the caller
 * releases them).
 */
int cf__store_pack_unpack(const char *db, uint64_t instance_key, int64_t at_ms, const char *actor,
                          const char *text, size_t len, struct cf_store_event **out, size_t *n,
                          size_t *cap, struct cf_error *err);

/*
 * Personal data erasure in one parsed pack (a JSON array, borrowed, changed
 * in place): in each event's detail and variables (JSON text in a string),
 * every string equal to one of vals becomes marker; *count grows by the
 * replacements. True when the pack changed (the caller stores it again).
 */
bool cf__store_pack_erase(struct json_object *pack, const char *const *vals, size_t nvals,
                          const char *marker, size_t *count);

#endif
