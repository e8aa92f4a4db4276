package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// Every JSON request body passes one scan before huma decodes it, which
// refuses what schema validation cannot see:
//
//   - a key named twice in one object, exactly or differing in case:
//     encoding/json matches keys case-insensitively and the last one wins,
//     so {"role":"viewer","ROLE":"admin"} validated as a viewer and was
//     decoded as an admin;
//   - control characters in any string (C0 including TAB, CR and LF, DEL
//     and C1), which reach logs, terminals, CSV exports and audit records,
//     except in the few fields listed in controlExceptions.
//
// The scan is one pass over the bytes with no reflection, and allocates
// nothing for an ordinary body: about as much work as the copy huma makes.

// controlExceptions lists, per operation ("METHOD /path" as registered,
// without /v1), the body fields that may hold control characters, and
// which. The API documents each of them; every other string refuses
// control characters.
var controlExceptions = map[string]map[string]string{
	// A statement format's delimiter and trim characters may be a tab
	// (tab-separated files, padded exports).
	"PUT /recon/channels/{id}/settings": {
		"body.format.columns.delimiter": "\t",
		"body.format.columns.trim":      "\t",
	},
}

// maxCheckDepth bounds the nesting the scan follows; deeper documents are
// left to the decoder, which refuses them (encoding/json stops at 10000).
const maxCheckDepth = 10000

// bodyIssue is a refusal found by the scan.
type bodyIssue struct {
	field, detail string
}

// bodyScan is the state of one scan; pooled, so that its slices are reused.
type bodyScan struct {
	data  []byte
	i     int
	allow map[string]string // controlExceptions of the operation
	stack []scanFrame
	folds []byte     // the folded keys of the open objects
	spans []foldSpan // their places in folds
	issue *bodyIssue
	bad   bool // not JSON: the decoder will say so
}

type scanFrame struct {
	array bool
	index int             // arrays: the current item
	key   []byte          // objects: the current key, as sent (raw)
	first int             // objects: the first of its spans
	set   map[string]bool // objects with many keys: their folded keys
}

type foldSpan struct{ start, end int }

// keysBeforeSet is how many keys an object may have before duplicates are
// looked up in a map rather than by comparing with each earlier key.
const keysBeforeSet = 16

var scanPool = sync.Pool{New: func() any { return new(bodyScan) }}

// checkJSON scans a JSON document and returns the first refusal, or nil.
// A document that is not JSON is left to the decoder (nil).
func checkJSON(data []byte, allow map[string]string) *bodyIssue {
	c := scanPool.Get().(*bodyScan)
	c.data, c.i, c.allow, c.issue, c.bad = data, 0, allow, nil, false
	c.stack, c.folds, c.spans = c.stack[:0], c.folds[:0], c.spans[:0]
	c.ws()
	if c.i < len(c.data) {
		c.value(0)
	}
	issue := c.issue
	c.data, c.allow = nil, nil
	clear(c.stack[:cap(c.stack)]) // the keys point into the body
	if cap(c.folds) <= 64<<10 && cap(c.stack) <= 1024 {
		scanPool.Put(c)
	}
	return issue
}

func (c *bodyScan) stopped() bool { return c.issue != nil || c.bad }

func (c *bodyScan) ws() {
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *bodyScan) value(depth int) {
	if depth > maxCheckDepth || c.i >= len(c.data) {
		c.bad = true
		return
	}
	switch c.data[c.i] {
	case '{':
		c.object(depth)
	case '[':
		c.array(depth)
	case '"':
		start := c.i + 1
		end, ctl := c.str()
		if ctl && !c.bad {
			c.control(c.data[start:end])
		}
	default:
		// A number, true, false or null: the decoder checks them.
		for c.i < len(c.data) {
			switch c.data[c.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return
			}
			c.i++
		}
	}
}

func (c *bodyScan) array(depth int) {
	c.i++
	c.stack = append(c.stack, scanFrame{array: true})
	c.ws()
	if c.i < len(c.data) && c.data[c.i] == ']' {
		c.i++
		c.stack = c.stack[:len(c.stack)-1]
		return
	}
	for !c.stopped() {
		c.value(depth + 1)
		if c.stopped() {
			return
		}
		c.ws()
		if c.i >= len(c.data) {
			c.bad = true
			return
		}
		switch c.data[c.i] {
		case ',':
			c.i++
			c.ws()
			c.stack[len(c.stack)-1].index++
		case ']':
			c.i++
			c.stack = c.stack[:len(c.stack)-1]
			return
		default:
			c.bad = true
		}
	}
}

