#include "fields.h"

#include <string.h>

const fl_field_info fl_fields[FL_N_FIELDS] = {
#define FL_FIELD_ROW(id, cls, name, type, doc)                                                     \
  [FL_FIELD_##id] = {FL_FIELD_##id, FL_CLASS_##cls, name, FL_VAL_##type, doc},
    FL_FIELDS(FL_FIELD_ROW)
#undef FL_FIELD_ROW
};

const fl_field_info *fl_field_find(fl_field_class cls, const char *name, size_t len) {
  for (int i = 0; i < FL_N_FIELDS; i++) {
    const fl_field_info *f = &fl_fields[i];
    if (f->cls == cls && strlen(f->name) == len && !strncmp(f->name, name, len)) return f;
  }
  return NULL;
}

void fl_field_full_name(const fl_field_info *f, fl_scope scope, char *buf, size_t len) {
  const char *side = scope == FL_SCOPE_SERVER ? "server" : "client";
  switch (f->cls) {
  case FL_CLASS_PEER: snprintf(buf, len, "%s.%s", side, f->name); break;
  case FL_CLASS_WIRE: snprintf(buf, len, "wire.%s.%s", side, f->name); break;
  case FL_CLASS_RUN: snprintf(buf, len, "%s", f->name); break;
  }
}

const char *fl_value_type_desc(fl_value_type t) {
  switch (t) {
  case FL_VAL_INT: return "a count";
  case FL_VAL_DURATION: return "a duration";
  case FL_VAL_SIZE: return "a size";
  case FL_VAL_BOOL: return "true or false";
  case FL_VAL_STATUS: return "a status";
  case FL_VAL_STRING: return "a string";
  case FL_VAL_OUTCOME: return "an outcome";
  case FL_VAL_H2CODE: return "an HTTP/2 error code";
  }
  return "a value";
}

const char *fl_value_type_name(fl_value_type t) {
  switch (t) {
  case FL_VAL_INT: return "count";
  case FL_VAL_DURATION: return "duration";
  case FL_VAL_SIZE: return "size";
  case FL_VAL_BOOL: return "bool";
  case FL_VAL_STATUS: return "status";
  case FL_VAL_STRING: return "string";
  case FL_VAL_OUTCOME: return "outcome";
  case FL_VAL_H2CODE: return "h2 code";
  }
  return "value";
}

void fl_fields_write_markdown(FILE *out) {
  static const char *const prefix[] = {
      [FL_CLASS_PEER] = "SIDE.", [FL_CLASS_WIRE] = "wire.SIDE.", [FL_CLASS_RUN] = ""};
  fprintf(out, "| field | type | meaning |\n|---|---|---|\n");
  for (int i = 0; i < FL_N_FIELDS; i++) {
    const fl_field_info *f = &fl_fields[i];
    fprintf(out, "| `%s%s` | %s | %s |\n", prefix[f->cls], f->name, fl_value_type_name(f->type),
            f->doc);
  }
}
