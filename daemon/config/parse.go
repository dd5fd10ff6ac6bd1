package config

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is one problem in a config file. Load reports every problem it
// finds, each as an *Error, joined with errors.Join; use errors.As to get
// at the first one, or range over the Unwrap() []error of the joined error
// to see them all.
type Error struct {
	File string // the file, as Load named it (joined to the folder it was given)
	Line int    // 1-based line number; 0 when the problem is the file as a whole
	Msg  string // what is wrong, for an operator
	Err  error  // the underlying cause, if any (a failed read); see Unwrap
}

// Error returns "FILE:LINE: MSG", or "FILE: MSG" when Line is 0.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap returns the underlying cause, so that
// errors.Is(err, fs.ErrNotExist) reports a missing wm.conf.
func (e *Error) Unwrap() error { return e.Err }

// setting is one "key = value" line of an ini file.
type setting struct {
	key   string // as written, index included: "root[example.com]"
	base  string // key without its index: "root"
	index bool   // the key had an [index], possibly empty: "key[]"
	value string // with surrounding double quotes removed
	line  int    // 1-based
}

// parse splits an ini file into its settings. It knows the syntax only:
// what the keys mean, and whether one repeats, is the caller's business.
//
// The syntax, as WorkerMan's files use it:
//
//   - one "key = value" per line; spaces around '=' are optional and the
//     value runs to the end of the line, '=' and ';' included;
//   - a line whose first non-blank character is ';' or '#' is a comment,
//     and blank lines are ignored; there are no trailing comments, since a
//     password may well contain a ';';
//   - a value wrapped in double quotes has them removed (nothing inside is
//     unescaped), which is how to keep leading or trailing spaces;
//   - a key is letters, digits, '_', '.' and '-', optionally followed by
//     an index "[]" or "[sub]", as in exclude_path[] = /tmp/ or
//     root[example.com] = /var/www;
//   - CRLF line ends and a UTF-8 byte order mark are tolerated.
//
// Every problem is returned as an *Error naming file and line.
func parse(file string, data []byte) ([]setting, []error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var (
		settings []setting
		errs     []error
	)
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		text := strings.TrimSpace(raw)
		if text == "" || text[0] == ';' || text[0] == '#' {
			continue
		}
		eq := strings.IndexByte(text, '=')
		if eq < 0 {
			errs = append(errs, &Error{File: file, Line: n,
				Msg: fmt.Sprintf("bad line %s: want key = value", quote(text))})
			continue
		}
		key := strings.TrimSpace(text[:eq])
		base, index, ok := splitKey(key)
		if !ok {
			errs = append(errs, &Error{File: file, Line: n,
				Msg: fmt.Sprintf("bad key %s: want letters, digits and _, then an optional [index]", quote(key))})
			continue
		}
		value := strings.TrimSpace(text[eq+1:])
		if strings.HasPrefix(value, `"`) {
			if len(value) < 2 || !strings.HasSuffix(value, `"`) {
				errs = append(errs, &Error{File: file, Line: n,
					Msg: fmt.Sprintf("bad value %s for %s: unterminated double quote", quote(value), key)})
				continue
			}
			value = value[1 : len(value)-1]
		}
		settings = append(settings, setting{key: key, base: base, index: index, value: value, line: n})
	}
	return settings, errs
}

// splitKey splits "name" or "name[sub]" into its name, reporting whether
// it had an index and whether it is well formed.
func splitKey(key string) (base string, index, ok bool) {
	base = key
	if open := strings.IndexByte(key, '['); open >= 0 {
		sub := key[open+1:]
		if !strings.HasSuffix(sub, "]") {
			return "", false, false
		}
		sub = sub[:len(sub)-1]
		if strings.ContainsAny(sub, "[]") {
			return "", false, false
		}
		base, index = key[:open], true
	}
	if base == "" {
		return "", false, false
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", false, false
		}
	}
	return base, index, true
}

// quote returns s in Go double-quoted form, shortened so that one absurd
// line does not flood an error message.
func quote(s string) string {
	const max = 64
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}
