package peerlib

import (
	"fmt"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	fpb "faultline/peers/gen/faultlinepb"
	shop "faultline/peers/gen/shopv1"
)

// Kind says how a method's messages are made: what a client sends, how a server answers one
// request and what it sends when it makes messages up (mode stream, blocked-send).
type Kind struct {
	NewRequest func() proto.Message // empty, to decode a request into
	NewReply   func() proto.Message // empty, to decode a reply into
	// Request is the client's message number seq (1-based), padded by about size bytes.
	Request func(seq uint64, size int) proto.Message
	// Echo is the server's answer to req, the n-th request (1-based) of its call.
	Echo func(req proto.Message, n uint64) proto.Message
	// Make is a reply the server makes up: number seq, about req (may be nil), padded by size.
	Make func(req proto.Message, seq uint64, size int) proto.Message
}

// Method is one method both peers know.
type Method struct {
	Path  string
	Shape Shape
	Kind
}

// Methods lists every method path the peers serve and call.
var Methods = map[string]Method{
	"/faultline.Test/Unary":        {"/faultline.Test/Unary", Unary, testKind},
	"/faultline.Test/ServerStream": {"/faultline.Test/ServerStream", ServerStream, testKind},
	"/faultline.Test/ClientStream": {"/faultline.Test/ClientStream", ClientStream, testKind},
	"/faultline.Test/Bidi":         {"/faultline.Test/Bidi", Bidi, testKind},
	"/shop.v1.Orders/Place":        {"/shop.v1.Orders/Place", Unary, placeKind},
	"/shop.v1.Orders/Watch":        {"/shop.v1.Orders/Watch", ServerStream, watchKind},
	"/shop.v1.Orders/Trade":        {"/shop.v1.Orders/Trade", Bidi, tradeKind},
}

// MethodNames is the sorted list of Methods' paths, for usage messages.
func MethodNames() []string {
	names := make([]string, 0, len(Methods))
	for n := range Methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func pad(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// faultline.Test: the server echoes each Message as it came (so what the built-in peer put in
// its Struct comes back to it byte for byte); the messages it makes up carry their number.
var testKind = Kind{
	NewRequest: func() proto.Message { return new(fpb.Message) },
	NewReply:   func() proto.Message { return new(fpb.Message) },
	Request: func(seq uint64, size int) proto.Message {
		// The seed's dynamic map payloads: typed values, a nested map, a list and a null.
		data, err := structpb.NewStruct(map[string]interface{}{
			"seq":     float64(seq),
			"from":    "go-client",
			"tags":    []interface{}{"a", "b", 3.0},
			"nested":  map[string]interface{}{"ok": true, "empty": map[string]interface{}{}},
			"missing": nil,
		})
		if err != nil {
			panic(err) // only for a value structpb cannot hold, and these are fixed
		}
		return &fpb.Message{Seq: seq, Data: data, Padding: pad(size)}
	},
	Echo: func(req proto.Message, n uint64) proto.Message { return req },
	Make: func(req proto.Message, seq uint64, size int) proto.Message {
		data, _ := structpb.NewStruct(map[string]interface{}{"reply": float64(seq), "from": "go-server"})
		return &fpb.Message{Seq: seq, Data: data, Padding: pad(size)}
	},
}

func order(seq uint64, size int, from string) *shop.Order {
	return &shop.Order{
		Id:       "o-" + strconv.FormatUint(seq, 10),
		Customer: "acme",
		Side:     shop.Side_BUY,
		State:    shop.OrderState_OPEN,
		Lines: []*shop.Order_Line{
			{Sku: "sku-1", Quantity: 2, UnitPrice: &shop.Money{Currency: "EUR", Units: 9, Nanos: 500000000}},
			{Sku: "sku-2", Quantity: 1, UnitPrice: &shop.Money{Currency: "EUR", Units: 20}},
		},
		Labels: map[string]string{"channel": from, "seq": strconv.FormatUint(seq, 10)},
		Total:  &shop.Money{Currency: "EUR", Units: 39},
		Note:   pad(size),
	}
}

var placeKind = Kind{
	NewRequest: func() proto.Message { return new(shop.Order) },
	NewReply:   func() proto.Message { return new(shop.PlaceReply) },
	Request:    func(seq uint64, size int) proto.Message { return order(seq, size, "go-client") },
	Echo: func(req proto.Message, n uint64) proto.Message {
		return &shop.PlaceReply{OrderId: req.(*shop.Order).GetId(), State: shop.OrderState_OPEN}
	},
	Make: func(req proto.Message, seq uint64, size int) proto.Message {
		return &shop.PlaceReply{OrderId: fmt.Sprintf("o-%d", seq), State: shop.OrderState_OPEN}
	},
}

func watchEvent(req proto.Message, seq uint64, size int) proto.Message {
	o := order(seq, size, "go-server")
	if w, ok := req.(*shop.WatchRequest); ok && w.GetCustomer() != "" {
		o.Customer = w.GetCustomer()
	}
	o.State = shop.OrderState_FILLED
	return &shop.OrderEvent{Seq: seq, Order: o, Previous: shop.OrderState_OPEN}
}

var watchKind = Kind{
	NewRequest: func() proto.Message { return new(shop.WatchRequest) },
	NewReply:   func() proto.Message { return new(shop.OrderEvent) },
	Request: func(seq uint64, size int) proto.Message {
		return &shop.WatchRequest{Customer: "acme", States: []shop.OrderState{shop.OrderState_OPEN, shop.OrderState_FILLED}}
	},
	Echo: func(req proto.Message, n uint64) proto.Message { return watchEvent(req, n, 0) },
	Make: watchEvent,
}

func fill(seq uint64, o *shop.Order) *shop.TradeFill {
	f := &shop.TradeFill{Seq: seq, OrderId: o.GetId(), Positions: map[string]int64{}}
	for _, l := range o.GetLines() {
		f.Fills = append(f.Fills, &shop.TradeFill_Fill{Quantity: l.GetQuantity(), Price: l.GetUnitPrice()})
		q := int64(l.GetQuantity())
		if o.GetSide() == shop.Side_SELL {
			q = -q
		}
		f.Positions[l.GetSku()] += q
	}
	return f
}

var tradeKind = Kind{
	NewRequest: func() proto.Message { return new(shop.TradeRequest) },
	NewReply:   func() proto.Message { return new(shop.TradeFill) },
	Request: func(seq uint64, size int) proto.Message {
		return &shop.TradeRequest{Seq: seq, Order: order(seq, size, "go-client")}
	},
	Echo: func(req proto.Message, n uint64) proto.Message {
		r := req.(*shop.TradeRequest)
		return fill(r.GetSeq(), r.GetOrder())
	},
	Make: func(req proto.Message, seq uint64, size int) proto.Message {
		return fill(seq, order(seq, size, "go-server"))
	},
}
