package webserver

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// What a request path turned out to name.
type kind uint8

const (
	kindFile    kind = iota // a small regular file, kept in memory
	kindBig                 // a regular file too large to keep: sent from disk
	kindMissing             // nothing: the fallback handler, or 404
	kindDir                 // a folder asked for without its trailing slash: 301
)

// Limits of the cache of one site in one worker.
const (
	smallFile    = 64 << 10 // larger files are sent with sendfile
	cacheBytes   = 32 << 20 // the cache is emptied past this many bytes...
	cacheEntries = 16384    // ...or entries
	// Paths with no file are remembered apart, and fewer: a client asking
	// for random paths empties only them, never the files.
	missEntries = 4096
)

// entry is what a request path names, as of checked: small files with
// their bytes (and gzipped bytes, for text), other kinds with what the
// answer needs. Entries are checked against the disk at most once a
// second, when asked for.
type entry struct {
	kind     kind
	rel      string // the file beneath the root, index.html included
	data, gz []byte
	size     int64
	mtime    time.Time
	ino      uint64
	ctype    string
	etag     string // strong, of the identity bytes: "mtime-size" in hex, as nginx
	gzETag   string // of the gzipped bytes
	lastMod  string
	checked  int64 // unix second
}

// lookup finds what raw, a request path as sent, names. The file of a
// kindBig entry is returned open, for the caller to send and close.
func (s *site) lookup(raw []byte, now int64) (*entry, *os.File, error) {
	e := s.cache[string(raw)]
	if e == nil {
		e = s.misses[string(raw)]
	}
	if e != nil {
		if e.checked == now || s.unchanged(e) {
			e.checked = now
			return e, nil, nil
		}
		s.drop(string(raw), e)
	}
	rel, dir, err := relPath(raw)
	if err != nil {
		return nil, nil, err
	}
	var f *os.File
	e, f, err = s.build(rel, dir)
	if err != nil {
		return nil, nil, err
	}
	e.checked = now
	if e.kind != kindBig {
		s.put(string(raw), e)
	}
	return e, f, nil
}

func (s *site) put(key string, e *entry) {
	if e.kind == kindMissing {
		if len(s.misses) >= missEntries {
			clear(s.misses)
		}
		s.misses[key] = e
		return
	}
	if len(s.cache) >= cacheEntries || s.cached+len(e.data)+len(e.gz) > cacheBytes {
		clear(s.cache)
		s.cached = 0
	}
	s.cache[key] = e
	s.cached += len(e.data) + len(e.gz)
}

func (s *site) drop(key string, e *entry) {
	if e.kind == kindMissing {
		delete(s.misses, key)
		return
	}
	delete(s.cache, key)
	s.cached -= len(e.data) + len(e.gz)
}

// unchanged reports whether the disk still holds what e says: the same
// file (inode, size, mtime), still nothing, or still a folder.
func (s *site) unchanged(e *entry) bool {
	f, err := s.root.open(e.rel)
	if err != nil {
		return e.kind == kindMissing && missing(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return false
	}
	switch e.kind {
	case kindFile:
		return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Ino == e.ino && st.Size == e.size &&
			time.Unix(st.Mtim.Unix()).Equal(e.mtime)
	case kindDir:
		return st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	return false
}

func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// build resolves rel beneath the root: a folder is its index.html (or a
// redirect to the path with a slash, if dir is false).
func (s *site) build(rel string, dir bool) (*entry, *os.File, error) {
	f, st, err := s.openStat(rel)
	if missing(err) {
		return &entry{kind: kindMissing, rel: rel}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if dir && st.Mode&unix.S_IFMT == unix.S_IFREG {
		f.Close() // "file/": a file is no folder
		return &entry{kind: kindMissing, rel: rel}, nil, nil
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		f.Close()
		if !dir && rel != "" {
			return &entry{kind: kindDir, rel: rel}, nil, nil
		}
		if rel != "" {
			rel += "/"
		}
		rel += "index.html"
		if f, st, err = s.openStat(rel); missing(err) {
			return &entry{kind: kindMissing, rel: rel}, nil, nil
		} else if err != nil {
			return nil, nil, err
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return &entry{kind: kindMissing, rel: rel}, nil, nil
		}
		return nil, nil, errForbidden // a FIFO, a device, a socket
	}
	mtime := time.Unix(st.Mtim.Unix())
	e := &entry{
		kind:    kindBig,
		rel:     rel,
		size:    st.Size,
		mtime:   mtime,
		ino:     st.Ino,
		ctype:   s.mime.typeOf(rel),
		etag:    `"` + strconv.FormatInt(mtime.Unix(), 16) + "-" + strconv.FormatInt(st.Size, 16) + `"`,
		lastMod: mtime.UTC().Format(http.TimeFormat),
	}
	if st.Size > smallFile {
		return e, f, nil
	}
	defer f.Close()
	e.kind = kindFile
	e.data = make([]byte, st.Size)
	if _, err := io.ReadFull(f, e.data); err != nil {
		return nil, nil, err
	}
	if compressible(e.ctype) && len(e.data) > 0 {
		e.gz = gzipped(e.data)
		e.gzETag = e.etag[:len(e.etag)-1] + `-gz"`
	}
	return e, nil, nil
}

func (s *site) openStat(rel string) (*os.File, *unix.Stat_t, error) {
	f, err := s.root.open(rel)
	if err != nil {
		return nil, nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, &st, nil
}

// gzipped is data compressed once, at its best, or nil when that does not
// make it smaller.
func gzipped(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	if b.Len() >= len(data) {
		return nil
	}
	return b.Bytes()
}
