/*
 * chanargs: the channel arguments gRPC C core 1.51 declares, and how a scenario's `args:` value
 * becomes the argument C core reads.
 *
 * The names are those of C core's public headers (<grpc/impl/codegen/grpc_types.h>,
 * <grpc/compression.h>, <grpc/grpc_security_constants.h>, ...): every string macro whose value
 * starts with "grpc.". tests/unit/test_chanargs.c fails when this table and the installed
 * headers disagree. The kind of each comes from the comment beside its macro and from how
 * C core reads it (grpc_channel_args_find_integer, ..._string, ..._pointer).
 *
 * The rule (README "Channel arguments"):
 *   - an argument of this table takes its kind's values, however the YAML quotes them:
 *       FL_CHANARG_INT      an integer
 *       FL_CHANARG_BOOL     an integer, or true / false (1 / 0)
 *       FL_CHANARG_BYTES    an integer of bytes, or a size with a unit (8MiB), converted
 *       FL_CHANARG_MS       an integer of milliseconds, or a duration (30s), converted; it
 *                           must be a whole number of milliseconds
 *       FL_CHANARG_STRING   any text, passed as a string (42 is the string "42")
 *       FL_CHANARG_POINTER  none: C core wants a C object, which a file cannot hold
 *     The result of every integer kind must fit in C core's int.
 *   - any other name is passed as written (a plain integer as an integer, anything else as a
 *     string) and warned about; a value with a unit is refused for it, as faultline cannot
 *     tell which unit the argument would want.
 */
#ifndef FL_CHANARGS_H
#define FL_CHANARGS_H

#include <stdbool.h>

#include "util.h"

typedef enum {
  FL_CHANARG_INT,
  FL_CHANARG_BOOL,
  FL_CHANARG_BYTES,
  FL_CHANARG_MS,
  FL_CHANARG_STRING,
  FL_CHANARG_POINTER,
} fl_chanarg_kind;

typedef struct {
  const char *name; /* "grpc.http2.lookahead_bytes" */
  fl_chanarg_kind kind;
} fl_chanarg_info;

/* Every argument C core declares, sorted by name, terminated by {NULL}. */
extern const fl_chanarg_info fl_chanargs[];

/* The entry for `name`, or NULL when C core declares no such argument. */
const fl_chanarg_info *fl_chanarg_find(const char *name);

/* The names alone, NULL-terminated (for fl_near_miss). */
const char *const *fl_chanarg_names(void);

/* "an integer", "true, false or an integer", "a size like 8MiB or a number of bytes", ... */
const char *fl_chanarg_kind_desc(fl_chanarg_kind k);

/*
 * Converts `value` for the argument `info` (NULL: a name C core does not declare).
 * `plain` tells whether the YAML scalar was unquoted (it matters only for unknown names).
 * On success returns 0 and sets *is_int and *int_value (when *is_int). On a value the rule
 * refuses, returns -1 with one line in err saying why ("'8MiB' is not a whole number of
 * milliseconds", "out of range for C core's int (-2147483648..2147483647)", ...).
 */
int fl_chanarg_convert(const fl_chanarg_info *info, const char *value, bool plain, bool *is_int,
                       long long *int_value, char *err, size_t errlen) FL_MUST_USE;

#endif
