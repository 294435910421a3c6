package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func parse(t *testing.T, s string) obj {
	t.Helper()
	var o obj
	if err := yaml.Unmarshal([]byte(s), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestDropIfOtherAbsentKeepsComparingWhereBothHaveTheValue(t *testing.T) {
	r := &rules{Fields: []*fieldRule{{Kind: "CassandraDatacenter", Side: "ours", Action: "drop-if-other-absent",
		Path: []string{"spec", "podTemplateSpec", "metadata", "annotations", "k8ssandra.io/inject-secret"}, Reason: "test"}}}
	op := parse(t, "kind: CassandraDatacenter\nspec: {podTemplateSpec: {metadata: {}}}\n")
	ours := parse(t, "kind: CassandraDatacenter\nspec: {podTemplateSpec: {metadata: {annotations: {k8ssandra.io/inject-secret: x}}}}\n")
	r.pruneAgainst(ours, op, "ours", "f.yaml")
	if !reflect.DeepEqual(ours, op) {
		t.Fatalf("value absent on the operator's side not dropped: %v", ours)
	}
	// Both sides have it: compared, so a different value is still a difference.
	op = parse(t, "kind: CassandraDatacenter\nspec: {podTemplateSpec: {metadata: {annotations: {k8ssandra.io/inject-secret: y}}}}\n")
	ours = parse(t, "kind: CassandraDatacenter\nspec: {podTemplateSpec: {metadata: {annotations: {k8ssandra.io/inject-secret: x}}}}\n")
	r.pruneAgainst(ours, op, "ours", "f.yaml")
	var d []string
	diff("", map[string]any(op), map[string]any(ours), &d)
	if len(d) != 1 || !strings.Contains(d[0], "inject-secret") {
		t.Fatalf("differing values not reported: %v", d)
	}
	if r.Fields[0].used != 1 {
		t.Fatalf("use count %d, want 1", r.Fields[0].used)
	}
}

func TestFieldRuleScopedToAFixture(t *testing.T) {
	r := &rules{Fields: []*fieldRule{{Fixture: "multi-dc-dse.yaml", Kind: "CassandraTask", Action: "drop",
		Path: []string{"spec", "jobs", "*", "args", "source_datacenter"}, Reason: "test"}}}
	o := parse(t, "kind: CassandraTask\nspec: {jobs: [{args: {source_datacenter: a}}]}\n")
	r.apply(o, "operator", "other.yaml")
	if str(o["spec"].(map[string]any)["jobs"].([]any)[0].(map[string]any)["args"].(map[string]any), "source_datacenter") != "a" {
		t.Fatalf("rule applied to another fixture: %v", o)
	}
	r.apply(o, "operator", "multi-dc-dse.yaml")
	if job := o["spec"].(map[string]any)["jobs"].([]any)[0].(map[string]any); field(job, "args", "source_datacenter") != nil {
		t.Fatalf("rule not applied to its fixture: %v", o)
	}
}

func TestDropEmptyKeepsEmptyObjectsBothSidesWrite(t *testing.T) {
	r := &rules{Fields: []*fieldRule{{Path: []string{"spec"}, Action: "drop-empty", Side: "operator", Reason: "test"}}}
	op := parse(t, "kind: X\nspec: {resources: {}, volume: {emptyDir: {}}}\n")
	ours := parse(t, "kind: X\nspec: {volume: {emptyDir: {}}}\n")
	r.pruneAgainst(op, ours, "operator", "f.yaml")
	if !reflect.DeepEqual(op, ours) {
		t.Fatalf("got %v, want %v", op, ours)
	}
}

func TestUnusedEntriesAreListed(t *testing.T) {
	r := &rules{
		Fields:   []*fieldRule{{Path: []string{"a"}, Action: "drop", Reason: "used"}, {Path: []string{"b"}, Action: "drop", Reason: "never"}},
		Objects:  []*objectRule{{Side: "ours", Kind: "Job", Reason: "never either"}},
		Fixtures: []*fixtureRule{{Fixture: "x.yaml", Outcome: "stalled", Reason: "waits", used: 1}},
	}
	r.apply(obj{"a": 1}, "ours", "f.yaml")
	got := r.unused()
	if len(got) != 2 || !strings.Contains(got[0], "never") || !strings.Contains(got[1], "never either") {
		t.Fatalf("unused: %v", got)
	}
}

func TestLastWordNamesTheLastErrorOfTheCluster(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "operator.log")
	lines := []string{
		"2026-01-01T00:00:00Z\tINFO\tReconciling seeds\t{\"K8ssandraCluster\": {\"name\":\"a\",\"namespace\":\"c01\"}}",
		"2026-01-01T00:00:01Z\tERROR\tReconciler error\t{\"K8ssandraCluster\": {\"name\":\"a\",\"namespace\":\"c01\"}, \"error\": \"dial tcp: \\\"x\\\" refused\"}",
		"2026-01-01T00:00:02Z\tINFO\tWaiting for replication\t{\"K8ssandraCluster\": {\"name\":\"a\",\"namespace\":\"c01\"}}",
		"2026-01-01T00:00:03Z\tERROR\tReconciler error\t{\"K8ssandraCluster\": {\"name\":\"b\",\"namespace\":\"c02\"}, \"error\": \"other cluster\"}",
	}
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &env{log: log}
	if got, want := e.lastWord(0, []string{"c01"}), `Reconciler error: dial tcp: \"x\" refused`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if e.finished(0, []string{"c01"})() {
		t.Fatal("finished without the log line")
	}
	if got := e.lastWord(0, []string{"c03"}); got != "no log line for the cluster" {
		t.Fatalf("got %q", got)
	}
}

// The fake management API's mutual TLS: a client with the certificate of the client Secret
// the harness creates gets through; a client without one does not.
func TestMutualTLSRequiresTheClientSecretCertificate(t *testing.T) {
	ca, err := newTestCA()
	if err != nil {
		t.Fatal(err)
	}
	sec, err := ca.secret("c-mgmt", "ns", true)
	if err != nil {
		t.Fatal(err)
	}
	data := sec["stringData"].(map[string]any)
	if sec["type"] != "kubernetes.io/tls" {
		t.Fatalf("type %v", sec["type"])
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(l, ca.serverConfig())
	defer tl.Close()
	go func() {
		_ = http.Serve(tl, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) }))
	}()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(data["ca.crt"].(string))) {
		t.Fatal("ca.crt")
	}
	cert, err := tls.X509KeyPair([]byte(data["tls.crt"].(string)), []byte(data["tls.key"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + l.Addr().String() + "/api/v0/probes/readiness"
	// The operator's client (cass-operator's httphelper) skips the host name check and verifies
	// the chain against ca.crt.
	good := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			c, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			_, err = c.Verify(x509.VerifyOptions{Roots: pool})
			return err
		}}}}
	resp, err := good.Get(url)
	if err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
	resp.Body.Close()
	bad := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, InsecureSkipVerify: true}}}
	if resp, err := bad.Get(url); err == nil {
		resp.Body.Close()
		t.Fatal("a client without certificate got through")
	}
	if b, _ := pem.Decode([]byte(data["tls.key"].(string))); b == nil || b.Type != "PRIVATE KEY" {
		t.Fatal("tls.key is not a PKCS#8 PEM key")
	}
}

