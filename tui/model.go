package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/wm-go/wm/ctlproto"
)

// Options configure a [Model]. Only Dial is required.
type Options struct {
	// Dial opens a session with the daemon; the model calls it at start
	// and after every disconnection.
	Dial Dialer
	// Client, if set, is a session already open (wmtop dials once before
	// starting the screen, to ask for a password if needed). The model
	// uses it first and closes it when done.
	Client Client
	// Addr names the daemon in the title bar, such as
	// "unix:/run/wm/wmd.sock".
	Addr string
	// Interval is the watch interval to start with; DefaultInterval if 0.
	Interval time.Duration
	// NoColor draws without colour, with bold and reverse video only
	// (set it when $NO_COLOR is set).
	NoColor bool
	// MinBackoff and MaxBackoff bound the wait between two dials while
	// the daemon is away: the first retry waits MinBackoff, each next one
	// twice as long, up to MaxBackoff. Defaults: 250ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// LogLines is how many log lines the log pane keeps (and asks the
	// daemon for when it connects); DefaultLogLines if 0.
	LogLines int
	// NoMouse leaves the mouse to the terminal (for selecting text
	// without holding shift). By default a click selects a table row or
	// focuses the log pane, and the wheel moves the selection or scrolls
	// the log pane under the pointer.
	NoMouse bool
}

// Defaults of [Options].
const (
	DefaultInterval = time.Second
	DefaultLogLines = 1000
)

// intervals are the watch intervals + and - step through.
var intervals = []time.Duration{
	ctlproto.MinWatchInterval, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// connState is where the session stands.
type connState int

const (
	connecting   connState = iota // a dial is under way
	connected                     // the watch stream runs
	disconnected                  // waiting to dial again
)

// focus says which pane the movement keys and / act on.
type focus int

const (
	focusTable focus = iota
	focusLogs
)

// Model is wmtop's whole state. Build it with [New] and run it with
// tea.NewProgram; everything else about it is private.
//
// Update and View are the only methods bubbletea calls, always on one
// goroutine; the commands they return run elsewhere and reach back only
// through messages, so nothing here needs a lock.
type Model struct {
	opts Options
	keys keyMap

	// ctx lives as long as the model: cancelling it (on quit) ends every
	// stream and every command still waiting to report.
	ctx    context.Context
	cancel context.CancelFunc
	// events carries what the streams receive to Update (see listen).
	events chan tea.Msg

	// The session.
	conn    connState
	client  Client // nil unless connected
	gen     int    // increments with every session, so stale messages are known
	attempt int    // dials failed in a row
	lastErr error  // why the last session ended or the last dial failed
	ever    bool   // a session was ever established
	// The streams of the session, each with an id that increments when
	// it is restarted (a new interval, another log group) and a cancel.
	watchID, tailID     int
	watchStop, tailStop context.CancelFunc
	interval            time.Duration
	// session ends with the session: the streams and actions run under it.
	session     context.Context
	sessionStop context.CancelFunc

	// The data: the last frame and what is remembered per process.
	status  *ctlproto.Status
	hist    map[int]*history
	changed map[int]bool // pids whose row changed in the last frame
	flash   bool         // whether changed rows are highlighted now
	flashID int

	// The table.
	table tableState

	// Actions: at most one confirmation asked and one action running.
	confirm *confirmation
	job     *job
	jobID   int
	note    note // the status line

	// The log pane.
	logs logPane

	// The clients view, shown instead of the table.
	clients clientsPane

	// The screen.
	width, height int
	dark          bool
	styles        styles
	focus         focus
	showHelp      bool
	editing       *lineEdit // the filter or search being typed, if any
}

// note is the status line: one message and how it looks.
type note struct {
	text string
	kind noteKind
}

type noteKind int

const (
	noteInfo noteKind = iota
	noteOK
	noteWarn
	noteBad
)

// New returns a model that will connect with opts.Dial when run.
func New(opts Options) *Model {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	opts.Interval = min(max(opts.Interval, ctlproto.MinWatchInterval), ctlproto.MaxWatchInterval)
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.LogLines <= 0 {
		opts.LogLines = DefaultLogLines
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Model{
		opts:     opts,
		keys:     newKeyMap(),
		ctx:      ctx,
		cancel:   cancel,
		events:   make(chan tea.Msg, 64),
		conn:     connecting,
		gen:      1,
		interval: opts.Interval,
		hist:     map[int]*history{},
		table:    newTableState(),
		logs:     newLogPane(opts.LogLines),
		width:    80,
		height:   24,
		dark:     true,
	}
	m.styles = newStyles(m.dark, opts.NoColor)
	m.logs.vp = viewport.New()
	m.logs.matchStyle, m.logs.currentStyle = m.styles.match, m.styles.current
	m.relayout()
	return m
}

// Init asks the terminal for its background colour, starts listening for
// stream messages and opens the first session.
func (m *Model) Init() tea.Cmd {
	connect := dial(m.ctx, m.opts.Dial, m.gen)
	if c := m.opts.Client; c != nil {
		gen := m.gen
		connect = func() tea.Msg { return connectedMsg{gen: gen, client: c} }
	}
	return tea.Batch(tea.RequestBackgroundColor, m.listen(), connect)
}

// Close ends the session and every command of the model. Quitting does
// it; call it when the program ends any other way.
func (m *Model) Close() {
	m.cancel()
	m.dropSession()
}
