package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/user"

	"github.com/wm-go/wm/daemon/config"
)

// precheck refuses what start would find wrong on this host before it
// binds anything, beyond what config.Load sees in the files: internal
// addresses of an app that clash with another address of the config, and
// a user that does not exist. check, start and restart run it, so check
// says what start would.
func precheck(cfg *config.Config) error {
	return errors.Join(checkInternal(cfg), checkUsers(cfg))
}

// checkInternal refuses internal addresses (App.Internal) that clash with
// control_listen, a listen, or each other.
func checkInternal(cfg *config.Config) error {
	peers, err := internalAddrs(cfg)
	if err != nil {
		return err
	}
	internal := make(map[string]config.Internal, len(peers))
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		addrs, ok := peers[g.Name]
		if !ok {
			continue
		}
		a, _ := lookupApp(g.App)
		line := g.Lines["app"]
		for _, key := range a.InternalKeys {
			if l := g.Lines[key]; l > 0 {
				line = l
				break
			}
		}
		internal[g.Name] = config.Internal{Addrs: addrs, Line: line}
	}
	return cfg.CheckInternal(internal)
}

// checkUsers refuses a user unknown to this host when the master runs as
// root, the only case it switches workers to it (it is ignored
// otherwise, as in WorkerMan).
func checkUsers(cfg *config.Config) error {
	if os.Geteuid() != 0 {
		return nil
	}
	var errs []error
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		if g.User == "" {
			continue
		}
		_, err := user.Lookup(g.User)
		var unknown user.UnknownUserError
		switch {
		case errors.As(err, &unknown):
			errs = append(errs, g.ErrorAt(g.Lines["user"], fmt.Sprintf("unknown user %q: the workers run as this user when the master runs as root", g.User)))
		case err != nil:
			errs = append(errs, g.ErrorAt(g.Lines["user"], fmt.Sprintf("user %q: %v", g.User, err)))
		}
	}
	return errors.Join(errs...)
}
