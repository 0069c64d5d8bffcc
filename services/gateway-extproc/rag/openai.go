package rag

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// Workflow modes of backend openai (backend_config.workflow_mode).
const (
	WorkflowDirectSearch = "direct_search"
	WorkflowToolBased    = "tool_based"
)

// DefaultOpenAIBaseURL is backend_config.base_url when it is empty.
const DefaultOpenAIBaseURL = "https://api.openai.com"

// MaxOpenAIResults is the most results one vector store search returns.
const MaxOpenAIResults = 50

// OpenAIVectorStore searches an OpenAI vector store
// (POST {base_url}/v1/vector_stores/{vector_store_id}/search) with the
// openai-go client. backend_config keys:
//
//	vector_store_id  the store to search (required)
//	base_url         default https://api.openai.com; /v1 is appended
//	                 unless the URL already ends with it
//	api_key          sent as Authorization: Bearer (never logged)
//	api_key_env      names an environment variable holding the key
//	                 (read when the revision compiles; set only one)
//	max_num_results  results asked for, 1..50 (default: the plugin's top_k)
//	file_ids         keep only results from these files (the search API
//	                 filters on file attributes only, so this is applied to
//	                 the results)
//	filter           attribute equality filters: key: value (a list value
//	                 means "in"); several keys are combined with "and"
//	timeout_seconds  per call (default 10)
//	workflow_mode    direct_search (default): passages are injected per
//	                 injection_mode; tool_based: injected as a tool call
//	                 and its result (injection_mode tool_role)
//
// similarity_threshold is sent as ranking_options.score_threshold. Each
// result's text parts become one passage with metadata score, filename,
// file_id (and attributes when present).
type OpenAIVectorStore struct {
	svc        openai.VectorStoreService
	storeID    string
	base       string
	maxResults int
	fileIDs    []string
	filter     openai.VectorStoreSearchParamsFiltersUnion
	filterKey  string // canonical form of filter for the cache key
	timeout    time.Duration
	workflow   string
	keyErr     error // api_key_env names an unset variable
}

var _ Retriever = (*OpenAIVectorStore)(nil)

// NewOpenAIVectorStore reads backend_config. doer nil: a new
// *http.Client; env nil: os.Getenv.
func NewOpenAIVectorStore(bc map[string]any, doer HTTPDoer, env func(string) string) (*OpenAIVectorStore, error) {
	if env == nil {
		env = os.Getenv
	}
	o := &OpenAIVectorStore{timeout: DefaultExternalTimeout, workflow: WorkflowDirectSearch}
	var errs []error
	str := func(k string) string {
		v, ok := bc[k]
		if !ok || v == nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: expected a string, got %T", k, v))
		}
		return strings.TrimSpace(s)
	}
	o.storeID = str("vector_store_id")
	if o.storeID == "" {
		errs = append(errs, errors.New("vector_store_id: required for backend openai"))
	}
	base := str("base_url")
	if base == "" {
		base = DefaultOpenAIBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base_url: %q is not an http(s) URL", base))
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/")
		if !strings.HasSuffix(u.Path, "/v1") {
			u.Path += "/v1"
		}
		o.base = u.String() + "/"
	}
	key, keyEnv := str("api_key"), str("api_key_env")
	switch {
	case key != "" && keyEnv != "":
		errs = append(errs, errors.New("api_key_env: set only one of api_key and api_key_env"))
	case keyEnv != "":
		if key = env(keyEnv); key == "" {
			o.keyErr = fmt.Errorf("%w: api_key_env %s is not set", ErrBackend, keyEnv)
		}
	}
	if n, ok, err := intValue(bc, "max_num_results"); err != nil {
		errs = append(errs, err)
	} else if ok && (n < 1 || n > MaxOpenAIResults) {
		errs = append(errs, fmt.Errorf("max_num_results: must be between 1 and %d, got %d", MaxOpenAIResults, n))
	} else if ok {
		o.maxResults = n
	}
	if v, ok := bc["file_ids"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			errs = append(errs, fmt.Errorf("file_ids: expected a list of strings, got %T", v))
		}
		for i, x := range list {
			s, ok := x.(string)
			if !ok || strings.TrimSpace(s) == "" {
				errs = append(errs, fmt.Errorf("file_ids[%d]: expected a file id, got %v", i, x))
				continue
			}
			o.fileIDs = append(o.fileIDs, strings.TrimSpace(s))
		}
		slices.Sort(o.fileIDs)
	}
	if v, ok := bc["filter"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("filter: expected a mapping, got %T", v))
		} else {
			f, canon, err := BuildFilter(m)
			if err != nil {
				errs = append(errs, fmt.Errorf("filter: %w", err))
			}
			o.filter, o.filterKey = f, canon
		}
	}
	if t, err := timeoutValue(bc); err != nil {
		errs = append(errs, err)
	} else if t > 0 {
		o.timeout = t
	}
	switch w := str("workflow_mode"); w {
	case "", WorkflowDirectSearch:
	case WorkflowToolBased:
		o.workflow = w
	default:
		errs = append(errs, fmt.Errorf("workflow_mode: %q is not direct_search or tool_based", w))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	opts := []option.RequestOption{option.WithBaseURL(o.base), option.WithMaxRetries(0)}
	if doer != nil {
		opts = append(opts, option.WithHTTPClient(doer))
	}
	if key != "" {
		opts = append(opts, option.WithAPIKey(key))
	}
	o.svc = openai.NewVectorStoreService(opts...)
	return o, nil
}

