// go-client: a grpc-go client that calls one method of faultline.Test or shop.v1.Orders and
// behaves as --mode says, for faultline's interop tests.
//
//	go-client --target HOST:PORT [--method PATH] [--mode MODE] [--count N] [--size BYTES]
//	          [--deadline DURATION] [--pause-after N] [--window BYTES]
//
// Its last line on stdout is the final status it saw:
//
//	status=NAME code=N sent=N recv=N message=ENC
//
// Exit status: 0 the call ended with OK, 3 it ended with another status (the line says which),
// 1 the client itself failed, 2 bad usage.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"faultline/peers/peerlib"
)

const prog = "go-client"

var modes = map[string]int{"echo": 0, "half-close-race": 0, "cancel-after": 1, "stop-reading": 0}

const usage = `usage: go-client --target HOST:PORT [--method PATH] [--mode MODE] [--count N]
                 [--size BYTES] [--deadline DURATION] [--pause-after N] [--window BYTES]

Calls PATH (default /faultline.Test/Bidi) and prints the final status as its last line:
  status=NAME code=N sent=N recv=N message=ENC

Modes:
  echo             send --count requests, each after the previous reply (unary: --count calls;
                   server streaming: one request), half-close, read to the end
  half-close-race  send --count requests back to back and half-close right after the burst,
                   then read to the end
  cancel-after:N   as echo, but cancel the call once N replies have arrived
  stop-reading     send the requests and half-close, never read; ends at the deadline (or
                   when killed)
--pause-after N prints "paused after N replies" and waits for a line (or end of file) on stdin
before going on: a barrier a test can hold the call open with.
`

type client struct {
	m          peerlib.Method
	mode       peerlib.Mode
	count      uint64
	size       int
	pauseAfter uint64
	cancelN    uint64
	cancel     context.CancelFunc
	stdin      *bufio.Reader
	sent, recv uint64
}

// replied counts a reply and applies --pause-after and cancel-after:N; true when the call was
// cancelled.
func (c *client) replied() bool {
	c.recv++
	if c.pauseAfter != 0 && c.recv == c.pauseAfter {
		fmt.Printf("paused after %d replies\n", c.recv)
		_, _ = c.stdin.ReadString('\n')
	}
	if c.mode.Name == "cancel-after" && c.recv == c.cancelN {
		peerlib.Logf(prog, "cancel-after: cancelling after %d replies", c.recv)
		c.cancel()
		return true
	}
	return false
}

// unary makes --count calls, one after the other, and stops at the first that fails.
func (c *client) unary(ctx context.Context, conn *grpc.ClientConn) error {
	for i := uint64(1); i <= c.count; i++ {
		reply := c.m.NewReply()
		err := conn.Invoke(ctx, c.m.Path, c.m.Request(i, c.size), reply)
		c.sent++
		if err != nil {
			return err
		}
		if c.replied() {
			return ctx.Err()
		}
	}
	return nil
}

// streaming runs one streaming call; the error is its final status (nil: OK).
func (c *client) streaming(ctx context.Context, conn *grpc.ClientConn) error {
	desc := &grpc.StreamDesc{
		ServerStreams: c.m.Shape == peerlib.ServerStream || c.m.Shape == peerlib.Bidi,
		ClientStreams: c.m.Shape == peerlib.ClientStream || c.m.Shape == peerlib.Bidi,
	}
	cs, err := conn.NewStream(ctx, desc, c.m.Path)
	if err != nil {
		return err
	}
	n := c.count
	if c.m.Shape.SingleRequest() {
		n = 1
	}
	send := func(i uint64) bool {
		// io.EOF: the server ended the call; its status comes from RecvMsg.
		if err := cs.SendMsg(c.m.Request(i, c.size)); err != nil {
			peerlib.Logf(prog, "send %d: %v", i, err)
			return false
		}
		c.sent++
		return true
	}
	recvToEnd := func() error {
		for {
			reply := c.m.NewReply()
			if err := cs.RecvMsg(reply); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			c.replied() // after cancel-after's cancel the next RecvMsg reports CANCELLED
		}
	}

	switch {
	case c.mode.Name == "stop-reading":
		for i := uint64(1); i <= n && send(i); i++ {
		}
		_ = cs.CloseSend()
		peerlib.Logf(prog, "stop-reading: sent %d, reading nothing", c.sent)
		<-ctx.Done() // the deadline, if any; without one the client waits to be killed
		return recvToEnd()
	case c.mode.Name == "half-close-race" || !desc.ServerStreams || c.m.Shape == peerlib.ServerStream:
		// A burst and the half-close right behind it; client streaming and server streaming
		// always do this, since their replies come only after the half-close.
		for i := uint64(1); i <= n && send(i); i++ {
		}
		if err := cs.CloseSend(); err != nil {
			peerlib.Logf(prog, "CloseSend: %v", err)
		}
		return recvToEnd()
	default: // bidi ping-pong: echo, cancel-after
		for i := uint64(1); i <= n; i++ {
			if !send(i) {
				break
			}
			reply := c.m.NewReply()
			if err := cs.RecvMsg(reply); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			if c.replied() {
				return recvToEnd()
			}
		}
		if err := cs.CloseSend(); err != nil {
			peerlib.Logf(prog, "CloseSend: %v", err)
		}
		return recvToEnd()
	}
}

