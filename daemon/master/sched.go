package master

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/wm-go/wm/daemon/config"
)

// forkExecUnder starts a process the way syscall.ForkExec does, under the
// scheduling policy of sched_policy. The policy is set on a thread of the
// master's own before the fork, so the child inherits it from its first
// instruction and every thread its runtime creates afterwards does too;
// setting it on the child from outside would miss the threads the Go
// runtime starts right after exec.
//
// A policy the kernel refuses (a seccomp filter, say) is not fatal: the
// worker starts under the master's policy and policyErr says why.
func forkExecUnder(policy, exe string, argv []string, attr *syscall.ProcAttr) (pid int, policyErr, err error) {
	spawnerOnce.Do(func() { go runSpawner() })
	r := spawnRequest{policy, exe, argv, attr, make(chan spawnResult, 1)}
	spawns <- r
	res := <-r.done
	return res.pid, res.policyErr, res.err
}

type spawnRequest struct {
	policy, exe string
	argv        []string
	attr        *syscall.ProcAttr
	done        chan spawnResult
}

type spawnResult struct {
	pid            int
	policyErr, err error
}

var (
	spawnerOnce sync.Once
	spawns      = make(chan spawnRequest)
)

// runSpawner forks every worker from one OS thread, which it keeps for
// the life of the process: a worker's Pdeathsig fires when the thread
// that forked it ends, not the process, so a thread made for one fork
// and let go would take its worker with it.
func runSpawner() {
	runtime.LockOSThread()
	for r := range spawns {
		var res spawnResult
		res.policyErr = setThreadPolicy(r.policy)
		res.pid, res.err = syscall.ForkExec(r.exe, r.argv, r.attr)
		r.done <- res
	}
}

// setThreadPolicy sets the calling thread's policy. It uses
// sched_setscheduler rather than sched_setattr so that the thread's nice
// value is kept.
func setThreadPolicy(policy string) error {
	var p uintptr
	switch policy {
	case config.SchedBatch:
		p = unix.SCHED_BATCH
	case config.SchedNormal:
		p = unix.SCHED_NORMAL
	default:
		return fmt.Errorf("sched_policy %q: unknown", policy)
	}
	var param struct{ priority int32 } // struct sched_param; 0 for both policies
	_, _, errno := unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, 0, p, uintptr(unsafe.Pointer(&param)))
	if errno != 0 {
		return fmt.Errorf("sched_policy %s: sched_setscheduler: %w", policy, errno)
	}
	return nil
}
