package main

// cass-operator's and the pods' part: datacenter, Stargate, Reaper and CassandraTask status,
// one pod per datacenter, and a minimal management API (HTTP, or mutual TLS when the datacenter
// asks for it) on the pod's address.
//
// Pod addresses come from 192.0.2.0/24 (TEST-NET-1, RFC 5737, reserved for documentation): the
// API server refuses loopback addresses in EndpointSlices, which the operator writes for the
// additional seeds of a second datacenter. Each address is added to `lo` of the private network
// namespace the harness runs in (checked at start: no interface but `lo`), so every connection
// the operator makes to a pod reaches the fake in that namespace and no packet can leave it.

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type fakeCluster struct {
	mu        sync.Mutex
	freeIPs   []int                                   // host parts of 192.0.2.0/24 not in use
	served    map[string][]*fakePod                   // namespace -> fake pods serving there
	ca        *testCA                                 // signs the mutual-TLS certificates
	tlsCalls  map[string]int                          // cluster key -> calls over mutual TLS
	reapers   map[string]bool                         // referenced Reaper services served
	keyspaces map[string]map[string]map[string]string // cluster key -> keyspace -> replication
	tables    map[string]map[string][]string          // cluster key -> keyspace -> tables
	byAddr    map[string]string                       // pod IP -> cluster key
	calls     map[string][]string                     // cluster key -> management API calls
	pods      map[string]bool                         // server/ns/pod created
}

type fakePod struct {
	ip       string
	listener net.Listener
}

func newFakeCluster(ca *testCA) *fakeCluster {
	free := make([]int, 0, 254)
	for n := 1; n <= 254; n++ {
		free = append(free, n)
	}
	return &fakeCluster{
		freeIPs:   free,
		served:    map[string][]*fakePod{},
		ca:        ca,
		tlsCalls:  map[string]int{},
		reapers:   map[string]bool{},
		keyspaces: map[string]map[string]map[string]string{},
		tables:    map[string]map[string][]string{},
		byAddr:    map[string]string{},
		calls:     map[string][]string{},
		pods:      map[string]bool{},
	}
}

var labelChars = regexp.MustCompile(`[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?`)

// cleanLabelValue is cass-operator's CleanLabelValue.
func cleanLabelValue(v string) string {
	return strings.Join(labelChars.FindAllString(strings.ReplaceAll(v, " ", ""), -1), "")
}

// podNet is the only network fake pods get addresses from: TEST-NET-1 (RFC 5737).
const podNet = "192.0.2."

// checkPrivateNetwork refuses to run outside a private network namespace whose only interface
// is `lo`: the driver adds addresses to `lo`, which must never happen on a real host.
func checkPrivateNetwork() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("cannot list network interfaces: %v", err)
	}
	for _, i := range ifs {
		if i.Name != "lo" {
			return fmt.Errorf("network interface %q present: the driver only runs in a private network namespace with no interface but lo (scripts/conformance creates one with unshare -n)", i.Name)
		}
	}
	self, err1 := os.Readlink("/proc/self/ns/net")
	init, err2 := os.Readlink("/proc/1/ns/net")
	if err1 == nil && err2 == nil && self == init {
		return fmt.Errorf("running in the network namespace of PID 1 (%s): the driver only runs in a private network namespace (scripts/conformance creates one with unshare -n)", self)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("the ip command (iproute2) is needed to add the fake pods' addresses to lo: %v", err)
	}
	return nil
}

// allocIP takes a free address of 192.0.2.0/24 and adds it to lo of the private namespace.
func (f *fakeCluster) allocIP() (string, error) {
	f.mu.Lock()
	if len(f.freeIPs) == 0 {
		f.mu.Unlock()
		return "", fmt.Errorf("all 254 addresses of %s0/24 are in use", podNet)
	}
	n := f.freeIPs[0]
	f.freeIPs = f.freeIPs[1:]
	f.mu.Unlock()
	ip := podNet + strconv.Itoa(n)
	if out, err := exec.Command("ip", "addr", "add", ip+"/32", "dev", "lo").CombinedOutput(); err != nil {
		return "", fmt.Errorf("ip addr add %s/32 dev lo: %v: %s", ip, err, strings.TrimSpace(string(out)))
	}
	return ip, nil
}

