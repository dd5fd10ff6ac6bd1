package handoff

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		conns []Conn
	}{
		{"bare", []Conn{{FD: 7}}},
		{"everything", []Conn{{FD: 9, Served: true, Want: 1234, Input: []byte("half a li"),
			Protocol: []byte{1, 2, 3}, App: []byte(`{"user":"ann"}`)}}},
		{"batch", []Conn{{FD: 3, Input: []byte("a")}, {FD: 4, Served: true}, {FD: 5, App: []byte("z")}}},
		{"app socket", []Conn{{FD: 6, AppSocket: true, Input: []byte("frame"), App: []byte("link")}, {FD: 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(nil, tt.conns)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != Size(tt.conns) {
				t.Errorf("len = %d, Size = %d", len(b), Size(tt.conns))
			}
			fds := make([]int, len(tt.conns))
			for i, c := range tt.conns {
				fds[i] = c.FD
			}
			got, err := Decode(b, fds)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.conns) {
				t.Errorf("Decode = %+v\nwant %+v", got, tt.conns)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	if _, err := Encode(nil, nil); err == nil {
		t.Error("Encode of no connection: no error")
	}
	if _, err := Encode(nil, make([]Conn, MaxBatch+1)); err == nil {
		t.Error("Encode over MaxBatch: no error")
	}
	big := []Conn{{Input: make([]byte, MaxMessage)}}
	if _, err := Encode(nil, big); err != ErrTooLarge {
		t.Errorf("Encode over MaxMessage: %v, want ErrTooLarge", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := Encode(nil, []Conn{{FD: 1, Input: []byte("abc"), App: []byte("s")}})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
		fds  []int
		want string
	}{
		{"short", good[:5], []int{1}, "shorter than its header"},
		{"magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), []int{1}, "bad magic"},
		{"version", edit(func(b []byte) []byte { b[3] = 9; return b }), []int{1}, "version 9"},
		{"zero count", edit(func(b []byte) []byte { b[5] = 0; return b }), []int{1}, "count 0"},
		{"descriptors", good, []int{1, 2}, "1 connections but 2 descriptors"},
		{"truncated conn", good[:headerSize+4], []int{1}, "truncated header"},
		{"lengths", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[headerSize+8:], 0xffffffff)
			return b
		}), []int{1}, "announced"},
		{"trailing", append(bytes.Clone(good), 0), []int{1}, "after the last connection"},
		{"huge", make([]byte, MaxMessage+1), nil, "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.b, tt.fds)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	seed, _ := Encode(nil, []Conn{{Served: true, Want: 10, Input: []byte("ab"), Protocol: []byte("p"), App: []byte("a")},
		{Input: []byte("x")}})
	f.Add(seed, 2)
	f.Add([]byte("WMH\x01\x00\x01\x00\x00"), 1)
	f.Fuzz(func(t *testing.T, b []byte, nfds int) {
		nfds = min(max(nfds, 0), MaxBatch+1)
		fds := make([]int, nfds)
		conns, err := Decode(b, fds)
		if err != nil {
			return
		}
		// What decodes must encode back to the same bytes, reserved
		// fields aside.
		again, err := Encode(nil, conns)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if len(again) != len(b) {
			t.Fatalf("re-encoded %d bytes, decoded %d", len(again), len(b))
		}
	})
}
