package vectorstore

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// On disk, under Config.Dir:
//
//	files/<file id>                the uploads
//	index.gob                      files, vector stores and their file
//	                               statuses (rewritten after each change)
//	chunks/<store id>/<file id>    one ingested file's chunks and vectors
//	                               (written once, when it completes)
//
// So a change rewrites the small index, never every vector.
const (
	indexFile = "index.gob"
	chunksDir = "chunks"
)

// snapshot is what index.gob holds.
type snapshot struct {
	Version int
	Files   map[string]*File
	Stores  map[string]*storedStore
}

type storedStore struct {
	VS    VectorStore
	Files map[string]*StoreFile
}

// attribute values travel through gob as interface values.
func registerGob() {
	gob.Register(map[string]any{})
	gob.Register([]any{})
}

func (s *Store) chunkPath(storeID, fileID string) string {
	return filepath.Join(s.cfg.Dir, chunksDir, storeID, fileID)
}

func (s *Store) load() error {
	registerGob()
	f, err := os.Open(filepath.Join(s.cfg.Dir, indexFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open vector store index: %w", err)
	}
	defer f.Close()
	var snap snapshot
	if err := gob.NewDecoder(f).Decode(&snap); err != nil {
		return fmt.Errorf("read vector store index %s: %w", f.Name(), err)
	}
	if snap.Files != nil {
		s.files = snap.Files
	}
	for id, ss := range snap.Stores {
		st := &storeState{VS: ss.VS, Files: ss.Files}
		if st.Files == nil {
			st.Files = map[string]*StoreFile{}
		}
		for fid, sf := range st.Files {
			if sf.Status != StatusCompleted {
				continue
			}
			cs, err := readChunks(s.chunkPath(id, fid))
			if err != nil {
				// Lost chunks are ingested again.
				s.log.Warn("vector store: re-ingest a file whose chunks cannot be read", "vector_store", id, "file", fid, "error", err)
				sf.Status = StatusInProgress
				continue
			}
			st.Chunks = append(st.Chunks, cs...)
		}
		s.stores[id] = st
	}
	return nil
}

func readChunks(path string) ([]Chunk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cs []Chunk
	if err := gob.NewDecoder(f).Decode(&cs); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return cs, nil
}

// writeChunks stores one file's chunks (temporary file, rename).
func (s *Store) writeChunks(storeID, fileID string, cs []Chunk) error {
	dir := filepath.Join(s.cfg.Dir, chunksDir, storeID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("save chunks: %w", err)
	}
	return writeAtomic(dir, fileID, func(w io.Writer) error { return gob.NewEncoder(w).Encode(cs) })
}

// removeChunks forgets one file's chunks on disk.
func (s *Store) removeChunks(storeID, fileID string) {
	if err := os.Remove(s.chunkPath(storeID, fileID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("vector store: remove chunks", "vector_store", storeID, "file", fileID, "error", err)
	}
}

// save rewrites index.gob.
func (s *Store) save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	return writeAtomic(s.cfg.Dir, indexFile, func(w io.Writer) error {
		s.mu.RLock()
		defer s.mu.RUnlock()
		snap := snapshot{Version: 2, Files: s.files, Stores: make(map[string]*storedStore, len(s.stores))}
		for id, st := range s.stores {
			snap.Stores[id] = &storedStore{VS: st.VS, Files: st.Files}
		}
		return gob.NewEncoder(w).Encode(snap)
	})
}

func writeAtomic(dir, name string, encode func(io.Writer) error) error {
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return fmt.Errorf("save %s: %w", name, err)
	}
	err = encode(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("save %s: %w", name, err)
	}
	return nil
}
