package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a process may take to become ready. The
// machine running the suite may be busy, so it is generous; polling returns
// as soon as the condition holds.
const readyTimeout = 90 * time.Second

// pollInterval is the pause between two readiness checks.
const pollInterval = 50 * time.Millisecond

// portRegistry hands out distinct free loopback ports within this test
// binary (a port is probed by listening on :0, then released).
var portRegistry = struct {
	sync.Mutex
	used map[int]bool
}{used: map[int]bool{}}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("probe a free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		portRegistry.Lock()
		taken := portRegistry.used[port]
		portRegistry.used[port] = true
		portRegistry.Unlock()
		if !taken {
			return port
		}
	}
	t.Fatal("no free loopback port after 50 probes")
	return 0
}

// freeAddr returns "127.0.0.1:<free port>".
func freeAddr(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(freePort(t))
}

// harness owns the processes of one test: it starts them with their logs in
// the test's temp dir, stops them at cleanup and prints their logs when the
// test failed.
type harness struct {
	t     *testing.T
	dir   string
	env   []string
	mu    sync.Mutex
	procs []*proc
}

func newHarness(t *testing.T, env ...string) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), env: append(os.Environ(), env...)}
	t.Cleanup(func() {
		h.mu.Lock()
		procs := append([]*proc(nil), h.procs...)
		h.mu.Unlock()
		for i := len(procs) - 1; i >= 0; i-- {
			began := time.Now()
			if !procs[i].stop() {
				t.Logf("%s ignored SIGTERM for 20s and was killed", procs[i].name)
			}
			if d := time.Since(began); d > 3*time.Second {
				t.Logf("%s took %v to shut down", procs[i].name, d.Round(time.Millisecond))
			}
		}
		if t.Failed() {
			for _, p := range procs {
				t.Logf("---- log of %s (%s), last lines ----\n%s", p.name, p.logPath, p.logTail(80))
			}
		}
	})
	return h
}

// proc is one OS process of the system under test; it can be killed and
// started again with the same command line.
type proc struct {
	h       *harness
	name    string
	path    string
	args    []string
	env     []string // added to the harness's environment
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	starts  int
}

// start runs a binary with args; its stdout and stderr go to
// <tempdir>/<name>.log (appended across restarts).
func (h *harness) start(name, path string, args ...string) *proc {
	h.t.Helper()
	return h.startEnv(name, nil, path, args...)
}

// startEnv is start with env (KEY=VALUE) added to the harness's
// environment for this process only.
func (h *harness) startEnv(name string, env []string, path string, args ...string) *proc {
	h.t.Helper()
	p := &proc{h: h, name: name, path: path, args: args, env: env, logPath: filepath.Join(h.dir, name+".log")}
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	p.launch()
	return p
}

func (p *proc) launch() {
	t := p.h.t
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("open log of %s: %v", p.name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starts++
	fmt.Fprintf(logf, "==== start #%d: %s %s\n", p.starts, filepath.Base(p.path), strings.Join(p.args, " "))
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.h.dir
	cmd.Env = append(append([]string(nil), p.h.env...), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		_ = logf.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(done)
	}()
}

// exited reports whether the current run of the process has ended, and how.
func (p *proc) exited() (bool, error) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.waitErr
	default:
		return false, nil
	}
}

// kill sends SIGKILL (a crash, no graceful shutdown) and waits for the exit.
func (p *proc) kill() {
	p.signalAndWait(syscall.SIGKILL, 30*time.Second)
}

// stop asks the process to shut down (SIGTERM) and kills it when it takes
// longer than 20s; it reports whether the process stopped on its own.
func (p *proc) stop() bool {
	if p.signalAndWait(syscall.SIGTERM, 20*time.Second) {
		return true
	}
	p.signalAndWait(syscall.SIGKILL, 10*time.Second)
	return false
}

func (p *proc) signalAndWait(sig syscall.Signal, wait time.Duration) bool {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
	}
	_ = cmd.Process.Signal(sig)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// restart starts the process again with the same command line; the
// previous run must have ended.
func (p *proc) restart() {
	p.h.t.Helper()
	if ok, _ := p.exited(); !ok {
		p.h.t.Fatalf("restart %s: it is still running", p.name)
	}
	p.launch()
}

// logTail returns the last n lines of the process log.
func (p *proc) logTail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// waitFor polls check until it returns nil. It fails the test when timeout
// passes, or at once when one of the watched processes exits (with that
// process's log).
func waitFor(t *testing.T, timeout time.Duration, what string, check func() error, watch ...*proc) {
	t.Helper()
	if err := poll(timeout, check, watch...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// poll calls check until it returns nil and returns nil then; otherwise it
// returns the last error when timeout passes, or an error with the log of a
// watched process that exited.
func poll(timeout time.Duration, check func() error, watch ...*proc) error {
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		for _, p := range watch {
			if ok, werr := p.exited(); ok {
				return fmt.Errorf("%s exited (%v) while waiting; log:\n%s", p.name, werr, p.logTail(60))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %v: %w", timeout, err)
		}
		<-ticker.C
	}
}

// httpOK returns a check that GETs url and wants a 200.
func httpOK(url string) func() error {
	client := &http.Client{Timeout: 5 * time.Second}
	return func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return nil
	}
}

// assets are what make setup installs for the services: the ONNX Runtime
// library, the built embedding models, the prompt-guard package and the
// trained domain heads.
type assets struct {
	ortLib, modelsDir, guardDir, headsDir string
}

// needAssets finds the setup-built assets. With CI=true a missing one fails
// the test; otherwise the test skips.
func needAssets(t *testing.T) assets {
	t.Helper()
	a := assets{
		ortLib:    envOr("SEMROUTER_ORT_LIB", filepath.Join(repoRoot, ".cache", "onnxruntime", "libonnxruntime.so.1")),
		modelsDir: envOr("SEMROUTER_MODELS_DIR", filepath.Join(repoRoot, ".cache", "models")),
		guardDir:  envOr("SEMROUTER_GUARD_DIR", filepath.Join(repoRoot, ".cache", "npm", "llm_guardrail@2.1.2", "package")),
		headsDir:  envOr("SEMROUTER_DOMAIN_HEADS", filepath.Join(repoRoot, "services", "classifier", "domain", "heads")),
	}
	var missing []string
	for _, f := range []string{
		a.ortLib,
		filepath.Join(a.modelsDir, "use-lite", "model.onnx"),
		filepath.Join(a.modelsDir, "glove-sif-100d", "model.onnx"),
		a.guardDir,
		filepath.Join(a.headsDir, "use-lite.json"),
	} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("setup assets missing (run make setup): %s", strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return a
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// testContext is a context bounded by the test's deadline (when go test
// has one) and by max.
func testContext(t *testing.T, max time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), max)
	if d, ok := t.Deadline(); ok {
		ctx2, cancel2 := context.WithDeadline(ctx, d.Add(-5*time.Second))
		t.Cleanup(cancel2)
		ctx = ctx2
	}
	t.Cleanup(cancel)
	return ctx
}

// errorsJoin keeps the first few errors of a load phase for the report.
func errorsJoin(errs []error, max int) error {
	if len(errs) > max {
		errs = append(errs[:max:max], fmt.Errorf("… and %d more", len(errs)-max))
	}
	return errors.Join(errs...)
}