func main() {
	flag.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	target := flag.String("target", "", "server address HOST:PORT")
	method := flag.String("method", "/faultline.Test/Bidi", "method path")
	modeSpec := flag.String("mode", "echo", "behaviour, see usage")
	count := flag.Uint64("count", 3, "requests to send")
	size := flag.Int("size", 0, "padding bytes per request")
	deadline := flag.Duration("deadline", 0, "call deadline (0: none)")
	pauseAfter := flag.Uint64("pause-after", 0, "after this many replies wait for a line on stdin")
	window := flag.Int("window", 0, "HTTP/2 initial stream and connection window (>= 65535; turns off BDP probing); 0: grpc-go's default")
	flag.Parse()
	if flag.NArg() > 0 {
		peerlib.Fatalf(prog, 2, "unexpected argument %q", flag.Arg(0))
	}
	if *target == "" {
		peerlib.Fatalf(prog, 2, "--target HOST:PORT is required")
	}
	m, ok := peerlib.Methods[*method]
	if !ok {
		peerlib.Fatalf(prog, 2, "--method: unknown method %q (known: %v)", *method, peerlib.MethodNames())
	}
	mode, err := peerlib.ParseMode(*modeSpec, modes)
	if err != nil {
		peerlib.Fatalf(prog, 2, "--mode: %v", err)
	}
	c := &client{m: m, mode: mode, count: *count, size: *size, pauseAfter: *pauseAfter,
		stdin: bufio.NewReader(os.Stdin)}
	if mode.Name == "cancel-after" {
		if c.cancelN, err = strconv.ParseUint(mode.Args[0], 10, 64); err != nil || c.cancelN == 0 {
			peerlib.Fatalf(prog, 2, "--mode cancel-after:N: %q is not a positive count", mode.Args[0])
		}
	}

	opts := []grpc.DialOption{grpc.WithInsecure()}
	if *window != 0 {
		if *window < 65535 {
			peerlib.Fatalf(prog, 2, "--window: grpc-go ignores windows under 65535, got %d", *window)
		}
		opts = append(opts, grpc.WithInitialWindowSize(int32(*window)), grpc.WithInitialConnWindowSize(int32(*window)))
	}
	conn, err := grpc.Dial(*target, opts...)
	if err != nil {
		peerlib.Fatalf(prog, 1, "dial %s: %v", *target, err)
	}
	defer conn.Close()

	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if *deadline > 0 {
		ctx, cancel = context.WithTimeout(ctx, *deadline)
	}
	ctx, c.cancel = context.WithCancel(ctx)
	defer cancel()

	if m.Shape == peerlib.Unary {
		err = c.unary(ctx, conn)
	} else {
		err = c.streaming(ctx, conn)
	}
	st := status.Convert(err)
	if err == context.Canceled || err == context.DeadlineExceeded {
		st = status.FromContextError(err)
	}
	fmt.Printf("status=%s code=%d sent=%d recv=%d message=%s\n", peerlib.CodeName(st.Code()),
		int(st.Code()), c.sent, c.recv, peerlib.Enc(st.Message()))
	if st.Code() != codes.OK {
		os.Exit(3)
	}
}
