/*
 * Time zones: IANA zone ids resolved against the system's time-zone database
 * (TZif files under /usr/share/zoneinfo, from Debian's tzdata).
 *
 * A zone is loaded on first use and kept, immutable, for the life of the
 * process; cf_tz_find() returns the same pointer for the same id, so zones
 * compare by pointer. The cache is the one piece of process-wide state in
 * base: it holds read-only system data (like a loaded locale), is guarded by a
 * mutex, and is safe to use from several threads.
 */
#ifndef CF_BASE_TZ_H
#define CF_BASE_TZ_H

#include <stddef.h>
#include <stdint.h>

struct cf_tz;

/*
 * The zone named by an IANA id ("Europe/Paris", "America/New_York", "UTC",
 * "Etc/GMT+5"), or NULL if there is no such zone (or the name is not a
 * plain zone id: no "..", no leading '/'). Thread-safe.
 */
const struct cf_tz *cf_tz_find(const char *name, size_t len);

/* The zone's id as it was asked for ("Europe/Paris"). */
const char *cf_tz_name(const struct cf_tz *tz);

/* The offset from UTC, in seconds east, in force at the instant utc_secs. */
int32_t cf_tz_offset_at(const struct cf_tz *tz, int64_t utc_secs);

/*
 * The offset for a local wall-clock time (seconds since 1970-01-01T00:00 of
 * that local calendar). In an overlap (clocks turned back) the earlier
 * offset; in a gap (clocks turned forward) the offset before the gap.
 */
int32_t cf_tz_offset_for_local(const struct cf_tz *tz, int64_t local_secs);

#endif
