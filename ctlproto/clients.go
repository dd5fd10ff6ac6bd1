package ctlproto

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
)

// This file is the operator side of the Gateway/BusinessWorker model: the
// commands that reach the clients of the daemon's gateways (clients,
// kick, send, broadcast), their grammar, their replies and the client
// calls.

// ClientsHandler is what a [Handler] also implements when its daemon can
// reach gateway clients; a Handler without it answers these commands with
// an error. The methods are called from session goroutines, possibly at
// the same time; ctx ends when the client gives up waiting.
type ClientsHandler interface {
	// Clients reports the online clients of every gateway process, or of
	// the Gateway worker group group; with ids, their ClientIDs too. An
	// error means no gateway could be asked (no such group); a gateway
	// that did not answer has its Err set.
	Clients(ctx context.Context, group string, ids bool) (ClientsReport, error)
	// Kick closes a client's connection; an error if it is not online.
	Kick(ctx context.Context, client string) error
	// Send sends text to a client, framed by its gateway's protocol; an
	// error if it is not online.
	Send(ctx context.Context, client, text string) error
	// Broadcast sends text to every client of every gateway or, when
	// group is not "", to those in that Gateway API group. It returns
	// what to tell the operator, such as "broadcast: done on 2 gateways
	// (5 clients online)".
	Broadcast(ctx context.Context, group, text string) (string, error)
}

// ClientsReport is the answer to `clients`: one entry per gateway
// process, by group then slot.
type ClientsReport struct {
	Gateways []GatewayClients `json:"gateways"`
}

// GatewayClients is one gateway process and its online clients.
type GatewayClients struct {
	// Group and Slot name the gateway process, as PROCESS STATUS does.
	Group string `json:"group"`
	Slot  int    `json:"slot"`
	// PID is the process serving the slot now; 0 if none does.
	PID int `json:"pid,omitempty"`
	// Addr is the gateway's internal address (lan_ip:port): the one its
	// clients' ids name.
	Addr string `json:"addr"`
	// Online counts its connected clients.
	Online int `json:"online"`
	// Clients are their ids (clients --json only), sorted.
	Clients []string `json:"clients,omitempty"`
	// Err says why the gateway did not answer; Online is then 0.
	Err string `json:"error,omitempty"`
}

// Total is how many clients every gateway that answered holds.
func (r ClientsReport) Total() int {
	n := 0
	for _, g := range r.Gateways {
		n += g.Online
	}
	return n
}

// WriteClients writes r as the table `clients` shows, one row per
// gateway process and a total:
//
//	worker_name slot pid   internal        online
//	Gateway     1    17508 127.0.0.1:2900  3
//	Gateway     2    17509 127.0.0.1:2901  -      [no answer: connection refused]
//	total                                  3
func WriteClients(w io.Writer, r ClientsReport) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "worker_name\tslot\tpid\tinternal\tonline\n")
	for _, g := range r.Gateways {
		pid, online := "-", strconv.Itoa(g.Online)
		if g.PID > 0 {
			pid = strconv.Itoa(g.PID)
		}
		if g.Err != "" {
			online = "-  [no answer: " + oneLine(g.Err) + "]"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", Printable(g.Group), g.Slot, pid, Printable(g.Addr), online)
	}
	fmt.Fprintf(tw, "total\t\t\t\t%d\n", r.Total())
	tw.Flush() // errors surface in the bufio Flush
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ctlproto: write clients: %w", err)
	}
	return nil
}

// clientIDLen is the length of a ClientID's text form: 10 bytes in hex.
const clientIDLen = 20

// parseClientID checks a ClientID's form here, so a typo is a usage
// error; whether it names an online client only the gateway knows.
func parseClientID(cmd, s string) (string, error) {
	ok := len(s) == clientIDLen
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	if !ok {
		return "", fmt.Errorf("%s: %q is not a client id (%d hex digits)", cmd, clip(s, 40), clientIDLen)
	}
	return strings.ToLower(s), nil
}

func parseClients(args []string) (Command, error) {
	c := Command{Name: CmdClients}
	var err error
	c.Group, err = flagsThenGroup(CmdClients, args, func(flag string, _ func() (string, bool)) error {
		if flag != "--json" {
			return fmt.Errorf("clients: unknown flag %q: the only flag is --json", clip(flag, 40))
		}
		c.JSON = true
		return nil
	})
	if err != nil {
		return Command{}, err
	}
	return c, nil
}

func parseKick(args []string) (Command, error) {
	if len(args) != 1 {
		return Command{}, errors.New("kick: want one CLIENT_ID")
	}
	id, err := parseClientID(CmdKick, args[0])
	if err != nil {
		return Command{}, err
	}
	return Command{Name: CmdKick, Client: id}, nil
}

// parseSend reads CLIENT_ID TEXT; the words of TEXT are joined by one
// space, so `send ID hello world` needs no quotes.
func parseSend(args []string) (Command, error) {
	if len(args) < 2 || strings.Join(args[1:], "") == "" {
		return Command{}, errors.New("send: want CLIENT_ID TEXT")
	}
	id, err := parseClientID(CmdSend, args[0])
	if err != nil {
		return Command{}, err
	}
	return Command{Name: CmdSend, Client: id, Text: strings.Join(args[1:], " ")}, nil
}

