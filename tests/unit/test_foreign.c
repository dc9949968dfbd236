/*
 * Unit tests for a scenario's own method and payloads (scenario.h: method, decode, payload
 * proto/hex/file; fl_scenario_resolve; protoc.h). The resolve tests run the real protoc on
 * small .proto files written here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "protoc.h"
#include "scenario.h"

/* Line and column (1-based) of the first `needle` in text, after `after` when given. */
static void pos_of(const char *text, const char *after, const char *needle, int *line, int *col) {
  const char *from = after ? strstr(text, after) : text;
  assert_non_null(from);
  const char *p = strstr(from, needle);
  assert_non_null(p);
  *line = 1;
  const char *bol = text;
  for (const char *q = text; q < p; q++)
    if (*q == '\n') (*line)++, bol = q + 1;
  *col = (int)(p - bol) + 1;
}

static const struct {
  const char *yaml;
  const char *at; /* the error's place: the first occurrence of this text, */
  int shift;      /* plus this many columns */
  const char *msg;
} broken[] = {
    {"name: x\nmethod: shop.v1.Orders/Place\n", "shop.v1", 0,
     "'method' must be a gRPC method path like /shop.v1.Orders/Place, starting with '/', not "
     "'shop.v1.Orders/Place'"},
    {"name: x\nmethod: /shop.v1.Orders\n", "/shop", 15,
     "'method' needs the method after the service and a '/'"},
    {"name: x\nmethod: //Place\n", "//", 1,
     "'method' has no service name between its first two '/'"},
    {"name: x\nmethod: /shop.Orders/\n", "/shop", 13, "'method' has no method name after"},
    {"name: x\nmethod: /a/b/c\n", "/a/", 4, "'method' has a '/' too many"},
    {"name: x\nmethod: \"/shop Orders/Place\"\n", "\"/shop", 6,
     "'method' holds a character a service name cannot"},
    {"name: x\nmethod: /shop.Orders/Pla.ce\n", "Pla.", 3,
     "'method' holds a character a method name cannot"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { hex: \"0a0\" } }\n", "\"0a0", 3,
     "'hex' has an odd number of hex digits (3); each byte is two"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { hex: \"0x0a\" } }\n", "\"0x", 2,
     "'hex' holds 'x', which is not a hex digit"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { hex: \"00\", file: a.bin } }\n",
     "file:", 0, "'hex' and 'file' are two payloads; a payload is one of kind, proto, hex or file"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { kind: struct, proto: a.proto } }\n",
     "proto:", 0, "'kind' and 'proto' are two payloads"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { proto: a.proto } }\n", "{ proto", 0,
     "a proto payload needs a 'type'"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { kind: struct, type: a.B } }\n",
     "type:", 0, "'type' belongs to a proto payload, not struct"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { hex: \"00\", text: 'a: 1' } }\n",
     "text:", 0, "'text' belongs to a proto payload, not hex"},
    {"name: x\nclient:\n  script:\n    - send: { size: 10, payload: { hex: \"00\" } }\n", "size", 0,
     "a hex payload is sent as it is; it takes no 'size'"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { proto: a.proto, type: \"a..B\" } }\n",
     "\"a..B", 3, "'type' must be a message's full name like shop.v1.Order, not 'a..B'"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { proto: a.proto, type: 1a } }\n", "1a",
     0, "'type' must be a message's full name"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { file: [a, b] } }\n", "[a", 0,
     "'file' must be a file like request.bin, not a list"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { protoo: a } }\n", "protoo", 0,
     "unknown key 'protoo' in payload; did you mean 'proto'?"},
    {"name: x\nclient:\n  script:\n    - send: { payload: { proto: a.proto, type: a.B, "
     "import_paths: dir } }\n",
     "dir }", 0, "'import_paths' must be a list of directories like [proto, vendor], not 'dir'"},
    {"name: x\ndecode: { proto: a.proto, request_type: a.B }\n", "{ proto", 0,
     "'decode' names the types of your own method's messages; it needs 'method: "
     "/pkg.Service/Method'"},
    {"name: x\nmethod: /faultline.Test/Bidi\ndecode: { proto: a.proto, response_type: a.B }\n",
     "{ proto", 0, "'decode' names the types of your own method's messages"},
    {"name: x\nmethod: /a.B/C\ndecode: { proto: a.proto }\n", "{ proto", 0,
     "'decode' needs a request_type (what the server receives), a response_type (what the "
     "client receives), or both"},
    {"name: x\nmethod: /a.B/C\ndecode: { request_type: a.B }\n", "{ request", 0,
     "'decode' needs the 'proto' file that defines its types"},
    {"name: x\nmethod: /a.B/C\ndecode: { proto: a.proto, reqest_type: a.B }\n", "reqest", 0,
     "unknown key 'reqest_type' in decode; did you mean 'request_type'?"},
    {"name: x\nmethod: /a.B/C\ndecode: a.proto\n", "a.proto", 0, "'decode' must be a map"},
};

static void test_broken(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
    fl_scenario *s = (fl_scenario *)&s;
    fl_error err;
    int line, col;
    pos_of(broken[i].yaml, NULL, broken[i].at, &line, &col);
    col += broken[i].shift;
    int rc = fl_scenario_parse("t.yaml", broken[i].yaml, strlen(broken[i].yaml), &s, &err);
    char where[64];
    snprintf(where, sizeof where, "t.yaml:%d:%d: ", line, col);
    if (rc != -1 || s != NULL || err.line != line || err.col != col ||
        strncmp(err.msg, where, strlen(where)) || !strstr(err.msg, broken[i].msg)) {
      print_error("case %zu (%s):\n  got  rc=%d %s\n  want %s...%s\n", i, broken[i].yaml, rc,
                  err.msg, where, broken[i].msg);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
}

/* What parsing alone makes of the keys: no file is read. */
static void test_parse(void **state) {
  (void)state;
  const char *yaml = "name: own\n"
                     "rpc: unary\n"
                     "method: /shop.v1.Orders/Place\n"
                     "decode: { proto: shop.proto, import_paths: [a, b], response_type: "
                     "shop.v1.PlaceReply }\n"
                     "client:\n"
                     "  script:\n"
                     "    - send: { count: 2, payload: { hex: \"0A 03\\n6f2D31\" } }\n"
                     "    - send: { payload: { hex: \"\" } }\n"
                     "    - send: { payload: { proto: no/such.proto, type: shop.v1.Order } }\n"
                     "    - send: { payload: { file: no-such.bin } }\n"
                     "    - send: { payload: { kind: nested, depth: 3 } }\n";
  fl_scenario *s;
  fl_error err;
  if (fl_scenario_parse("own.yaml", yaml, strlen(yaml), &s, &err)) fail_msg("%s", err.msg);
  assert_string_equal(fl_scenario_method(s), "/shop.v1.Orders/Place");
  assert_true(fl_scenario_foreign(s));
  assert_int_equal(s->method_line, 3);
  assert_null(fl_scenario_recv_type(s, true));
  assert_string_equal(fl_scenario_recv_type(s, false), "shop.v1.PlaceReply");
  assert_int_equal(s->decode.proto.n_import_paths, 2);
  assert_string_equal(s->decode.proto.import_paths[1], "b");
  const fl_step *st = s->client.steps;
  assert_int_equal(st[0].payload, FL_PAYLOAD_HEX);
  assert_int_equal(st[0].count, 2);
  assert_true(st[0].foreign->ready);
  assert_int_equal(st[0].foreign->len, 5);
  assert_memory_equal(st[0].foreign->bytes, "\x0a\x03o-1", 5);
  assert_true(st[1].foreign->ready);
  assert_int_equal(st[1].foreign->len, 0);
  assert_int_equal(st[2].payload, FL_PAYLOAD_PROTO);
  assert_false(st[2].foreign->ready); /* nothing read yet */
  assert_string_equal(st[2].foreign->text, "");
  assert_string_equal(st[2].foreign->type, "shop.v1.Order");
  assert_int_equal(st[3].payload, FL_PAYLOAD_FILE);
  assert_string_equal(st[3].foreign->file, "no-such.bin");
  assert_null(st[4].foreign); /* faultline's own kinds carry nothing extra */
  assert_false(s->resolved);
  fl_scenario_free(s);

  /* no method: faultline's own, by rpc; an explicit faultline.Test method is not foreign */
  yaml = "name: own\nrpc: server_stream\n";
  assert_int_equal(fl_scenario_parse("own.yaml", yaml, strlen(yaml), &s, &err), 0);
  assert_string_equal(fl_scenario_method(s), "/faultline.Test/ServerStream");
  assert_false(fl_scenario_foreign(s));
  fl_scenario_free(s);
  yaml = "name: own\nmethod: /faultline.Test/Bidi\n";
  assert_int_equal(fl_scenario_parse("own.yaml", yaml, strlen(yaml), &s, &err), 0);
  assert_false(fl_scenario_foreign(s));
  fl_scenario_free(s);
}

/* ---- resolving: real files, real protoc ------------------------------------------------ */

static char dir[64];

static void put(const char *name, const char *text) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char *slash = strrchr(path, '/');
  for (char *p = path + strlen(dir) + 1; p <= slash; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/faultline-foreign-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  put("proto/t/v1/item.proto", "syntax = \"proto3\";\npackage t.v1;\n"
                               "message Item { string sku = 1; uint32 quantity = 2; }\n");
  put("proto/t/v1/order.proto", "syntax = \"proto3\";\npackage t.v1;\n"
                                "import \"t/v1/item.proto\";\n"
                                "message Order { string id = 1; repeated Item items = 2; }\n"
                                "service Shop { rpc Place(Order) returns (Item); }\n");
  put("bad.proto", "syntax = \"proto3\";\nmessage { }\n");
  put("req.bin", "\x0a\x01z");
  put("other/keep", "");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Loads `yaml` as DIR/s.yaml and resolves it, from another working directory: relative paths
 * are the scenario's. Returns fl_scenario_resolve's result; *s is set on success. */
static int load_resolve(const char *yaml, fl_scenario **s, fl_error *err) {
  put("s.yaml", yaml);
  char path[PATH_MAX], cwd[PATH_MAX];
  snprintf(path, sizeof path, "%s/s.yaml", dir);
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir("/"), 0);
  int rc = fl_scenario_load(path, s, err);
  if (rc == 0) rc = fl_scenario_resolve(*s, NULL, err);
  assert_int_equal(chdir(cwd), 0);
  if (rc < 0 && *s) {
    fl_scenario_free(*s);
    *s = NULL;
  }
  return rc;
}

/* The error is at the first `needle` (after `after`) plus `shift` columns, and says `msg`. */
static void expect_error(const char *yaml, const char *after, const char *needle, int shift,
                         const char *msg) {
  fl_scenario *s;
  fl_error err;
  assert_int_equal(load_resolve(yaml, &s, &err), -1);
  int line, col;
  pos_of(yaml, after, needle, &line, &col);
  col += shift;
  char want[PATH_MAX + 64];
  snprintf(want, sizeof want, "%s/s.yaml:%d:%d: ", dir, line, col);
  if (strncmp(err.msg, want, strlen(want)) || !strstr(err.msg, msg) || err.line != line ||
      err.col != col)
    fail_msg("got  %s\nwant %s...%s", err.msg, want, msg);
}

static const char head[] = "name: s\nmethod: /t.v1.Shop/Place\nclient:\n  script:\n";

static char *with(const char *steps) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s%s", head, steps);
  return buf;
}

static void test_resolve(void **state) {
  (void)state;
  char *yaml = with("    - send: { payload: { proto: proto/t/v1/order.proto, import_paths: "
                    "[proto], type: t.v1.Order, text: 'id: \"o-1\" items { sku: \"x\" quantity: "
                    "2 }' } }\n"
                    "    - send: { payload: { file: ./sub/../req.bin } }\n"
                    "decode:\n  proto: proto/t/v1/order.proto\n  import_paths: [proto/]\n"
                    "  request_type: t.v1.Order\n  response_type: t.v1.Item\n");
  put("sub/keep", "");
  fl_scenario *s;
  fl_error err;
  if (load_resolve(yaml, &s, &err)) fail_msg("%s", err.msg);
  char real[PATH_MAX], want[PATH_MAX + 32];
  assert_non_null(realpath(dir, real));
  assert_string_equal(s->base_dir, real);
  assert_true(s->resolved);
  const fl_foreign_payload *f = s->client.steps[0].foreign;
  snprintf(want, sizeof want, "%s/proto/t/v1/order.proto", real);
  assert_string_equal(f->proto.file_abs, want);
  snprintf(want, sizeof want, "%s/proto", real);
  assert_string_equal(f->proto.import_abs[0], want);
  /* protoc's encoding: id (1) "o-1", items (2) { sku (1) "x", quantity (2) 2 } */
  static const uint8_t order[] = {0x0a, 0x03, 'o',  '-', '1',  0x12,
                                  0x05, 0x0a, 0x01, 'x', 0x10, 0x02};
  assert_true(f->ready);
  assert_int_equal(f->len, sizeof order);
  assert_memory_equal(f->bytes, order, sizeof order);
  f = s->client.steps[1].foreign;
  assert_true(f->ready);
  assert_int_equal(f->len, 3);
  assert_memory_equal(f->bytes, "\x0a\x01z", 3);
  snprintf(want, sizeof want, "%s/req.bin", real);
  assert_string_equal(f->file_abs, want);
  assert_int_equal(fl_scenario_resolve(s, NULL, &err), 0); /* once: a second call does nothing */

  /* decode, as a peer does it: one line, cut to the cap, bad bytes refused */
  fl_protoc_source src = fl_proto_ref_source(&s->decode.proto);
  char *text;
  bool cut;
  fl_protoc_error pe;
  assert_int_equal(
      fl_protoc_decode(&src, "t.v1.Order", order, sizeof order, 4096, &text, &cut, &pe), 0);
  assert_string_equal(text, "id: \"o-1\" items { sku: \"x\" quantity: 2 }");
  assert_false(cut);
  free(text);
  assert_int_equal(fl_protoc_decode(&src, "t.v1.Order", order, sizeof order, 12, &text, &cut, &pe),
                   0);
  assert_string_equal(text, "id: \"o-1\" it");
  assert_true(cut);
  free(text);
  assert_int_equal(
      fl_protoc_decode(&src, "t.v1.Order", (const uint8_t *)"\x0f\x00", 2, 64, &text, &cut, &pe),
      -1);
  assert_null(text);
  assert_int_equal(pe.fault, FL_PROTOC_INPUT);
  assert_string_equal(pe.msg, "Failed to parse input.");
  fl_scenario_free(s);

  /* the base directory a peer is told, for a copy elsewhere */
  char copy_dir[] = "/tmp/faultline-copy-XXXXXX", copy[PATH_MAX];
  assert_non_null(mkdtemp(copy_dir));
  snprintf(copy, sizeof copy, "%s/scenario.yaml", copy_dir);
  FILE *cf = fopen(copy, "w");
  fputs(yaml, cf);
  fclose(cf);
  assert_int_equal(fl_scenario_load(copy, &s, &err), 0);
  assert_int_equal(fl_scenario_resolve(s, NULL, &err), -1); /* beside the copy: nothing */
  if (!strstr(err.msg, "cannot open 'proto'")) fail_msg("%s", err.msg);
  assert_int_equal(fl_scenario_resolve(s, dir, &err), 0);
  assert_true(s->client.steps[0].foreign->ready);
  fl_scenario_free(s);
  unlink(copy);
  rmdir(copy_dir);
}

static void test_resolve_errors(void **state) {
  (void)state;
  char msg[PATH_MAX + 128];
  /* missing files */
  snprintf(msg, sizeof msg,
           "cannot open 'nothere.proto' (%s/nothere.proto): No such file or directory", dir);
  expect_error(with("    - send: { payload: { proto: nothere.proto, type: a.B } }\n"), NULL,
               "nothere", 0, msg);
  expect_error(with("    - send: { payload: { file: nothere.bin } }\n"), NULL, "nothere", 0,
               "cannot open 'nothere.bin'");
  expect_error(with("    - send: { payload: { proto: proto/t/v1/order.proto, type: a.B, "
                    "import_paths: [proto, nodir] } }\n"),
               NULL, "nodir", 0, "cannot open 'nodir'");
  expect_error(with("    - send: { payload: { proto: proto/t/v1/order.proto, type: a.B, "
                    "import_paths: [req.bin] } }\n"),
               NULL, "req.bin", 0, "'req.bin' is not a directory");
  expect_error(with("    - send: { payload: { proto: proto/t/v1/order.proto, type: a.B, "
                    "import_paths: [proto/t/v1/x/../../../../other] } }\n"),
               NULL, "proto/t/v1/order", 0, "is not inside any of its import_paths");
  expect_error(with("    - send: { payload: { proto: proto, type: a.B } }\n"), NULL, "proto, type",
               0, "'proto' is not a regular file (a directory)");

  /* protoc's own errors, where they are: in the text (one line, and a literal block) */
  expect_error(with("    - send: { payload: { proto: proto/t/v1/order.proto, import_paths: "
                    "[proto], type: t.v1.Order, text: 'id: \"o-1\" bogus: 3' } }\n"),
               NULL, "bogus", 5, /* protoc stops at the token after the name */
               "payload text for t.v1.Order: protoc: Message type \"t.v1.Order\" has no field "
               "named \"bogus\".");
  expect_error(with("    - send:\n"
                    "        payload:\n"
                    "          proto: proto/t/v1/order.proto\n"
                    "          import_paths: [proto]\n"
                    "          type: t.v1.Order\n"
                    "          text: |\n"
                    "            id: \"o-1\"\n"
                    "            items { sku: 7 }\n"),
               "items", "7", 0, "payload text for t.v1.Order: protoc: Expected string, got: 7");
  /* a folded text cannot be followed: the text itself, with protoc's line and column */
  expect_error(with("    - send:\n"
                    "        payload:\n"
                    "          proto: proto/t/v1/order.proto\n"
                    "          import_paths: [proto]\n"
                    "          type: t.v1.Order\n"
                    "          text: >\n"
                    "            id: 3\n"),
               NULL, ">", 0,
               "payload text for t.v1.Order, at its line 1, column 5: protoc: Expected string");
  /* the type, and the .proto itself */
  expect_error(with("    - send: { payload: { proto: proto/t/v1/order.proto, import_paths: "
                    "[proto], type: t.v1.Nope } }\n"),
               NULL, "t.v1.Nope", 0, "protoc --encode=t.v1.Nope: Type not defined: t.v1.Nope");
  expect_error(with("    - send: { payload: { proto: bad.proto, type: a.B } }\n"), NULL,
               "bad.proto", 0,
               "protoc cannot read 'bad.proto': bad.proto:2:9: Expected message name.");
  expect_error(with("    - send: { payload: { proto: proto/t/v1/order.proto, type: t.v1.Order } "
                    "}\n"),
               NULL, "proto/t", 0,
               "protoc cannot read 'proto/t/v1/order.proto': t/v1/item.proto: "
               "File not found.");
  expect_error("name: s\nmethod: /t.v1.Shop/Place\ndecode: { proto: proto/t/v1/order.proto, "
               "import_paths: [proto], response_type: t.v1.Item, request_type: t.v1.Ordr }\n",
               NULL, "t.v1.Ordr", 0, "protoc --decode=t.v1.Ordr: Type not defined: t.v1.Ordr");

  /* protoc missing */
  setenv("FAULTLINE_PROTOC", "/nonexistent/protoc", 1);
  expect_error(with("    - send: { payload: { proto: bad.proto, type: a.B } }\n"), NULL, "a.B", 0,
               "protoc --encode=a.B: cannot run /nonexistent/protoc: No such file or directory "
               "(protoc comes with Debian's protobuf-compiler package)");
  unsetenv("FAULTLINE_PROTOC");
}

/* A payload file is a regular file, read without blocking, at most 64 MiB. */
static void test_payload_file_refuses(void **state) {
  (void)state;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/fifo.bin", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  expect_error(with("    - send: { payload: { file: fifo.bin } }\n"), NULL, "fifo.bin", 0,
               "'fifo.bin' is not a regular file (a fifo); a payload file is read whole");
  snprintf(path, sizeof path, "%s/zero.bin", dir);
  assert_int_equal(symlink("/dev/zero", path), 0);
  expect_error(with("    - send: { payload: { file: zero.bin } }\n"), NULL, "zero.bin", 0,
               "'zero.bin' is not a regular file (a character device)");
  expect_error(with("    - send: { payload: { file: proto } }\n"), NULL, "proto }", 0,
               "'proto' is not a regular file (a directory)");
  /* one byte over the cap (sparse: no disk is used) */
  snprintf(path, sizeof path, "%s/big.bin", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, FL_FOREIGN_PAYLOAD_MAX + 1), 0);
  close(fd);
  expect_error(with("    - send: { payload: { file: big.bin } }\n"), NULL, "big.bin", 0,
               "'big.bin' holds 67108865 bytes, more than 64 MiB, the most a payload file may");
  /* a link to a regular file is followed */
  snprintf(path, sizeof path, "%s/link.bin", dir);
  assert_int_equal(symlink("req.bin", path), 0);
  fl_scenario *s;
  fl_error err;
  if (load_resolve(with("    - send: { payload: { file: link.bin } }\n"), &s, &err))
    fail_msg("%s", err.msg);
  assert_int_equal(s->client.steps[0].foreign->len, 3);
  fl_scenario_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_broken),
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_resolve),
      cmocka_unit_test(test_resolve_errors),
      cmocka_unit_test(test_payload_file_refuses),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
