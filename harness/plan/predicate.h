/*
 * predicate: the one small language shared by `wait:` barriers and `expect:` clauses.
 *
 *   clause   := operand OP operand
 *   OP       := == | != | < | <= | > | >= | contains | matches
 *   operand  := field | literal
 *   field    := side '.' name                 client.status, client.close_send.completed
 *             | 'wire.' side '.' name         wire.server.rst_stream.code
 *             | name                          run fields: outcome, elapsed, capture.dropped
 *   literal  := integer | duration (250ms, 1.5s, 2m) | size (16KiB, 4MiB, 100B)
 *             | true | false | status name (OK, DEADLINE_EXCEEDED, ...) | outcome name
 *             | HTTP/2 error code name (NO_ERROR, CANCEL, ...)
 *             | "double-quoted string" (\" \\ \n \t escapes)
 *
 * Each field has a type (fields.h); a clause is type-checked when parsed, so a scenario with
 * `client.status == 3s` is rejected by `faultline validate`, not at run time. Exactly one side
 * of a clause names a field. Strings also take `contains` (a substring) and `matches` (a POSIX
 * extended regular expression, checked when parsed); those two need the field on the left.
 */
#ifndef FL_PREDICATE_H
#define FL_PREDICATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fields.h"

typedef struct fl_predicate fl_predicate;

/* Resolves one field (for one side, or FL_SCOPE_GLOBAL) to its current value. Returns false
 * if the caller cannot resolve it (treated as "not known"). */
typedef bool (*fl_field_lookup)(void *ctx, fl_scope scope, const fl_field_info *field,
                                fl_value *out);

/*
 * Parses `text`. On success returns 0 and sets *out. On error returns -1 and writes a message
 * into errbuf, with *errcol set to the 0-based column inside `text` where the error is, so the
 * scenario parser can report file:line:col. The column counts characters (UTF-8 code points),
 * as libyaml's marks do, not bytes.
 */
int fl_predicate_parse(const char *text, fl_predicate **out, char *errbuf, size_t errlen,
                       int *errcol);
void fl_predicate_free(fl_predicate *p);

/* The side a predicate's field belongs to (for barriers: whose events can release it). */
fl_scope fl_predicate_scope(const fl_predicate *p);

/* The field the predicate names, e.g. "client.status". */
const char *fl_predicate_field_text(const fl_predicate *p);

/*
 * Evaluates the clause. Returns true if it holds. A comparison with a value that is not known
 * is false. *seen (optional) receives the field's value, for "not reproduced: seen X".
 */
bool fl_predicate_eval(const fl_predicate *p, fl_field_lookup lookup, void *ctx, fl_value *seen);

/* Formats a value the way a user would write it: 1.50s, 16KiB, DEADLINE_EXCEEDED, true,
 * "text", hang; "(none)" when not known. Returns buf. */
const char *fl_value_format(const fl_value *v, char *buf, size_t len);

/* Status names <-> codes (OK=0 ... UNAUTHENTICATED=16). Name lookup returns -1 if unknown.
 * fl_status_name and fl_outcome_name never return NULL: a value out of range gives
 * "(unknown status)" / "(unknown outcome)". */
const char *fl_status_name(int code);
int fl_status_from_name(const char *name);
const char *fl_outcome_name(fl_outcome o);

/* Literal parsers shared with the scenario parser. Return 0 on success, -1 if malformed, -2 if
 * well formed but too large for int64 (more than 9223372036854775807 ns or bytes), so that a
 * caller can say "at most ..." rather than "not a duration".
 * Durations need a unit: ns, us (or µs), ms, s, m, h; a decimal fraction is allowed when the
 * result is a whole number of nanoseconds ("1.5s", not "1.5ns"). Sizes: a bare integer is bytes;
 * units B, KB/kB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of 1024); a
 * fraction is allowed when the result is whole bytes ("1.5KiB" = 1536). No sign, no spaces. */
int fl_parse_duration(const char *s, int64_t *ns);
int fl_parse_size(const char *s, int64_t *bytes);

/* The field a parsed predicate names (an entry of fl_fields). */
const fl_field_info *fl_predicate_field(const fl_predicate *p);

/*
 * Near-miss suggestions, shared with the scenario parser. fl_edit_distance is the optimal
 * string alignment distance (an adjacent transposition counts 1), ASCII case-insensitive.
 * fl_near_miss returns the candidate (from a NULL-terminated list) closest to `word` if it is
 * within distance 2 and the distance is less than the candidate's length, else NULL.
 */
int fl_edit_distance(const char *a, const char *b);
const char *fl_near_miss(const char *word, const char *const *candidates);

#endif
