/*
 * libFuzzer target: the bundle reader (fl_bundle_extract_memory), the whole of what a bundle
 * someone sends can feed `faultline run --bundle`. Besides crashes, leaks and undefined
 * behaviour, it checks what the reader promises (reports/bundle/bundle.h): a refusal carries a
 * printable message; what it unpacked is only regular files and folders inside dest, within
 * the caps; the scenario it names lies inside dest; the process stands where it stood.
 * The seeds (tests/fuzz/seeds/bundle) are a real bundle, gzip'd, and a small one as plain tar,
 * which the mutator can change without breaking a checksum.
 */
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) __builtin_trap();                                                                 \
  } while (0)

static size_t dest_len;
static int64_t unpacked_bytes;
static size_t unpacked_entries;

static int inspect(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  REQUIRE(!strncmp(path, "/", 1) && strlen(path) >= dest_len);
  REQUIRE(type == FTW_F || type == FTW_D || type == FTW_DP);
  REQUIRE(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode));
  REQUIRE((st->st_mode & 07000) == 0); /* no setuid, setgid or sticky bit from the archive */
  if (S_ISREG(st->st_mode)) {
    REQUIRE(st->st_size <= FL_BUNDLE_FILE_MAX);
    unpacked_bytes += st->st_size;
  }
  unpacked_entries++;
  return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  remove(path);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char dest[] = "/tmp/fuzz-bundle-XXXXXX", before[PATH_MAX], after[PATH_MAX];
  REQUIRE(getcwd(before, sizeof before));
  REQUIRE(mkdtemp(dest));
  dest_len = strlen(dest);
  fl_bundle_contents c;
  char err[1024];
  int rc = fl_bundle_extract_memory(data, size, "fuzz.tar.gz", dest, &c, err, sizeof err);
  REQUIRE(getcwd(after, sizeof after) && !strcmp(before, after));
  if (rc < 0) {
    REQUIRE(err[0] != '\0' && memchr(err, '\0', sizeof err));
    REQUIRE(!strncmp(err, "fuzz.tar.gz: ", 13) || !strncmp(err, "out of memory", 13) ||
            !strncmp(err, "cannot ", 7));
    for (const char *p = err; *p; p++) REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7F);
    REQUIRE(!c.manifest && !c.versions);
  } else {
    REQUIRE(!strncmp(c.top, dest, dest_len) && c.top[dest_len] == '/');
    REQUIRE(!strncmp(c.scenario, c.top, strlen(c.top)) && c.scenario[strlen(c.top)] == '/');
    REQUIRE(json_is_object(c.manifest) && c.versions);
    struct stat st;
    REQUIRE(lstat(c.scenario, &st) == 0 && S_ISREG(st.st_mode));
    REQUIRE(c.bytes <= FL_BUNDLE_TOTAL_MAX && c.files <= FL_BUNDLE_ENTRIES_MAX);
    fl_bundle_contents_free(&c);
  }
  unpacked_bytes = 0;
  unpacked_entries = 0;
  REQUIRE(nftw(dest, inspect, 16, FTW_PHYS) == 0);
  REQUIRE(unpacked_bytes <= FL_BUNDLE_TOTAL_MAX && unpacked_entries <= FL_BUNDLE_ENTRIES_MAX + 2);
  nftw(dest, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}
