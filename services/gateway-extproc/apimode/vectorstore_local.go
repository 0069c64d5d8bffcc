package apimode

import (
	"context"

	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

// localStore gives the in-process store (whose calls need no context
// and cannot be unreachable) the vectorStore shape.
type localStore struct{ s *vectorstore.Store }

func (l localStore) MaxFileBytes() int64 { return l.s.MaxFileBytes() }
func (l localStore) Close() error        { return l.s.Close() }

func (l localStore) AddFile(_ context.Context, owner, filename, purpose string, data []byte) (*vectorstore.File, error) {
	return l.s.AddFile(owner, filename, purpose, data)
}

func (l localStore) Files(_ context.Context, owner string) ([]vectorstore.File, error) {
	return l.s.Files(owner), nil
}

func (l localStore) File(_ context.Context, owner, id string) (vectorstore.File, error) {
	return l.s.File(owner, id)
}

func (l localStore) FileContent(_ context.Context, owner, id string) ([]byte, error) {
	return l.s.FileContent(owner, id)
}

func (l localStore) DeleteFile(_ context.Context, owner, id string) error {
	return l.s.DeleteFile(owner, id)
}

func (l localStore) CreateStore(_ context.Context, owner, name string, metadata map[string]string, fileIDs []string) (vectorstore.VectorStore, error) {
	return l.s.CreateStore(owner, name, metadata, fileIDs)
}

func (l localStore) Stores(_ context.Context, owner string) ([]vectorstore.VectorStore, error) {
	return l.s.Stores(owner), nil
}

func (l localStore) GetStore(_ context.Context, owner, id string) (vectorstore.VectorStoreInfo, error) {
	return l.s.GetStore(owner, id)
}

func (l localStore) DeleteStore(_ context.Context, owner, id string) error {
	return l.s.DeleteStore(owner, id)
}

func (l localStore) AttachFile(_ context.Context, owner, storeID, fileID string, attrs map[string]any) (vectorstore.StoreFile, error) {
	return l.s.AttachFile(owner, storeID, fileID, attrs)
}

func (l localStore) StoreFiles(_ context.Context, owner, storeID, status string) ([]vectorstore.StoreFile, error) {
	return l.s.StoreFiles(owner, storeID, status)
}

func (l localStore) StoreFile(_ context.Context, owner, storeID, fileID string) (vectorstore.StoreFile, error) {
	return l.s.StoreFile(owner, storeID, fileID)
}

func (l localStore) DetachFile(_ context.Context, owner, storeID, fileID string) error {
	return l.s.DetachFile(owner, storeID, fileID)
}

func (l localStore) Search(ctx context.Context, owner, storeID string, req vectorstore.SearchRequest) ([]vectorstore.Hit, error) {
	return l.s.Search(ctx, owner, storeID, req)
}

func (l localStore) SearchAny(ctx context.Context, storeID string, req vectorstore.SearchRequest) ([]vectorstore.Hit, error) {
	return l.s.SearchAny(ctx, storeID, req)
}
