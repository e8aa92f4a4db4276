package main

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestQuickstart runs the README's quickstart as written: `go run
// ./cmd/suanpan demo` — done here as its two halves, go build and running
// the binary, so that the test can signal the program itself — on a free
// port and a fresh data directory; it performs what the printed curl
// commands do and stops the demo with Ctrl-C (SIGINT). The README's other
// quickstart command, go test ./..., is what runs this test.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it: not with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	cleanEnv(t)
	commands := quickstartCommands(t)
	if want := []string{"go run ./cmd/suanpan demo", "go test ./..."}; !slices.Equal(commands, want) {
		t.Fatalf("the README's quickstart is %q; this test runs %q: update one or the other", commands, want)
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "suanpan")
	build := exec.Command(gobin, "build", "-o", bin, "./cmd/suanpan")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	addr := "127.0.0.1:" + freePort(t)
	demo := exec.Command(bin, "demo", "--addr", addr, "--data-dir", filepath.Join(dir, "data"))
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	demo.Stdout, demo.Stderr = stdout, stderr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{}) // closed when the process has exited; then waitErr is its status
	go func() { waitErr = demo.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = demo.Process.Kill() // fails harmlessly once it has exited
		<-exited
	})

	waitHealthy(t, "http://"+addr, exited, stderr)
	// The welcome is printed once the server answers; its last line ends it.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "Stop with Ctrl-C") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cmds := curlCommands(t, stdout.String())
	if len(cmds) != 5 {
		t.Fatalf("found %d curl commands, want 5:\n%s", len(cmds), stdout)
	}
	answers := runCurls(t, cmds)
	if answers[2].status != http.StatusCreated {
		t.Errorf("the transfer answered %d, want 201: %s", answers[2].status, answers[2].body)
	}

	if err := demo.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("demo exited with %v after Ctrl-C, want 0\nstderr:\n%s", waitErr, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("demo did not stop within 30s of Ctrl-C\nstderr:\n%s", stderr)
	}
}

// quickstartCommands returns the commands of the README's first sh block
// under "## Quickstart".
func quickstartCommands(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	inSection, inBlock := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			inSection = line == "## Quickstart"
		case inSection && line == "```sh":
			inBlock = true
		case inBlock && line == "```":
			return cmds
		case inBlock:
			cmd, _, _ := strings.Cut(line, "#")
			if cmd = strings.TrimSpace(cmd); cmd != "" {
				cmds = append(cmds, cmd)
			}
		}
	}
	t.Fatalf("README.md has no sh block under ## Quickstart (%v)", sc.Err())
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// waitHealthy polls url's /healthz until it answers 200, the process exits,
// or 30 seconds pass.
func waitHealthy(t *testing.T, url string, exited <-chan struct{}, stderr *syncBuffer) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("demo exited before answering /healthz\nstderr:\n%s", stderr)
		default:
		}
		resp, err := client.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("demo did not answer %s/healthz within 30s\nstderr:\n%s", url, stderr)
}
