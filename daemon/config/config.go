package config

import "time"

// Config is a whole configuration: wm.conf and every conf.d/*.conf.
type Config struct {
	// Dir is the config folder. Relative paths in wm.conf are resolved
	// against it, so a folder is self-contained and needs no root.
	Dir    string
	Global Global
	Groups []Group
}

// Global holds the keys of wm.conf.
type Global struct {
	// File is the wm.conf it came from, as Load named it in its errors;
	// "" for a Global made by DefaultGlobal.
	File string
	// Lines maps each key of wm.conf to the line that set it, for errors
	// found after loading (a control port already in use names its line).
	Lines map[string]int

	Debug              bool          // debug: app output on the terminal in the foreground; the file monitor
	PIDFile            string        // pid_file, absolute after Load
	LogDir             string        // log_dir, absolute after Load
	LogKeepDays        int           // log_keep_days: daily logs older than this are pruned
	Backlog            int           // backlog: default listen queue for every group
	ControlListen      string        // control_listen: tcp://host:port, or "" for none
	ControlPassword    string        // control_password
	ControlSocket      string        // control_socket: unix socket path, absolute after Load; "" for none
	MaxMemLimit        int64         // max_mem_limit in KB; 0 means no limit
	MaxWorkerExitCount int           // max_worker_exit_count per group per minute; 0 means no alarm
	AlarmCommand       string        // alarm_command run when the exit count is exceeded
	StopTimeout        time.Duration // stop_timeout: how long stop waits before SIGKILL
	ReloadTimeout      time.Duration // reload_timeout: how long a draining worker may take

	// ExcludePaths (exclude_path[], one line each) are files and folders,
	// absolute after Load, whose changes the file monitor of debug mode
	// ignores (docs/filemonitor.md).
	ExcludePaths []string
}

// Group is one conf.d/NAME.conf: a named group of identical workers.
type Group struct {
	Name string // the file name without .conf: the worker_name in status
	File string // the file it came from
	// App is the registered app the workers run (key app, alias worker_file).
	App string

	// Listen is the address as written: scheme://host:port, or "" for a
	// group that listens on nothing. Scheme is tcp, udp or a protocol
	// name; Network is "tcp" or "udp"; Address is host:port.
	Listen  string
	Scheme  string
	Network string
	Address string

	StartWorkers         int    // start_workers
	User                 string // user: switch workers to this user when run as root
	PrereadLength        int    // preread_length: UDP datagram buffer size (TCP reads what is there)
	MaxRecvBufferSize    int    // max_recv_buffer_size in bytes
	MaxSendBufferSize    int    // max_send_buffer_size in bytes
	NoReload             bool   // no_reload: reload calls OnReload instead of replacing workers
	NoDebug              bool   // no_debug: keep this group's output off the terminal in debug mode
	MaxRequests          uint64 // max_requests: replace a worker after this many requests; 0 means never
	PersistentConnection bool   // persistent_connection (default 1): 0 closes each connection after one reply
	Backlog              int    // backlog, inherited from wm.conf when unset
	// SchedPolicy is the Linux scheduling policy of the workers
	// (sched_policy): SchedBatch, the default, or SchedNormal.
	SchedPolicy string
	// ReloadConnections is what a replaced worker does with its open
	// connections (reload_connections): ReloadHandoff, the default, or
	// ReloadClose.
	ReloadConnections string
	// PprofListen (pprof_listen) is a loopback host:port where worker #1
	// serves net/http/pprof, worker #N on port+N-1; "" for none
	// (docs/debugging.md).
	PprofListen string

	// Extra holds keys the app declared, as written, in file order.
	// A key written as key[] = v, or key[sub] = v, keeps its brackets.
	Extra []KeyValue

	// Lines maps each key to the line that set it, for errors found after
	// loading (a port already in use names the listen line). worker_file
	// is recorded as app. A key written as key[] = v records its first line.
	//
	// Lines also tells ApplyDefaults which keys were set on purpose: it
	// leaves alone any field whose key is present, even when the value is
	// zero. A group declared in Go code that wants a zero where the
	// default is not zero records the key with line 0:
	//
	//	g := config.Group{Name: "Web", App: "webserver",
	//		PersistentConnection: false,
	//		Lines: map[string]int{"persistent_connection": 0}}
	Lines map[string]int
}

// KeyValue is one app-specific setting.
type KeyValue struct {
	Key, Value string
	Line       int
}

// The values of sched_policy.
const (
	// SchedBatch runs workers under SCHED_BATCH: the kernel does not
	// preempt a running task to run a worker that just woke up, nor a
	// worker for a task that just woke, until the time slice ends. An
	// event loop then handles what is ready in one go instead of being
	// switched out after each reply wakes a peer.
	SchedBatch = "batch"
	// SchedNormal runs workers under SCHED_OTHER, like any process:
	// lower wake-up latency on a machine busy with other work, at the
	// cost of more context switches under load.
	SchedNormal = "normal"
)

// The values of reload_connections.
const (
	// ReloadHandoff passes each connection, at a request boundary, to the
	// worker's successor: the client sees no close (docs/handoff.md).
	ReloadHandoff = "handoff"
	// ReloadClose closes each connection at a request boundary; its
	// client reconnects.
	ReloadClose = "close"
)

// Defaults of the keys, as in WorkerMan's manual where it has one.
const (
	DefaultBacklog           = 1024
	DefaultMaxRecvBufferSize = 10 << 20 // 10 MiB
	DefaultMaxSendBufferSize = 20 << 20 // 20 MiB
	DefaultUDPPreread        = 65535
	DefaultControlListen     = "tcp://127.0.0.1:2009"
	DefaultStopTimeout       = 10 * time.Second
	DefaultReloadTimeout     = 10 * time.Second
	DefaultLogKeepDays       = 30
	// MaxStartWorkers bounds start_workers: a worker is a process of some
	// megabytes, and a typo of a few zeros must not fork a machine to its
	// knees.
	MaxStartWorkers = 1024
	// MaxBacklog bounds backlog: the kernel caps a listen queue at
	// net.core.somaxconn (65535 at most on kernels before 5.4), and a
	// value past a C int would wrap to a queue of nothing.
	MaxBacklog = 65535
	// MaxUDPPreread bounds a udp group's preread_length: no UDP
	// datagram is longer, and each worker allocates that much for one.
	MaxUDPPreread = 65535
	// MaxTimeout bounds stop_timeout and reload_timeout: a day is longer
	// than any drain should take, and `wmd stop` adds to stop_timeout, so
	// the largest durations would wrap to a deadline in the past.
	MaxTimeout = 24 * time.Hour
	// MaxMemLimit bounds max_mem_limit, in KB (1 TiB): larger values
	// would wrap when turned into bytes, and the limit would be off.
	MaxMemLimit = 1 << 30
)
