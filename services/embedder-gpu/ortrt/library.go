package ortrt

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrLibraryNotFound is returned by ResolveLibraryPath when no ONNX Runtime
// library exists in any of the places it searches.
var ErrLibraryNotFound = errors.New("onnxruntime library not found")

// LibrarySearch describes where ResolveLibrary looks for the ONNX Runtime
// shared library, in this order: the SEMROUTER_ORT_LIB value (taken as is),
// the checkout's .cache/onnxruntime above Dir, every LD_LIBRARY_PATH entry,
// the executable's directory and its ../lib, then SystemDirs.
type LibrarySearch struct {
	// Getenv reads SEMROUTER_ORT_LIB and LD_LIBRARY_PATH (nil: none set).
	Getenv func(string) string
	// Dir is where the walk up to a checkout (go.work) starts; empty skips it.
	Dir string
	// Executable returns the running binary's path (nil: skipped).
	Executable func() (string, error)
	// SystemDirs are searched last (DefaultLibraryDirs for the real system).
	SystemDirs []string
}

// ResolveLibraryPath finds the library for this process: LibrarySearch with
// the real environment, executable and DefaultLibraryDirs.
func ResolveLibraryPath(getenv func(string) string, dir string) (string, error) {
	return LibrarySearch{Getenv: getenv, Dir: dir, Executable: os.Executable, SystemDirs: DefaultLibraryDirs()}.Resolve()
}

// Resolve returns the first library found. A set SEMROUTER_ORT_LIB is
// returned unchecked (Open reports a wrong path). When nothing is found the
// error wraps ErrLibraryNotFound and lists every directory searched.
func (s LibrarySearch) Resolve() (string, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if p := getenv(EnvLibrary); p != "" {
		return p, nil
	}
	var dirs []string
	if s.Dir != "" {
		if root, ok := FindRepoRoot(s.Dir); ok {
			dirs = append(dirs, filepath.Join(root, ".cache", "onnxruntime"))
		}
	}
	dirs = append(dirs, filepath.SplitList(getenv(loaderPathVar()))...)
	if s.Executable != nil {
		if exe, err := s.Executable(); err == nil {
			if real, err := filepath.EvalSymlinks(exe); err == nil {
				exe = real
			}
			dirs = append(dirs, filepath.Dir(exe), filepath.Join(filepath.Dir(exe), "..", "lib"))
		}
	}
	dirs = append(dirs, s.SystemDirs...)
	searched := make([]string, 0, len(dirs))
	seen := map[string]bool{}
	for _, d := range dirs {
		if d == "" {
			continue // an empty LD_LIBRARY_PATH entry
		}
		d = filepath.Clean(d)
		if seen[d] {
			continue
		}
		seen[d] = true
		searched = append(searched, d)
		for _, name := range libNames() {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%w: looked for %s in %s (install ONNX Runtime there, run scripts/setup-ort.sh in a checkout, or set %s to the library's full path)",
		ErrLibraryNotFound, strings.Join(libNames(), " or "), strings.Join(searched, ", "), EnvLibrary)
}

// DefaultLibraryDirs are the system library directories: those listed in
// /etc/ld.so.conf (and the files it includes), then the usual install
// prefixes for this platform.
func DefaultLibraryDirs() []string {
	dirs := LoaderConfigDirs("/etc/ld.so.conf")
	if runtime.GOOS == "darwin" {
		return append(dirs, "/usr/local/lib", "/opt/homebrew/lib", "/usr/lib")
	}
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	dirs = append(dirs, "/usr/local/lib")
	if triplet != "" {
		dirs = append(dirs, "/usr/local/lib/"+triplet, "/usr/lib/"+triplet, "/lib/"+triplet)
	}
	return append(dirs, "/usr/lib64", "/usr/lib", "/lib64", "/lib")
}

// LoaderConfigDirs reads the directories of a dynamic loader configuration
// file (ld.so.conf syntax: one directory a line, # comments, "include GLOB"
// lines, relative globs taken from the file's directory). A missing or
// unreadable file yields nothing.
func LoaderConfigDirs(path string) []string {
	return loaderConfigDirs(path, map[string]bool{})
}

func loaderConfigDirs(path string, visited map[string]bool) []string {
	if visited[path] {
		return nil
	}
	visited[path] = true
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "include") && len(line) > len("include") && (line[7] == ' ' || line[7] == '\t'):
			for _, glob := range strings.Fields(line[len("include"):]) {
				if !filepath.IsAbs(glob) {
					glob = filepath.Join(filepath.Dir(path), glob)
				}
				matches, _ := filepath.Glob(glob)
				for _, m := range matches {
					dirs = append(dirs, loaderConfigDirs(m, visited)...)
				}
			}
		case filepath.IsAbs(line):
			dirs = append(dirs, line)
		}
	}
	return dirs
}

// FindRepoRoot walks up from dir to the directory holding go.work.
func FindRepoRoot(dir string) (string, bool) {
	for dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", false
}

// libNames are the file names of the library, preferred first: the soname,
// then the development link that some packages ship alone.
func libNames() []string {
	if runtime.GOOS == "darwin" {
		return []string{"libonnxruntime.dylib"}
	}
	return []string{"libonnxruntime.so.1", "libonnxruntime.so"}
}

func loaderPathVar() string {
	if runtime.GOOS == "darwin" {
		return "DYLD_LIBRARY_PATH"
	}
	return "LD_LIBRARY_PATH"
}
