/*
 * Time zones from the system's TZif files (RFC 8536), see cf_tz.h.
 *
 * A zone is the transition table of the file's 64-bit (version 2+) block,
 * plus the POSIX TZ rule of its footer, which gives the offset for instants
 * after the last transition (files built "slim" stop their table early and
 * rely on it entirely). Before the first transition, local time type 0
 * applies, as RFC 8536 says (usually the local mean time).
 *
 * Zones are loaded once and kept for the life of the process in a list
 * guarded by a mutex; cf_tz_find() hands out the same pointer for the same
 * name, and a zone never changes after it is published.
 */
#include "base/cf_tz.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_time.h"

#define TZ_DIR "/usr/share/zoneinfo/"
#define TZ_NAME_MAX 255
#define TZ_FILE_MAX (1 << 20) /* real files are under 4 KiB; refuse anything absurd */

/* A POSIX TZ rule date: Jn (julian, no Feb 29), n (zero-based, with Feb 29) or Mm.w.d. */
struct tz_rule_date {
  char kind; /* 'J', 'N' or 'M' */
  unsigned a, b, c; /* J/N: day in a; M: month a, week b, weekday c */
  int32_t time;     /* seconds after local midnight (may be negative or > 24h) */
};

struct tz_rule {
  bool valid;   /* the footer gave a usable rule */
  bool has_dst; /* with start/end dates */
  int32_t std_off, dst_off;
  struct tz_rule_date start, end;
};

struct cf_tz {
  struct cf_tz *next;
  char *name;
  size_t ntrans;
  int64_t *trans;   /* ascending UTC instants */
  int32_t *offs;    /* offset in force from trans[i] */
  int32_t first_off; /* before trans[0] (or always, without transitions) */
  struct tz_rule rule;
};

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cf_tz *tz_list;

/* ------------------------------------------------------------ POSIX rules */

static bool pdigit(char c) { return c >= '0' && c <= '9'; }

