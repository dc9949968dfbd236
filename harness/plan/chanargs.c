#include "chanargs.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "predicate.h"

/* Sorted by name (fl_chanarg_find bisects); the test checks the order and the headers. */
const fl_chanarg_info fl_chanargs[] = {
    {"grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config", FL_CHANARG_STRING},
    {"grpc.authorization_policy_provider", FL_CHANARG_POINTER},
    {"grpc.census", FL_CHANARG_BOOL},
    {"grpc.channel_id", FL_CHANARG_INT},
    {"grpc.channel_pooling_domain", FL_CHANARG_STRING},
    {"grpc.client_idle_timeout_ms", FL_CHANARG_MS},
    {"grpc.compression_enabled_algorithms_bitset", FL_CHANARG_INT},
    {"grpc.default_authority", FL_CHANARG_STRING},
    {"grpc.default_compression_algorithm", FL_CHANARG_INT},
    {"grpc.default_compression_level", FL_CHANARG_INT},
    {"grpc.disable_client_authority_filter", FL_CHANARG_BOOL},
    {"grpc.dns_ares_query_timeout", FL_CHANARG_MS},
    {"grpc.dns_enable_srv_queries", FL_CHANARG_BOOL},
    {"grpc.dns_min_time_between_resolutions_ms", FL_CHANARG_MS},
    {"grpc.enable_channelz", FL_CHANARG_BOOL},
    {"grpc.enable_deadline_checking", FL_CHANARG_BOOL},
    {"grpc.enable_http_proxy", FL_CHANARG_BOOL},
    {"grpc.enable_retries", FL_CHANARG_BOOL},
    {"grpc.expand_wildcard_addrs", FL_CHANARG_BOOL},
    {"grpc.experimental.enable_hedging", FL_CHANARG_BOOL},
    {"grpc.experimental.grpclb_channel_args", FL_CHANARG_POINTER},
    {"grpc.experimental.server_config_change_drain_grace_time_ms", FL_CHANARG_MS},
    {"grpc.experimental.tcp_max_read_chunk_size", FL_CHANARG_BYTES},
    {"grpc.experimental.tcp_min_read_chunk_size", FL_CHANARG_BYTES},
    {"grpc.experimental.tcp_read_chunk_size", FL_CHANARG_BYTES},
    {"grpc.experimental.tcp_tx_zerocopy_enabled", FL_CHANARG_BOOL},
    {"grpc.experimental.tcp_tx_zerocopy_max_simultaneous_sends", FL_CHANARG_INT},
    {"grpc.experimental.tcp_tx_zerocopy_send_bytes_threshold", FL_CHANARG_BYTES},
    {"grpc.grpclb_call_timeout_ms", FL_CHANARG_MS},
    {"grpc.grpclb_fallback_timeout_ms", FL_CHANARG_MS},
    {"grpc.http2.bdp_probe", FL_CHANARG_BOOL},
    {"grpc.http2.hpack_table_size.decoder", FL_CHANARG_BYTES},
    {"grpc.http2.hpack_table_size.encoder", FL_CHANARG_BYTES},
    {"grpc.http2.initial_sequence_number", FL_CHANARG_INT},
    {"grpc.http2.lookahead_bytes", FL_CHANARG_BYTES},
    {"grpc.http2.max_frame_size", FL_CHANARG_BYTES},
    {"grpc.http2.max_ping_strikes", FL_CHANARG_INT},
    {"grpc.http2.max_pings_without_data", FL_CHANARG_INT},
    {"grpc.http2.min_ping_interval_without_data_ms", FL_CHANARG_MS},
    {"grpc.http2.min_time_between_pings_ms", FL_CHANARG_MS},
    {"grpc.http2.true_binary", FL_CHANARG_BOOL},
    {"grpc.http2.write_buffer_size", FL_CHANARG_BYTES},
    {"grpc.http2_scheme", FL_CHANARG_STRING},
    {"grpc.http_proxy", FL_CHANARG_STRING},
    {"grpc.inhibit_health_checking", FL_CHANARG_BOOL},
    {"grpc.initial_reconnect_backoff_ms", FL_CHANARG_MS},
    {"grpc.keepalive_permit_without_calls", FL_CHANARG_BOOL},
    {"grpc.keepalive_time_ms", FL_CHANARG_MS},
    {"grpc.keepalive_timeout_ms", FL_CHANARG_MS},
    {"grpc.lb_policy_name", FL_CHANARG_STRING},
    {"grpc.loadreporting", FL_CHANARG_BOOL},
    {"grpc.max_channel_trace_event_memory_per_node", FL_CHANARG_BYTES},
    {"grpc.max_concurrent_streams", FL_CHANARG_INT},
    {"grpc.max_connection_age_grace_ms", FL_CHANARG_MS},
    {"grpc.max_connection_age_ms", FL_CHANARG_MS},
    {"grpc.max_connection_idle_ms", FL_CHANARG_MS},
    {"grpc.max_metadata_size", FL_CHANARG_BYTES},
    {"grpc.max_receive_message_length", FL_CHANARG_BYTES},
    {"grpc.max_reconnect_backoff_ms", FL_CHANARG_MS},
    {"grpc.max_send_message_length", FL_CHANARG_BYTES},
    {"grpc.min_reconnect_backoff_ms", FL_CHANARG_MS},
    {"grpc.minimal_stack", FL_CHANARG_BOOL},
    {"grpc.mobile_log_context", FL_CHANARG_POINTER},
    {"grpc.optimization_target", FL_CHANARG_STRING},
    {"grpc.per_message_compression", FL_CHANARG_BOOL},
    {"grpc.per_message_decompression", FL_CHANARG_BOOL},
    {"grpc.per_rpc_retry_buffer_size", FL_CHANARG_BYTES},
    {"grpc.primary_user_agent", FL_CHANARG_STRING},
    {"grpc.priority_failover_timeout_ms", FL_CHANARG_MS},
    {"grpc.resource_quota", FL_CHANARG_POINTER},
    {"grpc.secondary_user_agent", FL_CHANARG_STRING},
    {"grpc.server_handshake_timeout_ms", FL_CHANARG_MS},
    {"grpc.service_config", FL_CHANARG_STRING},
    {"grpc.service_config_disable_resolution", FL_CHANARG_BOOL},
    {"grpc.so_reuseport", FL_CHANARG_BOOL},
    {"grpc.socket_factory", FL_CHANARG_POINTER},
    {"grpc.socket_mutator", FL_CHANARG_POINTER},
    {"grpc.ssl_session_cache", FL_CHANARG_POINTER},
    {"grpc.ssl_target_name_override", FL_CHANARG_STRING},
    {"grpc.surface_user_agent", FL_CHANARG_BOOL},
    {"grpc.tsi.max_frame_size", FL_CHANARG_BYTES},
    {"grpc.use_cronet_packet_coalescing", FL_CHANARG_BOOL},
    {"grpc.use_local_subchannel_pool", FL_CHANARG_BOOL},
    {"grpc.workaround.cronet_compression", FL_CHANARG_BOOL},
    {NULL, FL_CHANARG_INT},
};
#define N_CHANARGS (sizeof fl_chanargs / sizeof fl_chanargs[0] - 1)

