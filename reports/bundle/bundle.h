/*
 * bundle: a run directory packed for a ticket (FILE.tar.gz, libarchive), and unpacked safely to
 * run it again elsewhere (`faultline bundle`, `faultline run --bundle`; README "Bundles").
 *
 * THE ARCHIVE: a gzip'd tar (pax) whose entries all lie under one folder TOP, the run
 * directory's own name (or the scenario's, when that name is not plain: see fl_bundle_top):
 *   TOP/report.json, TOP/scenario.yaml, ...  the run directory's files as they were, those of
 *                                   FL_BUNDLE_RUN_FILES: unpacked, TOP is a run directory
 *                                   again (`faultline report TOP` renders it)
 *   TOP/versions.json               what was in force (versions.h)
 *   TOP/files/A1/../Ak/scenario.yaml and TOP/files/...
 *                                   only when the scenario refers to files (scenario_refs.h):
 *                                   a copy of scenario.yaml placed so that each file it names
 *                                   relative to itself lies where that name leads. A1..Ak are
 *                                   the last k folders of the original scenario's own folder,
 *                                   k the most levels a name climbs with "..".
 *   TOP/bundle.json                 the manifest, the last entry:
 *     {"format": "faultline-bundle", "version": 1,
 *      "scenario": {"name", "file": the copy to rerun, relative to TOP, "original": the path
 *                   the run named},
 *      "run": {"verdict", "outcome", "started_at", "faultline_version"} from report.json,
 *      "refs": [{"key", "kind", "written", "line", "col", "stored"}] (stored: relative to TOP,
 *              null for a program),
 *      "files": [{"name", "size", "sha256"}] every other entry, in the archive's order}
 * Entries are regular files of mode 0644 owned by uid 0, with no user or host name.
 *
 * READING THE RUN DIRECTORY (fl_bundle_run_open) follows no link: the directory is opened with
 * O_NOFOLLOW | O_DIRECTORY and every file with openat(O_NOFOLLOW), and each must be a regular
 * file (a symbolic link or a fifo among its files refuses the bundle); entries that are not
 * run files (a user's notes.txt) are left out and named (fl_bundle_run_left_out); hidden ones
 * (the marker, temporary names) are skipped silently.
 *
 * WRITING (fl_bundle_write) never replaces a file: an existing output is refused at once; the
 * archive is written under a temporary name in the output's folder (.NAME.XXXXXX), synced, and
 * renamed into place with RENAME_NOREPLACE (link and unlink where the file system lacks it);
 * on any failure the temporary file is removed. An output inside the run directory is refused:
 * its files are made only by a run (rundir.h).
 *
 * READING A BUNDLE (fl_bundle_extract) treats the archive as hostile. Only gzip'd (or plain)
 * tar is read. Before anything is written, each entry must be:
 *   - a regular file or a folder: a symbolic link, hard link, device, fifo or socket refuses
 *     the bundle, as does a sparse file;
 *   - named by a relative path of at most FL_BUNDLE_PATH_MAX bytes and FL_BUNDLE_DEPTH_MAX
 *     parts of at most NAME_MAX bytes, under the same first folder as every other entry, with
 *     no "..", "." or empty part and no control character;
 *   - at most FL_BUNDLE_FILE_MAX bytes, with FL_BUNDLE_TOTAL_MAX bytes and
 *     FL_BUNDLE_ENTRIES_MAX entries in all (counted as they are read, whatever the headers
 *     say), and named once.
 * Entries are written with libarchive's disk writer inside `dest` only, with
 * ARCHIVE_EXTRACT_SECURE_NODOTDOT | SECURE_SYMLINKS | SECURE_NOABSOLUTEPATHS | NO_OVERWRITE,
 * modes 0644 and 0755 (none from the archive), no owner. Then bundle.json must be the manifest
 * above and agree with what was read: every file listed, of that size and SHA-256, and no
 * other. The first fault refuses the whole bundle; the caller removes `dest`. A failure of the
 * disk writer counts as the bundle's fault (a file where its folder must be) unless it is the
 * machine's: no space, no permission, a read-only or failing disk, no memory or descriptors.
 *
 * Errors follow util.h: -1 with one line in err. fl_bundle_run_open, fl_bundle_write and
 * fl_bundle_extract leave errno 0 when the input or the user's choice was at fault (a hostile
 * archive, an existing output: exit 2 for the CLI), else the system's error (exit 3).
 */
#ifndef FL_BUNDLE_H
#define FL_BUNDLE_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "scenario_refs.h"
#include "util.h"

/* The caps of a bundle, for the reader and the writer alike (a bundle faultline makes is one
 * it reads back). A capture of a long run is the largest file; a few hundred MB in practice. */
#define FL_BUNDLE_FILE_MAX (INT64_C(1) << 30)  /* 1 GiB per file */
#define FL_BUNDLE_TOTAL_MAX (INT64_C(4) << 30) /* 4 GiB in all */
#define FL_BUNDLE_ENTRIES_MAX 10000
#define FL_BUNDLE_PATH_MAX 1024
#define FL_BUNDLE_DEPTH_MAX 64
/* bundle.json and versions.json are read into memory. */
#define FL_BUNDLE_JSON_MAX (4 * 1024 * 1024)

#define FL_BUNDLE_MANIFEST "bundle.json"
#define FL_BUNDLE_VERSIONS "versions.json"
#define FL_BUNDLE_FORMAT "faultline-bundle"
#define FL_BUNDLE_FORMAT_VERSION 1