/* A zone abbreviation: 3+ letters, or <...> with letters, digits, + and -. */
static bool parse_abbr(const char **p, const char *end) {
  const char *s = *p;
  if (s < end && *s == '<') {
    s++;
    while (s < end && *s != '>')
      s++;
    if (s >= end)
      return false;
    *p = s + 1;
    return true;
  }
  const char *b = s;
  while (s < end && ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
    s++;
  if (s - b < 3)
    return false;
  *p = s;
  return true;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536 extension). */
static bool parse_hms(const char **p, const char *end, int32_t *out) {
  const char *s = *p;
  int sign = 1;
  long h = 0, m = 0, sec = 0;
  if (s < end && (*s == '+' || *s == '-')) {
    sign = *s == '-' ? -1 : 1;
    s++;
  }
  if (s >= end || !pdigit(*s))
    return false;
  while (s < end && pdigit(*s) && h < 1000)
    h = h * 10 + (*s++ - '0');
  if (s < end && *s == ':') {
    s++;
    if (s >= end || !pdigit(*s))
      return false;
    while (s < end && pdigit(*s) && m < 100)
      m = m * 10 + (*s++ - '0');
    if (s < end && *s == ':') {
      s++;
      if (s >= end || !pdigit(*s))
        return false;
      while (s < end && pdigit(*s) && sec < 100)
        sec = sec * 10 + (*s++ - '0');
    }
  }
  if (h > 167 || m > 59 || sec > 59)
    return false;
  *out = (int32_t)(sign * (h * 3600 + m * 60 + sec));
  *p = s;
  return true;
}

static bool parse_num(const char **p, const char *end, unsigned max, unsigned *out) {
  const char *s = *p;
  unsigned v = 0;
  if (s >= end || !pdigit(*s))
    return false;
  while (s < end && pdigit(*s)) {
    v = v * 10 + (unsigned)(*s++ - '0');
    if (v > max)
      return false;
  }
  *out = v;
  *p = s;
  return true;
}

static bool parse_rule_date(const char **p, const char *end, struct tz_rule_date *d) {
  const char *s = *p;
  d->time = 7200; /* 02:00 local unless said otherwise */
  if (s < end && *s == 'M') {
    s++;
    d->kind = 'M';
    if (!parse_num(&s, end, 12, &d->a) || d->a < 1 || s >= end || *s++ != '.' ||
        !parse_num(&s, end, 5, &d->b) || d->b < 1 || s >= end || *s++ != '.' ||
        !parse_num(&s, end, 6, &d->c))
      return false;
  } else if (s < end && *s == 'J') {
    s++;
    d->kind = 'J';
    if (!parse_num(&s, end, 365, &d->a) || d->a < 1)
      return false;
  } else {
    d->kind = 'N';
    if (!parse_num(&s, end, 365, &d->a))
      return false;
  }
  if (s < end && *s == '/') {
    s++;
    if (!parse_hms(&s, end, &d->time))
      return false;
  }
  *p = s;
  return true;
}

/* Parses "std offset [dst [offset] [,start[/time],end[/time]]]". */
static bool parse_posix_tz(const char *s, size_t len, struct tz_rule *r) {
  const char *p = s, *end = s + len;
  int32_t off;
  memset(r, 0, sizeof *r);
  if (!parse_abbr(&p, end) || !parse_hms(&p, end, &off))
    return false;
  r->std_off = -off; /* POSIX offsets count west of Greenwich */
  if (p == end) {
    r->valid = true;
    return true;
  }
  if (!parse_abbr(&p, end))
    return false;
  r->dst_off = r->std_off + 3600;
  if (p < end && *p != ',') {
    if (!parse_hms(&p, end, &off))
      return false;
    r->dst_off = -off;
  }
  if (p == end || *p != ',')
    return false; /* a DST name without rules: we do not guess the US default */
  p++;
  if (!parse_rule_date(&p, end, &r->start) || p >= end || *p++ != ',' ||
      !parse_rule_date(&p, end, &r->end) || p != end)
    return false;
  r->has_dst = true;
  r->valid = true;
  return true;
}

/* Local midnight's day number of a rule date in year. */
static int64_t rule_day(const struct tz_rule_date *d, int64_t year) {
  switch (d->kind) {
  case 'M':
    return cf_time_days_from_civil(year, d->a, cf_time_nth_weekday(year, d->a, d->b, d->c));
  case 'J': {
    /* Jn counts 1..365 and never names Feb 29. */
    int64_t day = cf_time_days_from_civil(year, 1, 1) + d->a - 1;
    if (cf_time_is_leap(year) && d->a >= 60)
      day++;
    return day;
  }
  default:
    return cf_time_days_from_civil(year, 1, 1) + d->a;
  }
}

static int32_t rule_offset_at(const struct tz_rule *r, int64_t t) {
  /* Far outside any calendar the rule can describe: standard time (and no overflow). */
  if (!r->has_dst || t < -(INT64_C(1) << 55) || t > (INT64_C(1) << 55))
    return r->std_off;
  int64_t year, local_days = cf_time_floor_div(t + r->std_off, CF_TIME_SECS_PER_DAY);
  unsigned m, d;
  cf_time_civil_from_days(local_days, &year, &m, &d);
  /* Keep the computation inside the calendar's range; beyond it, standard time. */
  if (year < CF_TIME_YEAR_MIN - 1 || year > CF_TIME_YEAR_MAX + 1)
    return r->std_off;
  /* The start time is in standard time, the end time in daylight time. */
  int64_t start = rule_day(&r->start, year) * CF_TIME_SECS_PER_DAY + r->start.time - r->std_off;
  int64_t end = rule_day(&r->end, year) * CF_TIME_SECS_PER_DAY + r->end.time - r->dst_off;
  bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? r->dst_off : r->std_off;
}

/* ------------------------------------------------------------- TZif files */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
  uint32_t isut, isstd, leap, time, type, chars;
};