// release stops the fake pods of the given namespaces and frees their addresses.
func (f *fakeCluster) release(namespaces []string) {
	f.mu.Lock()
	var pods []*fakePod
	for _, ns := range namespaces {
		pods = append(pods, f.served[ns]...)
		delete(f.served, ns)
	}
	f.mu.Unlock()
	for _, p := range pods {
		_ = p.listener.Close()
		_, _ = exec.Command("ip", "addr", "del", p.ip+"/32", "dev", "lo").CombinedOutput()
		n, _ := strconv.Atoi(strings.TrimPrefix(p.ip, podNet))
		f.mu.Lock()
		delete(f.byAddr, p.ip)
		f.freeIPs = append(f.freeIPs, n)
		f.mu.Unlock()
	}
}

// tick plays one round of cass-operator on every server: status for datacenters, Stargates and
// Reapers, and a pod per running datacenter. Returns whether every datacenter is ready.
func (f *fakeCluster) tick(servers []*server, namespaces []string) bool {
	allReady := true
	for _, s := range servers {
		for _, ns := range namespaces {
			for _, o := range s.list([]string{"cassandradatacenters.cassandra.datastax.com", "stargates.stargate.k8ssandra.io", "reapers.reaper.k8ssandra.io", "cassandratasks.control.k8ssandra.io", "deployments.apps", "statefulsets.apps"}, ns) {
				switch o.kind() {
				case "Deployment", "StatefulSet":
					// The Stargate and Reaper controllers the operator process also runs for its
					// own cluster create these; kube-controller-manager and the kubelet would make
					// them ready.
					replicas, ok := field(o, "spec", "replicas").(float64)
					if !ok {
						replicas = 1
					}
					gen, _ := field(o, "metadata", "generation").(float64)
					ready, _ := field(o, "status", "readyReplicas").(float64)
					observed, _ := field(o, "status", "observedGeneration").(float64)
					if ready != replicas || observed != gen {
						resource := "deployments.apps"
						st := map[string]any{"observedGeneration": gen, "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "updatedReplicas": replicas}
						if o.kind() == "StatefulSet" {
							resource = "statefulsets.apps"
							st["currentReplicas"] = replicas
						}
						patchStatus(s, o, resource, st)
					}
				case "CassandraTask":
					// cass-operator runs the task's jobs on every pod; the fake completes them at once.
					if str(o, "status", "completionTime") == "" {
						nodes := 1
						if l := str(o, "metadata", "labels", "k8ssandra.io/rebuild-nodes"); l != "" {
							if n, err := strconv.Atoi(l); err == nil {
								nodes = n
							}
						}
						patchStatus(s, o, "cassandratasks.control.k8ssandra.io", map[string]any{
							"startTime": now(), "completionTime": now(), "succeeded": nodes,
							"conditions": []any{map[string]any{"type": "Complete", "status": "True", "reason": "JobsCompleted", "message": "", "lastTransitionTime": now()}},
						})
					}
				case "CassandraDatacenter":
					if !f.datacenter(s, o) {
						allReady = false
					}
				case "Stargate":
					if str(o, "status", "progress") != "Running" {
						patchStatus(s, o, "stargates.stargate.k8ssandra.io", map[string]any{
							"progress": "Running", "availableReplicas": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
							"conditions": []any{map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": now()}},
						})
					}
				case "Reaper":
					if s.name == "op-"+controlPlane {
						// The Reaper controller the operator process runs for its own cluster
						// connects to the Reaper it deployed: a fake Reaper REST API plays it.
						f.serveReaper(o.name() + "-service." + o.namespace())
					}
					if str(o, "status", "progress") != "Running" {
						patchStatus(s, o, "reapers.reaper.k8ssandra.io", map[string]any{
							"progress":   "Running",
							"conditions": []any{map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": now()}},
						})
					}
				}
			}
		}
	}
	return allReady
}

func now() string { return time.Now().UTC().Format(time.RFC3339) }

// field is the value at path, or nil.
func field(o obj, path ...string) any {
	var cur any = map[string]any(o)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func str(o obj, path ...string) string {
	s, _ := field(o, path...).(string)
	return s
}

func patchStatus(s *server, o obj, resource string, status map[string]any) {
	body, _ := json.Marshal(map[string]any{"status": status})
	// Races with the controller's own updates are retried on the next tick.
	if _, err := s.kubectl(nil, "patch", resource, o.name(), "-n", o.namespace(), "--subresource=status", "--type=merge", "-p", string(body)); err != nil {
		warnf("%s: status of %s %s/%s: %v", s.name, o.kind(), o.namespace(), o.name(), err)
	}
}

// datacenter sets a CassandraDatacenter Ready (or Stopped) at its current generation, as
// cass-operator does once its pods run, and creates one pod for it.
func (f *fakeCluster) datacenter(s *server, o obj) bool {
	meta := o["metadata"].(map[string]any)
	gen, _ := meta["generation"].(float64)
	spec, _ := o["spec"].(map[string]any)
	stopped, _ := spec["stopped"].(bool)
	status, _ := o["status"].(map[string]any)
	observed, _ := status["observedGeneration"].(float64)
	clusterName, _ := spec["clusterName"].(string)
	if !stopped {
		f.ensurePod(s, o, clusterName)
	}
	if observed == gen && str(o, "status", "cassandraOperatorProgress") == "Ready" {
		return true
	}
	cond := func(t string, v bool) map[string]any {
		st := "False"
		if v {
			st = "True"
		}
		return map[string]any{"type": t, "status": st, "reason": "", "message": "", "lastTransitionTime": now()}
	}
	dcName, _ := spec["datacenterName"].(string)
	if dcName == "" {
		dcName = o.name()
	}
	podName := fmt.Sprintf("%s-%s-default-sts-0", strings.ToLower(cleanLabelValue(clusterName)), o.name())
	patchStatus(s, o, "cassandradatacenters.cassandra.datastax.com", map[string]any{
		"cassandraOperatorProgress": "Ready",
		"observedGeneration":        gen,
		"datacenterName":            dcName,
		"conditions": []any{
			cond("Ready", !stopped), cond("Initialized", true), cond("Stopped", stopped),
			cond("Updating", false), cond("RequiresUpdate", false),
		},
		"nodeStatuses": map[string]any{podName: map[string]any{"hostID": "00000000-0000-0000-0000-000000000001"}},
	})
	return false
}

func (f *fakeCluster) ensurePod(s *server, o obj, clusterName string) {
	podName := fmt.Sprintf("%s-%s-default-sts-0", strings.ToLower(cleanLabelValue(clusterName)), o.name())
	key := s.name + "/" + o.namespace() + "/" + podName
	f.mu.Lock()
	done := f.pods[key]
	f.mu.Unlock()
	if done {
		return
	}
	ip, err := f.allocIP()
	if err != nil {
		warnf("%s: fake pod %s: %v", s.name, podName, err)
		return
	}
	clusterKey := o.namespace() + "/" + clusterName
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": podName, "namespace": o.namespace(), "labels": map[string]any{
			"cassandra.datastax.com/cluster":    cleanLabelValue(clusterName),
			"cassandra.datastax.com/datacenter": cleanLabelValue(o.name()),
			"cassandra.datastax.com/rack":       "default",
			"cassandra.datastax.com/seed-node":  "true",
		}},
		"spec": map[string]any{"nodeName": "fake-node", "containers": []any{map[string]any{"name": "cassandra", "image": "fake"}}},
	}
	body, _ := json.Marshal(pod)
	if _, err := s.kubectl(body, "create", "-f", "-"); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		warnf("%s: fake pod %s: %v", s.name, podName, err)
		f.mu.Lock()
		f.pods[key] = true // reported once
		f.mu.Unlock()
		f.unplug(ip)
		return
	}
	status, _ := json.Marshal(map[string]any{"status": map[string]any{
		"phase": "Running", "podIP": ip, "podIPs": []any{map[string]any{"ip": ip}},
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
		"containerStatuses": []any{map[string]any{"name": "cassandra", "ready": true, "started": true, "image": "fake", "imageID": "fake", "restartCount": 0,
			"state": map[string]any{"running": map[string]any{"startedAt": now()}}}},
	}})
	if _, err := s.kubectl(nil, "patch", "pod", podName, "-n", o.namespace(), "--subresource=status", "--type=merge", "-p", string(status)); err != nil {
		warnf("%s: fake pod status %s: %v", s.name, podName, err)
		f.unplug(ip)
		return
	}
	_, mtls := field(o, "spec", "managementApiAuth", "manual").(map[string]any)
	f.serve(ip, o.namespace(), clusterKey, mtls)
	f.mu.Lock()
	f.pods[key] = true
	f.mu.Unlock()
}

