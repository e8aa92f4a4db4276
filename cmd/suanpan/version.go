package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionCmd prints the build's module version, the Go that built it and,
// when the build recorded it, the source revision.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(a *app) error {
	revision, modified := "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	fmt.Fprintf(a.stdout, "suanpan %s\n", version())
	if revision != "" {
		if modified {
			revision += " (modified)"
		}
		fmt.Fprintf(a.stdout, "revision %s\n", revision)
	}
	fmt.Fprintf(a.stdout, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// version is the module version the binary was built as ("(devel)" from a
// work tree, "unknown" without build information).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return "unknown"
}
