package flbtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// The C host and its Makefile live in csrc/ because the go tool refuses .c
// files in a package that does not use cgo.
//
//go:embed csrc/flbhost.c csrc/Makefile
var csrc embed.FS

// BuildOptions selects how the host binary is compiled.
type BuildOptions struct {
	// Sanitize builds with -fsanitize=address,undefined. The Go plugin is
	// not instrumented, so this checks the host and catches the plugin's
	// writes to freed host memory only when they land in C code.
	Sanitize bool
}

var (
	buildMu    sync.Mutex
	buildCache = map[BuildOptions]string{}
)

// BuildHost compiles the host with the C compiler into a per-user cache
// directory and returns the binary's path. A binary is reused as long as the
// source, the Makefile, the options and the compiler version are unchanged.
func BuildHost(ctx context.Context, opts BuildOptions) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := buildCache[opts]; ok {
		return path, nil
	}

	src, err := csrc.ReadFile("csrc/flbhost.c")
	if err != nil {
		return "", fmt.Errorf("flbhost: embedded source: %w", err)
	}
	mk, err := csrc.ReadFile("csrc/Makefile")
	if err != nil {
		return "", fmt.Errorf("flbhost: embedded Makefile: %w", err)
	}
	ccVersion, err := exec.CommandContext(ctx, "cc", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("flbhost: cc --version: %w", err)
	}
	h := sha256.New()
	for _, part := range [][]byte{src, mk, ccVersion, fmt.Appendf(nil, "%+v", opts)} {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	dir, err := cacheDir(hex.EncodeToString(h.Sum(nil))[:16])
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "flbhost")
	if _, err := os.Stat(bin); err == nil {
		buildCache[opts] = bin
		return bin, nil
	}

	// Concurrent builders (parallel test binaries) each compile into their
	// own name and rename into place; the results are identical.
	for name, data := range map[string][]byte{"flbhost.c": src, "Makefile": mk} {
		if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
			return "", err
		}
	}
	tmp := fmt.Sprintf("flbhost.tmp%d", os.Getpid())
	args := []string{"-s", "-C", dir, "OUT=" + tmp}
	if opts.Sanitize {
		args = append(args, "SANITIZE=1")
	}
	cmd := exec.CommandContext(ctx, "make", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("flbhost: building the host in %s: %w\n%s", dir, err, out.Bytes())
	}
	if err := os.Rename(filepath.Join(dir, tmp), bin); err != nil {
		return "", fmt.Errorf("flbhost: %w", err)
	}
	buildCache[opts] = bin
	return bin, nil
}

func cacheDir(key string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "siemscore", "flbhost", key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("flbhost: cache directory: %w", err)
	}
	return dir, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("flbhost: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("flbhost: %w", err)
	}
	return nil
}

// ErrPluginName is returned by BuildPlugin for a file name Fluent Bit would
// load as a C plugin.
var ErrPluginName = errors.New("flbhost: Fluent Bit treats flb-*.so as a C plugin; choose another name")

// BuildPlugin builds the Go package pkg (an import path, or a path relative
// to the working directory) with -buildmode=c-shared into out.
func BuildPlugin(ctx context.Context, pkg, out string) error {
	if strings.HasPrefix(filepath.Base(out), "flb-") {
		return fmt.Errorf("%w: %s", ErrPluginName, out)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-o", out, pkg)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("flbhost: go build -buildmode=c-shared %s: %w\n%s", pkg, err, msg.Bytes())
	}
	return nil
}
