/*
 * rundir: a run directory and every file in it, made so that nothing of a user's is touched
 * and no write is lost silently.
 *
 * WHICH DIRECTORY (the rule users rely on; README "Run directory"):
 *   fl_rundir_create(PATH) (`--out PATH`) uses PATH when it
 *     - does not exist: it is made (and its missing parents, as mkdir -p does);
 *     - is an empty directory: it is used as it is;
 *     - is the directory of an earlier faultline run: it is replaced as a whole. faultline
 *       recognises one by its marker file, .faultline-run, which lists every entry faultline
 *       made there; the directory and the marker must belong to the user running faultline,
 *       and the directory must hold nothing the marker does not list (a folder of runs, as
 *       --out makes for several scenarios, is checked the same way, each run in it too).
 *   Anything else is refused with a message that says why and what to do: PATH is a symbolic
 *   link, not a directory, holds a file faultline did not write, is / or $HOME, or is (or
 *   holds) the current directory while it would have to be replaced.
 *   Replacing never follows a link and never deletes an entry the marker does not list. The
 *   earlier directory is renamed aside (PARENT/.NAME.faultline-old-XXXXXX) and a new one made
 *   in its place; fl_rundir_close deletes the old one, unless a write in the new one failed
 *   (then it is kept, so that a full disk cannot cost the user the earlier run and the
 *   scenario file it held, and fl_rundir_failures says where it is).
 *   fl_rundir_open_folder(PATH) (runs/, `--runs-dir`) makes PATH if need be and only ever
 *   makes new run directories in it (fl_rundir_create_child); it is never emptied.
 *
 * EVERY FILE is created with openat on the directory's own descriptor and O_CREAT | O_EXCL |
 * O_NOFOLLOW | O_CLOEXEC: it cannot follow a link or open a file that exists. Its name is
 * added to the marker before it is created, so that a run that dies still leaves a directory
 * a later run may replace. Whole-file outputs are written under a temporary name and renamed
 * into place (fl_rundir_write_file, fl_rundir_begin/commit).
 *
 * WRITE ERRORS are recorded per file, the first one of each (name and errno), whoever hit it:
 * streams from fl_rundir_fopen record their own (on any write, flush or close), descriptors
 * from fl_rundir_open record theirs through fl_rundir_write / fl_rundir_close_fd, and
 * fl_rundir_note records one found elsewhere. fl_rundir_failures says what could not be
 * written, for the verdict `error`. The functions are safe to call from several threads (the
 * capture writes from its own).
 *
 * Every fallible function follows util.h: 0 (or a descriptor, a count) on success, -1 with
 * one line in err.
 */
#ifndef FL_RUNDIR_H
#define FL_RUNDIR_H

#include <stddef.h>
#include <stdio.h>

#include "util.h"

/* The marker file's name, in every directory faultline makes. */
#define FL_RUNDIR_MARKER ".faultline-run"

typedef struct fl_rundir fl_rundir;

/*
 * `--out PATH`, by the rule above. Messages (after "--out PATH: "):
 *   "is a symbolic link; faultline does not follow links: name the directory itself"
 *   "exists and is not a directory"
 *   "is the root directory; name a directory of its own for the run"
 *   "is your home directory ($HOME); name a directory of its own for the run"
 *   "holds 'notes.txt', which no faultline run wrote; faultline writes into a new or empty
 *    directory or replaces an earlier run's directory as a whole: choose another --out, or
 *    empty it yourself"
 *   "holds a faultline marker that belongs to uid N, not to you (uid M)"
 *   "is the current directory (or holds it), which replacing it would delete: run faultline
 *    from elsewhere"
 *   "cannot create it: <strerror>", "cannot read it: <strerror>", ...
 */
/* On failure errno is 0 when the rule refused PATH (the user's to fix: exit 2), else the
 * error the system gave (ENOSPC, EACCES, ...). */
int fl_rundir_create(const char *path, fl_rundir **out, char *err, size_t errlen) FL_MUST_USE;

/* A folder of run directories (runs/, --runs-dir): made if missing, never emptied. */
int fl_rundir_open_folder(const char *path, fl_rundir **out, char *err, size_t errlen) FL_MUST_USE;

