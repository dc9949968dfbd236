/*
 * library: the named scenario library (scenarios/NAME.yaml) and how names resolve to files.
 *
 * The library folder is --scenarios DIR, else $FAULTLINE_SCENARIOS, else the binary's own:
 *   - a faultline running from its build tree (the folder it sits in is the build root meson
 *     made, FL_BUILD_ROOT in config.h) uses the source tree's scenarios/;
 *   - any other (installed) uses the library installed beside it, BINDIR/../share/faultline/
 *     scenarios as the install's prefix lays it out (found relative to the binary, so an
 *     install under DESTDIR or a moved prefix works), else FL_INSTALLED_SCENARIO_DIR.
 * An argument that names an existing file, or contains a '/' or ends in .yaml/.yml, is a
 * path; anything else is a name looked up in the library.
 */
#ifndef FL_LIBRARY_H
#define FL_LIBRARY_H

#include <stddef.h>

/* Sets the folder for this process (NULL: back to the default). */
void fl_library_set_dir(const char *dir);
const char *fl_library_dir(void);

/* Resolves a name or path to a file path. Returns 0, or -1 with a message in err saying what
 * was looked for and where (and the nearest name, for a near miss). */
int fl_library_resolve(const char *arg, char *path, size_t pathlen, char *err, size_t errlen);

/* The library's scenario files, sorted by name. Returns the count (0 if none), -1 if the
 * folder cannot be read. Free with fl_library_free. */
int fl_library_list(char ***paths);
void fl_library_free(char **paths, int n);

#endif
