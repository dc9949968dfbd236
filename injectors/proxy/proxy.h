/*
 * proxy: the path proxy between a client and a server on loopback (faultline-proxy).
 *
 * It listens on 127.0.0.1 (port 0: the kernel picks), accepts client connections, dials the
 * upstream once per connection and forwards bytes both ways from one epoll loop: one thread,
 * so what it does is ordered and repeatable. Without faults it forwards every byte unchanged
 * and as soon as it can.
 *
 * HTTP/2 (h2c, prior knowledge): the client's connection preface, and a server whose first
 * frame is SETTINGS, make a direction be read as frames (harness/observe/h2.h). A frame is
 * forwarded whole once all of it is in; the proxy never rewrites HPACK state, and the frames
 * it injects are well-formed unless the fault is to break them. Anything else (TLS, say) is
 * forwarded as bytes, with the TCP faults only; a frame fault asked for on such a connection
 * is reported as refused.
 *
 * The scenario's `path:` faults hold for every connection from the start; `faults:` fire on
 * their triggers (faults.h): wire triggers are evaluated here at each frame, before the frame
 * is forwarded; `after:` triggers are timed here; triggers on the peers' fields come from the
 * runner as `fire K` lines on the control fd. EOF on the control fd ends the run: every
 * connection is closed and fl_proxy_run returns 0.
 *
 * Events (one line each on the events fd, checked against harness/observe/event.h's table,
 * written once a loop turn; attributes in brackets):
 *   ready [port]            listening
 *   conn_open [conn]        a client connected (conn: 1, 2, ... in accept order)
 *   conn_close [conn reason]
 *                           both legs closed; reason client_closed, server_closed, client_reset,
 *                           server_reset, reset (a fault), upstream_refused, end (run over)
 *   frame [conn from type stream len flags ordinal ...]
 *                           a frame its receiver got, once its last byte was written to it. from:
 *                           client|server, whose frame the receiver sees (an injected one is the
 *                           other side's); ordinal: its place among the frames the receiver got
 *                           on this connection; action: injected, delayed or corrupted when a
 *                           fault did that. RST_STREAM [code], GOAWAY [code last_stream_id
 *                           debug], WINDOW_UPDATE [increment], SETTINGS [settings
 *                           "NAME=V,..."], trailers [grpc_status], DATA [window: the sender's
 *                           send window after it, the smaller of the stream's and the
 *                           connection's]. A frame the receiver never got has no frame event.
 *   fault [index action conn stream type ordinal]
 *                           fault `index` (0-based, in faults: order) fired or acted. action:
 *                           shaped, blackholed, reset, closed, withheld, released, armed (then
 *                           dropped, delayed or corrupted at the frame it acts on), injected,
 *                           refused (the reason on stderr). type and ordinal name the frame:
 *                           the injected, delayed or corrupted one by its ordinal toward its
 *                           receiver; a dropped one (or a kept-back ACK of an injected PING or
 *                           SETTINGS) by its ordinal among its sender's frames, the receiver
 *                           never having had it; for other actions fired by a wire trigger,
 *                           the triggering frame among its sender's.
 *   done                    the control fd reached EOF; exiting 0
 *   error [message]         the proxy cannot go on (it exits 1)
 */
#ifndef FL_PROXY_H
#define FL_PROXY_H

#include <stdint.h>

#include "scenario.h"
#include "util.h"

typedef struct fl_proxy fl_proxy;

typedef struct {
  const fl_scenario *scenario; /* borrowed for the proxy's life */
  const char *upstream;        /* "127.0.0.1:PORT" */
  int events_fd, control_fd;
} fl_proxy_options;

/* Listens and emits `ready`. Returns 0, or -1 with err (a bad upstream address, a socket
 * that cannot be made). */
FL_MUST_USE int fl_proxy_new(const fl_proxy_options *opt, fl_proxy **out, char *err, size_t errlen);

/* Runs the loop until the control fd reaches EOF. Returns 0, or -1 with err when the loop
 * cannot go on (epoll fails, the events fd is gone). */
FL_MUST_USE int fl_proxy_run(fl_proxy *p, char *err, size_t errlen);

int fl_proxy_port(const fl_proxy *p);
void fl_proxy_free(fl_proxy *p);

#endif