// unplug removes an address that no fake pod serves on.
func (f *fakeCluster) unplug(ip string) {
	_, _ = exec.Command("ip", "addr", "del", ip+"/32", "dev", "lo").CombinedOutput()
	n, _ := strconv.Atoi(strings.TrimPrefix(ip, podNet))
	f.mu.Lock()
	f.freeIPs = append(f.freeIPs, n)
	f.mu.Unlock()
}

// serve starts the fake management API on ip:8080: plain HTTP, or HTTPS requiring a client
// certificate signed by the test CA when the datacenter sets managementApiAuth.manual (the
// operator then presents the certificate of the client secret the harness created).
func (f *fakeCluster) serve(ip, ns, clusterKey string, mtls bool) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "8080"))
	if err != nil {
		warnf("fake management API on %s: %v", ip, err)
		f.unplug(ip)
		return
	}
	if mtls {
		l = tls.NewListener(l, f.ca.serverConfig())
	}
	f.mu.Lock()
	f.served[ns] = append(f.served[ns], &fakePod{ip: ip, listener: l})
	f.byAddr[ip] = clusterKey
	if f.keyspaces[clusterKey] == nil {
		sys := map[string]string{"class": "org.apache.cassandra.locator.LocalStrategy"}
		f.keyspaces[clusterKey] = map[string]map[string]string{
			"system": sys, "system_schema": sys,
			"system_auth":        {"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"},
			"system_distributed": {"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "3"},
			"system_traces":      {"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "2"},
		}
		f.tables[clusterKey] = map[string][]string{}
	}
	f.mu.Unlock()
	go func() {
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.handle(clusterKey, w, r) }))
	}()
}