func (c *bodyScan) object(depth int) {
	c.i++
	c.stack = append(c.stack, scanFrame{first: len(c.spans)})
	folds0 := len(c.folds)
	c.ws()
	if c.i < len(c.data) && c.data[c.i] == '}' {
		c.i++
		c.stack = c.stack[:len(c.stack)-1]
		return
	}
	for !c.stopped() {
		if c.i >= len(c.data) || c.data[c.i] != '"' {
			c.bad = true
			return
		}
		start := c.i + 1
		end, ctl := c.str()
		if c.bad {
			return
		}
		f := &c.stack[len(c.stack)-1]
		f.key = c.data[start:end]
		if ctl {
			c.issue = &bodyIssue{field: c.path(), detail: "a key holds a control character"}
			return
		}
		c.addKey(f)
		if c.stopped() {
			return
		}
		c.ws()
		if c.i >= len(c.data) || c.data[c.i] != ':' {
			c.bad = true
			return
		}
		c.i++
		c.ws()
		c.value(depth + 1)
		if c.stopped() {
			return
		}
		c.ws()
		if c.i >= len(c.data) {
			c.bad = true
			return
		}
		switch c.data[c.i] {
		case ',':
			c.i++
			c.ws()
		case '}':
			c.i++
			f := &c.stack[len(c.stack)-1]
			c.spans = c.spans[:f.first]
			c.folds = c.folds[:folds0]
			c.stack = c.stack[:len(c.stack)-1]
			return
		default:
			c.bad = true
		}
	}
}

// addKey folds the frame's current key and refuses it when the object
// already has it.
func (c *bodyScan) addKey(f *scanFrame) {
	start := len(c.folds)
	c.folds = appendFolded(c.folds, f.key)
	folded := c.folds[start:]
	dup := false
	switch {
	case f.set != nil:
		dup = f.set[string(folded)]
		if !dup {
			f.set[string(folded)] = true
		}
	default:
		for _, s := range c.spans[f.first:] {
			if bytes.Equal(c.folds[s.start:s.end], folded) {
				dup = true
				break
			}
		}
		if !dup && len(c.spans)-f.first >= keysBeforeSet {
			f.set = make(map[string]bool, 2*keysBeforeSet)
			for _, s := range c.spans[f.first:] {
				f.set[string(c.folds[s.start:s.end])] = true
			}
			f.set[string(folded)] = true
		}
	}
	if dup {
		c.issue = &bodyIssue{field: c.path(),
			detail: "the object names this key twice (keys that differ only in case are the same key)"}
		return
	}
	if f.set != nil {
		c.folds = c.folds[:start]
		return
	}
	c.spans = append(c.spans, foldSpan{start, len(c.folds)})
}

// str skips the string at c.i (its opening quote) and returns the index
// of its closing quote and whether it holds a control character, raw or
// escaped.
func (c *bodyScan) str() (end int, ctl bool) {
	d := c.data
	i := c.i + 1
	for i < len(d) {
		b := d[i]
		switch {
		case b == '"':
			c.i = i + 1
			return i, ctl
		case b == '\\':
			if i+1 >= len(d) {
				c.bad = true
				return i, ctl
			}
			switch d[i+1] {
			case '"', '\\', '/':
				i += 2
			case 'b', 'f', 'n', 'r', 't':
				ctl = true
				i += 2
			case 'u':
				r, ok := hex4(d[i+2:])
				if !ok {
					c.bad = true
					return i, ctl
				}
				if isControl(r) {
					ctl = true
				}
				i += 6
			default:
				c.bad = true
				return i, ctl
			}
		case b < 0x20 || b == 0x7f:
			ctl = true
			i++
		case b == 0xc2 && i+1 < len(d) && d[i+1] >= 0x80 && d[i+1] <= 0x9f: // C1 in UTF-8
			ctl = true
			i += 2
		default:
			i++
		}
	}
	c.bad = true
	return i, ctl
}

