package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// BcastResult is the outcome of a bcast run. Deliveries and latencies
// are the receivers' alone; the sender's own copies are SelfReceived.
// Lost, Duplicates, Dropped and Unfinished count every connection, the
// sender's included.
type BcastResult struct {
	Mode      string `json:"mode"`
	Addr      string `json:"addr"`
	Receivers int    `json:"receivers"`
	Window    int    `json:"window"`
	Rate      int    `json:"rate,omitempty"`
	Size      int    `json:"size"`
	Fanout    int    `json:"fanout,omitempty"`

	DurationS      float64 `json:"duration_s"`       // first send to the last end line read
	Sent           uint64  `json:"sent"`             // data lines sent
	Deliveries     uint64  `json:"deliveries"`       // data lines read by the receivers
	DeliveriesPerS float64 `json:"deliveries_per_s"` // Deliveries / DurationS
	SelfReceived   uint64  `json:"self_received"`    // data lines back on the sender's connection

	MeanUS float64 `json:"mean_us"` // send to receipt
	P50US  float64 `json:"p50_us"`
	P99US  float64 `json:"p99_us"`
	P999US float64 `json:"p999_us"`
	MaxUS  float64 `json:"max_us"`

	// fan-out mode: send until the last receiver has the line
	LastP50US   float64 `json:"last_p50_us,omitempty"`
	LastMaxUS   float64 `json:"last_max_us,omitempty"`
	FanoutPerS  float64 `json:"fanout_per_s,omitempty"` // receivers / mean time to the last
	FanoutLines uint64  `json:"fanout_lines,omitempty"` // lines that reached every receiver

	Lost       uint64 `json:"lost"`       // data lines a connection never saw
	Duplicates uint64 `json:"duplicates"` // data lines seen twice, or after a later one
	Dropped    int    `json:"dropped"`    // connections the server closed before the end
	Unfinished int    `json:"unfinished"` // connections without the end line after -timeout
	ErrorCount int    `json:"errors"`     // malformed lines, failed or stalled sends
	FirstError string `json:"first_error,omitempty"`
}

// Failed reports whether the server lost, repeated or garbled a line,
// dropped a connection, or stalled.
func (r *BcastResult) Failed() bool {
	return r.Lost > 0 || r.Duplicates > 0 || r.Dropped > 0 || r.Unfinished > 0 || r.ErrorCount > 0
}

// result gathers what the connections counted. Call it after drain.
func (b *bcast) result(elapsed time.Duration, sendErr error) *BcastResult {
	res := &BcastResult{
		Mode: "bcast", Addr: b.cfg.Addr, Receivers: len(b.recv) - 1,
		Window: b.cfg.Window, Rate: b.cfg.LineRate, Size: b.cfg.LineSize, Fanout: b.cfg.Fanout,
		DurationS: elapsed.Seconds(), Sent: b.sent,
	}
	var first error
	fail := func(err error) {
		res.ErrorCount++
		if first == nil {
			first = err
		}
	}
	if sendErr != nil {
		fail(sendErr)
	}
	h := &b.hist
	for i, rc := range b.recv {
		if i == len(b.recv)-1 {
			res.SelfReceived = rc.got
		} else {
			res.Deliveries += rc.got
			if rc.histMu == nil {
				h.Merge(rc.hist)
			}
		}
		res.Lost += rc.lost
		res.Duplicates += rc.dups
		if !rc.sawEnd {
			res.Lost += b.sent - min(b.sent, rc.next)
		}
		switch {
		case rc.dropped:
			res.Dropped++
			if first == nil {
				first = fmt.Errorf("connection %d: %w", i, rc.err)
			}
		case rc.err != nil:
			fail(fmt.Errorf("connection %d: %w", i, rc.err))
		case !rc.sawEnd:
			res.Unfinished++
		}
	}
	if first != nil {
		res.FirstError = first.Error()
	}
	if elapsed > 0 {
		res.DeliveriesPerS = float64(res.Deliveries) / elapsed.Seconds()
	}
	res.MeanUS, res.P50US, res.P99US, res.P999US, res.MaxUS =
		us(h.Mean()), us(h.Quantile(0.5)), us(h.Quantile(0.99)), us(h.Quantile(0.999)), us(h.Max())
	if l := &b.fanLast; l.Count() > 0 {
		res.FanoutLines = l.Count()
		res.LastP50US, res.LastMaxUS = us(l.Quantile(0.5)), us(l.Max())
		res.FanoutPerS = float64(res.Receivers) / l.Mean().Seconds()
	}
	return res
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// printBcastSummary writes the human summary of r to w.
func printBcastSummary(w io.Writer, r *BcastResult) {
	fmt.Fprintf(w, "mode        bcast\naddr        %s\nreceivers   %d, and the sender\nline        %d bytes\n",
		r.Addr, r.Receivers, r.Size)
	if r.Fanout > 0 {
		fmt.Fprintf(w, "fan-out     %d lines, one at a time; %d reached every receiver\n", r.Fanout, r.FanoutLines)
		fmt.Fprintf(w, "to the last p50 %s  max %s  (%.0f deliveries/s)\n", usStr(r.LastP50US), usStr(r.LastMaxUS), r.FanoutPerS)
	} else {
		pace := fmt.Sprintf("window %d", r.Window)
		if r.Rate > 0 {
			pace += fmt.Sprintf(", rate %d lines/s", r.Rate)
		}
		fmt.Fprintf(w, "sending     %s\n", pace)
	}
	fmt.Fprintf(w, "duration    %.2fs\nsent        %d lines\n", r.DurationS, r.Sent)
	fmt.Fprintf(w, "delivered   %d to the receivers, %.0f/s (the sender's %d copies not counted)\n",
		r.Deliveries, r.DeliveriesPerS, r.SelfReceived)
	fmt.Fprintf(w, "latency     mean %s  p50 %s  p99 %s  p99.9 %s  max %s\n",
		usStr(r.MeanUS), usStr(r.P50US), usStr(r.P99US), usStr(r.P999US), usStr(r.MaxUS))
	fmt.Fprintf(w, "lost        %d\nduplicates  %d\ndropped     %d connections\nunfinished  %d connections\nerrors      %d\n",
		r.Lost, r.Duplicates, r.Dropped, r.Unfinished, r.ErrorCount)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error %s\n", r.FirstError)
	}
	if r.Failed() {
		fmt.Fprintln(w, "FAILED: the server lost, repeated or garbled lines, or dropped connections")
	}
}

// printBcastJSON writes r to w as one line of JSON.
func printBcastJSON(w io.Writer, r *BcastResult) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