type replicationRequest struct {
	KeyspaceName string              `json:"keyspace_name"`
	Replication  []map[string]string `json:"replication_settings"`
}

func (f *fakeCluster) handle(ck string, w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[ck] = append(f.calls[ck], r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		f.tlsCalls[ck]++
	}
	ks := f.keyspaces[ck]
	q := r.URL.Query()
	reply := func(v any) { w.Header().Set("Content-Type", "application/json"); _ = json.NewEncoder(w).Encode(v) }
	switch r.URL.Path {
	case "/api/v0/probes/liveness", "/api/v0/probes/readiness":
		_, _ = w.Write([]byte("OK"))
	case "/api/v0/ops/keyspace":
		names := []string{}
		for n := range ks {
			if q.Get("keyspaceName") == "" || q.Get("keyspaceName") == n {
				names = append(names, n)
			}
		}
		reply(names)
	case "/api/v0/ops/keyspace/replication":
		rep, ok := ks[q.Get("keyspaceName")]
		if !ok {
			http.Error(w, "keyspace not found", http.StatusNotFound)
			return
		}
		reply(rep)
	case "/api/v0/ops/keyspace/create", "/api/v0/ops/keyspace/alter":
		var req replicationRequest
		_ = json.Unmarshal(body, &req)
		rep := map[string]string{"class": "org.apache.cassandra.locator.NetworkTopologyStrategy"}
		for _, s := range req.Replication {
			rep[s["dc_name"]] = s["replication_factor"]
		}
		ks[req.KeyspaceName] = rep
		_, _ = w.Write([]byte("OK"))
	case "/api/v0/ops/tables":
		reply(append([]string{}, f.tables[ck][q.Get("keyspaceName")]...))
	case "/api/v0/ops/tables/create":
		var req struct {
			Keyspace string `json:"keyspace_name"`
			Table    string `json:"table_name"`
		}
		_ = json.Unmarshal(body, &req)
		f.tables[ck][req.Keyspace] = append(f.tables[ck][req.Keyspace], req.Table)
		_, _ = w.Write([]byte("OK"))
	case "/api/v1/ops/node/schema/versions":
		// One schema version held by every node of the cluster: schema agreement.
		var ips []string
		for ip, c := range f.byAddr {
			if c == ck {
				ips = append(ips, ip)
			}
		}
		sort.Strings(ips)
		reply(map[string][]string{"00000000-0000-0000-0000-000000000001": ips})
	case "/api/v0/metadata/versions/features":
		reply(map[string]any{"cassandra_version": "4.1.0", "features": []string{"async_sstable_tasks", "full_query_logging", "rebuild", "move"}})
	case "/api/v0/metadata/endpoints":
		reply(map[string]any{"entity": []any{}})
	case "/api/v0/ops/executor/job":
		reply(map[string]any{"id": q.Get("job_id"), "status": "COMPLETED", "type": "fake"})
	default:
		if strings.HasPrefix(r.URL.Path, "/api/v1/") && r.Method == http.MethodPost {
			_, _ = w.Write([]byte("fake-job"))
			return
		}
		_, _ = w.Write([]byte("OK"))
	}
}