const fl_chanarg_info *fl_chanarg_find(const char *name) {
  size_t lo = 0, hi = N_CHANARGS;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(name, fl_chanargs[mid].name);
    if (c == 0) return &fl_chanargs[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

const char *const *fl_chanarg_names(void) {
  static const char *names[N_CHANARGS + 1];
  if (!names[0])
    for (size_t i = 0; i < N_CHANARGS; i++) names[i] = fl_chanargs[i].name;
  return names;
}

const char *fl_chanarg_kind_desc(fl_chanarg_kind k) {
  switch (k) {
  case FL_CHANARG_INT: return "an integer";
  case FL_CHANARG_BOOL: return "true, false or an integer";
  case FL_CHANARG_BYTES: return "a number of bytes or a size like 8MiB";
  case FL_CHANARG_MS: return "a number of milliseconds or a duration like 30s";
  case FL_CHANARG_STRING: return "a string";
  case FL_CHANARG_POINTER: return "a C object";
  }
  return "(unknown kind)";
}

/* A whole decimal integer, optionally signed, filling the string. */
static bool plain_integer(const char *s, long long *out, bool *overflow) {
  const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
  if (*d < '0' || *d > '9') return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*end) return false;
  *overflow = errno == ERANGE;
  *out = v;
  return true;
}

static int fit_int(long long v, const char *value, bool *is_int, long long *int_value, char *err,
                   size_t errlen) {
  if (v < INT_MIN || v > INT_MAX) {
    fl_set_err(err, errlen, "'%s' is out of range for C core's integer arguments (%d..%d)", value,
               INT_MIN, INT_MAX);
    return -1;
  }
  *is_int = true;
  *int_value = v;
  return 0;
}

int fl_chanarg_convert(const fl_chanarg_info *info, const char *value, bool plain, bool *is_int,
                       long long *int_value, char *err, size_t errlen) {
  long long v = 0;
  bool overflow = false;
  bool integer = plain_integer(value, &v, &overflow);
  int64_t scaled;
  *is_int = false;
  *int_value = 0;
  if (integer && overflow) v = value[0] == '-' ? LLONG_MIN : LLONG_MAX;

  if (!info) {
    if (!plain) return 0; /* quoted: the string as written */
    if (integer) return fit_int(v, value, is_int, int_value, err, errlen);
    if (fl_parse_size(value, &scaled) != -1 || fl_parse_duration(value, &scaled) != -1) {
      fl_set_err(err, errlen,
                 "'%s' has a unit, and for an argument C core does not declare faultline cannot "
                 "tell which unit it wants; write the plain number, or quote it to pass a string",
                 value);
      return -1;
    }
    return 0;
  }

  switch (info->kind) {
  case FL_CHANARG_STRING: return 0;
  case FL_CHANARG_POINTER:
    fl_set_err(err, errlen, "C core takes a C object (a pointer) for it, which a file cannot give");
    return -1;
  case FL_CHANARG_BOOL:
    if (!strcmp(value, "true")) return fit_int(1, value, is_int, int_value, err, errlen);
    if (!strcmp(value, "false")) return fit_int(0, value, is_int, int_value, err, errlen);
    /* else an integer, as C core reads it (non-zero is on) */
    __attribute__((fallthrough));
  case FL_CHANARG_INT:
    if (integer) return fit_int(v, value, is_int, int_value, err, errlen);
    fl_set_err(err, errlen, "it takes %s, not '%s'", fl_chanarg_kind_desc(info->kind), value);
    return -1;
  case FL_CHANARG_BYTES: {
    if (integer) return fit_int(v, value, is_int, int_value, err, errlen);
    int rc = fl_parse_size(value, &scaled);
    if (rc == 0) return fit_int((long long)scaled, value, is_int, int_value, err, errlen);
    if (rc == -2)
      return fit_int(LLONG_MAX, value, is_int, int_value, err, errlen); /* says out of range */
    fl_set_err(err, errlen, "it takes %s, not '%s'", fl_chanarg_kind_desc(info->kind), value);
    return -1;
  }
  case FL_CHANARG_MS: {
    if (integer) return fit_int(v, value, is_int, int_value, err, errlen);
    int rc = fl_parse_duration(value, &scaled);
    if (rc == -2) return fit_int(LLONG_MAX, value, is_int, int_value, err, errlen);
    if (rc < 0) {
      fl_set_err(err, errlen, "it takes %s, not '%s'", fl_chanarg_kind_desc(info->kind), value);
      return -1;
    }
    if (scaled % 1000000 != 0) {
      fl_set_err(err, errlen, "C core takes it in whole milliseconds; '%s' is not one", value);
      return -1;
    }
    return fit_int((long long)(scaled / 1000000), value, is_int, int_value, err, errlen);
  }
  }
  return 0;
}
