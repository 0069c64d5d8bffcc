package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	configv1 "github.com/semrouter/semrouter/gen/semrouter/config/v1"
	"github.com/semrouter/semrouter/gen/semrouter/config/v1/configv1connect"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/internal/store"
)

// configService implements semrouter.config.v1.ConfigService over the same
// store and rules as the JSON API.
type configService struct{ s *Server }

var _ configv1connect.ConfigServiceHandler = (*configService)(nil)

// procedurePerm is the permission a procedure needs (all permissions
// for an unknown one).
func procedurePerm(procedure string) string {
	switch procedure {
	case configv1connect.ConfigServiceGetConfigProcedure, configv1connect.ConfigServiceListVersionsProcedure:
		return PermConfigRead
	case configv1connect.ConfigServiceValidateConfigProcedure, configv1connect.ConfigServicePutConfigProcedure:
		return PermConfigWrite
	case configv1connect.ConfigServiceRollbackProcedure:
		return PermConfigRollback
	}
	return permAll
}

// ConnectHandler returns the ConfigService handler (Connect, gRPC and
// gRPC-Web) and the path to mount it on.
func (s *Server) ConnectHandler() (string, http.Handler) {
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			perm := procedurePerm(req.Spec().Procedure)
			switch s.auth.Load().authorize(req.Header().Get("Authorization"), perm) {
			case 0:
				return next(ctx, req)
			case http.StatusUnauthorized:
				return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("a valid bearer token is required"))
			default:
				return nil, connect.NewError(connect.CodePermissionDenied, fmt.Errorf("this token's role lacks %s", perm))
			}
		}
	})
	// The body is read before the interceptor sees the token: bound it
	// as the JSON API bounds a document, so that an unauthenticated
	// caller cannot make the hub buffer without limit.
	return configv1connect.NewConfigServiceHandler(&configService{s: s}, connect.WithInterceptors(auth),
		connect.WithReadMaxBytes(MaxBodyBytes+64<<10))
}

func hexDigest(hash string) string { return strings.TrimPrefix(hash, "sha256:") }

func toProtoProblems(ps config.Problems) []*commonv1.Problem {
	out := make([]*commonv1.Problem, 0, len(ps))
	for _, p := range ps {
		sev := commonv1.Severity_SEVERITY_ERROR
		if p.Severity == config.SeverityWarning {
			sev = commonv1.Severity_SEVERITY_WARNING
		}
		out = append(out, &commonv1.Problem{Severity: sev, Path: p.Path, Line: int32(p.Line), Message: p.Message})
	}
	return out
}

