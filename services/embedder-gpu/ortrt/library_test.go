package ortrt_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// envOf returns a getenv reading only vars.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// linkLibrary places the real ONNX Runtime library (a symlink to the one
// make setup installs) as name in dir.
func linkLibrary(t *testing.T, dir, name string) string {
	t.Helper()
	real := testenv.ORTLibrary(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.Symlink(real, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveLibrary(t *testing.T) {
	tmp := t.TempDir()
	// A checkout (go.work) with and without a cached library.
	bare := filepath.Join(tmp, "bare")
	checkout := filepath.Join(tmp, "checkout")
	for _, d := range []string{bare, filepath.Join(checkout, "a", "b")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(checkout, "go.work"), []byte("go 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cached := linkLibrary(t, filepath.Join(checkout, ".cache", "onnxruntime"), "libonnxruntime.so.1")
	ldDir := filepath.Join(tmp, "ld")
	ldLib := linkLibrary(t, ldDir, "libonnxruntime.so.1")
	exeDir := filepath.Join(tmp, "opt", "semrouter", "bin")
	exeLib := linkLibrary(t, exeDir, "libonnxruntime.so.1")
	prefixLib := linkLibrary(t, filepath.Join(tmp, "opt", "semrouter", "lib"), "libonnxruntime.so.1")
	sysDir := filepath.Join(tmp, "usr", "lib")
	sysLib := linkLibrary(t, sysDir, "libonnxruntime.so") // the development name only
	emptyDir := filepath.Join(tmp, "empty")
	if err := os.MkdirAll(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := func(dir string) func() (string, error) {
		return func() (string, error) { return filepath.Join(dir, "embedder-gpu"), nil }
	}

	cases := []struct {
		name string
		s    ortrt.LibrarySearch
		want string
	}{
		{"env var wins over everything, unchecked", ortrt.LibrarySearch{
			Getenv: envOf(map[string]string{ortrt.EnvLibrary: "/opt/ort/libonnxruntime.so.1", "LD_LIBRARY_PATH": ldDir}),
			Dir:    filepath.Join(checkout, "a", "b"), SystemDirs: []string{sysDir},
		}, "/opt/ort/libonnxruntime.so.1"},
		{"checkout cache before LD_LIBRARY_PATH", ortrt.LibrarySearch{
			Getenv: envOf(map[string]string{"LD_LIBRARY_PATH": ldDir}), Dir: filepath.Join(checkout, "a", "b"), Executable: exe(exeDir),
		}, cached},
		{"LD_LIBRARY_PATH outside a checkout, empty entries skipped", ortrt.LibrarySearch{
			Getenv: envOf(map[string]string{"LD_LIBRARY_PATH": ":" + emptyDir + "::" + ldDir}), Dir: bare, Executable: exe(exeDir), SystemDirs: []string{sysDir},
		}, ldLib},
		{"executable's directory", ortrt.LibrarySearch{Dir: bare, Executable: exe(exeDir), SystemDirs: []string{sysDir}}, exeLib},
		{"executable's ../lib", ortrt.LibrarySearch{Dir: bare, Executable: exe(filepath.Join(tmp, "opt", "semrouter", "sbin")), SystemDirs: []string{sysDir}}, prefixLib},
		{"system directory, development name", ortrt.LibrarySearch{Dir: bare, SystemDirs: []string{emptyDir, sysDir}}, sysLib},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("nothing found lists every place searched", func(t *testing.T) {
		_, err := ortrt.LibrarySearch{
			Getenv: envOf(map[string]string{"LD_LIBRARY_PATH": emptyDir}), Dir: bare,
			Executable: exe(filepath.Join(tmp, "nowhere", "bin")), SystemDirs: []string{filepath.Join(tmp, "sys1"), filepath.Join(tmp, "sys2")},
		}.Resolve()
		if !errors.Is(err, ortrt.ErrLibraryNotFound) {
			t.Fatalf("error %v, want ErrLibraryNotFound", err)
		}
		for _, want := range []string{emptyDir, filepath.Join(tmp, "nowhere", "bin"), filepath.Join(tmp, "nowhere", "lib"),
			filepath.Join(tmp, "sys1"), filepath.Join(tmp, "sys2"), "libonnxruntime.so.1", ortrt.EnvLibrary} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not mention %q: %v", want, err)
			}
		}
	})
}

// TestResolvedLibraryLoads loads the library found through LD_LIBRARY_PATH
// alone: the path Resolve returns is one ONNX Runtime really opens.
func TestResolvedLibraryLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lib")
	want := linkLibrary(t, dir, "libonnxruntime.so.1")
	lib, err := ortrt.LibrarySearch{Getenv: envOf(map[string]string{"LD_LIBRARY_PATH": dir}), Dir: t.TempDir()}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if lib != want {
		t.Fatalf("resolved %q, want %q", lib, want)
	}
	rt, err := ortrt.Open(slog.New(slog.DiscardHandler), lib)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoaderConfigDirs(t *testing.T) {
	dir := t.TempDir()
	confD := filepath.Join(dir, "ld.so.conf.d")
	if err := os.MkdirAll(confD, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, "ld.so.conf")
	write(main, "# comment\ninclude ld.so.conf.d/*.conf\n/opt/first # trailing comment\n\nrelative/ignored\n")
	write(filepath.Join(confD, "a.conf"), "/usr/local/lib\ninclude "+main+"\n") // a loop is followed once
	write(filepath.Join(confD, "b.conf"), "/opt/onnxruntime/lib\n")
	write(filepath.Join(confD, "c.txt"), "/not/matched\n")
	got := ortrt.LoaderConfigDirs(main)
	want := []string{"/usr/local/lib", "/opt/onnxruntime/lib", "/opt/first"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := ortrt.LoaderConfigDirs(filepath.Join(dir, "missing.conf")); len(got) != 0 {
		t.Fatalf("missing file: %q", got)
	}
	if dirs := ortrt.DefaultLibraryDirs(); len(dirs) == 0 {
		t.Fatal("no default library directories")
	}
}
