package webserver

import (
	"bytes"
	"mime"
	"os"
	"path"
	"strings"

	"github.com/wm-go/wm/daemon/config"
)

// mimeTypes maps a lowercase extension, without its dot, to a media type.
type mimeTypes map[string]string

// loadMimeTypes reads a mime.types file: nginx's format, which
// WorkerMan's Common/Protocols/Http/mime.types uses (types { text/html
// html htm; ... }), or the Apache/Debian one of /etc/mime.types (one type
// and its extensions per line). Its errors name the file and line.
func loadMimeTypes(file string) (mimeTypes, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseMimeTypes(file, data)
}

func parseMimeTypes(file string, data []byte) (mimeTypes, error) {
	m := mimeTypes{}
	nginx := bytes.Contains(data, []byte("{"))
	var stmt []string // the tokens of the statement being read
	stmtLine, blockLine := 0, 0
	inTypes := false
	for n, line := range bytes.Split(data, []byte("\n")) {
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if !nginx {
			if f := strings.Fields(string(line)); len(f) > 1 {
				m.add(f[0], f[1:])
			}
			continue
		}
		// Braces and semicolons are tokens of their own.
		s := strings.NewReplacer("{", " { ", "}", " } ", ";", " ; ").Replace(string(line))
		for _, tok := range strings.Fields(s) {
			switch {
			case tok == "{":
				if len(stmt) != 1 || stmt[0] != "types" || inTypes {
					return nil, &config.Error{File: file, Line: n + 1, Msg: "want a single types { ... } block"}
				}
				inTypes, stmt, blockLine = true, nil, n+1
			case tok == "}":
				if !inTypes || len(stmt) > 0 {
					return nil, &config.Error{File: file, Line: n + 1, Msg: "unexpected }: a statement is missing its ;"}
				}
				inTypes = false
			case tok == ";":
				if len(stmt) < 2 || !inTypes {
					return nil, &config.Error{File: file, Line: n + 1, Msg: "want \"type/subtype ext ...;\" inside types { }"}
				}
				m.add(stmt[0], stmt[1:])
				stmt = nil
			default:
				if len(stmt) == 0 {
					stmtLine = n + 1
				}
				stmt = append(stmt, tok)
			}
		}
	}
	switch {
	case nginx && len(stmt) > 0:
		return nil, &config.Error{File: file, Line: stmtLine, Msg: "statement without its ;"}
	case nginx && inTypes:
		return nil, &config.Error{File: file, Line: blockLine, Msg: "types { is not closed"}
	}
	return m, nil
}

func (m mimeTypes) add(typ string, exts []string) {
	for _, e := range exts {
		m[strings.ToLower(e)] = typ
	}
}

// typeOf is the media type of a file name: from the include file if the
// site has one, else Go's table (mime.TypeByExtension, which also reads
// the system's mime.types), else application/octet-stream.
func (m mimeTypes) typeOf(name string) string {
	ext := path.Ext(name)
	if ext == "" {
		return "application/octet-stream"
	}
	if m != nil {
		if t, ok := m[strings.ToLower(ext[1:])]; ok {
			return t
		}
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// compressible reports whether a media type is text, worth gzipping.
func compressible(typ string) bool {
	typ, _, _ = strings.Cut(typ, ";")
	typ = strings.TrimSpace(typ)
	switch {
	case strings.HasPrefix(typ, "text/"),
		strings.HasSuffix(typ, "+xml"), strings.HasSuffix(typ, "+json"):
		return true
	}
	switch typ {
	case "application/javascript", "application/json", "application/xml",
		"application/x-javascript", "application/wasm", "image/x-icon",
		"application/manifest+json":
		return true
	}
	return false
}
