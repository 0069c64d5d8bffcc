package jetstream

import (
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/pkg/subjects"
)

// Control message headers.
const (
	headerKind   = "Semrouter-Cache-Control"
	headerOrigin = "Semrouter-Cache-Origin"
	headerUpTo   = "Semrouter-Cache-Up-To"
)

// Control kinds.
const (
	KindInvalidate = "invalidate"
	KindFlush      = "flush"
)

// Control is an invalidation or a flush every replica applies.
type Control struct {
	Kind string
	// Invalidate is the filter of an invalidation (never a dry run).
	Invalidate *cachev1.InvalidateRequest
	// Origin names the replica that sent it (it applied it already).
	Origin string
	// UpTo is the last stream sequence when it was sent: a replica still
	// replaying the stream skips matching writes up to it.
	UpTo uint64
}

// PublishControl broadcasts c on subjects.CacheControl() (no queue group:
// every replica receives it) and flushes, so it is on the server when
// PublishControl returns.
func PublishControl(nc *nats.Conn, c Control) error {
	msg := nats.NewMsg(subjects.CacheControl())
	msg.Header.Set(headerKind, c.Kind)
	msg.Header.Set(headerOrigin, c.Origin)
	msg.Header.Set(headerUpTo, strconv.FormatUint(c.UpTo, 10))
	if c.Invalidate != nil {
		data, err := proto.Marshal(c.Invalidate)
		if err != nil {
			return fmt.Errorf("encode cache %s: %w", c.Kind, err)
		}
		msg.Data = data
	}
	if err := nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("publish cache %s: %w", c.Kind, err)
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("publish cache %s: %w", c.Kind, err)
	}
	return nil
}

// SubscribeControl calls fn for every control message; malformed ones are
// passed to bad.
func SubscribeControl(nc *nats.Conn, fn func(Control), bad func(error)) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(subjects.CacheControl(), func(m *nats.Msg) {
		c, err := decodeControl(m)
		if err != nil {
			if bad != nil {
				bad(err)
			}
			return
		}
		fn(c)
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", subjects.CacheControl(), err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe to %s: %w", subjects.CacheControl(), err)
	}
	return sub, nil
}

func decodeControl(m *nats.Msg) (Control, error) {
	c := Control{Kind: m.Header.Get(headerKind), Origin: m.Header.Get(headerOrigin)}
	if v := m.Header.Get(headerUpTo); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("cache control: %s %q: %w", headerUpTo, v, err)
		}
		c.UpTo = n
	}
	switch c.Kind {
	case KindFlush:
	case KindInvalidate:
		c.Invalidate = &cachev1.InvalidateRequest{}
		if err := proto.Unmarshal(m.Data, c.Invalidate); err != nil {
			return c, fmt.Errorf("cache control: decode invalidation: %w", err)
		}
	default:
		return c, fmt.Errorf("cache control: unknown kind %q", c.Kind)
	}
	return c, nil
}
