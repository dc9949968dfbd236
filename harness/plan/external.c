#include "external.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"exec", "target", "ready", "start_timeout", "env", "cwd", NULL};
static const char *const ready_keys[] = {"log", NULL};

bool fl_external_is_key(const char *key) {
  for (const char *const *k = keys; *k; k++)
    if (!strcmp(*k, key)) return true;
  return false;
}

int fl_external_expand(const char *arg, int port, const char *target, char *out, size_t len,
                       char *err, size_t errlen) {
  size_t o = 0;
  for (const char *p = arg; *p;) {
    char val[300];
    const char *add = NULL;
    size_t skip = 1;
    if (p[0] == '{' && p[1] == '{') {
      add = "{";
      skip = 2;
    } else if (*p == '{') {
      const char *end = strchr(p, '}');
      size_t n = end ? (size_t)(end - p - 1) : 0;
      if (end && n == 4 && !strncmp(p + 1, "port", 4) && port > 0) {
        snprintf(val, sizeof val, "%d", port);
      } else if (end && n == 4 && !strncmp(p + 1, "addr", 4) && port > 0) {
        snprintf(val, sizeof val, "127.0.0.1:%d", port);
      } else if (end && n == 6 && !strncmp(p + 1, "target", 6) && target) {
        snprintf(val, sizeof val, "%s", target);
      } else {
        fl_set_err(err, errlen,
                   "'%.*s' is not a placeholder here; a server's are {port} and {addr}, a "
                   "client's {target} (write {{ for a literal {)",
                   end ? (int)(n + 2) : (int)strlen(p), p);
        return -1;
      }
      add = val;
      skip = n + 2;
    }
    size_t n = add ? strlen(add) : 1;
    if (o + n + 1 > len) {
      fl_set_err(err, errlen, "'%s' is too long once expanded", arg);
      return -1;
    }
    memcpy(out + o, add ? add : p, n);
    o += n;
    p += skip;
  }
  out[o] = '\0';
  return 0;
}

static bool loopback(const char *host) {
  if (!strcmp(host, "localhost")) return true;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

/* "HOST:PORT" or "[V6]:PORT". */
static int parse_target(const fl_plan_yaml *y, yaml_node_t *v, fl_external_plan *e) {
  if (fl_yaml_want_scalar(y, v, "target", "an address like 127.0.0.1:50051") < 0) return -1;
  const char *t = fl_yaml_str(v);
  const char *colon = strrchr(t, ':');
  const char *host = t;
  size_t hlen = colon ? (size_t)(colon - t) : 0;
  if (hlen >= 2 && t[0] == '[' && t[hlen - 1] == ']') {
    host = t + 1;
    hlen -= 2;
  }
  char *end;
  long port = colon ? strtol(colon + 1, &end, 10) : 0;
  if (!colon || hlen == 0 || hlen >= sizeof e->target_host || *end || end == colon + 1 ||
      port < 1 || port > 65535)
    return fl_yaml_fail_node(y, v, "'target' must be HOST:PORT (e.g. 127.0.0.1:50051), not '%s'",
                             t);
  e->target = strdup(t);
  if (!e->target) return fl_yaml_fail_node(y, v, "out of memory");
  memcpy(e->target_host, host, hlen);
  e->target_host[hlen] = '\0';
  e->target_port = (int)port;
  e->target_loopback = loopback(e->target_host);
  return 0;
}

static int parse_exec(const fl_plan_yaml *y, bool server, yaml_node_t *v, fl_external_plan *e) {
  char d[64];
  if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
    return fl_yaml_fail_node(y, v, "'exec' must be a list: the program, then its arguments, not %s",
                             fl_yaml_describe(v, d, sizeof d));
  size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
  if (n > FL_EXTERNAL_MAX_ARGS)
    return fl_yaml_fail_node(y, v, "'exec' has %zu words; at most %d", n, FL_EXTERNAL_MAX_ARGS);
  e->argv = calloc(n + 1, sizeof *e->argv);
  if (!e->argv) return fl_yaml_fail_node(y, v, "out of memory");
  for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
    yaml_node_t *a = fl_yaml_node(y, *it);
    if (fl_yaml_want_scalar(y, a, "exec", "a list of words") < 0) return -1;
    /* The placeholders are checked now, with stand-in values, so a typo is a load error. */
    char out[PATH_MAX], err[300];
    if (fl_external_expand(fl_yaml_str(a), server ? 1 : 0, server ? NULL : "x", out, sizeof out,
                           err, sizeof err) < 0)
      return fl_yaml_fail_node(y, a, "%s", err);
    if (!(e->argv[e->argc] = strdup(fl_yaml_str(a))))
      return fl_yaml_fail_node(y, a, "out of memory");
    e->argc++;
  }
  if (!e->argv[0][0]) return fl_yaml_fail_node(y, v, "'exec' names no program");
  return 0;
}