// parseBroadcast reads [--group G] TEXT. Flags come first; "--" ends
// them, for a TEXT that starts with "-".
func parseBroadcast(args []string) (Command, error) {
	c := Command{Name: CmdBroadcast}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		a := args[0]
		args = args[1:]
		switch {
		case a == "--":
		case a == "--group" || strings.HasPrefix(a, "--group="):
			g, inline := strings.CutPrefix(a, "--group=")
			if !inline {
				if len(args) == 0 {
					return Command{}, errors.New("broadcast: --group wants a Gateway API group")
				}
				g, args = args[0], args[1:]
			}
			if g == "" {
				return Command{}, errors.New("broadcast: --group wants a Gateway API group")
			}
			c.ClientGroup = g
			continue
		default:
			return Command{}, fmt.Errorf("broadcast: unknown flag %q: the only flag is --group G (-- before a TEXT that starts with -)", clip(a, 40))
		}
		break // after "--"
	}
	c.Text = strings.Join(args, " ")
	if strings.Join(args, "") == "" {
		return Command{}, errors.New("broadcast: want TEXT")
	}
	return c, nil
}

// writeClientArgs appends the arguments of clients, kick, send and
// broadcast, for Command.String.
func (c Command) writeClientArgs(b *strings.Builder) {
	switch c.Name {
	case CmdClients:
		if c.JSON {
			b.WriteString(" --json")
		}
		writeGroup(b, c.Group)
	case CmdKick:
		b.WriteString(" " + c.Client)
	case CmdSend:
		b.WriteString(" " + c.Client + " " + shellQuote(c.Text))
	case CmdBroadcast:
		if c.ClientGroup != "" {
			b.WriteString(" --group " + shellQuote(c.ClientGroup))
		}
		if strings.HasPrefix(c.Text, "-") {
			b.WriteString(" --")
		}
		b.WriteString(" " + shellQuote(c.Text))
	}
}

// clientsHandler is the Handler's ClientsHandler, or an error naming the
// command when it has none.
func (s *Server) clientsHandler(cmd Command) (ClientsHandler, error) {
	if h, ok := s.Handler.(ClientsHandler); ok {
		return h, nil
	}
	return nil, fmt.Errorf("%s: this daemon reaches no gateway clients", cmd.Name)
}

// reach carries out kick, send and broadcast for both transports, and
// returns the reply, such as "kick 7f00000116a8000004d2: closed".
func (s *Server) reach(ctx context.Context, cmd Command, log *slog.Logger) (string, error) {
	h, err := s.clientsHandler(cmd)
	if err != nil {
		return "", err
	}
	switch cmd.Name {
	case CmdKick:
		log.Info("control: kick requested", "client", cmd.Client)
		if err := h.Kick(ctx, cmd.Client); err != nil {
			return "", fmt.Errorf("kick %s: %w", cmd.Client, err)
		}
		return "kick " + cmd.Client + ": closed", nil
	case CmdSend:
		log.Info("control: send requested", "client", cmd.Client, "bytes", len(cmd.Text))
		if err := h.Send(ctx, cmd.Client, cmd.Text); err != nil {
			return "", fmt.Errorf("send %s: %w", cmd.Client, err)
		}
		return "send " + cmd.Client + ": sent", nil
	case CmdBroadcast:
		log.Info("control: broadcast requested", "group", cmd.ClientGroup, "bytes", len(cmd.Text))
		reply, err := h.Broadcast(ctx, cmd.ClientGroup, cmd.Text)
		if err != nil {
			return "", fmt.Errorf("broadcast: %w", err)
		}
		return reply, nil
	}
	return "", fmt.Errorf("%s: not a client action", cmd.Name)
}

// clients asks the Handler for the `clients` report.
func (s *Server) clients(ctx context.Context, cmd Command) (ClientsReport, error) {
	h, err := s.clientsHandler(cmd)
	if err != nil {
		return ClientsReport{}, err
	}
	r, err := h.Clients(ctx, cmd.Group, cmd.JSON)
	if err != nil {
		return ClientsReport{}, fmt.Errorf("clients: %w", err)
	}
	return r, nil
}

// Clients returns the online clients of every gateway process (of the
// Gateway worker group group, when not ""), with their ids when ids is
// true.
func (c *Client) Clients(ctx context.Context, group string, ids bool) (ClientsReport, error) {
	m, err := c.one(ctx, Command{Name: CmdClients, JSON: ids, Group: group}.String(), MsgClients)
	if err != nil {
		return ClientsReport{}, err
	}
	if m.Clients == nil {
		return ClientsReport{}, fmt.Errorf("ctlproto: %s: clients message without a report", c.addr)
	}
	return *m.Clients, nil
}

// Kick closes a gateway client's connection.
func (c *Client) Kick(ctx context.Context, client string) error {
	_, err := c.one(ctx, Command{Name: CmdKick, Client: client}.String(), MsgOK)
	return err
}

// Send sends text to a gateway client.
func (c *Client) Send(ctx context.Context, client, text string) error {
	_, err := c.one(ctx, Command{Name: CmdSend, Client: client, Text: text}.String(), MsgOK)
	return err
}

// Broadcast sends text to every gateway client, or to those in the
// Gateway API group group, and returns the daemon's summary.
func (c *Client) Broadcast(ctx context.Context, group, text string) (string, error) {
	m, err := c.one(ctx, Command{Name: CmdBroadcast, ClientGroup: group, Text: text}.String(), MsgOK)
	return m.Message, err
}