// A fake Reaper REST API for K8ssandraClusters whose reaper.reaperRef names a Reaper outside
// the fixture, and for the Reapers the operator deploys in its own cluster (its Reaper
// controller runs there): the operator pings, logs in, registers the cluster
// (PUT /cluster/<name>) and lists the registered clusters. The service name resolves through the private /etc/hosts of the
// harness's mount namespace (see hostsFile) to an address of 192.0.2.0/24 on lo.
type fakeReaper struct {
	mu       sync.Mutex
	clusters map[string]string // cluster name -> seed host
}

// hostsFile is the file bind-mounted over /etc/hosts in the harness's private mount namespace.
var hostsFile string

// checkHosts makes sure that /etc/hosts is the private copy the script bind-mounted, so that the
// driver never writes the machine's own /etc/hosts.
func checkHosts(file string) error {
	a, err := os.Stat(file)
	if err != nil {
		return err
	}
	b, err := os.Stat("/etc/hosts")
	if err != nil {
		return err
	}
	if !os.SameFile(a, b) {
		return fmt.Errorf("/etc/hosts is not %s: the driver only adds host names in the private mount namespace scripts/conformance creates", file)
	}
	return nil
}

// serveReaper starts (once per service name) a fake Reaper REST API for a referenced Reaper.
func (f *fakeCluster) serveReaper(svc string) {
	f.mu.Lock()
	if f.reapers[svc] {
		f.mu.Unlock()
		return
	}
	f.reapers[svc] = true
	f.mu.Unlock()
	ip, err := f.allocIP()
	if err != nil {
		warnf("fake Reaper %s: %v", svc, err)
		return
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "8080"))
	if err != nil {
		warnf("fake Reaper %s: %v", svc, err)
		return
	}
	hf, err := os.OpenFile(hostsFile, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		fatalf("%v", err)
	}
	_, err = fmt.Fprintf(hf, "%s %s %s.svc %s.svc.cluster.local\n", ip, svc, svc, svc)
	hf.Close()
	must(err)
	r := &fakeReaper{clusters: map[string]string{}}
	go func() { _ = http.Serve(l, r) }()
}

func (r *fakeReaper) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case req.URL.Path == "/ping":
		w.WriteHeader(http.StatusNoContent)
	case req.URL.Path == "/login":
		_ = json.NewEncoder(w).Encode(map[string]any{"token": "fake", "username": "fake", "roles": []string{"operator"}})
	case req.URL.Path == "/cluster" && req.Method == http.MethodGet:
		names := []string{}
		for n := range r.clusters {
			names = append(names, n)
		}
		sort.Strings(names)
		_ = json.NewEncoder(w).Encode(names)
	case strings.HasPrefix(req.URL.Path, "/cluster/") && req.Method == http.MethodPut:
		r.clusters[strings.TrimPrefix(req.URL.Path, "/cluster/")] = req.URL.Query().Get("seedHost")
		w.WriteHeader(http.StatusCreated)
	default:
		_, _ = w.Write([]byte("[]"))
	}
}