static int parse_env(const fl_plan_yaml *y, yaml_node_t *v, fl_external_plan *e) {
  char d[64];
  if (v->type != YAML_MAPPING_NODE)
    return fl_yaml_fail_node(y, v, "'env' must be a map of NAME: VALUE, not %s",
                             fl_yaml_describe(v, d, sizeof d));
  size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
  e->env = calloc(n + 1, sizeof *e->env);
  if (!e->env) return fl_yaml_fail_node(y, v, "out of memory");
  for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
    yaml_node_t *k = fl_yaml_node(y, p->key), *val = fl_yaml_node(y, p->value);
    if (fl_yaml_want_scalar(y, k, "env", "a variable name") < 0) return -1;
    const char *name = fl_yaml_str(k);
    if (!name[0] || strchr(name, '=') ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
                     "rstuvwxyz0123456789_") != strlen(name))
      return fl_yaml_fail_node(y, k, "'%s' is not an environment variable name", name);
    const char *value = fl_yaml_is_null(val) ? "" : NULL;
    if (!value) {
      if (fl_yaml_want_scalar(y, val, name, "a string") < 0) return -1;
      value = fl_yaml_str(val);
    }
    size_t len = strlen(name) + strlen(value) + 2;
    if (!(e->env[e->n_env] = malloc(len))) return fl_yaml_fail_node(y, k, "out of memory");
    snprintf(e->env[e->n_env++], len, "%s=%s", name, value);
  }
  return 0;
}

int fl_external_parse_key(const fl_plan_yaml *y, bool server, yaml_node_t *k, yaml_node_t *v,
                          fl_external_plan *e) {
  const char *key = fl_yaml_str(k);
  if (!strcmp(key, "exec") || !strcmp(key, "target")) {
    if (e->present)
      return fl_yaml_fail_node(y, k,
                               "'%s' and '%s' exclude each other: a side is a program "
                               "faultline starts or an address already serving",
                               key, e->argv ? "exec" : "target");
    e->present = true;
    e->line = FL_YAML_LINE(k);
    e->col = FL_YAML_COL(k);
    if (!e->start_timeout_ns) e->start_timeout_ns = FL_EXTERNAL_START_TIMEOUT_DEFAULT_NS;
    if (key[0] == 'e') return parse_exec(y, server, v, e);
    if (!server)
      return fl_yaml_fail_node(y, k,
                               "'target' is for the server: a client is a program "
                               "(client: { exec: [...] }) or the built-in peer");
    return parse_target(y, v, e);
  }
  if (!e->keys_line) {
    e->keys_line = FL_YAML_LINE(k);
    e->keys_col = FL_YAML_COL(k);
    e->keys_first = !strcmp(key, "ready") ? "ready"
                    : !strcmp(key, "env") ? "env"
                    : !strcmp(key, "cwd") ? "cwd"
                                          : "start_timeout";
  }
  if (!strcmp(key, "start_timeout")) return fl_yaml_duration(y, v, key, 1, &e->start_timeout_ns);
  if (!strcmp(key, "env")) return parse_env(y, v, e);
  if (!strcmp(key, "cwd")) {
    if (fl_yaml_want_scalar(y, v, "cwd", "a directory") < 0) return -1;
    if (!(e->cwd = strdup(fl_yaml_str(v)))) return fl_yaml_fail_node(y, v, "out of memory");
    return 0;
  }
  /* ready: { log: REGEX } */
  char d[64];
  if (!server)
    return fl_yaml_fail_node(y, k, "'ready' is for a server: a client is not waited for");
  if (v->type != YAML_MAPPING_NODE)
    return fl_yaml_fail_node(y, v, "'ready' must be a map like { log: \"listening\" }, not %s",
                             fl_yaml_describe(v, d, sizeof d));
  for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
    const char *rk;
    if (fl_yaml_check_key(y, v, p, "ready", ready_keys, &rk) < 0) return -1;
    yaml_node_t *re = fl_yaml_node(y, p->value);
    if (fl_yaml_want_scalar(y, re, "log", "a regular expression") < 0) return -1;
    regex_t rx;
    int rc = regcomp(&rx, fl_yaml_str(re), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char why[160];
      regerror(rc, &rx, why, sizeof why);
      return fl_yaml_fail_node(y, re, "'log' is not a POSIX extended regular expression: %s", why);
    }
    regfree(&rx);
    free(e->ready_log);
    if (!(e->ready_log = strdup(fl_yaml_str(re)))) return fl_yaml_fail_node(y, re, "out of memory");
  }
  return 0;
}

int fl_external_check(const fl_plan_yaml *y, bool server, const fl_external_plan *e,
                      int script_line, int script_col, int args_line, int args_col) {
  const char *side = server ? "server" : "client";
  if (!e->present) {
    if (e->keys_line)
      return fl_yaml_fail(y, e->keys_line, e->keys_col,
                          "'%s' is for a program the %s side runs; it needs 'exec'", e->keys_first,
                          side);
    return 0;
  }
  if (e->target && e->keys_line)
    return fl_yaml_fail(y, e->keys_line, e->keys_col,
                        "'%s' is for a program faultline starts (exec:); a target is already "
                        "running",
                        e->keys_first);
  if (script_line)
    return fl_yaml_fail(y, script_line, script_col,
                        "the %s is an external program (line %d): 'script' drives only the "
                        "built-in peer",
                        side, e->line);
  if (args_line)
    return fl_yaml_fail(y, args_line, args_col,
                        "the %s is an external program (line %d): 'args' are the built-in peer's "
                        "channel arguments; pass the program its own in exec:",
                        side, e->line);
  return 0;
}

void fl_external_free(fl_external_plan *e) {
  for (size_t i = 0; i < e->argc; i++) free(e->argv[i]);
  free(e->argv);
  for (size_t i = 0; i < e->n_env; i++) free(e->env[i]);
  free(e->env);
  free(e->target);
  free(e->ready_log);
  free(e->cwd);
  memset(e, 0, sizeof *e);
}