// connectError maps store errors to Connect codes with their details.
func connectError(err error) error {
	var verr *store.ValidationError
	var cerr *store.ConflictError
	switch {
	case errors.As(err, &verr):
		ce := connect.NewError(connect.CodeInvalidArgument, err)
		if d, derr := connect.NewErrorDetail(&commonv1.ProblemList{Problems: toProtoProblems(verr.Problems.Errors())}); derr == nil {
			ce.AddDetail(d)
		}
		return ce
	case errors.As(err, &cerr):
		ce := connect.NewError(connect.CodeAborted, err)
		if d, derr := connect.NewErrorDetail(&configv1.RevisionConflict{
			ExpectedRevision: int64(cerr.Expected), CurrentRevision: int64(cerr.Current),
		}); derr == nil {
			ce.AddDetail(d)
		}
		return ce
	case errors.Is(err, store.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	default:
		return connect.NewError(connect.CodeUnavailable, err)
	}
}

func (c *configService) GetConfig(ctx context.Context, req *connect.Request[configv1.GetConfigRequest]) (*connect.Response[configv1.GetConfigResponse], error) {
	var rev store.Revision
	var err error
	if n := req.Msg.GetRevision(); n > 0 {
		rev, err = c.s.store.Get(ctx, uint64(n))
	} else {
		rev, err = c.s.store.Current(ctx)
	}
	if err != nil {
		return nil, connectError(err)
	}
	node, err := RedactYAML(rev.Document)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	out := &configv1.GetConfigResponse{
		Revision:  int64(rev.Revision),
		CreatedAt: timestamppb.New(rev.Created),
		Digest:    hexDigest(rev.Hash),
		Format:    configv1.ConfigFormat_CONFIG_FORMAT_YAML,
	}
	if req.Msg.GetFormat() == configv1.ConfigFormat_CONFIG_FORMAT_JSON {
		var buf bytes.Buffer
		err = config.NodeJSON(&buf, node)
		out.Document, out.Format = buf.Bytes(), configv1.ConfigFormat_CONFIG_FORMAT_JSON
	} else {
		out.Document, err = config.NodeYAML(node)
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	return connect.NewResponse(out), nil
}

func (c *configService) PutConfig(ctx context.Context, req *connect.Request[configv1.PutConfigRequest]) (*connect.Response[configv1.PutConfigResponse], error) {
	cur, err := c.s.current(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	doc, err := restoreRedacted(req.Msg.GetDocument(), cur.Document)
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	if err := c.s.auth.Load().checkManagementChange(req.Header().Get("Authorization"), doc, cur.Document); err != nil {
		return nil, connect.NewError(connect.CodePermissionDenied, err)
	}
	var pre store.Precondition
	if exp := req.Msg.GetExpectedRevision(); exp > 0 {
		pre = store.IfRevision(uint64(exp))
	}
	source := "PutConfig"
	if a := req.Msg.GetAuthor(); a != "" {
		source += " by " + a
	}
	res, err := c.s.store.Publish(ctx, doc, source, pre)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&configv1.PutConfigResponse{
		Revision: int64(res.Revision), Changed: res.Changed, Problems: toProtoProblems(res.Problems.Warnings()),
	}), nil
}

func (c *configService) ValidateConfig(ctx context.Context, req *connect.Request[configv1.ValidateConfigRequest]) (*connect.Response[configv1.ValidateConfigResponse], error) {
	cur, err := c.s.current(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	doc, err := restoreRedacted(req.Msg.GetDocument(), cur.Document)
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	source := req.Msg.GetSourceName()
	if source == "" {
		source = "request"
	}
	_, _, probs, err := store.Validate(doc, source)
	var verr *store.ValidationError
	if err != nil && !errors.As(err, &verr) {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	return connect.NewResponse(&configv1.ValidateConfigResponse{Valid: err == nil, Problems: toProtoProblems(probs)}), nil
}

func (c *configService) ListVersions(ctx context.Context, req *connect.Request[configv1.ListVersionsRequest]) (*connect.Response[configv1.ListVersionsResponse], error) {
	vs, err := c.s.store.Versions(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	size := int(req.Msg.GetPageSize())
	if size <= 0 {
		size = 50
	}
	before := uint64(req.Msg.GetBeforeRevision())
	out := &configv1.ListVersionsResponse{}
	for _, v := range vs {
		if before > 0 && v.Revision >= before {
			continue
		}
		if len(out.Versions) == size {
			out.NextBeforeRevision = int64(out.Versions[len(out.Versions)-1].GetRevision())
			break
		}
		out.Versions = append(out.Versions, &configv1.ConfigVersion{
			Revision: int64(v.Revision), CreatedAt: timestamppb.New(v.Created), Digest: hexDigest(v.Hash),
			SizeBytes: int64(v.Size), Active: v.Active,
		})
	}
	return connect.NewResponse(out), nil
}

func (c *configService) Rollback(ctx context.Context, req *connect.Request[configv1.RollbackRequest]) (*connect.Response[configv1.RollbackResponse], error) {
	if req.Msg.GetRevision() <= 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("revision must be > 0"))
	}
	var pre store.Precondition
	if exp := req.Msg.GetExpectedRevision(); exp > 0 {
		pre = store.IfRevision(uint64(exp))
	}
	target, err := c.s.store.Get(ctx, uint64(req.Msg.GetRevision()))
	if err != nil {
		return nil, connectError(err)
	}
	cur, err := c.s.current(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	if err := c.s.auth.Load().checkManagementChange(req.Header().Get("Authorization"), target.Document, cur.Document); err != nil {
		return nil, connect.NewError(connect.CodePermissionDenied, err)
	}
	res, err := c.s.store.Rollback(ctx, uint64(req.Msg.GetRevision()), pre)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&configv1.RollbackResponse{Revision: int64(res.Revision), RestoredFrom: req.Msg.GetRevision()}), nil
}
