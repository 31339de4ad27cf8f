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
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcelops/parcel-operator/internal/managerproc"
)

// manager is the manager binary running with its courier API, probes,
// plain-HTTP metrics and pprof on loopback ports.
type manager struct {
	proc       *managerproc.Process
	webhookURL string
	probeURL   string
	metricsURL string
	pprofURL   string
	log        *os.File
}

// startManager starts the manager and waits until its probe says the cache
// has synced; it returns how long that took.
func (b *bench) startManager(ctx context.Context, extraArgs ...string) (time.Duration, error) {
	ports := make([]int, 4)
	for i := range ports {
		p, err := managerproc.FreePort(ctx)
		if err != nil {
			return 0, err
		}
		ports[i] = p
	}
	m := &manager{
		webhookURL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		probeURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
		pprofURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[3]),
	}
	var err error
	m.log, err = os.OpenFile(filepath.Join(b.tmp, "manager.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("opening the manager log: %w", err)
	}
	args := append([]string{
		fmt.Sprintf("--webhook-bind-address=127.0.0.1:%d", ports[0]),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", ports[1]),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[2]),
		"--metrics-secure=false",
		fmt.Sprintf("--pprof-bind-address=127.0.0.1:%d", ports[3]),
		"--pod-bucket=" + b.s3.BucketURL(podBucket),
		// The notification steps' receiver is on loopback.
		"--notification-allow-loopback",
	}, append(slices.Clone(b.managerArgs), extraArgs...)...)
	env := append([]string{"KUBECONFIG=" + b.kubeconfig}, b.s3.Env()...)
	if m.proc, err = managerproc.Start(b.managerBin, args, env, m.log); err != nil {
		return 0, err
	}
	b.manager = m
	readyCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := m.proc.WaitReady(readyCtx, m.probeURL+"/readyz"); err != nil {
		return 0, fmt.Errorf("%w (log: %s)", err, m.log.Name())
	}
	if err := m.proc.WaitReady(readyCtx, m.webhookURL+"/readyz"); err != nil {
		return 0, fmt.Errorf("%w (log: %s)", err, m.log.Name())
	}
	return time.Since(m.proc.Started()), nil
}

// stopManager shuts the manager down gracefully.
func (b *bench) stopManager() {
	if b.manager == nil {
		return
	}
	b.manager.proc.Stop()
	_ = b.manager.log.Close()
	b.manager = nil
}

// metrics is one scrape of the manager's metrics endpoint: each series
// (name and labels as printed) to its value.
type metrics map[string]float64

// scrape reads the manager's metrics.
func (m *manager) scrape(ctx context.Context) (metrics, error) {
	body, err := get(ctx, m.metricsURL+"/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = body.Close() }()
	out := metrics{}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the metrics: %w", err)
	}
	return out, nil
}

// sum adds the series of a metric whose labels contain every one of
// labels, each written as name="value".
func (ms metrics) sum(name string, labels ...string) float64 {
	var total float64
next:
	for series, v := range ms {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(series, l) {
				continue next
			}
		}
		total += v
	}
	return total
}

// heapAfterGC makes the manager collect garbage (pprof's heap profile with
// gc=1 runs a GC first) and returns the heap in use just after: live
// objects plus the fragmentation of their spans.
func (m *manager) heapAfterGC(ctx context.Context) (alloc, inuse uint64, err error) {
	body, err := get(ctx, m.pprofURL+"/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = body.Close() }()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
			alloc, _ = strconv.ParseUint(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "# HeapInuse = "); ok {
			inuse, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading the heap profile: %w", err)
	}
	if alloc == 0 {
		return 0, 0, fmt.Errorf("the heap profile at %s names no HeapAlloc", m.pprofURL)
	}
	return alloc, inuse, nil
}

// memory reads the manager's resident set now and at its peak, in bytes.
func (m *manager) memory() (rss, hwm uint64, err error) {
	return procMemory(m.proc.PID())
}

// get fetches url and returns its body when it answers 200.
func get(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("building the request for %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

// saveProfile writes one of the manager's pprof profiles (path and query
// after /debug/pprof/) to file, for a look at what the figures came from.
func (m *manager) saveProfile(ctx context.Context, profile, file string) error {
	body, err := get(ctx, m.pprofURL+"/debug/pprof/"+profile)
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	return writeFile(file, body)
}
