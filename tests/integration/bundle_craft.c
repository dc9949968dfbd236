/*
 * bundle_craft: writes hostile archives for bundle.sh, each a gzip'd tar that a bundle reader
 * must refuse. usage: bundle_craft KIND OUT.tar.gz [ARG]
 *   dotdot    b/report.json, then b/../../ARG (a file meant to land outside)
 *   absolute  b/report.json, then ARG (an absolute path)
 *   symlink   b/link -> ARG, then b/link/x (written through the link if it were made)
 *   hardlink  b/x, then b/h, a hard link to ARG
 *   fifo      b/fifo, a named pipe
 *   twotops   a/x and b/y
 *   twice     b/x twice
 *   fileasdir b/x, then b/x/y (a folder where a file is)
 *   huge      b/capture.pcap whose header claims 5 GiB, with 4 KiB of it (written by hand: a
 *             tar writer pads an entry to its size)
 * Each entry's content is "hostile\n". Exit 0 written, 2 bad usage, 1 cannot write.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char content[] = "hostile\n";

static int add(struct archive *a, const char *path, mode_t type, const char *link, int hard) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, 0644);
  if (link && hard) archive_entry_set_hardlink(e, link);
  if (link && !hard) archive_entry_set_symlink(e, link);
  archive_entry_set_size(e, type == AE_IFREG && !hard ? (la_int64_t)strlen(content) : 0);
  int rc = archive_write_header(a, e);
  if (rc == ARCHIVE_OK && type == AE_IFREG && !hard)
    rc = archive_write_data(a, content, strlen(content)) == (la_ssize_t)strlen(content)
             ? ARCHIVE_OK
             : ARCHIVE_FATAL;
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) fprintf(stderr, "bundle_craft: %s: %s\n", path, archive_error_string(a));
  return rc == ARCHIVE_OK ? 0 : -1;
}

/* A ustar header by hand, with a size no tar writer would pad for us. */
static int huge(const char *out) {
  unsigned char h[512] = {0};
  snprintf((char *)h, 100, "b/capture.pcap");
  memcpy(h + 100, "0000644", 8);
  memcpy(h + 108, "0000000", 8);
  memcpy(h + 116, "0000000", 8);
  snprintf((char *)h + 124, 12, "%011llo", 5ULL << 30);
  memcpy(h + 136, "00000000000", 12);
  h[156] = '0';
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  h[155] = ' ';
  gzFile g = gzopen(out, "wb");
  if (!g) return -1;
  unsigned char zeros[4096] = {0};
  int ok = gzwrite(g, h, sizeof h) == (int)sizeof h &&
           gzwrite(g, zeros, sizeof zeros) == (int)sizeof zeros;
  return gzclose(g) == Z_OK && ok ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bundle_craft KIND OUT.tar.gz [ARG]\n");
    return 2;
  }
  const char *kind = argv[1], *out = argv[2], *arg = argc > 3 ? argv[3] : "x";
  if (!strcmp(kind, "huge")) return huge(out) == 0 ? 0 : 1;
  struct archive *a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  if (archive_write_open_filename(a, out) != ARCHIVE_OK) {
    fprintf(stderr, "bundle_craft: %s: %s\n", out, archive_error_string(a));
    return 1;
  }
  int rc = 0;
  char path[4096];
  if (!strcmp(kind, "dotdot")) {
    snprintf(path, sizeof path, "b/../../%s", arg);
    rc = add(a, "b/report.json", AE_IFREG, NULL, 0) || add(a, path, AE_IFREG, NULL, 0);
  } else if (!strcmp(kind, "absolute")) {
    rc = add(a, "b/report.json", AE_IFREG, NULL, 0) || add(a, arg, AE_IFREG, NULL, 0);
  } else if (!strcmp(kind, "symlink")) {
    rc = add(a, "b/link", AE_IFLNK, arg, 0) || add(a, "b/link/x", AE_IFREG, NULL, 0);
  } else if (!strcmp(kind, "hardlink")) {
    rc = add(a, "b/x", AE_IFREG, NULL, 0) || add(a, "b/h", AE_IFREG, arg, 1);
  } else if (!strcmp(kind, "fifo")) {
    rc = add(a, "b/fifo", AE_IFIFO, NULL, 0);
  } else if (!strcmp(kind, "twotops")) {
    rc = add(a, "a/x", AE_IFREG, NULL, 0) || add(a, "b/y", AE_IFREG, NULL, 0);
  } else if (!strcmp(kind, "fileasdir")) {
    rc = add(a, "b/x", AE_IFREG, NULL, 0) || add(a, "b/x/y", AE_IFREG, NULL, 0);
  } else if (!strcmp(kind, "twice")) {
    rc = add(a, "b/x", AE_IFREG, NULL, 0) || add(a, "b/x", AE_IFREG, NULL, 0);
  } else {
    fprintf(stderr, "bundle_craft: unknown kind '%s'\n", kind);
    archive_write_free(a);
    return 2;
  }
  if (archive_write_close(a) != ARCHIVE_OK) rc = 1;
  archive_write_free(a);
  return rc ? 1 : 0;
}