// control decides about a string value with a control character: refused
// unless the field allows each of its control characters.
func (c *bodyScan) control(raw []byte) {
	path := c.path()
	allowed, ok := c.allow[indexless(path)]
	if ok {
		s := unquote(raw)
		ok = true
		for _, r := range s {
			if isControl(r) && !strings.ContainsRune(allowed, r) {
				ok = false
				break
			}
		}
	}
	if !ok {
		c.issue = &bodyIssue{field: path, detail: "text must not hold control characters (C0 such as NUL, TAB, CR and LF, DEL, or C1)"}
	}
}

// path is the location of the current value: body.postings[0].side.
func (c *bodyScan) path() string {
	var b strings.Builder
	b.WriteString("body")
	for _, f := range c.stack {
		if f.array {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
			continue
		}
		b.WriteByte('.')
		b.WriteString(unquote(f.key))
	}
	return b.String()
}

// indexless drops the array indices of a path: body.items[3].note →
// body.items[].note.
func indexless(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			b.WriteString("[]")
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unquote decodes the inside of a JSON string the scan found well formed.
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	return string(appendUnquoted(nil, raw))
}

func appendUnquoted(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			dst = append(dst, raw[i])
			i++
			continue
		}
		if i+1 >= len(raw) {
			break
		}
		switch e := raw[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw[i+2:])
			i += 6
			if utf16IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2, ok = hex4(raw[i+2:])
				}
				if ok && r >= 0xd800 && r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000 {
					r = (r-0xd800)<<10 | (r2 - 0xdc00) + 0x10000
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

func utf16IsSurrogate(r rune) bool { return r >= 0xd800 && r < 0xe000 }

// appendFolded appends the key's case-folded form: every rune replaced by
// the least rune of its simple case-folding orbit, so that two keys fold
// alike exactly when strings.EqualFold holds (which is how encoding/json
// matches keys to fields). ASCII letters take the fast path.
func appendFolded(dst, raw []byte) []byte {
	ascii := true
	for _, b := range raw {
		if b >= utf8.RuneSelf || b == '\\' {
			ascii = false
			break
		}
	}
	if ascii {
		for _, b := range raw {
			if b >= 'a' && b <= 'z' {
				b -= 'a' - 'A'
			}
			dst = append(dst, b)
		}
		return dst
	}
	s := unquote(raw)
	for _, r := range s {
		dst = utf8.AppendRune(dst, foldRune(r))
	}
	return dst
}

// foldRune is the least rune of r's simple case-folding orbit (K for k, K
// and the Kelvin sign).
func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < least {
			least = f
		}
	}
	return least
}

// bodyBufs holds the buffers bodies are read into for the scan.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// checkBody returns the middleware that scans an operation's JSON body
// (route is "METHOD /path" as registered). It reads the body within the
// operation's limit and hands huma the same bytes; a body over the limit
// is left to huma, which answers 413.
func (s *Server) checkBody(route string, maxBytes int64) func(huma.Context, func(huma.Context)) {
	allow := controlExceptions[route]
	return func(hctx huma.Context, next func(huma.Context)) {
		r, _ := humago.Unwrap(hctx)
		if r.Body == nil || r.Body == http.NoBody || !jsonContent(r.Header.Get("Content-Type")) {
			next(hctx)
			return
		}
		buf := bodyBufs.Get().(*bytes.Buffer)
		buf.Reset()
		defer func() {
			if buf.Cap() <= 1<<20 {
				bodyBufs.Put(buf)
			}
		}()
		orig := r.Body
		n, err := buf.ReadFrom(io.LimitReader(orig, maxBytes))
		if err != nil || n >= maxBytes {
			// Unread or too large: huma reports it as it would.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(buf.Bytes()), orig))
			next(hctx)
			return
		}
		if issue := checkJSON(buf.Bytes(), allow); issue != nil {
			s.writeProblem(hctx, fail(hctx.Context(), http.StatusUnprocessableEntity, "invalid_request", issue.field, issue.detail))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		next(hctx)
	}
}

// hasJSONBody reports whether an operation's input type I has a JSON body
// (a Body field; a RawBody with its own content type is a file).
func hasJSONBody[I any]() bool {
	t := reflect.TypeFor[I]()
	if t.Kind() != reflect.Struct {
		return false
	}
	f, ok := t.FieldByName("Body")
	if !ok {
		return false
	}
	ct := f.Tag.Get("contentType")
	return ct == "" || jsonContent(ct)
}

// jsonContent reports whether a request's Content-Type is JSON (or absent,
// which huma reads as JSON).
func jsonContent(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
