package natsstages

import (
	"context"
	"strings"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

var _ gateway.ResponseScorer = (*Classifier)(nil)

// ScoreText scores a model's answer with ClassifierService/ScoreText (the
// response_jailbreak plugin). Invalid UTF-8 is replaced first (protobuf
// strings must be UTF-8).
func (c *Classifier) ScoreText(ctx context.Context, text string) (float64, error) {
	res, err := c.client.ScoreText(ctx, connect.NewRequest(&classifierv1.ScoreTextRequest{Text: strings.ToValidUTF8(text, "\uFFFD")}))
	if err != nil {
		return 0, stageError("score text", err)
	}
	return res.Msg.GetJailbreakScore(), nil
}
