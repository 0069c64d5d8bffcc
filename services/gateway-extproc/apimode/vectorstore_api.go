package apimode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

// vsHandler answers one files / vector stores request.
type vsHandler struct {
	s     *Server
	st    vectorStore
	w     http.ResponseWriter
	r     *http.Request
	owner string
}

// OpenAI object shapes (see openai-go FileObject, VectorStore,
// VectorStoreFile, VectorStoreSearchResponse).
type (
	fileJSON struct {
		ID        string `json:"id"`
		Object    string `json:"object"`
		Bytes     int64  `json:"bytes"`
		CreatedAt int64  `json:"created_at"`
		Filename  string `json:"filename"`
		Purpose   string `json:"purpose"`
		Status    string `json:"status"`
	}
	listJSON[T any] struct {
		Object  string  `json:"object"`
		Data    []T     `json:"data"`
		HasMore bool    `json:"has_more"`
		FirstID *string `json:"first_id"`
		LastID  *string `json:"last_id"`
	}
	deletedJSON struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Deleted bool   `json:"deleted"`
	}
	fileCountsJSON struct {
		InProgress int64 `json:"in_progress"`
		Completed  int64 `json:"completed"`
		Failed     int64 `json:"failed"`
		Cancelled  int64 `json:"cancelled"`
		Total      int64 `json:"total"`
	}
	vectorStoreJSON struct {
		ID           string            `json:"id"`
		Object       string            `json:"object"`
		CreatedAt    int64             `json:"created_at"`
		Name         string            `json:"name"`
		UsageBytes   int64             `json:"usage_bytes"`
		FileCounts   fileCountsJSON    `json:"file_counts"`
		Status       string            `json:"status"`
		LastActiveAt int64             `json:"last_active_at"`
		Metadata     map[string]string `json:"metadata"`
		ExpiresAt    *int64            `json:"expires_at"`
	}
	lastErrorJSON struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	chunkingJSON struct {
		Type   string `json:"type"`
		Static struct {
			MaxChunkSizeTokens int `json:"max_chunk_size_tokens"`
			ChunkOverlapTokens int `json:"chunk_overlap_tokens"`
		} `json:"static"`
	}
	storeFileJSON struct {
		ID               string         `json:"id"`
		Object           string         `json:"object"`
		UsageBytes       int64          `json:"usage_bytes"`
		CreatedAt        int64          `json:"created_at"`
		VectorStoreID    string         `json:"vector_store_id"`
		Status           string         `json:"status"`
		LastError        *lastErrorJSON `json:"last_error"`
		Attributes       map[string]any `json:"attributes"`
		ChunkingStrategy chunkingJSON   `json:"chunking_strategy"`
	}
	searchContentJSON struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	searchHitJSON struct {
		FileID     string              `json:"file_id"`
		Filename   string              `json:"filename"`
		Score      float64             `json:"score"`
		Attributes map[string]any      `json:"attributes"`
		Content    []searchContentJSON `json:"content"`
	}
	searchPageJSON struct {
		Object      string          `json:"object"`
		SearchQuery []string        `json:"search_query"`
		Data        []searchHitJSON `json:"data"`
		HasMore     bool            `json:"has_more"`
		NextPage    *string         `json:"next_page"`
	}
)

func toFileJSON(f vectorstore.File) fileJSON {
	return fileJSON{ID: f.ID, Object: "file", Bytes: f.Bytes, CreatedAt: f.CreatedAt, Filename: f.Filename, Purpose: f.Purpose, Status: "processed"}
}

func toStoreFileJSON(f vectorstore.StoreFile) storeFileJSON {
	out := storeFileJSON{ID: f.FileID, Object: "vector_store.file", UsageBytes: f.UsageBytes, CreatedAt: f.CreatedAt,
		VectorStoreID: f.StoreID, Status: f.Status, Attributes: f.Attributes}
	if f.Status == vectorstore.StatusFailed {
		out.LastError = &lastErrorJSON{Code: f.ErrorCode, Message: f.ErrorMsg}
	}
	out.ChunkingStrategy.Type = "static"
	out.ChunkingStrategy.Static.MaxChunkSizeTokens = vectorstore.DefaultChunkTokens
	out.ChunkingStrategy.Static.ChunkOverlapTokens = vectorstore.DefaultOverlapTokens
	return out
}

func toStoreJSON(v vectorstore.VectorStoreInfo) vectorStoreJSON {
	status := "completed"
	if v.Counts.InProgress > 0 {
		status = "in_progress"
	}
	md := v.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return vectorStoreJSON{ID: v.ID, Object: "vector_store", CreatedAt: v.CreatedAt, Name: v.Name, UsageBytes: v.UsageBytes,
		FileCounts: fileCountsJSON{InProgress: v.Counts.InProgress, Completed: v.Counts.Completed, Failed: v.Counts.Failed, Total: v.Counts.Total},
		Status:     status, LastActiveAt: v.LastActiveAt, Metadata: md}
}