// BuildFilter turns backend_config.filter into a vector store search
// filter: one comparison per key (eq for a string, number or boolean; in
// for a list of strings or numbers), several combined with "and" in key
// order. It also returns a canonical text of the filter.
func BuildFilter(m map[string]any) (openai.VectorStoreSearchParamsFiltersUnion, string, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	var cmps []*shared.ComparisonFilterParam
	var canon strings.Builder
	for _, k := range keys {
		c := &shared.ComparisonFilterParam{Key: k, Type: shared.ComparisonFilterTypeEq}
		switch v := m[k].(type) {
		case string:
			c.Value.OfString = openai.String(v)
		case bool:
			c.Value.OfBool = openai.Bool(v)
		case int:
			c.Value.OfFloat = openai.Float(float64(v))
		case float64:
			c.Value.OfFloat = openai.Float(v)
		case []any:
			c.Type = shared.ComparisonFilterTypeIn
			for i, x := range v {
				switch x := x.(type) {
				case string:
					c.Value.OfComparisonFilterValueArray = append(c.Value.OfComparisonFilterValueArray,
						shared.ComparisonFilterValueArrayItemUnionParam{OfString: openai.String(x)})
				case int:
					c.Value.OfComparisonFilterValueArray = append(c.Value.OfComparisonFilterValueArray,
						shared.ComparisonFilterValueArrayItemUnionParam{OfFloat: openai.Float(float64(x))})
				case float64:
					c.Value.OfComparisonFilterValueArray = append(c.Value.OfComparisonFilterValueArray,
						shared.ComparisonFilterValueArrayItemUnionParam{OfFloat: openai.Float(x)})
				default:
					errs = append(errs, fmt.Errorf("%s[%d]: expected a string or a number, got %T", k, i, x))
				}
			}
			if len(v) == 0 {
				errs = append(errs, fmt.Errorf("%s: an empty list matches nothing", k))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: expected a string, number, boolean or list, got %T", k, v))
			continue
		}
		fmt.Fprintf(&canon, "%s %s %v;", k, c.Type, m[k])
		cmps = append(cmps, c)
	}
	var f openai.VectorStoreSearchParamsFiltersUnion
	switch len(cmps) {
	case 0:
	case 1:
		f.OfComparisonFilter = cmps[0]
	default:
		and := &shared.CompoundFilterParam{Type: shared.CompoundFilterTypeAnd}
		for _, c := range cmps {
			and.Filters = append(and.Filters, shared.CompoundFilterFilterUnionParam{OfComparison: c})
		}
		f.OfCompoundFilter = and
	}
	return f, canon.String(), errors.Join(errs...)
}

// injectionMode is the injection mode workflow_mode forces ("" none).
func (o *OpenAIVectorStore) injectionMode() string {
	if o.workflow == WorkflowToolBased {
		return InjectToolRole
	}
	return ""
}

func (o *OpenAIVectorStore) identity() string {
	return o.base + "vector_stores/" + o.storeID + "\x00" + fmt.Sprint(o.maxResults) + "\x00" +
		strings.Join(o.fileIDs, ",") + "\x00" + o.filterKey
}

// Params is the search request for q.
func (o *OpenAIVectorStore) Params(q Query) openai.VectorStoreSearchParams {
	n := o.maxResults
	if n == 0 {
		n = min(max(q.TopK, 1), MaxOpenAIResults)
	}
	p := openai.VectorStoreSearchParams{
		Query:         openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String(q.Text)},
		MaxNumResults: openai.Int(int64(n)),
		Filters:       o.filter,
	}
	if q.Threshold > 0 {
		p.RankingOptions.ScoreThreshold = openai.Float(q.Threshold)
	}
	return p
}

