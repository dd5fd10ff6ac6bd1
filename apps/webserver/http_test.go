package webserver

import (
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	cases := []struct {
		v          string
		size       int64
		start, end int64
		ok         bool
	}{
		{"bytes=0-4", 10, 0, 4, true},
		{"bytes=5-", 10, 5, 9, true},
		{"bytes=5-100", 10, 5, 9, true},
		{"bytes=-3", 10, 7, 9, true},
		{"bytes=-30", 10, 0, 9, true},
		{"bytes=9-9", 10, 9, 9, true},
		{"bytes=10-", 10, -1, -1, true},
		{"bytes=-0", 10, -1, -1, true},
		{"bytes=0-", 0, -1, -1, true},
		{"bytes=4-2", 10, 0, 0, false},
		{"bytes=0-1,3-4", 10, 0, 0, false},
		{"items=0-1", 10, 0, 0, false},
		{"bytes=a-b", 10, 0, 0, false},
		{"bytes=5", 10, 0, 0, false},
	}
	for _, tc := range cases {
		start, end, ok := parseRange([]byte(tc.v), tc.size)
		if start != tc.start || end != tc.end || ok != tc.ok {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", tc.v, tc.size, start, end, ok, tc.start, tc.end, tc.ok)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	cases := map[string]bool{
		"":                     false,
		"gzip":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, gzip;q=0.8": true,
		"GZIP":                 true,
		"x-gzip":               true,
		"*":                    true,
		"gzip;q=0":             false,
		"gzip; q=0.0":          false,
		"deflate, br":          false,
		"identity":             false,
		"gzipx":                false,
	}
	for v, want := range cases {
		if got := acceptsGzip([]byte(v)); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestNotModified(t *testing.T) {
	mtime := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	e := &entry{etag: `"a-1"`, gzETag: `"a-1-gz"`, mtime: mtime.Add(300 * time.Millisecond), lastMod: "Thu, 03 Dec 2026 10:00:00 GMT"}
	cases := []struct {
		inm, ims string
		want     bool
	}{
		{"", "", false},
		{`"a-1"`, "", true},
		{`W/"a-1"`, "", true},
		{`"a-1-gz"`, "", true},
		{`"x", "a-1"`, "", true},
		{"*", "", true},
		{`"b-2"`, "", false},
		{`"b-2"`, "Thu, 03 Dec 2026 10:00:00 GMT", false}, // If-None-Match wins
		{"", "Thu, 03 Dec 2026 10:00:00 GMT", true},
		{"", "Thu, 03 Dec 2026 11:00:00 GMT", true},
		{"", "Thu, 03 Dec 2026 09:59:59 GMT", false},
		{"", "yesterday", false},
	}
	for _, tc := range cases {
		var inm, ims []byte
		if tc.inm != "" {
			inm = []byte(tc.inm)
		}
		if tc.ims != "" {
			ims = []byte(tc.ims)
		}
		if got := notModified(inm, ims, e); got != tc.want {
			t.Errorf("notModified(%q, %q) = %v, want %v", tc.inm, tc.ims, got, tc.want)
		}
	}
}
