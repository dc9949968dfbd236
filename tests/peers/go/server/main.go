// go-server: a grpc-go server of faultline.Test and shop.v1.Orders whose --mode decides how
// it behaves or misbehaves, for faultline's interop tests.
//
//	go-server --port N [--mode MODE] [--size BYTES] [--window BYTES] [--blocked-after DURATION]
//
// Ready line (stdout): "listening on 127.0.0.1:PORT". One line per finished call (stdout):
//
//	call method=PATH recv=N sent=N recv_end=0|1 cancelled=0|1 status=NAME code=N message=ENC
//
// Exit status: 0 after a graceful stop, 1 cannot listen or serve, 2 bad usage; a SIGQUIT makes
// the Go runtime print every goroutine's stack to stderr and exit 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	fpb "faultline/peers/gen/faultlinepb"
	shop "faultline/peers/gen/shopv1"
	"faultline/peers/peerlib"
)

const prog = "go-server"

// Server modes and how many arguments each takes (see usage).
var modes = map[string]int{
	"echo": 0, "stream": 1, "stop-reading": 0, "sleep": 1, "blocked-send": 0,
	"graceful-stop": 0, "status": 2,
}

const usage = `usage: go-server --port N [--mode MODE] [--size BYTES] [--window BYTES]
                 [--blocked-after DURATION]

Serves faultline.Test (Unary, ServerStream, ClientStream, Bidi) and shop.v1.Orders (Place,
Watch, Trade) on 127.0.0.1:N (0: a free port); prints "listening on 127.0.0.1:PORT" when ready.

Modes (an argument follows the name after ':' or ' ', e.g. stream:5 or "status NOT_FOUND gone"):
  echo                answer every request (faultline.Test: the same message back), end OK
  stream:N            after the first request send N messages, end OK
  stop-reading        read one request, then stop reading until the call ends
  sleep:D             sleep D (a Go duration, e.g. 2s) ignoring the deadline, then echo
  blocked-send        after the first request send --size messages until Send fails; prints
                      "send blocked: ..." once a Send has been pending --blocked-after
  graceful-stop       echo; on SIGTERM GracefulStop (waits for open calls), then exit 0
  status:CODE:MSG     end every call at once with that status (CODE a name or number)
`

type server struct {
	mode         peerlib.Mode
	size         int
	sleep        time.Duration
	stream       uint64
	code         codes.Code
	blockedAfter time.Duration
	open         int64 // calls in progress (atomic)
}

// call is one call's conversation, whatever its shape: recv returns io.EOF at the end of the
// client's messages, send puts one reply on the wire (unary: keeps it to return).
type call struct {
	ctx     context.Context
	m       peerlib.Method
	recv    func() (proto.Message, error)
	send    func(proto.Message) error
	recvN   uint64
	sentN   uint64
	recvEnd bool
}

func (c *call) read() (proto.Message, error) {
	msg, err := c.recv()
	if err == io.EOF {
		c.recvEnd = true
	} else if err == nil {
		c.recvN++
	}
	return msg, err
}

func (c *call) write(msg proto.Message) error {
	err := c.send(msg)
	if err == nil {
		c.sentN++
	}
	return err
}

// run is the mode's behaviour, one function for every method and shape.
func (s *server) run(c *call) error {
	switch s.mode.Name {
	case "status":
		return status.Error(s.code, s.mode.Args[1])
	case "sleep":
		// The seed's handler that sleeps without looking at its context (chapter 2).
		peerlib.Logf(prog, "sleep: %s %s", c.m.Path, s.sleep)
		time.Sleep(s.sleep)
		peerlib.Logf(prog, "sleep: woke, context: %v", c.ctx.Err())
		return s.echo(c)
	case "stream":
		first, err := c.read()
		if err != nil && err != io.EOF {
			return err
		}
		if c.m.Shape.SingleReply() {
			return s.echo(c)
		}
		for i := uint64(1); i <= s.stream; i++ {
			if err := c.write(c.m.Make(first, i, s.size)); err != nil {
				return err
			}
		}
		return nil
	case "stop-reading":
		if _, err := c.read(); err != nil && err != io.EOF {
			return err
		}
		peerlib.Logf(prog, "stop-reading: %s read %d message(s), reading no more", c.m.Path, c.recvN)
		<-c.ctx.Done()
		return status.FromContextError(c.ctx.Err()).Err()
	case "blocked-send":
		if c.m.Shape.SingleReply() {
			return status.Errorf(codes.Unimplemented, "mode blocked-send needs a streaming reply, %s has one", c.m.Path)
		}
		first, err := c.read()
		if err != nil && err != io.EOF {
			return err
		}
		return s.blockedSend(c, first)
	default: // echo, graceful-stop
		return s.echo(c)
	}
}

