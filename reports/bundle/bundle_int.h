/*
 * bundle_int: what the bundle writer and reader share (not for other modules): the rule for
 * entry names, so that every bundle faultline writes is one it reads back.
 */
#ifndef FL_BUNDLE_INT_H
#define FL_BUNDLE_INT_H

#include <stddef.h>

#include "bundle.h"

/* Whether `name` may be an entry's name (bundle.h READING A BUNDLE, the naming rule; a
 * trailing '/' is allowed, as tar writes folders). Returns 0, or -1 with the reason in why,
 * worded to follow the quoted name: "is an absolute path; a bundle's entries are relative". */
int fl_bundle_name_check(const char *name, char *why, size_t len);

/*
 * Where a bundle puts the files a scenario refers to (bundle.h, TOP/files/...): `dir` is the
 * absolute path of the scenario's folder, names[0..n) the relative names as written. Writes the
 * place of the scenario's copy into copy ("scenario.yaml" when n is 0) and each file's into
 * stored[i] (malloc'd), all relative to TOP, such that copy's folder joined with names[i] and
 * folded lexically is stored[i]. Returns 0, or -1 with the index of the name at fault in *bad
 * and why, worded to follow the name: "climbs above the root folder", "names a folder, not a
 * file", "is an absolute path", "is too long to bundle", "is named like the bundle's copy of
 * the scenario ...". On failure the caller frees the stored[] already made.
 */
int fl_bundle_layout(const char *dir, const char *const *names, size_t n,
                     char copy[FL_BUNDLE_PATH_MAX], char **stored, size_t *bad, char *why,
                     size_t whylen);

/*
 * Replaces the run's list of referenced files by `refs` (taken over: *refs is zeroed) and lays
 * them out again, with the checks and messages of fl_bundle_run_open. For the unit tests, which
 * build references no scenario on disk needs; real keys come through fl_scenario_refs_list.
 */
int fl_bundle_run_use_refs(fl_bundle_run *r, fl_scenario_refs *refs, char *err, size_t errlen);

#endif