/* The files of a run directory a bundle packs, as fnmatch(3) patterns (a leading '.' is never
 * matched). The one list; README "Bundles" quotes it. */
#define FL_BUNDLE_RUN_FILES                                                                        \
  "report.json", "report.html", "scenario.yaml", "events.jsonl", "samples.csv", "capture.pcap",    \
      "frames.*", "threads-*", "goroutines-*", "clock-*.rc", "*.stderr"

typedef struct fl_bundle_run fl_bundle_run;

/*
 * Opens a run directory to pack (see READING THE RUN DIRECTORY): lists its run files, reads
 * report.json (which must pass fl_report_check) and scenario.yaml, parses the scenario and
 * lists the files it refers to, resolved against the scenario file the run named
 * (report.json's scenario.file; a relative one against the current directory). Messages:
 *   "DIR: is a symbolic link; faultline does not follow links: name the directory itself"
 *   "DIR: no report.json: not a faultline run directory (a folder of runs? name one of them)"
 *   "DIR/capture.pcap: a symbolic link, not a regular file: a run writes regular files only;
 *    refusing to bundle it"
 *   "DIR/capture.pcap: 2147483648 bytes, more than the 1 GiB a bundled file may hold"
 *   "x.yaml:12:5: payload.proto '/abs/a.proto' is an absolute path: ..."
 *   "x.yaml:12:5: payload.proto 'a.proto' (dir/a.proto): cannot open: No such file ..."
 */
int fl_bundle_run_open(const char *dir, fl_bundle_run **out, char *err, size_t errlen) FL_MUST_USE;

/* The scenario as parsed from the run's scenario.yaml (its path: the original file's). */
const fl_scenario *fl_bundle_run_scenario(const fl_bundle_run *r);
/* The files and programs it refers to. */
const fl_scenario_refs *fl_bundle_run_refs(const fl_bundle_run *r);
/* report.json as read. */
const json_t *fl_bundle_run_report(const fl_bundle_run *r);
/* TOP: the run directory's name when it is plain ([A-Za-z0-9._+-], not starting with '.', at
 * most 100 bytes), else the scenario's name. The default output is TOP.tar.gz. */
const char *fl_bundle_top(const fl_bundle_run *r);
/* The entries of the run directory left out (not run files), and how many. */
size_t fl_bundle_run_left_out(const fl_bundle_run *r, const char *const **names);

void fl_bundle_run_free(fl_bundle_run *r);

/* What fl_bundle_write packed. */
typedef struct {
  size_t files;   /* entries, the manifest among them */
  int64_t bytes;  /* of the files, before compression */
  int64_t output; /* the archive's size */
} fl_bundle_stats;

/*
 * Packs the run (and the FL_REF_FILE files it refers to) with `versions` (versions.h) into a
 * new file `output`, as described above. Messages:
 *   "OUT: exists; faultline never overwrites a file: choose another -o or remove it"
 *   "OUT: is inside the run directory DIR; write the bundle elsewhere"
 *   "DIR/events.jsonl changed while it was read (is a run still writing it?)"
 *   "cannot write OUT: No space left on device"
 */
int fl_bundle_write(const fl_bundle_run *r, const json_t *versions, const char *output,
                    fl_bundle_stats *stats, char *err, size_t errlen) FL_MUST_USE;

/* A bundle unpacked. */
typedef struct {
  char top[PATH_MAX];      /* dest/TOP, the run directory as it was */
  char scenario[PATH_MAX]; /* the scenario copy to run again (manifest scenario.file) */
  json_t *manifest;        /* bundle.json; owned */
  json_t *versions;        /* versions.json; owned; JSON null when the bundle has none */
  size_t files;
  int64_t bytes;
} fl_bundle_contents;

/*
 * Unpacks the bundle at `archive` into `dest`, an empty folder the caller made (see READING A
 * BUNDLE). Messages start with the archive's name:
 *   "B.tar.gz: not a faultline bundle: Unrecognized archive format"
 *   "B.tar.gz: refused: '../evil' climbs out of the bundle with '..'"
 *   "B.tar.gz: refused: '/etc/cron.d/x' is an absolute path; a bundle's entries are relative"
 *   "B.tar.gz: refused: 'b/link' is a symbolic link (to '/etc/passwd'); a bundle holds regular
 *    files and folders only"
 *   "B.tar.gz: refused: 'b/capture.pcap' is 5368709120 bytes, more than the 1 GiB a bundled
 *    file may hold"
 *   "B.tar.gz: refused: 'b/report.json' does not match bundle.json (size or sha256)"
 *   "B.tar.gz: refused: no bundle.json: not a faultline bundle"
 * Returns 0 with *out filled (free it with fl_bundle_contents_free), or -1.
 */
int fl_bundle_extract(const char *archive, const char *dest, fl_bundle_contents *out, char *err,
                      size_t errlen) FL_MUST_USE;
/* The same from memory (the fuzz target); `name` stands for the archive in messages. */
int fl_bundle_extract_memory(const void *buf, size_t len, const char *name, const char *dest,
                             fl_bundle_contents *out, char *err, size_t errlen) FL_MUST_USE;

void fl_bundle_contents_free(fl_bundle_contents *c);

/* The original run's facts from a manifest, "(not recorded)" where absent: for messages. */
const char *fl_bundle_manifest_text(const json_t *manifest, const char *object, const char *key,
                                    char *buf, size_t len);

#endif