// maxListLimit caps limit= of the list endpoints.
const maxListLimit = 10000

// paged answers a list endpoint: data comes newest first; the query's
// order (desc default, or asc), after and before (cursors: an id of the
// list) and limit (1–10000; default everything) select the page.
func paged[T any](r *http.Request, data []T, id func(T) string) (listJSON[T], error) {
	q := r.URL.Query()
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		slices.Reverse(data)
	default:
		return listJSON[T]{}, fmt.Errorf("%w: order must be asc or desc", vectorstore.ErrInvalid)
	}
	limit := maxListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return listJSON[T]{}, fmt.Errorf("%w: limit must be an integer between 1 and %d", vectorstore.ErrInvalid, maxListLimit)
		}
		limit = n
	}
	if a := q.Get("after"); a != "" {
		i := slices.IndexFunc(data, func(x T) bool { return id(x) == a })
		data = data[i+1:] // not found (-1): the whole list
	}
	if b := q.Get("before"); b != "" {
		if i := slices.IndexFunc(data, func(x T) bool { return id(x) == b }); i >= 0 {
			data = data[max(0, i-limit):i]
		}
	}
	out := listJSON[T]{Object: "list", Data: data}
	if len(data) > limit {
		out.Data, out.HasMore = data[:limit], true
	}
	if len(out.Data) > 0 {
		first, last := id(out.Data[0]), id(out.Data[len(out.Data)-1])
		out.FirstID, out.LastID = &first, &last
	}
	return out, nil
}

// okList answers a page of data.
func okList[T any](h *vsHandler, data []T, id func(T) string) {
	page, err := paged(h.r, data, id)
	if err != nil {
		h.fail(err)
		return
	}
	h.ok(page)
}

func (h *vsHandler) ok(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.s.writeStoreError(h.w, fmt.Errorf("encode the answer: %w", err))
		return
	}
	writeJSONOK(h.w, http.StatusOK, b)
}

func (h *vsHandler) fail(err error) { h.s.writeStoreError(h.w, err) }

// files: /v1/files[/{id}[/content]].
func (h *vsHandler) files(parts []string) {
	switch len(parts) {
	case 0:
		switch h.r.Method {
		case http.MethodPost:
			h.upload()
		case http.MethodGet:
			fs, err := h.st.Files(h.r.Context(), h.owner)
			if err != nil {
				h.fail(err)
				return
			}
			if p := h.r.URL.Query().Get("purpose"); p != "" {
				kept := fs[:0]
				for _, f := range fs {
					if f.Purpose == p {
						kept = append(kept, f)
					}
				}
				fs = kept
			}
			out := make([]fileJSON, len(fs))
			for i, f := range fs {
				out[i] = toFileJSON(f)
			}
			okList(h, out, func(f fileJSON) string { return f.ID })
		default:
			methodNotAllowed(h.w, h.r, "GET, POST")
		}
	case 1:
		switch h.r.Method {
		case http.MethodGet:
			f, err := h.st.File(h.r.Context(), h.owner, parts[0])
			if err != nil {
				h.fail(err)
				return
			}
			h.ok(toFileJSON(f))
		case http.MethodDelete:
			if err := h.st.DeleteFile(h.r.Context(), h.owner, parts[0]); err != nil {
				h.fail(err)
				return
			}
			h.ok(deletedJSON{ID: parts[0], Object: "file", Deleted: true})
		default:
			methodNotAllowed(h.w, h.r, "GET, DELETE")
		}
	case 2:
		if parts[1] != "content" {
			h.fail(fmt.Errorf("%w: no endpoint %s", vectorstore.ErrNotFound, h.r.URL.Path))
			return
		}
		if h.r.Method != http.MethodGet {
			methodNotAllowed(h.w, h.r, "GET")
			return
		}
		data, err := h.st.FileContent(h.r.Context(), h.owner, parts[0])
		if err != nil {
			h.fail(err)
			return
		}
		writeImmediate(h.w, &gateway.Immediate{Status: http.StatusOK, Body: data,
			Headers: []gateway.Header{{Name: "content-type", Value: "application/octet-stream"}, {Name: "cache-control", Value: "no-store"}}})
	default:
		h.fail(fmt.Errorf("%w: no endpoint %s", vectorstore.ErrNotFound, h.r.URL.Path))
	}
}

// multipartOverhead is what an upload's body may hold beyond the file.
const multipartOverhead = 1 << 20

