package websocket

import (
	"errors"
	"slices"
	"testing"

	"github.com/wm-go/wm/daemon/protocol"
)

func TestBind(t *testing.T) {
	tests := []struct {
		name      string
		settings  []protocol.Setting
		origins   []string
		protocols []string
		badLine   int // a SettingError at this line; 0: no error
		noDeflate bool
	}{
		{name: "none keeps the code's lists", origins: []string{"https://code.example"}, protocols: []string{"code"}},
		{
			name:     "lists",
			settings: []protocol.Setting{{Key: keyOrigins, Value: "https://a.example, http://b.example:8080", Line: 3}, {Key: keyProtocols, Value: "chat.v1,chat.v2", Line: 4}},
			origins:  []string{"https://a.example", "http://b.example:8080"}, protocols: []string{"chat.v1", "chat.v2"},
		},
		{name: "origin without scheme", settings: []protocol.Setting{{Key: keyOrigins, Value: "a.example", Line: 5}}, badLine: 5},
		{name: "origin with a path", settings: []protocol.Setting{{Key: keyOrigins, Value: "https://a.example/x", Line: 6}}, badLine: 6},
		{name: "protocol with a space", settings: []protocol.Setting{{Key: keyProtocols, Value: "a b", Line: 7}}, badLine: 7},
		{name: "protocol with a slash", settings: []protocol.Setting{{Key: keyProtocols, Value: "a/b", Line: 8}}, badLine: 8},
		{name: "compression off", settings: []protocol.Setting{{Key: keyCompression, Value: "0", Line: 9}}, origins: []string{"https://code.example"}, protocols: []string{"code"}, noDeflate: true},
		{name: "compression on", settings: []protocol.Setting{{Key: keyCompression, Value: "On", Line: 9}}, origins: []string{"https://code.example"}, protocols: []string{"code"}},
		{name: "compression bad", settings: []protocol.Setting{{Key: keyCompression, Value: "deflate", Line: 10}}, badLine: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Server{Origins: []string{"https://code.example"}, Protocols: []string{"code"}}.Bind(nil, tt.settings)
			if tt.badLine != 0 {
				var se *protocol.SettingError
				if !errors.As(err, &se) || se.Setting.Line != tt.badLine {
					t.Fatalf("err %v, want a SettingError at line %d", err, tt.badLine)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := p.(*Server)
			if !slices.Equal(s.Origins, tt.origins) || !slices.Equal(s.Protocols, tt.protocols) || s.DisableCompression != tt.noDeflate {
				t.Errorf("origins %q protocols %q no compression %v, want %q %q %v", s.Origins, s.Protocols, s.DisableCompression, tt.origins, tt.protocols, tt.noDeflate)
			}
		})
	}
}
