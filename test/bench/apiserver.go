/*
Copyright 2026 The parcel-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// procAPIServer is kube-apiserver's command name in /proc, as cpu.go
// reads it.
const procAPIServer = "kube-apiserver"

// requestCounts is the API server's apiserver_request_total summed by
// "VERB resource[/subresource]" (resource requests only), read from its
// own /metrics. It is the authoritative count of what every client asked:
// client-go's rest_client_requests_total has only code, method and host.
type requestCounts map[string]float64

// apiRequests reads the API server's request counters.
func (b *bench) apiRequests(ctx context.Context) (requestCounts, error) {
	body, err := b.apiGet(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(body)
	if err != nil {
		return nil, fmt.Errorf("parsing the API server's metrics: %w", err)
	}
	out := requestCounts{}
	fam, ok := families["apiserver_request_total"]
	if !ok {
		return out, nil
	}
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["resource"] == "" {
			continue
		}
		key := labels["verb"] + " " + labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		out[key] += m.GetCounter().GetValue()
	}
	return out, nil
}

// events is how many Event writes (creates and patches, core/v1 and
// events.k8s.io alike) the API server was asked for.
func (c requestCounts) events() float64 {
	return c["CREATE events"] + c["PATCH events"] + c["UPDATE events"]
}

// perUpdate returns what happened between before and c, per update.
func (c requestCounts) perUpdate(before requestCounts, updates int) map[string]float64 {
	out := map[string]float64{}
	if updates == 0 {
		return out
	}
	for k, v := range c {
		if d := v - before[k]; d > 0 {
			out[k] = round3(d / float64(updates))
		}
	}
	return out
}

// apiGet GETs a path of the API server as the admin user.
func (b *bench) apiGet(ctx context.Context, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(b.cfg.Host, "/")+path, nil)
	if err != nil {
		return nil, fmt.Errorf("building the request for %s: %w", path, err)
	}
	resp, err := b.apiHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s from the API server: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("GET %s from the API server: %s", path, resp.Status)
	}
	return resp.Body, nil
}

// saveAPIServerProfile takes a CPU profile of kube-apiserver over secs
// seconds (it runs with --profiling) and writes it to file.
func (b *bench) saveAPIServerProfile(ctx context.Context, secs int, file string) error {
	body, err := b.apiGet(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs))
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	return writeFile(file, body)
}

// writeFile copies r to file, creating its directory.
func writeFile(file string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", file, err)
	}
	f, err := os.Create(filepath.Clean(file))
	if err != nil {
		return fmt.Errorf("creating %s: %w", file, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

// childPID returns the pid of this process's child with the given
// command name (kube-apiserver, etcd), or 0.
func childPID(name string) int {
	self := os.Getpid()
	dirs, _ := fs.Glob(procFS, "[0-9]*")
	for _, dir := range dirs {
		raw, err := fs.ReadFile(procFS, dir+"/stat")
		if err != nil {
			continue
		}
		stat := string(raw)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || end < open || stat[open+1:end] != name {
			continue
		}
		fields := strings.Fields(stat[end+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == self {
			pid, _ := strconv.Atoi(dir)
			return pid
		}
	}
	return 0
}

// childMemory returns the resident set of this process's child with the
// given command name now and at its peak, in bytes.
func childMemory(name string) (rss, hwm uint64, err error) {
	pid := childPID(name)
	if pid == 0 {
		return 0, 0, fmt.Errorf("no %s process under this one", name)
	}
	return procMemory(pid)
}

// apiServerRSS returns kube-apiserver's resident set, in bytes.
func apiServerRSS() (uint64, error) {
	rss, _, err := childMemory(procAPIServer)
	return rss, err
}

// procMemory reads a process's VmRSS and VmHWM from /proc.
func procMemory(pid int) (rss, hwm uint64, err error) {
	raw, err := fs.ReadFile(procFS, fmt.Sprintf("%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading /proc/%d/status: %w", pid, err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseUint(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// etcdDBSize is the size of etcd's backend file, what
// etcd_mvcc_db_total_size_in_bytes reports: every live key, its history
// since the last compaction, and free pages not given back (no defrag).
func (b *bench) etcdDBSize() (int64, error) {
	fi, err := os.Stat(filepath.Join(b.controlPl.ControlPlane.Etcd.DataDir, "member", "snap", "db"))
	if err != nil {
		return 0, fmt.Errorf("reading etcd's database size: %w", err)
	}
	return fi.Size(), nil
}

func round3(v float64) float64 {
	return float64(int(v*1000+0.5)) / 1000
}
