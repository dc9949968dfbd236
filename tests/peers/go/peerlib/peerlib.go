// Package peerlib holds what go-server and go-client share: the methods both know (their
// streaming shape and message kinds), status code names, the --mode syntax and the encoding
// of values on their output lines. The Node peers (tests/peers/node/common.js) keep the same
// conventions; tests/peers/README (the notes' peers-readme.md) states them once.
package peerlib

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
)

// Shape is a method's streaming shape, named as faultline's scenarios name it (`rpc:`).
type Shape int

const (
	Unary Shape = iota
	ServerStream
	ClientStream
	Bidi
)

func (s Shape) String() string {
	return [...]string{"unary", "server_stream", "client_stream", "bidi"}[s]
}

// SingleReply: the server answers with exactly one message (unary, client streaming).
func (s Shape) SingleReply() bool { return s == Unary || s == ClientStream }

// SingleRequest: the client sends exactly one message (unary, server streaming).
func (s Shape) SingleRequest() bool { return s == Unary || s == ServerStream }

// codeNames are the canonical status names (grpc/status.h, the gRPC spec), by number; grpc-go's
// own Code.String() spells them in CamelCase, which no other implementation prints.
var codeNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// CodeName is the canonical name of c, or its number when it has none.
func CodeName(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return strconv.Itoa(int(c))
}

// ParseCode reads a status code given by name (NOT_FOUND, case-insensitive) or number.
func ParseCode(s string) (codes.Code, error) {
	for i, n := range codeNames {
		if strings.EqualFold(s, n) {
			return codes.Code(i), nil
		}
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return codes.Code(n), nil
	}
	return 0, fmt.Errorf("unknown status code %q (a name such as NOT_FOUND, or a number)", s)
}

// Mode is a parsed --mode: its name and arguments. "stream:5", "stream 5", "status:NOT_FOUND:no
// such order" and "status NOT_FOUND no such order" all work: the first ':' or ' ' after the
// name is the separator, and the last argument takes the rest of the text.
type Mode struct {
	Name string
	Args []string
}

// ParseMode splits spec into a Mode whose name is one of `known` (name -> number of
// arguments) and checks the number of arguments.
func ParseMode(spec string, known map[string]int) (Mode, error) {
	name, rest, sep := spec, "", ""
	if i := strings.IndexAny(spec, ": "); i >= 0 {
		name, rest, sep = spec[:i], spec[i+1:], spec[i:i+1]
	}
	nargs, ok := known[name]
	if !ok {
		names := make([]string, 0, len(known))
		for n := range known {
			names = append(names, n)
		}
		sort.Strings(names)
		return Mode{}, fmt.Errorf("unknown mode %q (known: %s)", name, strings.Join(names, ", "))
	}
	m := Mode{Name: name}
	if nargs > 0 && sep != "" {
		m.Args = strings.SplitN(rest, sep, nargs)
	}
	if len(m.Args) != nargs {
		return Mode{}, fmt.Errorf("mode %q takes %d argument(s), got %d in %q", name, nargs, len(m.Args), spec)
	}
	return m, nil
}

// Enc percent-encodes a value for an output line as faultline's event lines do
// (harness/observe/event.h): every byte outside 0x21..0x7e, and '%' and '=', becomes %XX, so a
// status message with spaces, newlines or UTF-8 stays on one line and reads back exactly.
func Enc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '%' || c == '=' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Logf writes one line to stderr, prefixed with the program's name.
func Logf(prog, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", a...)
}

// Fatalf logs and exits with status code.
func Fatalf(prog string, code int, format string, a ...interface{}) {
	Logf(prog, format, a...)
	os.Exit(code)
}