static bool read_header(const unsigned char *p, size_t len, struct tzif_counts *c, char *ver) {
  if (len < 44 || memcmp(p, "TZif", 4) != 0)
    return false;
  *ver = (char)p[4];
  c->isut = be32(p + 20);
  c->isstd = be32(p + 24);
  c->leap = be32(p + 28);
  c->time = be32(p + 32);
  c->type = be32(p + 36);
  c->chars = be32(p + 40);
  /* Bounds that keep every size computation below far from overflow. */
  if (c->time > 100000 || c->type < 1 || c->type > 256 || c->chars > 100000 ||
      c->leap > 100000 || (c->isut && c->isut != c->type) || (c->isstd && c->isstd != c->type))
    return false;
  return true;
}

static size_t block_size(const struct tzif_counts *c, size_t tsize) {
  return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd +
         c->isut;
}

/* Fills tz's table from a TZif image. False if the data is malformed. */
static bool parse_tzif(struct cf_tz *tz, const unsigned char *buf, size_t len) {
  struct tzif_counts c;
  char ver;
  size_t tsize = 4, off = 0;

  if (!read_header(buf, len, &c, &ver))
    return false;
  if (ver >= '2') {
    /* Skip the 32-bit block to the 64-bit header. */
    size_t skip = 44 + block_size(&c, 4);
    if (skip > len || !read_header(buf + skip, len - skip, &c, &ver))
      return false;
    off = skip;
    tsize = 8;
  }
  size_t data = off + 44;
  if (block_size(&c, tsize) > len - data)
    return false;
  const unsigned char *times = buf + data;
  const unsigned char *idx = times + c.time * tsize;
  const unsigned char *types = idx + c.time;

  tz->ntrans = c.time;
  if (c.time) {
    tz->trans = cf_malloc(c.time * sizeof *tz->trans);
    tz->offs = cf_malloc(c.time * sizeof *tz->offs);
    if (!tz->trans || !tz->offs)
      return false;
  }
  for (uint32_t i = 0; i < c.time; i++) {
    int64_t t = tsize == 8 ? be64(times + i * 8) : (int64_t)(int32_t)be32(times + i * 4);
    unsigned ti = idx[i];
    if (ti >= c.type || (i && t <= tz->trans[i - 1]))
      return false;
    tz->trans[i] = t;
    tz->offs[i] = (int32_t)be32(types + ti * 6);
  }
  tz->first_off = (int32_t)be32(types);
  for (uint32_t i = 0; i < c.type; i++) {
    int32_t o = (int32_t)be32(types + i * 6);
    if (o < -25 * 3600 || o > 26 * 3600)
      return false;
  }

  if (tsize == 8) {
    /* The footer: "\n" POSIX-TZ "\n" after the 64-bit block. */
    size_t f = data + block_size(&c, tsize);
    if (f < len && buf[f] == '\n') {
      const unsigned char *b = buf + f + 1;
      const unsigned char *nl = memchr(b, '\n', len - f - 1);
      if (nl && nl > b)
        parse_posix_tz((const char *)b, (size_t)(nl - b), &tz->rule);
    }
  }
  return true;
}

static void tz_free(struct cf_tz *tz) {
  if (!tz)
    return;
  cf_free(tz->name);
  cf_free(tz->trans);
  cf_free(tz->offs);
  cf_free(tz);
}

static bool valid_name(const char *name, size_t len) {
  if (len == 0 || len > TZ_NAME_MAX || name[0] == '/')
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '/';
    if (!ok)
      return false;
    if (c == '/' && (i + 1 == len || name[i + 1] == '/'))
      return false;
  }
  /* Dots are refused above, so ".." cannot appear; "Z" and the like are handled by the caller. */
  return true;
}

/* Zones every system has, even one without tzdata installed. */
static bool is_utc_alias(const char *name, size_t len) {
  static const char *const aliases[] = {"Z", "UTC", "GMT", "Etc/UTC", "Etc/GMT", "UCT",
                                        "Etc/UCT", "Zulu", "Etc/Zulu", "Universal",
                                        "Etc/Universal", "Greenwich", "Etc/Greenwich"};
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strlen(aliases[i]) == len && memcmp(aliases[i], name, len) == 0)
      return true;
  return false;
}

/* Loads a zone (not yet published). NULL if there is no such zone or memory ran out. */
static struct cf_tz *tz_load(const char *name, size_t len) {
  struct cf_tz *tz = cf_calloc(1, sizeof *tz);
  unsigned char *buf = NULL;
  FILE *f = NULL;
  bool ok = false;

