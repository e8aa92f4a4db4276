package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// maxConfigBytes bounds the --config file; settings are a few hundred bytes.
const maxConfigBytes = 1 << 20

// configFile is the --config file: a JSON object of settings keyed by flag
// name, with _ for - ({"store": "postgres://…", "log_level": "debug"}).
//
// Only flags that also have an environment variable can be set in the file:
// those are the deployment settings, while flags without one (bench
// parameters, --json) describe a single invocation — and a "store" meant for
// the server must never redirect `bench ledger --store`. An unknown key is an
// error rather than a silently ignored typo.
//
// Suanpan's precedence is flags, then environment, then file, then defaults.
// Kong applies environment variables together with the defaults and lets
// resolvers override both, so the file yields to a flag's environment
// variable explicitly.
type configFile struct {
	keys []string
	json kong.Resolver
}

var _ kong.Resolver = (*configFile)(nil)

// loadConfig is the kong.ConfigurationLoader for --config.
func loadConfig(r io.Reader) (kong.Resolver, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("config is larger than %d bytes", maxConfigBytes)
	}
	var values map[string]any
	if err := json.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	res, err := kong.JSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c := &configFile{json: res}
	for k := range values {
		c.keys = append(c.keys, k)
	}
	slices.Sort(c.keys)
	return c, nil
}

// Validate rejects keys that name no setting of any command.
func (c *configFile) Validate(app *kong.Application) error {
	known := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			if settable(f) {
				known[configKey(f)] = true
			}
		}
		for _, child := range n.Children {
			walk(child)
		}
	}
	walk(app.Node)
	for _, k := range c.keys {
		if !known[k] {
			return fmt.Errorf("config: %q is not a setting (settings: %s)", k, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
	}
	return nil
}

// Resolve returns the file's value for flag, unless the flag cannot be set
// from the file or its environment variable is set.
func (c *configFile) Resolve(kctx *kong.Context, parent *kong.Path, flag *kong.Flag) (any, error) {
	if !settable(flag) {
		return nil, nil
	}
	for _, env := range flag.Tag.Envs {
		if _, ok := os.LookupEnv(env); ok {
			return nil, nil
		}
	}
	return c.json.Resolve(kctx, parent, flag)
}

// settable reports whether the config file may set flag.
func settable(f *kong.Flag) bool {
	if f.Target.IsValid() && f.Target.Type() == reflect.TypeFor[kong.ConfigFlag]() {
		return false // the file cannot name another file
	}
	return len(f.Tag.Envs) > 0
}

func configKey(f *kong.Flag) string { return strings.ReplaceAll(f.Name, "-", "_") }