// upload reads a multipart upload (fields file and purpose).
func (h *vsHandler) upload() {
	limit := h.st.MaxFileBytes()
	h.r.Body = http.MaxBytesReader(h.w, h.r.Body, limit+multipartOverhead)
	mr, err := h.r.MultipartReader()
	if err != nil {
		h.fail(fmt.Errorf("%w: a multipart/form-data body with fields file and purpose is required", vectorstore.ErrInvalid))
		return
	}
	var purpose, name string
	var data []byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.fail(uploadError(err, limit))
			return
		}
		switch p.FormName() {
		case "purpose":
			b, err := io.ReadAll(io.LimitReader(p, 256))
			if err != nil {
				h.fail(uploadError(err, limit))
				return
			}
			purpose = strings.TrimSpace(string(b))
		case "file":
			name = p.FileName()
			data, err = io.ReadAll(io.LimitReader(p, limit+1))
			if err != nil {
				h.fail(uploadError(err, limit))
				return
			}
			if int64(len(data)) > limit {
				h.fail(fmt.Errorf("%w: the limit is %d bytes (max_file_size_mb)", vectorstore.ErrTooLarge, limit))
				return
			}
		}
		_ = p.Close()
	}
	if name == "" {
		h.fail(fmt.Errorf("%w: the file field (with a file name) is required", vectorstore.ErrInvalid))
		return
	}
	if purpose == "" {
		h.fail(fmt.Errorf("%w: purpose is required", vectorstore.ErrInvalid))
		return
	}
	f, err := h.st.AddFile(h.r.Context(), h.owner, name, purpose, data)
	if err != nil {
		h.fail(err)
		return
	}
	h.ok(toFileJSON(*f))
}

func uploadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: the limit is %d bytes (max_file_size_mb)", vectorstore.ErrTooLarge, limit)
	}
	if errors.Is(err, multipart.ErrMessageTooLarge) {
		return fmt.Errorf("%w: %w", vectorstore.ErrTooLarge, err)
	}
	return fmt.Errorf("%w: read the upload: %w", vectorstore.ErrInvalid, err)
}

// decode reads a JSON body into v.
func (h *vsHandler) decode(v any) error {
	dec := json.NewDecoder(io.LimitReader(h.r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the body is not valid JSON: %w", vectorstore.ErrInvalid, err)
	}
	return nil
}

// vectorStores: /v1/vector_stores[/{id}[/files[/{file}]|/search]].
func (h *vsHandler) vectorStores(ctx context.Context, parts []string) {
	switch {
	case len(parts) == 0:
		switch h.r.Method {
		case http.MethodPost:
			var req struct {
				Name     string            `json:"name"`
				FileIDs  []string          `json:"file_ids"`
				Metadata map[string]string `json:"metadata"`
			}
			if err := h.decode(&req); err != nil {
				h.fail(err)
				return
			}
			vs, err := h.st.CreateStore(ctx, h.owner, req.Name, req.Metadata, req.FileIDs)
			if err != nil {
				h.fail(err)
				return
			}
			h.store(vs.ID)
		case http.MethodGet:
			vss, err := h.st.Stores(ctx, h.owner)
			if err != nil {
				h.fail(err)
				return
			}
			out := make([]vectorStoreJSON, 0, len(vss))
			for _, v := range vss {
				info, err := h.st.GetStore(ctx, h.owner, v.ID)
				switch {
				case err == nil:
					out = append(out, toStoreJSON(info))
				case errors.Is(err, vectorstore.ErrUnavailable):
					h.fail(err)
					return
				}
			}
			okList(h, out, func(v vectorStoreJSON) string { return v.ID })
		default:
			methodNotAllowed(h.w, h.r, "GET, POST")
		}
	case len(parts) == 1:
		switch h.r.Method {
		case http.MethodGet:
			h.store(parts[0])
		case http.MethodDelete:
			if err := h.st.DeleteStore(ctx, h.owner, parts[0]); err != nil {
				h.fail(err)
				return
			}
			h.ok(deletedJSON{ID: parts[0], Object: "vector_store.deleted", Deleted: true})
		default:
			methodNotAllowed(h.w, h.r, "GET, DELETE")
		}
	case len(parts) == 2 && parts[1] == "search":
		if h.r.Method != http.MethodPost {
			methodNotAllowed(h.w, h.r, "POST")
			return
		}
		h.search(ctx, parts[0])
	case len(parts) == 2 && parts[1] == "files":
		h.storeFiles(parts[0])
	case len(parts) == 3 && parts[1] == "files":
		switch h.r.Method {
		case http.MethodGet:
			f, err := h.st.StoreFile(ctx, h.owner, parts[0], parts[2])
			if err != nil {
				h.fail(err)
				return
			}
			h.ok(toStoreFileJSON(f))
		case http.MethodDelete:
			if err := h.st.DetachFile(ctx, h.owner, parts[0], parts[2]); err != nil {
				h.fail(err)
				return
			}
			h.ok(deletedJSON{ID: parts[2], Object: "vector_store.file.deleted", Deleted: true})
		default:
			methodNotAllowed(h.w, h.r, "GET, DELETE")
		}
	default:
		h.fail(fmt.Errorf("%w: no endpoint %s", vectorstore.ErrNotFound, h.r.URL.Path))
	}
}

func (h *vsHandler) store(id string) {
	info, err := h.st.GetStore(h.r.Context(), h.owner, id)
	if err != nil {
		h.fail(err)
		return
	}
	h.ok(toStoreJSON(info))
}

// storeFiles: GET lists (filter=status), POST attaches {file_id, attributes}.
func (h *vsHandler) storeFiles(storeID string) {
	switch h.r.Method {
	case http.MethodGet:
		fs, err := h.st.StoreFiles(h.r.Context(), h.owner, storeID, h.r.URL.Query().Get("filter"))
		if err != nil {
			h.fail(err)
			return
		}
		out := make([]storeFileJSON, len(fs))
		for i, f := range fs {
			out[i] = toStoreFileJSON(f)
		}
		okList(h, out, func(f storeFileJSON) string { return f.ID })
	case http.MethodPost:
		var req struct {
			FileID     string         `json:"file_id"`
			Attributes map[string]any `json:"attributes"`
		}
		if err := h.decode(&req); err != nil {
			h.fail(err)
			return
		}
		if req.FileID == "" {
			h.fail(fmt.Errorf("%w: file_id is required", vectorstore.ErrInvalid))
			return
		}
		f, err := h.st.AttachFile(h.r.Context(), h.owner, storeID, req.FileID, plainAttributes(req.Attributes))
		if err != nil {
			h.fail(err)
			return
		}
		h.ok(toStoreFileJSON(f))
	default:
		methodNotAllowed(h.w, h.r, "GET, POST")
	}
}

// plainAttributes turns json.Number values into float64 (attributes are
// strings, numbers or booleans).
func plainAttributes(in map[string]any) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = plainValue(v)
	}
	return out
}

func plainValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	case map[string]any:
		return plainAttributes(x)
	}
	return v
}

// search: POST {query, max_num_results, filters, ranking_options}.
func (h *vsHandler) search(ctx context.Context, storeID string) {
	var req struct {
		Query          json.RawMessage `json:"query"`
		MaxNumResults  int             `json:"max_num_results"`
		Filters        map[string]any  `json:"filters"`
		RankingOptions *struct {
			ScoreThreshold float64 `json:"score_threshold"`
		} `json:"ranking_options"`
	}
	if err := h.decode(&req); err != nil {
		h.fail(err)
		return
	}
	var queries []string
	var one string
	if json.Unmarshal(req.Query, &one) == nil {
		queries = []string{one}
	} else if json.Unmarshal(req.Query, &queries) != nil {
		h.fail(fmt.Errorf("%w: query must be a string or a list of strings", vectorstore.ErrInvalid))
		return
	}
	if req.MaxNumResults < 0 || req.MaxNumResults > 50 {
		h.fail(fmt.Errorf("%w: max_num_results must be between 1 and 50", vectorstore.ErrInvalid))
		return
	}
	sr := vectorstore.SearchRequest{Query: strings.TrimSpace(strings.Join(queries, " ")), MaxResults: req.MaxNumResults}
	if req.RankingOptions != nil {
		sr.Threshold = req.RankingOptions.ScoreThreshold
	}
	if req.Filters != nil {
		b, _ := json.Marshal(plainAttributes(req.Filters))
		var f vectorstore.Filter
		if err := json.Unmarshal(b, &f); err != nil {
			h.fail(fmt.Errorf("%w: filters: %w", vectorstore.ErrInvalid, err))
			return
		}
		sr.Filter = &f
	}
	hits, err := h.st.Search(ctx, h.owner, storeID, sr)
	if err != nil {
		h.fail(err)
		return
	}
	page := searchPageJSON{Object: "vector_store.search_results.page", SearchQuery: queries, Data: make([]searchHitJSON, len(hits))}
	for i, hit := range hits {
		attrs := hit.Attributes
		if attrs == nil {
			attrs = map[string]any{}
		}
		page.Data[i] = searchHitJSON{FileID: hit.FileID, Filename: hit.Filename, Score: hit.Score, Attributes: attrs,
			Content: []searchContentJSON{{Type: "text", Text: hit.Text}}}
	}
	h.ok(page)
}
