package main

// cass-operator's and the pods' part: datacenter, Stargate and Reaper status, one pod per
// datacenter with a loopback IP, and a minimal management API on that IP.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

type fakeCluster struct {
	mu        sync.Mutex
	nextIP    int
	keyspaces map[string]map[string]map[string]string // cluster key -> keyspace -> replication
	tables    map[string]map[string][]string          // cluster key -> keyspace -> tables
	byAddr    map[string]string                       // pod IP -> cluster key
	calls     map[string][]string                     // cluster key -> management API calls
	pods      map[string]bool                         // server/ns/pod created
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{
		nextIP:    1,
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

// allocIP hands out the next address in 127.1.0.0/16; only loopback addresses are ever used.
func (f *fakeCluster) allocIP() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nextIP
	f.nextIP++
	return fmt.Sprintf("127.1.%d.%d", n/250, n%250+1)
}

// tick plays one round of cass-operator on every server: status for datacenters, Stargates and
// Reapers, and a pod per running datacenter. Returns whether every datacenter is ready.
func (f *fakeCluster) tick(servers []*server, namespaces []string) bool {
	allReady := true
	for _, s := range servers {
		for _, ns := range namespaces {
			for _, o := range s.list([]string{"cassandradatacenters.cassandra.datastax.com", "stargates.stargate.k8ssandra.io", "reapers.reaper.k8ssandra.io"}, ns) {
				switch o.kind() {
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

func str(o obj, path ...string) string {
	var cur any = map[string]any(o)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

func patchStatus(s *server, o obj, resource string, status map[string]any) {
	body, _ := json.Marshal(map[string]any{"status": status})
	// Races with the controller's own updates are retried on the next tick.
	_, _ = s.kubectl(nil, "patch", resource, o.name(), "-n", o.namespace(), "--subresource=status", "--type=merge", "-p", string(body))
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
	ip := f.allocIP()
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
		return
	}
	f.serve(ip, clusterKey)
	f.mu.Lock()
	f.pods[key] = true
	f.mu.Unlock()
}

// serve starts the fake management API on ip:8080.
func (f *fakeCluster) serve(ip, clusterKey string) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "8080"))
	if err != nil {
		warnf("fake management API on %s: %v", ip, err)
		return
	}
	f.mu.Lock()
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
		reply(map[string][]string{"00000000-0000-0000-0000-000000000001": {"127.1.0.1"}})
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
