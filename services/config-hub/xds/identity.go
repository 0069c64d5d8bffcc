package xds

import (
	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	earlyhmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"

	"github.com/semrouter/semrouter/pkg/config"
)

// EarlyHeaderMutationName is the early header mutation extension of the
// generated HTTP connection managers that removes client-sent copies of
// the trusted headers.
const EarlyHeaderMutationName = "envoy.http.early_header_mutation.header_mutation"

// StrippedHeaders lists the request headers the generated Envoy listeners
// remove before any HTTP filter runs: the identity headers of
// global.services.authz.identity and x-vsr-debug (config.TrustedHeaders,
// the headers API mode honours only from --trusted-proxies). None when
// opts.TrustDownstreamIdentity is set.
func StrippedHeaders(cfg *config.Config, opts Options) []string {
	if opts.TrustDownstreamIdentity {
		return nil
	}
	return cfg.TrustedHeaders()
}

// earlyRemoval is the early header mutation removing headers, nil when
// there are none. Early header mutations run when the request headers
// arrive, before the HTTP filter chain: an authentication filter added to
// the chain (jwt_authn with claim_to_headers, ext_authz) still sets the
// identity after the removal, and ext_proc reads only what it set.
func earlyRemoval(headers []string) []*corev3.TypedExtensionConfig {
	if len(headers) == 0 {
		return nil
	}
	hm := &earlyhmv3.HeaderMutation{}
	for _, h := range headers {
		hm.Mutations = append(hm.Mutations, &mutationrulesv3.HeaderMutation{
			Action: &mutationrulesv3.HeaderMutation_Remove{Remove: h},
		})
	}
	return []*corev3.TypedExtensionConfig{{Name: EarlyHeaderMutationName, TypedConfig: mustAny(hm)}}
}
