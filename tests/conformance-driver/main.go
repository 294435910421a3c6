// Command conformance-driver runs the real k8ssandra-operator (control-plane mode) against real
// kube-apiservers, plays cass-operator and the pods (addresses of 192.0.2.0/24 on `lo` of a
// private network namespace, see fake.go), applies each upstream
// K8ssandraCluster fixture, and compares every object the operator creates with what
// k8ssandra-gitops renders for the same input (applied through the same kind of API server).
// Test tooling only; scripts/conformance builds and starts it.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

func must(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

var (
	childrenMu sync.Mutex
	children   []*exec.Cmd
	childDone  = map[*exec.Cmd]chan struct{}{} // closed when the child has ended
)

// addChild records a started process; one goroutine reaps it, so that its end is seen at once.
func addChild(c *exec.Cmd) {
	done := make(chan struct{})
	childrenMu.Lock()
	children = append(children, c)
	childDone[c] = done
	childrenMu.Unlock()
	go func() {
		_ = c.Wait()
		close(done)
	}()
}

// finishing is set once the run is over and its processes are being stopped: a background
// player (the fake operators' status loop) that then loses its API server is not a failure, it
// waits for the exit instead of racing it with exit code 2.
var finishing atomic.Bool

func fatalf(format string, a ...any) {
	if finishing.Load() {
		select {}
	}
	fmt.Fprintf(os.Stderr, "conformance: error: "+format+"\n", a...)
	stopAll()
	os.Exit(2)
}

func warnf(format string, a ...any) {
	if verbose {
		fmt.Fprintf(os.Stderr, "conformance: "+format+"\n", a...)
	}
}

// stopAll kills every process the driver started (the operator first, etcd last) and waits
// for them. scripts/conformance also runs the driver as the init of a private PID namespace,
// so the kernel kills whatever is left if the driver itself dies.
func stopAll() {
	childrenMu.Lock()
	defer childrenMu.Unlock()
	for i := len(children) - 1; i >= 0; i-- {
		if p := children[i].Process; p != nil {
			_ = p.Kill()
			<-childDone[children[i]]
		}
	}
	children = nil
}

var verbose bool

const (
	operatorNS      = "k8ssandra-operator"
	operatorManager = "k8ssandra-operator"
	oursManager     = "k8ssandra-gitops"
	driverManager   = "conformance-driver"
	controlPlane    = "control-plane"
)

type result struct {
	fixture                     string
	outcome                     string
	opObjs, ourObjs             int
	pairs, equal                int
	opOnly, oursOnly, diffPairs int
	apiCalls, tlsCalls          int // management API calls the fake pods answered (over mutual TLS)
	stalled                     bool
	notReached                  int // objects ours renders that a stalled operator had not created yet
	undocumented                []string
	documented                  []string
}

func main() {
	kubeBin := flag.String("kube-bin", "", "directory with kube-apiserver, etcd, kubectl")
	operator := flag.String("operator", "", "k8ssandra-operator binary")
	render := flag.String("render", "", "k8ssandra-gitops binary")
	corpus := flag.String("corpus", "", "directory of K8ssandraCluster fixtures")
	rulesFile := flag.String("rules", "", "normalisation data file")
	crds := flag.String("crds", "", "directory of CRD manifests to install in every cluster")
	imageConfig := flag.String("image-config", "", "image_config.yaml for the operator's image ConfigMap")
	work := flag.String("work", "", "work directory (logs, renders)")
	flag.StringVar(&hostsFile, "hosts", "", "the private copy of /etc/hosts bind-mounted in the harness's mount namespace")
	timeout := flag.Duration("timeout", 120*time.Second, "per-fixture limit for the operator to settle")
	flag.BoolVar(&verbose, "v", false, "print progress and every difference")
	flag.Parse()
	for n, v := range map[string]string{"kube-bin": *kubeBin, "operator": *operator, "render": *render, "corpus": *corpus, "rules": *rulesFile, "crds": *crds, "image-config": *imageConfig, "work": *work, "hosts": hostsFile} {
		if v == "" {
			fatalf("-%s is required", n)
		}
	}
	kubectlBin = filepath.Join(*kubeBin, "kubectl")
	r := loadRules(*rulesFile)
	if err := checkPrivateNetwork(); err != nil {
		fatalf("%v", err)
	}
	if err := checkHosts(hostsFile); err != nil {
		fatalf("%v", err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fatalf("interrupted (%v): stopped every process", s)
	}()

	fixtures := flag.Args()
	if len(fixtures) == 0 {
		entries, err := os.ReadDir(*corpus)
		must(err)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".yaml") {
				fixtures = append(fixtures, e.Name())
			}
		}
	}
	sort.Strings(fixtures)
	texts := map[string]string{}
	contexts := map[string]bool{}
	ctxRe := regexp.MustCompile(`(?m)^\s*k8sContext:\s*["']?([A-Za-z0-9._-]+)`)
	for _, f := range fixtures {
		data, err := os.ReadFile(filepath.Join(*corpus, f))
		must(err)
		texts[f] = string(data)
		for _, m := range ctxRe.FindAllStringSubmatch(string(data), -1) {
			contexts[m[1]] = true
		}
	}
	ctxNames := []string{}
	for c := range contexts {
		ctxNames = append(ctxNames, c)
	}
	sort.Strings(ctxNames)

	must(os.MkdirAll(*work, 0o755))
	start := time.Now()
	env := setUp(*kubeBin, *work, *operator, *crds, *imageConfig, ctxNames)
	fmt.Printf("conformance: environment up in %s (%d API servers, operator running)\n", time.Since(start).Round(time.Second), len(env.op)+len(env.ours))

	var results []*result
	for i, f := range fixtures {
		t0 := time.Now()
		res := env.runFixture(i, f, texts[f], *render, *work, *timeout, r)
		results = append(results, res)
		fmt.Printf("conformance: %-42s %-22s %s\n", f, res.outcome, time.Since(t0).Round(time.Second))
		if verbose {
			for _, d := range res.undocumented {
				fmt.Printf("    UNDOCUMENTED %s\n", d)
			}
		}
	}
	code := report(results, r, time.Since(start), len(flag.Args()) == 0)
	finishing.Store(true)
	stopAll()
	// The logs stay for diagnosis; etcd's data (up to gigabytes) does not.
	_ = os.RemoveAll(filepath.Join(*work, "etcd"))
	os.Exit(code)
}