// Retrieve implements Retriever.
func (o *OpenAIVectorStore) Retrieve(ctx context.Context, q Query) ([]Document, error) {
	if o.keyErr != nil {
		return nil, o.keyErr
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	page, err := o.svc.Search(ctx, o.storeID, o.Params(q))
	if err != nil {
		if apiErr, ok := errors.AsType[*openai.Error](err); ok {
			return nil, fmt.Errorf("%w: vector store %s search answered status %d", ErrBackend, o.storeID, apiErr.StatusCode)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%w: search vector store %s: %w", ErrBackend, o.storeID, ctxErr)
		}
		return nil, fmt.Errorf("%w: search vector store %s: %w", ErrBackend, o.storeID, redactURLError(err))
	}
	return o.documents(page.Data), nil
}

func (o *OpenAIVectorStore) documents(rs []openai.VectorStoreSearchResponse) []Document {
	docs := make([]Document, 0, len(rs))
	for _, r := range rs {
		if len(o.fileIDs) > 0 {
			if _, ok := slices.BinarySearch(o.fileIDs, r.FileID); !ok {
				continue
			}
		}
		var text strings.Builder
		for _, c := range r.Content {
			if c.Type != "" && c.Type != "text" || strings.TrimSpace(c.Text) == "" {
				continue
			}
			if text.Len() > 0 {
				text.WriteString("\n")
			}
			text.WriteString(c.Text)
		}
		md := map[string]any{"score": r.Score, "filename": r.Filename, "file_id": r.FileID}
		if len(r.Attributes) > 0 {
			attrs := make(map[string]any, len(r.Attributes))
			for k, a := range r.Attributes {
				switch {
				case a.JSON.OfString.Valid():
					attrs[k] = a.OfString
				case a.JSON.OfFloat.Valid():
					attrs[k] = a.OfFloat
				case a.JSON.OfBool.Valid():
					attrs[k] = a.OfBool
				}
			}
			md["attributes"] = attrs
		}
		docs = append(docs, Document{Content: text.String(), Score: r.Score, Metadata: md})
	}
	return docs
}

// redactURLError drops the query of a *url.Error's URL (no secret is in
// it today; the key travels in a header).
func redactURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.Redacted(), Err: ue.Err}
		}
	}
	return err
}

// intValue reads an integer key (YAML decodes whole numbers as int).
func intValue(bc map[string]any, k string) (int, bool, error) {
	v, ok := bc[k]
	if !ok || v == nil {
		return 0, false, nil
	}
	switch n := v.(type) {
	case int:
		return n, true, nil
	case float64:
		if n == float64(int(n)) {
			return int(n), true, nil
		}
	}
	return 0, false, fmt.Errorf("%s: expected an integer, got %v", k, v)
}

// timeoutValue reads timeout_seconds (0 when absent).
func timeoutValue(bc map[string]any) (time.Duration, error) {
	v, ok := bc["timeout_seconds"]
	if !ok || v == nil {
		return 0, nil
	}
	switch n := v.(type) {
	case int:
		if n >= 0 {
			return time.Duration(n) * time.Second, nil
		}
	case float64:
		if n >= 0 {
			return time.Duration(n * float64(time.Second)), nil
		}
	default:
		return 0, fmt.Errorf("timeout_seconds: expected a number, got %T", v)
	}
	return 0, fmt.Errorf("timeout_seconds: must not be negative, got %v", v)
}
