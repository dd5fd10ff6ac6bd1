package registry

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// etcdServer is a real single-member etcd on loopback ports, with its
// data in a temp dir, that a test can kill and start again.
type etcdServer struct {
	bin    string
	data   string
	logf   string
	client string // host:port of the client URL
	peer   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startEtcd runs etcd for the test and kills it when the test ends.
func startEtcd(t *testing.T) *etcdServer {
	t.Helper()
	dir := t.TempDir()
	e := &etcdServer{
		bin:    testkit.NeedTool(t, "etcd"),
		data:   filepath.Join(dir, "data"),
		logf:   filepath.Join(dir, "etcd.log"),
		client: fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t)),
		peer:   fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t)),
	}
	t.Cleanup(func() {
		e.kill(t)
		if t.Failed() {
			b, _ := os.ReadFile(e.logf)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("etcd log (tail):\n%s", b)
		}
	})
	e.start(t)
	return e
}

// url is the registry config value for this server.
func (e *etcdServer) url() string { return "etcd://" + e.client }

// start runs etcd and returns once it reports itself healthy.
func (e *etcdServer) start(t *testing.T) {
	t.Helper()
	logFile, err := os.OpenFile(e.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	e.cmd = exec.Command(e.bin,
		"--name", "wmtest",
		"--data-dir", e.data,
		"--listen-client-urls", "http://"+e.client,
		"--advertise-client-urls", "http://"+e.client,
		"--listen-peer-urls", "http://"+e.peer,
		"--initial-advertise-peer-urls", "http://"+e.peer,
		"--initial-cluster", "wmtest=http://"+e.peer,
		"--logger", "zap", "--log-outputs", "stderr",
	)
	e.cmd.Stdout, e.cmd.Stderr = logFile, logFile
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	exited := make(chan struct{})
	e.exited = exited
	go func(cmd *exec.Cmd) {
		_ = cmd.Wait()
		close(exited)
	}(e.cmd)

	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("etcd exited while starting: %v (log %s)", e.cmd.ProcessState, e.logf)
		default:
		}
		if healthy(e.client) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd on %s not healthy within 20s", e.client)
		}
		time.Sleep(50 * time.Millisecond) // polling /health, a condition with a deadline
	}
}

func healthy(hostport string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+hostport+"/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill ends etcd with SIGKILL, by its PID, as a crash would, and waits
// for it to be gone.
func (e *etcdServer) kill(t *testing.T) {
	t.Helper()
	if e.cmd == nil {
		return
	}
	select {
	case <-e.exited:
	default:
		if err := syscall.Kill(e.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Errorf("kill etcd %d: %v", e.cmd.Process.Pid, err)
		}
		<-e.exited
	}
	e.cmd = nil
}

// The test binary doubles as a gateway process that announces an
// address and then dies without withdrawing it, when the test kills it.
const announcerEnv = "WM_REGISTRY_TEST_ANNOUNCE" // "URL ADDR"

func TestMain(m *testing.M) {
	if v := os.Getenv(announcerEnv); v != "" {
		announcer(v)
		return
	}
	os.Exit(m.Run())
}

// announcer opens the registry, announces the address, prints
// "announced" and waits for stdin to close or for SIGKILL.
func announcer(v string) {
	var url, addr string
	if _, err := fmt.Sscan(v, &url, &addr); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	r, err := Open(url, nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if err := r.Announce(context.Background(), addr); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("announced")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// startAnnouncer runs the test binary as an announcer of addr and
// returns its process once the address is announced.
func startAnnouncer(t *testing.T, url, addr string) *os.Process {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), announcerEnv+"="+url+" "+addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s != "announced\n" {
			t.Fatalf("announcer: %q", s)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("announcer did not announce within 15s")
	}
	return cmd.Process
}