func TestOursIsLimitsARuleToOneOfOurValues(t *testing.T) {
	r := &rules{Fields: []*fieldRule{{Kind: "Reaper", Path: []string{"spec", "httpManagement", "enabled"}, OursIs: false, Action: "drop", Reason: "quirk 2"}}}
	pair := func(op, ours bool) []string {
		a := obj{"kind": "Reaper", "spec": map[string]any{"httpManagement": map[string]any{"enabled": op}}}
		b := obj{"kind": "Reaper", "spec": map[string]any{"httpManagement": map[string]any{"enabled": ours}}}
		r.pruneAgainst(a, b, "operator", "f.yaml")
		r.pruneAgainst(b, a, "ours", "f.yaml")
		var d []string
		diff("", map[string]any(a), map[string]any(b), &d)
		return d
	}
	if d := pair(true, false); len(d) != 0 {
		t.Fatalf("ours false: %v", d)
	}
	if d := pair(false, true); len(d) != 1 {
		t.Fatalf("ours true must still be compared: %v", d)
	}
}

// The committed normalisation file parses strictly, and every entry gives its reason.
func TestNormalisationFileLoads(t *testing.T) {
	r := loadRules("../conformance/normalisation.yaml")
	if len(r.Fields) == 0 || len(r.Objects) == 0 || len(r.Fixtures) == 0 {
		t.Fatalf("empty rules: %+v", r)
	}
}

// freePort never hands out the same port twice, even when the kernel offers it again.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 200; i++ {
		p := freePort()
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
