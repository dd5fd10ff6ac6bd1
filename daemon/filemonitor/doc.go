// Package filemonitor is wm's FileMonitor: in debug mode it watches the
// daemon's own binary and its config folder (inotify, through fsnotify)
// and says when a smooth reload would pick up something new: a rebuilt
// binary that is complete and has settled, or a changed file of the
// config folder that no exclude_path[] covers.
//
// It watches folders, not files, so a binary or a config file replaced
// by a rename (go build -o, install, an editor's save) is seen like one
// written in place. It only reports; the daemon decides what a change
// means (re-read the config, reload). It imports fsnotify and the
// standard library only.
package filemonitor
