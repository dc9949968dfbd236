/*
 * protoc: messages of a user's own .proto through Debian's protoc (package protobuf-compiler),
 * so that faultline holds no encoder or decoder of its own for them. `protoc --encode=TYPE`
 * turns a text-format message into its bytes, `protoc --decode=TYPE` turns bytes into text.
 *
 * protoc is looked up on PATH, or is FAULTLINE_PROTOC when that is set (a path, or a name to
 * look up). Each call runs one protoc process whose stdin, stdout and stderr are memory files
 * (memfd): nothing can deadlock on a full pipe and no temporary file is left behind. The child
 * holds no other descriptor of the caller (a peer's event pipe stays the peer's alone), stays
 * in the caller's process group (the runner ends it with its peer), and must exit within
 * FL_PROTOC_TIMEOUT_NS, or it is killed and the call fails. What it writes is read up to a cap,
 * never more.
 *
 * Paths are given absolute. protoc reads the .proto with `--proto_path` set to each import
 * directory, or to the file's own directory when there is none; the file must then lie inside
 * one of them (fl_protoc_inside says whether it does).
 *
 * Measured here (protoc 3.21.12, the shop.v1 proto of tests/peers/proto): one call takes about
 * 4 ms.
 */
#ifndef FL_PROTOC_H
#define FL_PROTOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* How long one protoc run may take. */
#define FL_PROTOC_TIMEOUT_NS (INT64_C(10) * 1000000000)

typedef struct {
  const char *file;               /* the .proto, absolute */
  const char *const *import_dirs; /* --proto_path directories, absolute */
  size_t n_import_dirs;           /* 0: the file's own directory */
} fl_protoc_source;

/* What failed, so that the caller can point at the part of the scenario that is at fault. */
typedef enum {
  FL_PROTOC_RUN,   /* protoc could not be run, was killed, timed out or wrote too much */
  FL_PROTOC_PROTO, /* protoc could not read the .proto or one of its imports */
  FL_PROTOC_TYPE,  /* the type is not defined in the .proto or its imports */
  FL_PROTOC_INPUT, /* the input is not a message of the type */
} fl_protoc_fault;

typedef struct {
  fl_protoc_fault fault;
  /* FL_PROTOC_INPUT of a text: where protoc stopped in it (1-based); 0 when it did not say */
  int line, col;
  /* protoc's own words (its stderr, lines joined with "; ", its "input:L:C: " taken off), or
   * why it could not run: "cannot run protoc: No such file or directory (protoc comes with
   * Debian's protobuf-compiler package)", "protoc did not finish within 10s", ... */
  char msg[512];
} fl_protoc_error;

/*
 * Encodes `text` (text format, `text_len` bytes) as a message of `type` (a full name such as
 * shop.v1.Order). Returns 0 with the bytes in *out (malloc'd, freed by the caller, also when
 * *len is 0), or -1 with *err filled; more than `max` bytes of output is an FL_PROTOC_RUN error.
 */
int fl_protoc_encode(const fl_protoc_source *src, const char *type, const char *text,
                     size_t text_len, size_t max, uint8_t **out, size_t *len,
                     fl_protoc_error *err) FL_MUST_USE;

/*
 * Decodes `buf` as a message of `type`. Returns 0 with the text on one line in *text (malloc'd,
 * NUL-terminated: every line break of protoc's output and the indentation after it become one
 * space, so `id: "o-1" lines { sku: "x" }` is still text format), cut to at most `max` bytes
 * (*cut then true); or -1 with *err filled (FL_PROTOC_INPUT: the bytes are not such a message).
 */
int fl_protoc_decode(const fl_protoc_source *src, const char *type, const uint8_t *buf, size_t len,
                     size_t max, char **text, bool *cut, fl_protoc_error *err) FL_MUST_USE;

/* Whether protoc can read src->file and finds `type` in it (a decode of no bytes). Returns 0,
 * or -1 with *err filled. */
int fl_protoc_check_type(const fl_protoc_source *src, const char *type,
                         fl_protoc_error *err) FL_MUST_USE;

/* Every file protoc reads for src->file: the file and each it imports, transitively, as paths
 * inside src's import directories (or protoc's own include folder, for google/protobuf/...),
 * in protoc's order (`protoc --dependency_out`). Returns 0 with *files (malloc'd, each and the
 * array; free both) and *n, or -1 with *err filled. scenario_refs.h lists them for bundles. */
int fl_protoc_dependencies(const fl_protoc_source *src, char ***files, size_t *n,
                           fl_protoc_error *err) FL_MUST_USE;

/* Whether `file` lies inside directory `dir` (both absolute, as written: no link is followed). */
bool fl_protoc_inside(const char *file, const char *dir);

#endif
