// Package config reads wm.conf and conf.d/*.conf, the ini files of a
// WorkerMan-style config folder, into a Config: the daemon's global
// settings and one Group per worker group. It imports only the standard
// library.
//
// A config folder looks like this:
//
//	conf/wm.conf              global keys: pid_file, log_dir, control_listen ...
//	conf/conf.d/Echo.conf     one worker group, named Echo
//	conf/conf.d/Chat.conf     another, named Chat
//
// and a group file like this:
//
//	; the registered app this group runs (worker_file = ../x/Echo.php also works)
//	app = Echo
//	listen = text://0.0.0.0:8181
//	start_workers = 4
//	max_recv_buffer_size = 1M
//	; a key the Echo app declared, kept in Group.Extra
//	greeting = "hello, "
//
// Each line is key = value; lines starting with ';' or '#' are comments.
// Values run to the end of the line and may be wrapped in double quotes.
// See Load for what is checked, and the field comments of Global and Group
// for what each key means and its default.
//
// Load cannot know which apps and protocols the binary holds: those are
// registered at build time by packages config must not import. The caller
// passes that knowledge in a Validator. Code that declares its groups in
// Go rather than in files uses DefaultGlobal, Group.SetListen and
// Group.ApplyDefaults to get the same defaults and checks.
//
// Every problem is an *Error naming file and line, such as
//
//	conf/conf.d/Echo.conf:3: unknown key "lisen"
//	conf/conf.d/Echo.conf:4: bad value "abc" for start_workers: want an integer from 1 to 1024
//
// and Load reports all of them at once, so an operator fixes a file in
// one pass.
package config
