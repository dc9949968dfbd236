/*
 * scenario_refs: the files a scenario refers to outside itself, and the one rule for where such
 * a file is.
 *
 * A scenario file may name other files: a payload's .proto and message file (`payload: {
 * proto, import_paths, file }`), the decode .proto (`decode: { proto, import_paths }`) and an
 * external side's program (`server: { exec: [PROGRAM, ...] }`). fl_scenario_refs_list names
 * every one, so that `faultline bundle` packs the data files and records the programs'
 * versions, and `faultline run --bundle` finds the packed files again
 * (reports/bundle/bundle.h). A .proto is listed with every file protoc reads for it (its
 * imports, transitively: fl_protoc_dependencies), each named as the import path it lies under
 * joined with the rest; imports from protoc's own include folder are not (they come with
 * protoc). An import path that holds none of those files is not recreated by a bundle.
 *
 * THE RULE (fl_scenario_ref_path): a name written as an absolute path is that path; any other
 * is relative to the directory of the scenario file as the user named it (s->path: for
 * `faultline run dir/x.yaml`, "dir/"), never to the current directory and never to the run
 * directory's copy. The name is kept as written (no symbolic link resolved, no "." or ".."
 * folded) so that the operating system resolves it exactly as the reader will. It is the rule
 * fl_scenario_resolve applies with no base_dir and the runner applies to an external side's
 * program and cwd; a change to one is a change to all three.
 *
 * ADDING A KEY: where the key's value is parsed, nothing changes; in fl_scenario_refs_list
 * (scenario_refs.c) walk the plan's places that hold such a name and call fl_scenario_refs_add
 * for each with the key's name as the README spells it ("payload.proto"), the name as written
 * and its line and column:
 *   - FL_REF_FILE for data the run reads: a bundle packs it, so it must be a regular file;
 *   - FL_REF_PROGRAM for a program a side runs: a bundle records its path, size, SHA-256 and
 *     ELF build id in versions.json and does not pack it. A PROGRAM named with a '/' follows
 *     the rule above; one without is looked up in PATH, as execvp does (fl_scenario_refs_add
 *     does both, as the runner starts an external side).
 * A bundle refuses a FILE written as an absolute path (on another machine the path would not
 * be the packed file): the message names the key, the file, line and column.
 *
 * Errors follow util.h: 0 on success, -1 with one line in err.
 */
#ifndef FL_SCENARIO_REFS_H
#define FL_SCENARIO_REFS_H

#include <stddef.h>

#include "scenario.h"
#include "util.h"

typedef enum {
  FL_REF_FILE,    /* data the run reads: bundled */
  FL_REF_PROGRAM, /* a program a side runs: its version recorded, not bundled */
} fl_ref_kind;

typedef struct {
  fl_ref_kind kind;
  char *key;     /* the scenario key that names it, "payload.proto" */
  char *written; /* the name as the scenario file has it */
  char *path;    /* where it is, by fl_scenario_ref_path */
  int line, col; /* where the name stands in the scenario file, 1-based */
} fl_scenario_ref;

typedef struct {
  fl_scenario_ref *refs;
  size_t n;
} fl_scenario_refs;

/* Every file and program `s` refers to, into *out (which must be zeroed; free it with
 * fl_scenario_refs_free, on failure too): decode's .proto first, then each side's program and
 * payloads in the order of its script. Runs protoc once per .proto (fl_protoc_dependencies):
 * "FILE:L:C: payload.proto: cannot list what 'a.proto' imports: ...". */
int fl_scenario_refs_list(const fl_scenario *s, fl_scenario_refs *out, char *err,
                          size_t errlen) FL_MUST_USE;

/* Appends one reference, resolved by fl_scenario_ref_path (a PROGRAM without '/': the first
 * executable of that name in PATH, else the name itself). Refuses an empty name and one
 * holding a control character: "FILE:LINE:COL: KEY: ...". */
int fl_scenario_refs_add(fl_scenario_refs *r, const fl_scenario *s, fl_ref_kind kind,
                         const char *key, const char *written, int line, int col, char *err,
                         size_t errlen) FL_MUST_USE;

void fl_scenario_refs_free(fl_scenario_refs *r);

/* THE RULE above: where the name `written` of a file `s` refers to is, into out (len bytes).
 * Returns 0, or -1 when it does not fit ("FILE: the path of 'NAME' is longer than N bytes"). */
int fl_scenario_ref_path(const fl_scenario *s, const char *written, char *out, size_t len,
                         char *err, size_t errlen) FL_MUST_USE;

const char *fl_ref_kind_name(fl_ref_kind k);

#endif