  if (!tz)
    goto out;
  tz->name = cf_strndup(name, len);
  if (!tz->name)
    goto out;

  char path[sizeof TZ_DIR + TZ_NAME_MAX];
  memcpy(path, TZ_DIR, sizeof TZ_DIR - 1);
  memcpy(path + sizeof TZ_DIR - 1, name, len);
  path[sizeof TZ_DIR - 1 + len] = '\0';
  f = fopen(path, "rb");
  if (f) {
    buf = cf_malloc(TZ_FILE_MAX);
    if (!buf)
      goto out;
    size_t n = fread(buf, 1, TZ_FILE_MAX, f);
    /* A directory reads as an error; a file filling the whole buffer is too big to trust. */
    if (!ferror(f) && n < TZ_FILE_MAX)
      ok = parse_tzif(tz, buf, n);
  }
  if (!ok && is_utc_alias(name, len)) {
    /* No file (or no tzdata at all): UTC needs none. */
    cf_free(tz->trans);
    cf_free(tz->offs);
    tz->trans = NULL;
    tz->offs = NULL;
    tz->ntrans = 0;
    tz->first_off = 0;
    memset(&tz->rule, 0, sizeof tz->rule);
    ok = true;
  }
out:
  if (f)
    fclose(f);
  cf_free(buf);
  if (!ok) {
    tz_free(tz);
    return NULL;
  }
  return tz;
}

const struct cf_tz *cf_tz_find(const char *name, size_t len) {
  struct cf_tz *tz;

  if (!name || !valid_name(name, len))
    return NULL;
  pthread_mutex_lock(&tz_lock);
  for (tz = tz_list; tz; tz = tz->next)
    if (strlen(tz->name) == len && memcmp(tz->name, name, len) == 0)
      break;
  if (!tz) {
    /* Loading under the lock keeps two threads from loading the same zone twice;
     * it happens once per zone per process. */
    tz = tz_load(name, len);
    if (tz) {
      tz->next = tz_list;
      tz_list = tz;
    }
  }
  pthread_mutex_unlock(&tz_lock);
  return tz;
}

const char *cf_tz_name(const struct cf_tz *tz) { return tz->name; }

int32_t cf_tz_offset_at(const struct cf_tz *tz, int64_t utc_secs) {
  if (tz->ntrans == 0 || utc_secs < tz->trans[0])
    return tz->ntrans == 0 && tz->rule.valid ? rule_offset_at(&tz->rule, utc_secs)
                                             : tz->first_off;
  if (utc_secs >= tz->trans[tz->ntrans - 1] && tz->rule.valid)
    return rule_offset_at(&tz->rule, utc_secs);
  /* The last transition at or before utc_secs. */
  size_t lo = 0, hi = tz->ntrans; /* trans[lo] <= utc_secs < trans[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->trans[mid] <= utc_secs)
      lo = mid;
    else
      hi = mid;
  }
  return tz->offs[lo];
}

int32_t cf_tz_offset_for_local(const struct cf_tz *tz, int64_t local_secs) {
  /*
   * The offsets a day before and a day after bracket any single transition
   * that can matter (zone offsets stay within +-26 hours). An offset o is
   * valid for this local time when it is the one in force at local - o.
   */
  int32_t before = cf_tz_offset_at(tz, local_secs - CF_TIME_SECS_PER_DAY);
  int32_t after = cf_tz_offset_at(tz, local_secs + CF_TIME_SECS_PER_DAY);
  if (cf_tz_offset_at(tz, local_secs - before) == before)
    return before; /* also the overlap case: the earlier instant keeps the earlier offset */
  if (cf_tz_offset_at(tz, local_secs - after) == after)
    return after;
  /* Two transitions within two days: look for a fixed point near the middle. */
  int32_t mid = cf_tz_offset_at(tz, local_secs - before);
  if (cf_tz_offset_at(tz, local_secs - mid) == mid)
    return mid;
  return before; /* a gap: the offset before it */
}
