package controller

import (
	"context"
	"fmt"

	"k8s.io/client-go/discovery"
)

// DiscoveryPlatform detects optional APIs through the discovery endpoint.
type DiscoveryPlatform struct {
	Client discovery.DiscoveryInterface
}

var _ PlatformDetector = (*DiscoveryPlatform)(nil)

// Detect asks the API server which groups it serves; it is asked on every
// reconcile so that CRDs installed later (Gateway API, Routes) are noticed.
func (d *DiscoveryPlatform) Detect(ctx context.Context) (Platform, error) {
	groups, err := d.Client.ServerGroups()
	if err != nil {
		return Platform{}, fmt.Errorf("list API groups: %w", err)
	}
	var p Platform
	for _, g := range groups.Groups {
		switch g.Name {
		case "route.openshift.io":
			p.OpenShift = true
		case "gateway.networking.k8s.io":
			for _, v := range g.Versions {
				if v.Version == "v1" {
					p.GatewayAPI = true
				}
			}
		}
	}
	return p, nil
}
