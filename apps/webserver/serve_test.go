package webserver

import "testing"

func TestSiteFor(t *testing.T) {
	s := &server{sites: []*site{{name: "a.test"}, {name: "b.test"}, {name: "[::1]"}}}
	cases := map[string]string{
		"a.test":      "a.test",
		"b.test":      "b.test",
		"B.Test":      "b.test",
		"b.test:8080": "b.test",
		"b.test.":     "b.test",
		"b.test.:80":  "b.test",
		"[::1]":       "[::1]",
		"[::1]:8787":  "[::1]",
		"":            "a.test", // HTTP/1.0 without Host: the first site
		"c.test":      "a.test",
		"b.tes":       "a.test",
		"xb.test":     "a.test",
	}
	for host, want := range cases {
		if got := s.siteFor([]byte(host)).name; got != want {
			t.Errorf("siteFor(%q) = %s, want %s", host, got, want)
		}
	}
}

func TestAppendQuoted(t *testing.T) {
	cases := map[string]string{
		"/plain?a=1":           "/plain?a=1",
		`/a"b`:                 `/a\x22b`,
		`/a\b`:                 `/a\x5Cb`,
		"/a\x01b":              `/a\x01b`,
		"/caf\xc3\xa9":         `/caf\xC3\xA9`,
		"/a\x7f":               `/a\x7F`,
		"/x\" 200 1\nforged -": `/x\x22 200 1\x0Aforged -`,
	}
	for in, want := range cases {
		if got := string(appendQuoted(nil, []byte(in))); got != want {
			t.Errorf("appendQuoted(%q) = %s, want %s", in, got, want)
		}
	}
}
