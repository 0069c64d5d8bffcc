package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	configv1 "github.com/semrouter/semrouter/gen/semrouter/config/v1"
	"github.com/semrouter/semrouter/gen/semrouter/config/v1/configv1connect"
	"github.com/semrouter/semrouter/services/config-hub/internal/api"
)

func connectClient(f *fixture, token string) configv1connect.ConfigServiceClient {
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, req)
		}
	})
	return configv1connect.NewConfigServiceClient(http.DefaultClient, f.server.URL, connect.WithInterceptors(auth))
}

func TestConnectConfigService(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	admin := connectClient(f, "admin-token")

	got, err := admin.GetConfig(ctx, connect.NewRequest(&configv1.GetConfigRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(got.Msg.GetDocument())
	if got.Msg.GetRevision() != 1 || len(got.Msg.GetDigest()) != 64 || strings.Contains(doc, "sk-small-secret") || !strings.Contains(doc, api.Redacted) {
		t.Fatalf("GetConfig: rev %d digest %q\n%s", got.Msg.GetRevision(), got.Msg.GetDigest(), doc)
	}

	// Invalid: InvalidArgument with a ProblemList detail carrying paths.
	bad := strings.Replace(doc, "default_model: small", "default_model: ghost", 1)
	_, err = admin.PutConfig(ctx, connect.NewRequest(&configv1.PutConfigRequest{Document: []byte(bad), ExpectedRevision: 1}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !hasProblemAt(err, "providers.defaults.default_model") {
		t.Fatalf("invalid PutConfig: %v", err)
	}

	edited := strings.Replace(doc, "default_model: small", "default_model: big", 1)
	put, err := admin.PutConfig(ctx, connect.NewRequest(&configv1.PutConfigRequest{Document: []byte(edited), ExpectedRevision: 1}))
	if err != nil || put.Msg.GetRevision() != 2 || !put.Msg.GetChanged() {
		t.Fatalf("PutConfig: %v %v", put, err)
	}
	cur, _ := f.store.Current(ctx)
	if !strings.Contains(string(cur.Document), "sk-small-secret") {
		t.Fatal("PutConfig of a redacted document lost the stored secret")
	}

	// Stale: Aborted with a RevisionConflict detail.
	_, err = admin.PutConfig(ctx, connect.NewRequest(&configv1.PutConfigRequest{Document: []byte(doc), ExpectedRevision: 1}))
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeAborted {
		t.Fatalf("stale PutConfig: %v", err)
	}
	conflict := false
	for _, d := range cerr.Details() {
		if m, derr := d.Value(); derr == nil {
			if rc, ok := m.(*configv1.RevisionConflict); ok && rc.GetExpectedRevision() == 1 && rc.GetCurrentRevision() == 2 {
				conflict = true
			}
		}
	}
	if !conflict {
		t.Fatalf("no RevisionConflict detail in %v", cerr)
	}

	val, err := admin.ValidateConfig(ctx, connect.NewRequest(&configv1.ValidateConfigRequest{Document: []byte(bad)}))
	if err != nil || val.Msg.GetValid() || len(val.Msg.GetProblems()) == 0 {
		t.Fatalf("ValidateConfig: %v %v", val, err)
	}

	rb, err := admin.Rollback(ctx, connect.NewRequest(&configv1.RollbackRequest{Revision: 1, ExpectedRevision: 2}))
	if err != nil || rb.Msg.GetRevision() != 3 || rb.Msg.GetRestoredFrom() != 1 {
		t.Fatalf("Rollback: %v %v", rb, err)
	}

	page, err := admin.ListVersions(ctx, connect.NewRequest(&configv1.ListVersionsRequest{PageSize: 2}))
	if err != nil || len(page.Msg.GetVersions()) != 2 || page.Msg.GetVersions()[0].GetRevision() != 3 || !page.Msg.GetVersions()[0].GetActive() ||
		page.Msg.GetNextBeforeRevision() != 2 {
		t.Fatalf("ListVersions page 1: %v %v", page, err)
	}
	next, err := admin.ListVersions(ctx, connect.NewRequest(&configv1.ListVersionsRequest{PageSize: 2, BeforeRevision: 2}))
	if err != nil || len(next.Msg.GetVersions()) != 1 || next.Msg.GetVersions()[0].GetRevision() != 1 || next.Msg.GetNextBeforeRevision() != 0 {
		t.Fatalf("ListVersions page 2: %v %v", next, err)
	}

	// Roles apply to procedures as to paths.
	viewer := connectClient(f, "viewer-token")
	if _, err := viewer.GetConfig(ctx, connect.NewRequest(&configv1.GetConfigRequest{})); err != nil {
		t.Fatalf("viewer GetConfig: %v", err)
	}
	if _, err := viewer.PutConfig(ctx, connect.NewRequest(&configv1.PutConfigRequest{Document: []byte(doc)})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("viewer PutConfig: %v", err)
	}
	operator := connectClient(f, "operator-token")
	if _, err := operator.Rollback(ctx, connect.NewRequest(&configv1.RollbackRequest{Revision: 1})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("operator Rollback: %v", err)
	}
	if _, err := connectClient(f, "").GetConfig(ctx, connect.NewRequest(&configv1.GetConfigRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("anonymous GetConfig: %v", err)
	}
}

func hasProblemAt(err error, path string) bool {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		return false
	}
	for _, d := range cerr.Details() {
		m, derr := d.Value()
		if derr != nil {
			continue
		}
		if pl, ok := m.(*commonv1.ProblemList); ok {
			for _, p := range pl.GetProblems() {
				if p.GetPath() == path && p.GetLine() > 0 {
					return true
				}
			}
		}
	}
	return false
}
