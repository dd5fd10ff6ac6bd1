package main_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// The Gateway model across hosts: network namespaces joined by a bridge
// play three machines, a real etcd runs on the gateway host, and the
// business workers of two worker-only hosts find the gateway through it
// (the manual's 分布式部署).

// lab is a set of network namespaces on one bridge, 10.77.N.0/24.
type lab struct {
	t      *testing.T
	bridge string
	subnet string
	hosts  []string // namespace names; host i has address subnet.(i+1)
}

func newLab(t *testing.T, hosts int) *lab {
	testkit.NeedTool(t, "ip")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("network namespaces need root")
		}
		t.Skip("network namespaces need root")
	}
	id := os.Getpid() % 200
	l := &lab{t: t, bridge: fmt.Sprintf("wmbr%d", id), subnet: fmt.Sprintf("10.77.%d", id)}
	t.Cleanup(l.teardown)
	l.ip("link", "add", l.bridge, "type", "bridge")
	l.ip("addr", "add", l.subnet+".254/24", "dev", l.bridge)
	l.ip("link", "set", l.bridge, "up")
	for i := range hosts {
		ns := fmt.Sprintf("wmh%d-%d", id, i)
		veth, peer := fmt.Sprintf("wmv%d-%d", id, i), fmt.Sprintf("wmp%d-%d", id, i)
		l.ip("netns", "add", ns)
		l.hosts = append(l.hosts, ns)
		l.ip("link", "add", veth, "type", "veth", "peer", "name", peer)
		l.ip("link", "set", veth, "master", l.bridge, "up")
		l.ip("link", "set", peer, "netns", ns)
		l.ip("-n", ns, "addr", "add", l.addr(i)+"/24", "dev", peer)
		l.ip("-n", ns, "link", "set", peer, "up")
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	return l
}

// addr is host i's address.
func (l *lab) addr(i int) string { return fmt.Sprintf("%s.%d", l.subnet, i+1) }

func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (l *lab) teardown() {
	for _, ns := range l.hosts {
		exec.Command("ip", "netns", "del", ns).Run()
	}
	exec.Command("ip", "link", "del", l.bridge).Run()
}

// on runs cmd in host i's namespace.
func (l *lab) on(i int, cmd *exec.Cmd) *exec.Cmd {
	c := exec.Command("ip", append([]string{"netns", "exec", l.hosts[i], cmd.Path}, cmd.Args[1:]...)...)
	c.Env = cmd.Env
	return c
}

// startOn starts d's daemon on host i.
func (l *lab) startOn(i int, d *daemon) {
	l.t.Helper()
	out, err := l.on(i, d.command("start", "-d")).CombinedOutput()
	if err != nil {
		l.t.Fatalf("start on %s: %v\n%s\nlog:\n%s", l.hosts[i], err, out, d.log())
	}
}

// etcdOn runs a real etcd on host i, for as long as the test.
func (l *lab) etcdOn(i int) string {
	l.t.Helper()
	etcd := testkit.NeedTool(l.t, "etcd")
	client := "http://" + l.addr(i) + ":2379"
	cmd := l.on(i, exec.Command(etcd, "--data-dir", l.t.TempDir(), "--name", "lab",
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", "http://"+l.addr(i)+":2380",
		"--initial-advertise-peer-urls", "http://"+l.addr(i)+":2380",
		"--initial-cluster", "lab=http://"+l.addr(i)+":2380"))
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	eventually(l.t, 20*time.Second, "etcd to serve", func() bool {
		c, err := net.DialTimeout("tcp", l.addr(i)+":2379", time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "etcd://" + l.addr(i) + ":2379"
}

func TestGatewayAcrossHosts(t *testing.T) {
	l := newLab(t, 3)
	registry := l.etcdOn(0)
	testd := testdBuild.get(t, "testd", "./testdata/testd")

	gw := newDaemonBin(t, testd, "", map[string]string{"Gateway": fmt.Sprintf(
		"app = Gateway\nlisten = text://%s:{port}\nstart_workers = 1\nlan_ip = %s\nstart_port = 2900\nregistry = %s\n",
		l.addr(0), l.addr(0), registry)})
	workerHost := func() *daemon {
		return newDaemonBin(t, testd, "", map[string]string{"Worker": "app = BusinessWorker\nevent_handler = Counter\n" +
			"start_workers = 1\nregistry = " + registry + "\n"})
	}
	w1, w2 := workerHost(), workerHost()
	l.startOn(0, gw)
	l.startOn(1, w1)
	gwAddr := net.JoinHostPort(l.addr(0), strconv.Itoa(gw.port["Gateway"]))
	dial := func() *client {
		c, err := net.Dial("tcp", gwAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &client{t: t, Conn: c, r: bufio.NewReader(c)}
	}
	handledBy := func(c *client) int {
		pid, err := strconv.Atoi(c.ask("pid"))
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}

	// A message crosses hosts: client -> gateway host -> worker host 1.
	first := dial()
	if pid := handledBy(first); !slices.Contains(w1.pids("Worker"), pid) {
		t.Fatalf("handled by pid %d, want worker host 1's %v", pid, w1.pids("Worker"))
	}

	// A worker host that joins is used: new clients are spread over both.
	l.startOn(2, w2)
	w2pids := w2.pids("Worker")
	eventually(t, 15*time.Second, "a client handled on worker host 2", func() bool {
		return slices.Contains(w2pids, handledBy(dial()))
	})

	// Stopping a worker host loses nothing: its worker leaves only once
	// the gateway has every batch it sent it back, and the rest go to host 2.
	var clients []counterConn
	for range 50 {
		clients = append(clients, textConn{dial()})
	}
	load := startCounterLoad(t, clients, 4)
	if out, err := l.on(1, w1.command("stop")).CombinedOutput(); err != nil {
		t.Fatalf("stop worker host 1: %v\n%s", err, out)
	}
	for range 20 {
		if pid := handledBy(dial()); !slices.Contains(w2pids, pid) {
			t.Fatalf("after host 1 stopped, handled by pid %d, want host 2's %v", pid, w2pids)
		}
	}
	if answered := load.finish(t); answered == 0 {
		t.Error("the load answered nothing")
	}
	if got := handledBy(first); !slices.Contains(w2pids, got) {
		t.Errorf("the first client is now handled by %d, want host 2", got)
	}
}
