// Package docsui is the API reference page served at /docs: Redoc's
// standalone bundle, vendored from the npm registry by fetch.sh (see there
// for the version and the files taken) and embedded in the binary, so that
// the page renders without internet access, e.g. in an air-gapped bank.
//
// The page and its assets must never reference another host: the page
// loads only what this package embeds and the document at /openapi.json.
package docsui

//go:generate ./fetch.sh

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// Path is where the page is served; its assets are under Path + "/".
const Path = "/docs"

//go:embed redoc.standalone.js redoc.standalone.js.LICENSE.txt LICENSE VERSION
var assets embed.FS

// page renders the OpenAPI document at specURL with the embedded bundle.
// Redoc finds the <redoc> element itself, so the page needs no inline
// script, and the Content-Security-Policy below can forbid them.
const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Suanpan API reference</title>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="` + Path + `/redoc.standalone.js"></script>
</body>
</html>
`

// csp lets the page load only same-origin scripts, documents and images.
// Redoc's styles are inline (styled-components), its search index runs in
// a worker it builds from a blob, and its icons are data: URIs.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Register serves the page at GET Path and each embedded file at GET
// Path + "/" + its name on mux; any other path under Path is left to the
// mux's fallback (a 404 like any other).
func Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, _ *http.Request) {
		header(w.Header(), "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write([]byte(page))
	})
	names, _ := fs.Glob(assets, "*")
	for _, name := range names {
		b, _ := assets.ReadFile(name)
		ct := "text/plain; charset=utf-8"
		if strings.HasSuffix(name, ".js") {
			ct = "text/javascript; charset=utf-8"
		}
		mux.HandleFunc("GET "+Path+"/"+name, func(w http.ResponseWriter, r *http.Request) {
			header(w.Header(), ct)
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
		})
	}
}

// Assets lists the paths of the embedded files the page may load.
func Assets() []string {
	names, _ := fs.Glob(assets, "*")
	for i, n := range names {
		names[i] = Path + "/" + n
	}
	return names
}

func header(h http.Header, contentType string) {
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
}
