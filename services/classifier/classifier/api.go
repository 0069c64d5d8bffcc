package classifier

import (
	"slices"

	"github.com/semrouter/semrouter/pkg/config"
)

// APIService returns the revision's global.services.api block (nil when
// the config has none); the classification API reads its batch limits
// from it. The caller must not modify it.
func (c *Classifier) APIService() *config.APIService { return c.api }

// DomainHead describes the domain head PredictDomain runs: the embedding
// model it was trained on and its labels (ok is false without one).
func (c *Classifier) DomainHead() (model string, labels []string, ok bool) {
	h := c.head
	if c.def != nil && c.def.dom != nil && c.def.dom.Head != nil {
		h = c.def.dom.Head
	}
	if h == nil {
		return "", nil, false
	}
	return h.Model, slices.Clone(h.Labels), true
}
