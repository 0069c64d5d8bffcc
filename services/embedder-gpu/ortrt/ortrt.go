// Package ortrt wraps ONNX Runtime (github.com/yalue/onnxruntime_go): it loads
// the shared library once per process, creates sessions with the execution
// provider asked for (CUDA when requested and available, CPU otherwise), and
// reports which provider a session got.
package ortrt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Device selects the execution provider.
type Device string

// Devices.
const (
	DeviceAuto Device = "auto" // CUDA when it can be initialised, else CPU
	DeviceCPU  Device = "cpu"
	DeviceCUDA Device = "cuda" // CUDA, falling back to CPU with a warning
)

// Providers a session can end up with.
const (
	ProviderCPU  = "cpu"
	ProviderCUDA = "cuda"
)

// EnvLibrary names the environment variable that overrides the library path.
const EnvLibrary = "SEMROUTER_ORT_LIB"

// ErrLibraryMismatch is returned when a second Open asks for another library
// than the one already loaded into the process.
var ErrLibraryMismatch = errors.New("onnxruntime already loaded from another path")

// env tracks the process-wide ONNX Runtime environment. onnxruntime_go keeps
// the environment in package state (a C library can be initialised only once
// per process), so the reference count has to live at package level too.
var env struct {
	mu   sync.Mutex
	refs int
	path string
}

// Runtime is a handle on the process-wide ONNX Runtime environment.
type Runtime struct {
	logger *slog.Logger
	once   sync.Once
}

// Open loads the shared library at libPath (first call) and returns a handle;
// each handle must be closed. Opening with a different path than the loaded
// library returns ErrLibraryMismatch.
func Open(logger *slog.Logger, libPath string) (*Runtime, error) {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.refs > 0 {
		if env.path != libPath {
			return nil, fmt.Errorf("open onnxruntime %q (loaded: %q): %w", libPath, env.path, ErrLibraryMismatch)
		}
		env.refs++
		return &Runtime{logger: logger}, nil
	}
	if _, err := os.Stat(libPath); err != nil {
		return nil, fmt.Errorf("open onnxruntime library: %w", err)
	}
	ort.SetSharedLibraryPath(libPath)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return nil, fmt.Errorf("initialise onnxruntime %q: %w", libPath, err)
	}
	env.refs, env.path = 1, libPath
	logger.Info("onnxruntime loaded", slog.String("library", libPath), slog.String("version", ort.GetVersion()))
	return &Runtime{logger: logger}, nil
}

// Close releases the handle; the last one destroys the environment.
func (r *Runtime) Close() error {
	var err error
	r.once.Do(func() {
		env.mu.Lock()
		defer env.mu.Unlock()
		env.refs--
		if env.refs == 0 {
			env.path = ""
			if e := ort.DestroyEnvironment(); e != nil {
				err = fmt.Errorf("destroy onnxruntime environment: %w", e)
			}
		}
	})
	return err
}

// SessionConfig tunes one session.
type SessionConfig struct {
	Device         Device
	CUDADeviceID   int
	IntraOpThreads int // 0: ONNX Runtime's default (one per core)
}

// Session is a loaded model, safe for concurrent Run calls.
type Session struct {
	s        *ort.DynamicAdvancedSession
	provider string
	inputs   []string
	outputs  []string
}

// NewSession loads modelPath with the named inputs and outputs.
func (r *Runtime) NewSession(ctx context.Context, modelPath string, inputs, outputs []string, cfg SessionConfig) (*Session, error) {
	if cfg.Device == "" {
		cfg.Device = DeviceAuto
	}
	switch cfg.Device {
	case DeviceAuto, DeviceCPU, DeviceCUDA:
	default:
		return nil, fmt.Errorf("device %q: want auto, cpu or cuda", cfg.Device)
	}
	if cfg.Device != DeviceCPU {
		s, err := r.newSession(modelPath, inputs, outputs, cfg, true)
		if err == nil {
			r.logger.Info("onnxruntime session", slog.String("model", modelPath), slog.String("provider", ProviderCUDA))
			return s, nil
		}
		level := slog.LevelInfo
		if cfg.Device == DeviceCUDA {
			level = slog.LevelWarn
		}
		r.logger.Log(ctx, level, "CUDA execution provider unavailable, using CPU",
			slog.String("model", modelPath), slog.String("error", err.Error()))
	}
	s, err := r.newSession(modelPath, inputs, outputs, cfg, false)
	if err != nil {
		return nil, err
	}
	r.logger.Info("onnxruntime session", slog.String("model", modelPath), slog.String("provider", ProviderCPU),
		slog.Int("intra_op_threads", cfg.IntraOpThreads))
	return s, nil
}

func (r *Runtime) newSession(modelPath string, inputs, outputs []string, cfg SessionConfig, cuda bool) (*Session, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("create session options: %w", err)
	}
	defer opts.Destroy()
	if cfg.IntraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(cfg.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("set intra-op threads: %w", err)
		}
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("set inter-op threads: %w", err)
	}
	provider := ProviderCPU
	if cuda {
		cudaOpts, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, fmt.Errorf("create CUDA options: %w", err)
		}
		defer cudaOpts.Destroy()
		if err := cudaOpts.Update(map[string]string{"device_id": fmt.Sprint(cfg.CUDADeviceID)}); err != nil {
			return nil, fmt.Errorf("configure CUDA: %w", err)
		}
		if err := opts.AppendExecutionProviderCUDA(cudaOpts); err != nil {
			return nil, fmt.Errorf("append CUDA provider: %w", err)
		}
		provider = ProviderCUDA
	}
	s, err := ort.NewDynamicAdvancedSession(modelPath, inputs, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", modelPath, err)
	}
	return &Session{s: s, provider: provider, inputs: inputs, outputs: outputs}, nil
}

// Provider is the execution provider the session runs on.
func (s *Session) Provider() string { return s.provider }

// Run evaluates the model; nil outputs are allocated and must be destroyed
// by the caller.
func (s *Session) Run(inputs, outputs []ort.Value) error {
	if err := s.s.Run(inputs, outputs); err != nil {
		return fmt.Errorf("run session: %w", err)
	}
	return nil
}

// Close frees the session.
func (s *Session) Close() error {
	if err := s.s.Destroy(); err != nil {
		return fmt.Errorf("destroy session: %w", err)
	}
	return nil
}