func (s *server) echo(c *call) error {
	var last proto.Message
	for {
		req, err := c.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if c.m.Shape.SingleReply() {
			last = req
			continue
		}
		if err := c.write(c.m.Echo(req, c.recvN)); err != nil {
			return err
		}
	}
	if c.m.Shape == peerlib.Unary {
		return c.write(c.m.Echo(last, 1))
	}
	if c.m.Shape == peerlib.ClientStream {
		return c.write(c.m.Make(last, c.recvN, s.size))
	}
	return nil
}

// blockedSend sends until Send fails, to a client that does not read: once the windows are
// used up the handler's goroutine blocks inside Send (grpc-go's transport waits for write
// quota), which is what a goroutine dump must show (seed chapter 2.3). A watchdog says so on
// stdout once one Send has been pending blockedAfter, so a test knows when to dump.
func (s *server) blockedSend(c *call, first proto.Message) error {
	var pendingSince int64 // unix ns when the current Send began, 0 between Sends (atomic)
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(s.blockedAfter / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				since := atomic.LoadInt64(&pendingSince)
				if since != 0 && time.Since(time.Unix(0, since)) >= s.blockedAfter {
					fmt.Printf("send blocked: message %d pending for %s after %d sent\n",
						atomic.LoadUint64(&c.sentN)+1, time.Since(time.Unix(0, since)).Round(time.Millisecond),
						atomic.LoadUint64(&c.sentN))
					return
				}
			}
		}
	}()
	for i := uint64(1); ; i++ {
		msg := c.m.Make(first, i, s.size)
		atomic.StoreInt64(&pendingSince, time.Now().UnixNano())
		err := c.send(msg)
		atomic.StoreInt64(&pendingSince, 0)
		if err != nil {
			peerlib.Logf(prog, "blocked-send: Send of message %d failed: %v", i, err)
			return err
		}
		atomic.AddUint64(&c.sentN, 1)
	}
}

// finish prints the call's line and returns what the handler returns.
func (s *server) finish(c *call, err error) error {
	atomic.AddInt64(&s.open, -1)
	st := status.Convert(err)
	cancelled := 0
	if c.ctx.Err() != nil {
		cancelled = 1
	}
	recvEnd := 0
	if c.recvEnd {
		recvEnd = 1
	}
	fmt.Printf("call method=%s recv=%d sent=%d recv_end=%d cancelled=%d status=%s code=%d message=%s\n",
		c.m.Path, c.recvN, atomic.LoadUint64(&c.sentN), recvEnd, cancelled, peerlib.CodeName(st.Code()),
		int(st.Code()), peerlib.Enc(st.Message()))
	return err
}

// unary runs a unary method: its one request, then the mode; the reply is returned.
func (s *server) unary(ctx context.Context, path string, req proto.Message) (proto.Message, error) {
	atomic.AddInt64(&s.open, 1)
	var reply proto.Message
	given := false
	c := &call{ctx: ctx, m: peerlib.Methods[path]}
	c.recv = func() (proto.Message, error) {
		if given {
			return nil, io.EOF
		}
		given = true
		return req, nil
	}
	c.send = func(m proto.Message) error {
		if reply != nil {
			return status.Error(codes.Internal, "a unary call has one reply")
		}
		reply = m
		return nil
	}
	err := s.finish(c, s.run(c))
	if err != nil {
		return nil, err
	}
	return reply, nil
}

// streaming runs a streaming method on ss; first is the request the generated handler already
// read for a server-streaming method, nil otherwise.
func (s *server) streaming(path string, ss grpc.ServerStream, first proto.Message) error {
	atomic.AddInt64(&s.open, 1)
	c := &call{ctx: ss.Context(), m: peerlib.Methods[path]}
	given := false
	c.recv = func() (proto.Message, error) {
		if first != nil {
			if given {
				return nil, io.EOF
			}
			given = true
			return first, nil
		}
		msg := c.m.NewRequest()
		if err := ss.RecvMsg(msg); err != nil {
			return nil, err
		}
		return msg, nil
	}
	c.send = func(m proto.Message) error { return ss.SendMsg(m) }
	return s.finish(c, s.run(c))
}

// The generated service interfaces, each method handed to unary or streaming.
type testService struct {
	fpb.UnimplementedTestServer
	s *server
}

