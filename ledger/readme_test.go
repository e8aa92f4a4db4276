package ledger_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeProgram builds the README's "Using the ledger from Go" program
// in a module of its own, which can import only the public packages, and
// runs it: the README must never promise an API that does not compile or
// does not do what it says. It needs the go command and the module cache
// that built this test (no network: GOPROXY=off).
func TestReadmeProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	program, output := readmeProgram(t, filepath.Join(root, "README.md"))
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", program)
	write("go.mod", "module example.com/embed\n\ngo 1.26\n\nrequire github.com/suanpan/suanpan v0.0.0\n\n"+
		"replace github.com/suanpan/suanpan => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("build", "-o", "embed", ".")
	run := exec.Command(filepath.Join(dir, "embed"))
	run.Dir = dir
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != output {
		t.Errorf("the program printed %q; the README says %q", got, output)
	}
}

// readmeProgram returns the Go program of the README's "Using the ledger
// from Go" section and the output the README says it prints.
func readmeProgram(t *testing.T, path string) (program, output string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	in, inCode := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Using the ledger from Go"
		case !in:
		case line == "```go":
			inCode = true
		case inCode && line == "```":
			inCode = false
		case inCode:
			b.WriteString(line + "\n")
		case strings.HasPrefix(line, "It prints `"):
			output = strings.TrimSuffix(strings.TrimPrefix(line, "It prints `"), "`.")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if b.Len() == 0 || output == "" {
		t.Fatal("README.md has no program and output under \"## Using the ledger from Go\"")
	}
	return b.String(), output
}
