package sticky

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// Key sources (KeyFor's second result).
const (
	SourceConversation = "conversation" // the conversation header
	SourceSession      = "session"      // the session header
	SourceUser         = "user"         // the trusted user id
	SourceHash         = "hash"         // a hash of the conversation's opening
)

// KeyInput is what a conversation key is derived from.
type KeyInput struct {
	// Header returns a request header (lower-case name; nil: none).
	Header func(string) string
	// User is the trusted user id ("" when none).
	User string
	// Model is the model name the client asked for (an auto or entrypoint
	// name): conversations under different entrypoints never share a pin.
	Model string
	// Messages are the messages as the client sent them.
	Messages []chatreq.Message
	// Conversation is the id of a Responses API conversation (the id of
	// its first response, inherited through previous_response_id): under
	// scope conversation it keys the request as the conversation header
	// would, ahead of the header itself ("": none).
	Conversation string
}

// maxHeaderKey bounds a header value used as a key: longer values are
// hashed, so a client cannot make the store keep huge keys.
const maxHeaderKey = 128

// KeyFor derives the conversation key of a request under s, and names its
// source; ok is false when the scope finds nothing to key by (no
// stickiness for the request). Every key starts with the requested model
// name and the trusted user id, so that neither another entrypoint nor
// another user can reach a conversation's pin by sending its id.
//
//   - scope conversation: the Responses API conversation
//     (KeyInput.Conversation), else the conversation header, else the
//     session header, else the hash below;
//   - scope session: the session header;
//   - scope user: the trusted user id.
//
// The hash (SourceHash) is SHA-256 over, each length-prefixed: the role
// and text of every system or developer message before the first user
// message, in order, then the role and text of the first user message
// (the text of an array content is its text parts joined by newlines). Turn N+1 of a chat resends those
// messages unchanged, so it finds turn N's pin without any header; two
// chats that open with the same system prompt and first message (for the
// same user and requested model) share a pin: send a conversation header
// to tell them apart. A request without a user message has no hash key.
func (k *Keyer) KeyFor(s *routes.Sticky, in *KeyInput) (key, source string, ok bool) {
	hdr := in.Header
	if hdr == nil {
		hdr = func(string) string { return "" }
	}
	switch s.Scope {
	case routes.StickyScopeSession:
		if v := strings.TrimSpace(hdr(s.SessionHeader)); v != "" {
			return scoped('s', in, v), SourceSession, true
		}
		return "", "", false
	case routes.StickyScopeUser:
		if in.User != "" {
			return scoped('u', in, ""), SourceUser, true
		}
		return "", "", false
	}
	if v := in.Conversation; v != "" {
		return scoped('r', in, v), SourceConversation, true
	}
	if v := strings.TrimSpace(hdr(s.ConversationHeader)); v != "" {
		return scoped('c', in, v), SourceConversation, true
	}
	if v := strings.TrimSpace(hdr(s.SessionHeader)); v != "" {
		return scoped('s', in, v), SourceSession, true
	}
	sum, ok := k.openingHash(in.Messages)
	if !ok {
		return "", "", false
	}
	return scoped('h', in, hex.EncodeToString(sum[:16])), SourceHash, true
}

// scoped builds "<kind>:<len(model)>:<model><len(user)>:<user><id>" in
// one allocation; an id longer than maxHeaderKey is replaced by its hash.
func scoped(kind byte, in *KeyInput, id string) string {
	if len(id) > maxHeaderKey {
		sum := sha256.Sum256([]byte(id))
		id = hex.EncodeToString(sum[:16])
	}
	var b strings.Builder
	b.Grow(8 + 2*20 + len(in.Model) + len(in.User) + len(id))
	b.WriteByte(kind)
	b.WriteByte(':')
	writeLen(&b, len(in.Model))
	b.WriteString(in.Model)
	writeLen(&b, len(in.User))
	b.WriteString(in.User)
	b.WriteString(id)
	return b.String()
}

func writeLen(b *strings.Builder, n int) {
	var buf [20]byte
	i := len(buf) - 1
	buf[i] = ':'
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	b.Write(buf[i:])
}

// maxPooledOpening bounds the buffers openingHash returns to its pool.
const maxPooledOpening = 1 << 20

// Keyer derives conversation keys (KeyFor). Its zero value is ready; it
// keeps the scratch buffers of the hash keys (the opening is laid out in
// one buffer and hashed with sha256.Sum256: no allocation once a buffer
// is warm). It is safe for concurrent use.
type Keyer struct {
	openings sync.Pool // *[]byte
}

// openingHash hashes the opening of a conversation (see KeyFor).
func (k *Keyer) openingHash(msgs []chatreq.Message) ([sha256.Size]byte, bool) {
	bp, _ := k.openings.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := (*bp)[:0]
	defer func() {
		if cap(b) <= maxPooledOpening {
			*bp = b
			k.openings.Put(bp)
		}
	}()
	field := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	for i := range msgs {
		m := &msgs[i]
		switch m.Role {
		case "system", "developer":
			field(m.Role)
			field(m.Text)
		case "user":
			field(m.Role)
			field(m.Text)
			return sha256.Sum256(b), true
		}
	}
	return [sha256.Size]byte{}, false
}
