package main

// Real kube-apiservers over one etcd (one key prefix each), driven through kubectl.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

type server struct {
	name       string
	port       int
	dir        string
	kubeconfig string
	cmd        *exec.Cmd
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// freePort returns a loopback port that is free now and was never handed out before: the
// kernel may offer a just-closed port again before the process it was meant for binds it, and
// two API servers on one port would silently become one.
func freePort() int {
	portsMu.Lock()
	defer portsMu.Unlock()
	for try := 0; try < 100; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fatalf("no free loopback port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsUsed[port] {
			portsUsed[port] = true
			return port
		}
	}
	fatalf("no fresh loopback port after 100 tries")
	return 0
}

func startEtcd(bin, dir string) (string, *exec.Cmd) {
	client, peer := freePort(), freePort()
	url := fmt.Sprintf("http://127.0.0.1:%d", client)
	purl := fmt.Sprintf("http://127.0.0.1:%d", peer)
	cmd := exec.Command(filepath.Join(bin, "etcd"),
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", url, "--advertise-client-urls", url,
		"--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
		"--initial-cluster", "default="+purl, "--log-level", "warn",
		"--quota-backend-bytes", "4294967296")
	cmd.Stdout, cmd.Stderr = logFile(dir, "etcd.log"), logFile(dir, "etcd.log")
	if err := cmd.Start(); err != nil {
		fatalf("etcd: %v", err)
	}
	return url, cmd
}

func logFile(dir, name string) *os.File {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fatalf("%v", err)
	}
	return f
}

// startServer starts a kube-apiserver on a free loopback port; wait() blocks until it is ready.
func startServer(bin, work, etcd, name, saKey string) *server {
	dir := filepath.Join(work, "servers", name)
	must(os.MkdirAll(dir, 0o755))
	port := freePort()
	must(os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte("admin-token,admin,1,\"system:masters\"\n"), 0o600))
	args := []string{
		"--etcd-servers=" + etcd,
		"--etcd-prefix=/" + name,
		fmt.Sprintf("--secure-port=%d", port),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
	}
	cmd := exec.Command(filepath.Join(bin, "kube-apiserver"), args...)
	cmd.Stdout, cmd.Stderr = logFile(dir, "apiserver.log"), logFile(dir, "apiserver.log")
	if err := cmd.Start(); err != nil {
		fatalf("kube-apiserver %s: %v", name, err)
	}
	s := &server{name: name, port: port, dir: dir, cmd: cmd, kubeconfig: filepath.Join(dir, "kubeconfig")}
	must(os.WriteFile(s.kubeconfig, []byte(s.kubeconfigFor(name)), 0o600))
	return s
}

func (s *server) kubeconfigFor(context string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: %[1]s\n  cluster: {server: \"https://127.0.0.1:%[2]d\", insecure-skip-tls-verify: true}\nusers:\n- name: admin\n  user: {token: admin-token}\ncontexts:\n- name: %[1]s\n  context: {cluster: %[1]s, user: admin}\ncurrent-context: %[1]s\n", context, s.port)
}

func (s *server) wait() {
	deadline := time.Now().Add(180 * time.Second)
	for {
		if exited(s.cmd) {
			fatalf("%s: the API server exited (log: %s)", s.name, filepath.Join(s.dir, "apiserver.log"))
		}
		out, err := s.kubectl(nil, "get", "--raw", "/readyz")
		if err == nil && strings.TrimSpace(out) == "ok" {
			return
		}
		if time.Now().After(deadline) {
			fatalf("%s: API server not ready: %v (log: %s)", s.name, err, filepath.Join(s.dir, "apiserver.log"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

var kubectlBin string

// kubectlTimeout bounds every kubectl call, so that a wedged API server ends the run with an
// error instead of hanging it.
const kubectlTimeout = 3 * time.Minute

// kubectl runs kubectl against this server; stdin may be nil.
func (s *server) kubectl(stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, append([]string{"--kubeconfig=" + s.kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.String(), fmt.Errorf("kubectl %s: no answer from %s within %s", strings.Join(args, " "), s.name, kubectlTimeout)
		}
		return out.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (s *server) mustKubectl(stdin []byte, args ...string) string {
	out, err := s.kubectl(stdin, args...)
	if err != nil {
		fatalf("%s: %v", s.name, err)
	}
	return out
}

// applyRetrying applies server-side; a new CRD's schema reaches the apply machinery a little
// after Established, so failures are retried for a while.
func (s *server) applyRetrying(manager string, doc []byte) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := s.kubectl(doc, "apply", "--server-side", "--force-conflicts", "--field-manager="+manager, "-o", "json", "-f", "-")
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "no matches for kind") {
			return out, err
		}
		time.Sleep(time.Second)
	}
}

// list returns every object of the given resource types in a namespace.
func (s *server) list(types []string, ns string) []obj {
	out := s.mustKubectl(nil, "get", strings.Join(types, ","), "-n", ns, "-o", "json", "--ignore-not-found", "--show-managed-fields")
	if strings.TrimSpace(out) == "" {
		return nil
	}
	var l struct {
		Items []obj `json:"items"`
	}
	must(json.Unmarshal([]byte(out), &l))
	return l.Items
}

// namespacedTypes lists every namespaced resource type the server can list.
func (s *server) namespacedTypes() []string {
	out := s.mustKubectl(nil, "api-resources", "--verbs=list", "--namespaced", "-o", "name")
	var types []string
	for _, t := range strings.Fields(out) {
		// Events are records of what happened, not objects the controller manages.
		if t == "events" || t == "events.events.k8s.io" {
			continue
		}
		types = append(types, t)
	}
	return types
}

// exited reports whether a started process has ended (its reaper goroutine, see addChild, saw it).
func exited(cmd *exec.Cmd) bool {
	childrenMu.Lock()
	done := childDone[cmd]
	childrenMu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}
