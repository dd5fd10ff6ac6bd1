package gateway

import (
	"testing"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
)

func TestParseGatewayConfigBounds(t *testing.T) {
	tests := []struct {
		key, value string
		wantErr    string // "" for accepted
	}{
		{"ping_interval", "0", ""},
		{"ping_interval", "86400", ""},
		{"ping_interval", "86401", "G.conf:3: ping_interval: want seconds from 0 to 86400, 0 for no heartbeat"},
		{"ping_interval", "10000000000", "G.conf:3: ping_interval: want seconds from 0 to 86400, 0 for no heartbeat"},
		{"start_port", "65534", ""}, // and 65535 for worker #2
		{"start_port", "65535", "G.conf:3: start_port: want a port; the group uses it and the next start_workers-1"},
		{"broadcast_coalesce", "0", ""},
		{"broadcast_coalesce", "5ms", ""},
		{"broadcast_coalesce", "1s", ""},
		{"broadcast_coalesce", "2", "G.conf:3: broadcast_coalesce: want a duration from 0 to 1s, such as 2ms; 0 writes every broadcast at once"},
		{"broadcast_coalesce", "2s", "G.conf:3: broadcast_coalesce: want a duration from 0 to 1s, such as 2ms; 0 writes every broadcast at once"},
		{"broadcast_coalesce", "-1ms", "G.conf:3: broadcast_coalesce: want a duration from 0 to 1s, such as 2ms; 0 writes every broadcast at once"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			g := &daemon.Group{Name: "G", File: "G.conf", Listen: "text://127.0.0.1:8480", Network: "tcp", StartWorkers: 2,
				Extra: []config.KeyValue{{Key: tt.key, Value: tt.value, Line: 3}}}
			c, err := parseGatewayConfig(g)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.key == "ping_interval" && tt.value == "86400" && c.pingInterval != 24*time.Hour {
				t.Errorf("ping_interval 86400 = %v, want 24h", c.pingInterval)
			}
			if tt.key == "broadcast_coalesce" && tt.value == "5ms" && c.coalesce != 5*time.Millisecond {
				t.Errorf("broadcast_coalesce 5ms = %v", c.coalesce)
			}
		})
	}
}