type env struct {
	op, ours map[string]*server // by role: control-plane or a context name
	fake     *fakeCluster
	log      string // the operator's log
	mu       sync.Mutex
	active   []string
	types    []string
}

func setUp(kubeBin, work, operator, crds, imageConfig string, ctxNames []string) *env {
	etcdURL, etcd := startEtcd(kubeBin, work)
	addChild(etcd)
	saKey := filepath.Join(work, "sa.key")
	if out, err := exec.Command("openssl", "genrsa", "-out", saKey, "2048").CombinedOutput(); err != nil {
		fatalf("openssl genrsa: %v: %s", err, out)
	}
	ca, err := newTestCA()
	if err != nil {
		fatalf("test CA: %v", err)
	}
	e := &env{op: map[string]*server{}, ours: map[string]*server{}, fake: newFakeCluster(ca), log: filepath.Join(work, "operator.log")}
	roles := append([]string{controlPlane}, ctxNames...)
	for _, role := range roles {
		e.op[role] = startServer(kubeBin, work, etcdURL, "op-"+role, saKey)
		e.ours[role] = startServer(kubeBin, work, etcdURL, "ours-"+role, saKey)
		addChild(e.op[role].cmd)
		addChild(e.ours[role].cmd)
	}
	// Webhook serving certificate: self-signed for 127.0.0.1.
	certDir := filepath.Join(work, "tmp", "k8s-webhook-server", "serving-certs")
	must(os.MkdirAll(certDir, 0o755))
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
		"-keyout", filepath.Join(certDir, "tls.key"), "-out", filepath.Join(certDir, "tls.crt")).CombinedOutput(); err != nil {
		fatalf("openssl req: %v: %s", err, out)
	}
	cert, err := os.ReadFile(filepath.Join(certDir, "tls.crt"))
	must(err)
	webhooks := webhookConfig(base64.StdEncoding.EncodeToString(cert))
	all := []*server{}
	for _, role := range roles {
		all = append(all, e.op[role], e.ours[role])
	}
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func(s *server) {
			defer wg.Done()
			s.wait()
			s.mustKubectl(nil, "apply", "--server-side", "--field-manager="+driverManager, "-f", crds)
			// A CRD without status yet makes `kubectl wait` fail instead of wait: retried.
			for try := 0; ; try++ {
				_, err := s.kubectl(nil, "wait", "--for=condition=Established", "--timeout=120s", "crd", "--all")
				if err == nil {
					break
				}
				if try == 60 {
					fatalf("%s: %v", s.name, err)
				}
				time.Sleep(time.Second)
			}
			s.mustKubectl([]byte(webhooks), "apply", "--server-side", "--field-manager="+driverManager, "-f", "-")
		}(s)
	}
	wg.Wait()
	cp := e.op[controlPlane]
	cp.mustKubectl(nil, "create", "namespace", operatorNS)
	ic, err := os.ReadFile(imageConfig)
	must(err)
	cm, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "k8ssandra-operator-image-config", "namespace": operatorNS, "labels": map[string]any{"k8ssandra.io/config": "image"}},
		"data":     map[string]any{"image_config.yaml": string(ic)}})
	cp.mustKubectl(cm, "apply", "--server-side", "--field-manager="+driverManager, "-f", "-")
	for _, c := range ctxNames {
		sec, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Secret",
			"metadata":   map[string]any{"name": c + "-config", "namespace": operatorNS},
			"stringData": map[string]any{"kubeconfig": e.op[c].kubeconfigFor(c)}})
		cc, _ := json.Marshal(map[string]any{"apiVersion": "config.k8ssandra.io/v1beta1", "kind": "ClientConfig",
			"metadata": map[string]any{"name": c, "namespace": operatorNS},
			"spec":     map[string]any{"contextName": c, "kubeConfigSecret": map[string]any{"name": c + "-config"}}})
		cp.mustKubectl(sec, "apply", "--server-side", "--field-manager="+driverManager, "-f", "-")
		cp.mustKubectl(cc, "apply", "--server-side", "--field-manager="+driverManager, "-f", "-")
	}
	e.types = cp.namespacedTypes()
	// The operator, in control-plane mode, cluster scope.
	cmd := exec.Command(operator, "--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+cp.kubeconfig,
		"K8SSANDRA_CONTROL_PLANE=true",
		"WATCH_NAMESPACE=",
		"OPERATOR_NAMESPACE="+operatorNS,
		"TMPDIR="+filepath.Join(work, "tmp"),
		"REQUEUE_DEFAULT_DELAY=1s",
		"REQUEUE_LONG_DELAY=2s",
	)
	lf := logFile(work, "operator.log")
	cmd.Stdout, cmd.Stderr = lf, lf
	must(cmd.Start())
	addChild(cmd)
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:9443", time.Second)
		if err == nil {
			c.Close()
			break
		}
		if exited(cmd) || time.Now().After(deadline) {
			fatalf("the operator's webhook server did not come up (log: %s)", filepath.Join(work, "operator.log"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	go func() {
		servers := []*server{}
		for _, role := range roles {
			servers = append(servers, e.op[role])
		}
		for !finishing.Load() {
			e.mu.Lock()
			ns := append([]string{}, e.active...)
			e.mu.Unlock()
			if len(ns) > 0 {
				e.fake.tick(servers, ns)
			}
			time.Sleep(time.Second)
		}
	}()
	return e
}

// webhookConfig registers the operator's validating webhooks (paths from its
// config/webhook/manifests.yaml) at the local webhook server.
func webhookConfig(caBundle string) string {
	hook := func(name, path, group, resource string) map[string]any {
		return map[string]any{
			"name": name, "admissionReviewVersions": []string{"v1"}, "sideEffects": "None", "failurePolicy": "Fail",
			"clientConfig": map[string]any{"url": "https://127.0.0.1:9443" + path, "caBundle": caBundle},
			"rules":        []any{map[string]any{"apiGroups": []string{group}, "apiVersions": []string{"v1alpha1"}, "operations": []string{"CREATE", "UPDATE"}, "resources": []string{resource}}},
		}
	}
	v, _ := json.Marshal(map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
		"metadata": map[string]any{"name": "k8ssandra-operator-validating"},
		"webhooks": []any{
			hook("vmedusabackupschedule.kb.io", "/validate-medusa-k8ssandra-io-v1alpha1-medusabackupschedule", "medusa.k8ssandra.io", "medusabackupschedules"),
			hook("vk8ssandracluster.kb.io", "/validate-k8ssandra-io-v1alpha1-k8ssandracluster", "k8ssandra.io", "k8ssandraclusters"),
		},
	})
	return string(v)
}

// splitDocs parses a YAML stream into objects.
func splitDocs(text string) []obj {
	var out []obj
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(text, -1) {
		if strings.TrimSpace(d) == "" {
			continue
		}
		var o obj
		if err := yaml.Unmarshal([]byte(d), &o); err != nil {
			fatalf("parse: %v", err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

func nsName(base, orig string) string {
	n := base
	if orig != "" {
		n = base + "-" + orig
	}
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}

func (e *env) runFixture(i int, name, text, render, work string, timeout time.Duration, r *rules) *result {
	res := &result{fixture: name}
	base := fmt.Sprintf("c%02d", i)
	type tlsSecret struct {
		role, namespace, name string
		client                bool
	}
	var tlsSecrets []tlsSecret
	var userConfigMaps [][3]string // context, namespace, name
	docs := splitDocs(text)
	namespaces := map[string]bool{}
	for _, d := range docs {
		meta, _ := d["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			d["metadata"] = meta
		}
		orig, _ := meta["namespace"].(string)
		meta["namespace"] = nsName(base, orig)
		namespaces[meta["namespace"].(string)] = true
		spec, _ := d["spec"].(map[string]any)
		cass, _ := spec["cassandra"].(map[string]any)
		dcs, _ := cass["datacenters"].([]any)
		for _, dc := range dcs {
			dm, _ := dc.(map[string]any)
			m, _ := dm["metadata"].(map[string]any)
			dcNS := meta["namespace"].(string)
			if ns, ok := m["namespace"].(string); ok && ns != "" {
				m["namespace"] = nsName(base, ns)
				dcNS = m["namespace"].(string)
				namespaces[dcNS] = true
			}
			// A user-provided per-node ConfigMap (upstream's e2e test creates it).
			pn, _ := dm["perNodeConfigMapRef"].(map[string]any)
			if pn == nil {
				pn, _ = cass["perNodeConfigMapRef"].(map[string]any)
			}
			if n, _ := pn["name"].(string); n != "" {
				role, _ := dm["k8sContext"].(string)
				if role == "" {
					role = controlPlane
				}
				userConfigMaps = append(userConfigMaps, [3]string{role, dcNS, n})
			}
			// Mutual TLS for the management API: the Secrets it names, as a user creates them.
			auth, _ := dm["managementApiAuth"].(map[string]any)
			if auth == nil {
				auth, _ = cass["managementApiAuth"].(map[string]any)
			}
			if manual, ok := auth["manual"].(map[string]any); ok {
				role, _ := dm["k8sContext"].(string)
				if role == "" {
					role = controlPlane
				}
				for _, side := range []string{"clientSecretName", "serverSecretName"} {
					if n, _ := manual[side].(string); n != "" {
						tlsSecrets = append(tlsSecrets, tlsSecret{role, dcNS, n, side == "clientSecretName"})
					}
				}
			}
		}
	}
	nsList := []string{}
	for n := range namespaces {
		nsList = append(nsList, n)
	}
	sort.Strings(nsList)
	for _, s := range append(values(e.op), values(e.ours)...) {
		for _, n := range nsList {
			_, _ = s.kubectl(nil, "create", "namespace", n)
		}
	}
	for _, d := range docs {
		// A Reaper the cluster references but the fixture does not contain: played by a fake
		// Reaper REST API under the service name the operator derives (<name>-service.<ns>, pkg/reaper GetServiceName).
		if ref, ok := field(d, "spec", "reaper", "reaperRef").(map[string]any); ok {
			n, _ := ref["name"].(string)
			ns, _ := ref["namespace"].(string)
			if ns == "" {
				ns = obj(d).namespace()
			}
			if n != "" {
				e.fake.serveReaper(n + "-service." + ns)
			}
			// Its UI credentials, a Secret the user creates (upstream's e2e test does).
			if ui := str(d, "spec", "reaper", "uiUserSecretRef", "name"); ui != "" {
				sec, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Secret",
					"metadata":   map[string]any{"name": ui, "namespace": obj(d).namespace()},
					"stringData": map[string]any{"username": "conformance", "password": "conformance"}})
				e.op[controlPlane].mustKubectl(sec, "apply", "--server-side", "--field-manager="+driverManager, "-f", "-")
			}
		}
	}
	for _, c := range userConfigMaps {
		if s := e.op[c[0]]; s != nil {
			cm, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": c[2], "namespace": c[1]}, "data": map[string]any{}})
			s.mustKubectl(cm, "apply", "--server-side", "--field-manager="+driverManager, "-f", "-")
		}
	}
	for _, t := range tlsSecrets {
		s := e.op[t.role]
		if s == nil {
			continue // an unknown context: the operator reports it
		}
		sec, err := e.fake.ca.secret(t.name, t.namespace, t.client)
		must(err)
		body, _ := json.Marshal(sec)
		s.mustKubectl(body, "apply", "--server-side", "--field-manager="+driverManager, "-f", "-")
	}
	dir := filepath.Join(work, "fixtures", strings.TrimSuffix(name, ".yaml"))
	must(os.MkdirAll(dir, 0o755))
	var stream []string
	for _, d := range docs {
		y, _ := yaml.Marshal(d)
		stream = append(stream, string(y))
	}
	input := strings.Join(stream, "---\n")

	// Ours: the same input in a repository, rendered by the binary.
	repo := filepath.Join(dir, "repo")
	must(os.MkdirAll(repo, 0o755))
	must(os.WriteFile(filepath.Join(repo, "cluster.yaml"), []byte(input), 0o644))
	var cc strings.Builder
	for role := range e.op {
		if role != controlPlane {
			fmt.Fprintf(&cc, "---\napiVersion: config.k8ssandra.io/v1beta1\nkind: ClientConfig\nmetadata:\n  name: %s\nspec:\n  kubeConfigSecret:\n    name: %s\n", role, role)
		}
	}
	must(os.WriteFile(filepath.Join(repo, "clientconfigs.yaml"), []byte(cc.String()), 0o644))
	must(os.WriteFile(filepath.Join(repo, "render-config.yaml"), []byte("apiVersion: gitops.k8ssandra.io/v1alpha1\nkind: RenderConfig\nmetadata: {name: default}\nspec:\n  secrets:\n    backend: externalSecrets\n    externalSecrets:\n      storeRef: {kind: ClusterSecretStore, name: vault}\n"), 0o644))
	out := filepath.Join(dir, "rendered")
	rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer rcancel()
	rc := exec.CommandContext(rctx, render, "render", ".", "-o", out)
	rc.Dir = repo
	renderOut, renderErr := rc.CombinedOutput()
	must(os.WriteFile(filepath.Join(dir, "render.log"), renderOut, 0o644))
	oursRefused := renderErr != nil

	// The operator: the same input applied to the control plane (its webhook validates it).
	cp := e.op[controlPlane]
	logStart := fileSize(e.log)
	_, applyErr := cp.applyRetrying(driverManager, []byte(input))
	opRefused := applyErr != nil
	if applyErr != nil {
		must(os.WriteFile(filepath.Join(dir, "operator-refusal.txt"), []byte(applyErr.Error()), 0o644))
	}
	switch {
	case opRefused && oursRefused:
		res.outcome = "refused by both"
		return res
	case opRefused || oursRefused:
		side := "operator-refuses"
		if oursRefused {
			side = "ours-refuses"
		}
		res.outcome = side
		if f := r.fixture(name); f != nil && f.Outcome == side {
			f.used++
			res.documented = append(res.documented, side+": "+f.Reason)
			res.outcome += " (documented)"
		} else {
			msg := strings.TrimSpace(string(renderOut))
			if opRefused {
				msg = applyErr.Error()
			}
			res.undocumented = append(res.undocumented, side+": "+firstLine(msg))
		}
		if oursRefused {
			e.settle(nsList, timeout, e.finished(logStart, nsList)) // the operator's output is still collected for the record
			e.dumpAll(nsList, filepath.Join(dir, "operator-side-all.json"))
			e.cleanup(nsList, res)
		}
		return res
	}

	done := e.finished(logStart, nsList)
	settled := e.settle(nsList, timeout, done)
	opObjs := e.collectOperator(nsList)
	e.dumpAll(nsList, filepath.Join(dir, "operator-side-all.json"))
	complete, waited := done(), e.lastWord(logStart, nsList) // before the deletion's log lines
	e.cleanup(nsList, res)
	ourObjs := e.applyOurs(out, dir, res)
	dump(filepath.Join(dir, "operator.json"), opObjs)
	dump(filepath.Join(dir, "ours.json"), ourObjs)
	compare(opObjs, ourObjs, r, res, complete)
	switch {
	case !complete:
		// The operator never finished reconciling: what it waited for, from its log. Objects it
		// did not reach are not differences; the stall is reported (and fails the run) on its own.
		res.outcome = "stalled: " + waited
		if f := r.fixture(name); f != nil && f.Outcome == "stalled" {
			f.used++
			res.documented = append(res.documented, "stalled: "+f.Reason)
			res.outcome = "stalled (documented): " + waited
		} else {
			res.stalled = true
		}
	case !settled:
		res.outcome = "compared (not settled)"
	default:
		res.outcome = "compared"
	}
	return res
}

func fileSize(file string) int64 {
	fi, err := os.Stat(file)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// operatorLog returns the operator's log lines since offset that concern the fixture's
// namespaces (its lines name the K8ssandraCluster as {"name":...,"namespace":...}).
func (e *env) operatorLog(offset int64, nsList []string) []string {
	f, err := os.Open(e.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	data, _ := io.ReadAll(f)
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		for _, n := range nsList {
			if strings.Contains(l, `"namespace":"`+n+`"`) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// finished reports whether the operator has logged the end of a full reconciliation of the
// fixture's cluster ("Finished reconciling the k8ssandracluster", the last step of its
// K8ssandraCluster reconcile) since offset.
func (e *env) finished(offset int64, nsList []string) func() bool {
	return func() bool {
		for _, l := range e.operatorLog(offset, nsList) {
			if strings.Contains(l, "Finished reconciling the k8ssandracluster") {
				return true
			}
		}
		return false
	}
}

// lastWord summarises what a stalled operator waited for: its last error for the fixture's
// cluster, else its last message.
func (e *env) lastWord(offset int64, nsList []string) string {
	lines := e.operatorLog(offset, nsList)
	msgRe := regexp.MustCompile(`^\S+\t(\S+)\t([^\t{]*)`)
	errRe := regexp.MustCompile(`"error": "((?:[^"\\]|\\.)*)"`)
	last := ""
	for i := len(lines) - 1; i >= 0; i-- {
		m := msgRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if last == "" {
			last = strings.TrimSpace(m[2])
		}
		if m[1] == "ERROR" {
			if em := errRe.FindStringSubmatch(lines[i]); em != nil {
				return strings.TrimSpace(m[2]) + ": " + em[1]
			}
			return strings.TrimSpace(m[2])
		}
	}
	if last == "" {
		return "no log line for the cluster"
	}
	return last
}

func values(m map[string]*server) []*server {
	var out []*server
	for _, s := range m {
		out = append(out, s)
	}
	return out
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "error") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(strings.SplitN(s, "\n", 2)[0])
}

func dump(file string, objs map[string]obj) {
	b, _ := json.MarshalIndent(objs, "", "  ")
	must(os.WriteFile(file, b, 0o644))
}

// settle lets the fake cass-operator run until the operator's objects stop changing: for 8
// seconds once it has finished a reconciliation, for 16 seconds if it has not (a stall).
// Bounded by timeout; returns false if the objects were still changing then.
func (e *env) settle(nsList []string, timeout time.Duration, finished func() bool) bool {
	e.mu.Lock()
	e.active = append(e.active, nsList...)
	e.mu.Unlock()
	deadline := time.Now().Add(timeout)
	last, stable := "", 0
	for time.Now().Before(deadline) {
		time.Sleep(2 * time.Second)
		sig := e.signature(nsList)
		if sig == last && sig != "" {
			stable++
		} else {
			stable = 0
		}
		last = sig
		if stable >= 8 || (stable >= 4 && finished()) {
			return true
		}
	}
	warnf("the operator's objects were still changing after %s", timeout)
	return false
}

func (e *env) cleanup(nsList []string, res *result) {
	e.fake.mu.Lock()
	for ck, calls := range e.fake.calls {
		for _, n := range nsList {
			if strings.HasPrefix(ck, n+"/") {
				res.apiCalls += len(calls)
				res.tlsCalls += e.fake.tlsCalls[ck]
			}
		}
	}
	e.fake.mu.Unlock()
	e.op[controlPlane].kubectl(nil, "delete", "k8ssandraclusters.k8ssandra.io", "--all", "--wait=false", "-n", nsList[0])
	for _, n := range nsList[1:] {
		e.op[controlPlane].kubectl(nil, "delete", "k8ssandraclusters.k8ssandra.io", "--all", "--wait=false", "-n", n)
	}
	e.mu.Lock()
	keep := e.active[:0]
	for _, a := range e.active {
		drop := false
		for _, n := range nsList {
			drop = drop || a == n
		}
		if !drop {
			keep = append(keep, a)
		}
	}
	e.active = keep
	e.mu.Unlock()
	e.fake.release(nsList)
}

// signature is every operator-written object's identity and version, to detect quiescence.
func (e *env) signature(nsList []string) string {
	var parts []string
	for key, o := range e.collectOperator(nsList) {
		parts = append(parts, key+"@"+str(o, "metadata", "resourceVersion"))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// dumpAll records every object of the fixture's namespaces on the operator side, for diagnosis.
func (e *env) dumpAll(nsList []string, file string) {
	all := map[string]obj{}
	for role, s := range e.op {
		for _, n := range nsList {
			for _, o := range s.list(e.types, n) {
				all[key(role, o)] = o
			}
		}
	}
	dump(file, all)
}

func managedBy(o obj, manager string) bool {
	meta, _ := o["metadata"].(map[string]any)
	mf, _ := meta["managedFields"].([]any)
	for _, m := range mf {
		mm, _ := m.(map[string]any)
		if mm["manager"] == manager && mm["subresource"] == nil {
			return true
		}
	}
	return false
}

func key(role string, o obj) string {
	return fmt.Sprintf("%s %s %s/%s", role, o.kind(), o.namespace(), o.name())
}

// collectOperator gathers every object the operator wrote (not its status updates) in the
// fixture's namespaces of every cluster, except the input K8ssandraCluster.
func (e *env) collectOperator(nsList []string) map[string]obj {
	out := map[string]obj{}
	for role, s := range e.op {
		for _, n := range nsList {
			for _, o := range s.list(e.types, n) {
				if o.kind() == "K8ssandraCluster" || !managedBy(o, operatorManager) {
					continue
				}
				out[key(role, o)] = o
			}
		}
	}
	return out
}

// applyOurs applies each rendered context to its API server and returns the stored objects.
// An ExternalSecret stands for the Secret its target template describes (the external-secrets
// controller is not run); that Secret is applied instead.
func (e *env) applyOurs(out, dir string, res *result) map[string]obj {
	objs := map[string]obj{}
	entries, err := os.ReadDir(out)
	must(err)
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		role := ent.Name()
		s := e.ours[role]
		if s == nil {
			res.undocumented = append(res.undocumented, "ours renders context "+role+" that has no cluster")
			continue
		}
		_ = filepath.Walk(filepath.Join(out, role), func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || !strings.HasSuffix(p, ".yaml") || filepath.Base(p) == "kustomization.yaml" {
				return nil
			}
			data, err := os.ReadFile(p)
			must(err)
			for _, o := range splitDocs(string(data)) {
				if o.kind() == "ExternalSecret" {
					o = secretOf(o)
				}
				body, _ := json.Marshal(o)
				stored, err := s.applyRetrying(oursManager, body)
				if err != nil {
					if strings.Contains(err.Error(), "no matches for kind") || strings.Contains(err.Error(), "resource mapping not found") {
						// A kind this cluster has no CRD for (e.g. generators): compared as rendered.
						objs[key(role, o)] = o
						continue
					}
					res.undocumented = append(res.undocumented, fmt.Sprintf("%s: the API server refused our %s %s: %s", role, o.kind(), o.name(), firstLine(err.Error())))
					continue
				}
				var so obj
				must(json.Unmarshal([]byte(stored), &so))
				objs[key(role, so)] = so
			}
			return nil
		})
	}
	return objs
}

func secretOf(es obj) obj {
	spec, _ := es["spec"].(map[string]any)
	target, _ := spec["target"].(map[string]any)
	tmpl, _ := target["template"].(map[string]any)
	tmeta, _ := tmpl["metadata"].(map[string]any)
	name, _ := target["name"].(string)
	if name == "" {
		name = es.name()
	}
	meta := map[string]any{"name": name, "namespace": es.namespace()}
	for _, k := range []string{"labels", "annotations"} {
		if v, ok := tmeta[k]; ok {
			meta[k] = v
		}
	}
	typ, _ := tmpl["type"].(string)
	if typ == "" {
		typ = "Opaque"
	}
	data := map[string]any{}
	if items, ok := spec["data"].([]any); ok {
		for _, it := range items {
			m, _ := it.(map[string]any)
			if k, ok := m["secretKey"].(string); ok {
				data[k] = base64.StdEncoding.EncodeToString([]byte("from-the-secret-store"))
			}
		}
	}
	if td, ok := tmpl["data"].(map[string]any); ok {
		for k := range td {
			data[k] = base64.StdEncoding.EncodeToString([]byte("from-the-secret-store"))
		}
	}
	return obj{"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": typ, "data": data}
}

func compare(op, ours map[string]obj, r *rules, res *result, complete bool) {
	res.opObjs, res.ourObjs = len(op), len(ours)
	keys := map[string]bool{}
	for k := range op {
		keys[k] = true
	}
	for k := range ours {
		keys[k] = true
	}
	sorted := []string{}
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		a, aok := op[k]
		b, bok := ours[k]
		switch {
		case aok && bok:
			res.pairs++
			r.apply(a, "operator", res.fixture)
			r.apply(b, "ours", res.fixture)
			r.pruneAgainst(a, b, "operator", res.fixture)
			r.pruneAgainst(b, a, "ours", res.fixture)
			var d []string
			diff("", map[string]any(a), map[string]any(b), &d)
			if len(d) == 0 {
				res.equal++
			} else {
				res.diffPairs++
				for _, x := range d {
					res.undocumented = append(res.undocumented, k+": "+x)
				}
			}
		case aok:
			res.opOnly++
			if t := r.tolerated("operator", res.fixture, strings.SplitN(k, " ", 2)[0], a); t != nil {
				t.used++
				res.documented = append(res.documented, k+": operator only: "+t.Reason)
			} else {
				res.undocumented = append(res.undocumented, k+": only the operator creates it")
			}
		default:
			res.oursOnly++
			if t := r.tolerated("ours", res.fixture, strings.SplitN(k, " ", 2)[0], b); t != nil {
				t.used++
				res.documented = append(res.documented, k+": ours only: "+t.Reason)
			} else if !complete {
				res.notReached++
			} else {
				res.undocumented = append(res.undocumented, k+": only ours renders it")
			}
		}
	}
}

func report(results []*result, r *rules, elapsed time.Duration, full bool) int {
	row := func(a ...any) {
		fmt.Printf("| %-42s | %-34s | %4v | %4v | %5v | %5v | %7v | %9v | %9v | %12v |\n", a...)
	}
	fmt.Println()
	row("fixture", "outcome", "op", "ours", "pairs", "equal", "op-only", "ours-only", "mgmt api", "undocumented")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 44), strings.Repeat("-", 36), "------", "------", "-------", "-------", "---------", "-----------", "-----------", "--------------")
	var t result
	bad, clean, stalled, refusedOne, refusedBoth := 0, 0, 0, 0, 0
	for _, x := range results {
		outcome := x.outcome
		if len(outcome) > 34 {
			outcome = outcome[:31] + "..."
		}
		api := fmt.Sprint(x.apiCalls)
		if x.tlsCalls > 0 {
			api = fmt.Sprintf("%d mTLS", x.tlsCalls)
		}
		oursOnly := fmt.Sprint(x.oursOnly)
		if x.notReached > 0 {
			oursOnly = fmt.Sprintf("%d (%d n/r)", x.oursOnly, x.notReached)
		}
		row(x.fixture, outcome, x.opObjs, x.ourObjs, x.pairs, x.equal, x.opOnly, oursOnly, api, len(x.undocumented))
		t.opObjs += x.opObjs
		t.ourObjs += x.ourObjs
		t.pairs += x.pairs
		t.equal += x.equal
		t.opOnly += x.opOnly
		t.oursOnly += x.oursOnly
		t.apiCalls += x.apiCalls
		switch {
		case x.stalled:
			stalled++
		case x.outcome == "refused by both":
			refusedBoth++
		case strings.Contains(x.outcome, "refuses") && len(x.undocumented) == 0:
			refusedOne++
		}
		if len(x.undocumented) > 0 {
			bad++
		} else if !x.stalled {
			clean++
		}
	}
	row("total", fmt.Sprintf("%d fixtures, %d clean", len(results), clean), t.opObjs, t.ourObjs, t.pairs, t.equal, t.opOnly, t.oursOnly, t.apiCalls, bad)
	fmt.Println()
	for _, x := range results {
		if x.stalled {
			fmt.Printf("STALLED %s: %s\n", x.fixture, x.outcome)
		}
		for _, d := range x.undocumented {
			fmt.Printf("UNDOCUMENTED %s: %s\n", x.fixture, d)
		}
	}
	if full {
		for _, u := range r.unused() {
			fmt.Printf("UNUSED normalisation entry: %s\n", u)
		}
	}
	fmt.Printf("\nconformance: %d fixtures in %s (%d refused by both sides, %d by one side as documented, %d stalled); %d object pairs, %d equal after documented normalisation; %d fixtures with undocumented differences\n",
		len(results), elapsed.Round(time.Second), refusedBoth, refusedOne, stalled, t.pairs, t.equal, bad)
	if bad > 0 || stalled > 0 {
		return 1
	}
	return 0
}