/*
 * A new run directory inside `parent`: BASE, or BASE-2, BASE-3, ... (up to BASE-999) when
 * that exists. In a directory made by fl_rundir_create the name goes into its marker first.
 */
int fl_rundir_create_child(fl_rundir *parent, const char *base, fl_rundir **out, char *err,
                           size_t errlen) FL_MUST_USE;

/* The directory as the user named it ("runs/20261125-110155-ping-pong"), for messages. */
const char *fl_rundir_path(const fl_rundir *rd);
/* Its descriptor (O_DIRECTORY), valid until fl_rundir_close. */
int fl_rundir_fd(const fl_rundir *rd);

/*
 * Creates `name` (one path component, not the marker) for writing, as described above, mode
 * 0644. Returns the descriptor (close it with fl_rundir_close_fd so that a close error is
 * recorded), or -1: "cannot create DIR/NAME: File exists", ...
 */
int fl_rundir_open(fl_rundir *rd, const char *name, char *err, size_t errlen) FL_MUST_USE;

/* The same as a stdio stream that records its own first write error (fwrite, fprintf, fflush,
 * fclose: whichever meets it). Close it with fclose. NULL on failure, with err set. Usable
 * wherever a FILE * is taken: libpcap's pcap_dump_fopen, fl_threads_dump, fl_jsonw. */
FILE *fl_rundir_fopen(fl_rundir *rd, const char *name, char *err, size_t errlen);

/* Writes all of buf to a descriptor from fl_rundir_open, retrying short writes and EINTR.
 * Returns 0, or -1 having recorded the error against the file's name. */
int fl_rundir_write(fl_rundir *rd, int fd, const void *buf, size_t len) FL_MUST_USE;
/* Closes such a descriptor, recording an error close reports (NFS, quotas). */
int fl_rundir_close_fd(fl_rundir *rd, int fd);

/* A whole file: written under a temporary name, synced, renamed to `name` (never over an
 * existing one). Returns 0, or -1 with err set and the error recorded against `name`. */
int fl_rundir_write_file(fl_rundir *rd, const char *name, const void *buf, size_t len, char *err,
                         size_t errlen) FL_MUST_USE;
/* The same streamed: fl_rundir_begin gives a stream on the temporary name, fl_rundir_commit
 * closes it and renames it to `name` if every write went through, else removes it. */
FILE *fl_rundir_begin(fl_rundir *rd, const char *name, char *err, size_t errlen);
int fl_rundir_commit(fl_rundir *rd, FILE *f, char *err, size_t errlen) FL_MUST_USE;
/* The same for a file this run made here and has closed (events.jsonl, written live during the
 * run, then again sorted): fl_rundir_commit renames the new one over it. A rewrite that goes
 * through clears the file's earlier write error (the file is whole now); one that fails keeps
 * the earlier error if there was one. NULL with err when `name` is not such a file. */
FILE *fl_rundir_rewrite(fl_rundir *rd, const char *name, char *err, size_t errlen);

/* Adds `name` to the marker without creating it: for a file another program writes by path
 * into this directory (libfaketime's timestamp file of a clock fault), so that a later run may
 * replace the directory. */
int fl_rundir_claim(fl_rundir *rd, const char *name, char *err, size_t errlen) FL_MUST_USE;

/* Records that `name` could not be written completely (errnum: ENOSPC, EIO, ...). Only the
 * first error of each file is kept. */
void fl_rundir_note(fl_rundir *rd, const char *name, int errnum);

/*
 * What could not be written: the number of files with an error, and in msg (if not NULL) one
 * line such as "cannot write events.jsonl (No space left on device), capture.pcap (No space
 * left on device) in runs/x", plus, when an earlier run directory was kept because of them,
 * "; the earlier run directory is kept as runs/.x.faultline-old-Ab12Cd".
 */
size_t fl_rundir_failures(fl_rundir *rd, char *msg, size_t len);

/* Closes the directory; deletes the earlier directory it replaced unless a write failed.
 * Returns 0, or -1 with err saying what of the earlier directory could not be removed. NULL
 * is accepted. */
int fl_rundir_close(fl_rundir *rd, char *err, size_t errlen);

#endif