func (t *testService) Unary(ctx context.Context, req *fpb.Message) (*fpb.Message, error) {
	r, err := t.s.unary(ctx, "/faultline.Test/Unary", req)
	if err != nil {
		return nil, err
	}
	return r.(*fpb.Message), nil
}
func (t *testService) ServerStream(req *fpb.Message, ss fpb.Test_ServerStreamServer) error {
	return t.s.streaming("/faultline.Test/ServerStream", ss, req)
}
func (t *testService) ClientStream(ss fpb.Test_ClientStreamServer) error {
	return t.s.streaming("/faultline.Test/ClientStream", ss, nil)
}
func (t *testService) Bidi(ss fpb.Test_BidiServer) error {
	return t.s.streaming("/faultline.Test/Bidi", ss, nil)
}

type ordersService struct {
	shop.UnimplementedOrdersServer
	s *server
}

func (o *ordersService) Place(ctx context.Context, req *shop.Order) (*shop.PlaceReply, error) {
	r, err := o.s.unary(ctx, "/shop.v1.Orders/Place", req)
	if err != nil {
		return nil, err
	}
	return r.(*shop.PlaceReply), nil
}
func (o *ordersService) Watch(req *shop.WatchRequest, ss shop.Orders_WatchServer) error {
	return o.s.streaming("/shop.v1.Orders/Watch", ss, req)
}
func (o *ordersService) Trade(ss shop.Orders_TradeServer) error {
	return o.s.streaming("/shop.v1.Orders/Trade", ss, nil)
}

func main() {
	flag.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	port := flag.Int("port", -1, "port to listen on, 127.0.0.1 (0: any free port)")
	modeSpec := flag.String("mode", "echo", "behaviour, see usage")
	size := flag.Int("size", 16384, "padding bytes of the messages the server makes up")
	window := flag.Int("window", 0, "HTTP/2 initial stream and connection window (>= 65535; turns off BDP probing); 0: grpc-go's default")
	blockedAfter := flag.Duration("blocked-after", 200*time.Millisecond, "blocked-send: report a Send pending this long")
	flag.Parse()
	if flag.NArg() > 0 {
		peerlib.Fatalf(prog, 2, "unexpected argument %q (a mode's arguments go with it: --mode \"stream:5\")", flag.Arg(0))
	}
	if *port < 0 || *port > 65535 {
		peerlib.Fatalf(prog, 2, "--port N (0..65535) is required")
	}
	mode, err := peerlib.ParseMode(*modeSpec, modes)
	if err != nil {
		peerlib.Fatalf(prog, 2, "--mode: %v", err)
	}
	s := &server{mode: mode, size: *size, blockedAfter: *blockedAfter}
	switch mode.Name {
	case "stream":
		if s.stream, err = strconv.ParseUint(mode.Args[0], 10, 64); err != nil {
			peerlib.Fatalf(prog, 2, "--mode stream:N: %q is not a count", mode.Args[0])
		}
	case "sleep":
		if s.sleep, err = time.ParseDuration(mode.Args[0]); err != nil {
			peerlib.Fatalf(prog, 2, "--mode sleep:D: %v", err)
		}
	case "status":
		if s.code, err = peerlib.ParseCode(mode.Args[0]); err != nil {
			peerlib.Fatalf(prog, 2, "--mode status:CODE:MSG: %v", err)
		}
	}
	if *blockedAfter <= 0 {
		peerlib.Fatalf(prog, 2, "--blocked-after must be positive")
	}

	var opts []grpc.ServerOption
	if *window != 0 {
		if *window < 65535 {
			peerlib.Fatalf(prog, 2, "--window: grpc-go ignores windows under 65535, got %d", *window)
		}
		opts = append(opts, grpc.InitialWindowSize(int32(*window)), grpc.InitialConnWindowSize(int32(*window)))
	}
	srv := grpc.NewServer(opts...)
	fpb.RegisterTestServer(srv, &testService{s: s})
	shop.RegisterOrdersServer(srv, &ordersService{s: s})

	lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		peerlib.Fatalf(prog, 1, "cannot listen: %v", err)
	}
	stopped := make(chan struct{})
	if mode.Name == "graceful-stop" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		go func() {
			<-sig
			peerlib.Logf(prog, "graceful-stop: SIGTERM with %d open call(s); GracefulStop", atomic.LoadInt64(&s.open))
			fmt.Printf("graceful-stop: started open=%d\n", atomic.LoadInt64(&s.open))
			srv.GracefulStop()
			fmt.Printf("graceful-stop: done\n")
			close(stopped)
		}()
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		peerlib.Fatalf(prog, 1, "serve: %v", err)
	}
	<-stopped // Serve returns as soon as GracefulStop begins; exit once it is done
	os.Exit(0)
}
