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

// Command bench measures parcel-operator against the API server it runs
// on, in one run on one machine: the raw API-server write rate (R_raw) and
// its CPU per append; the courier API at increasing concurrency under two
// mixes of updates, a parcel's scans back to back (burst) and many parcels
// in flight (interleaved), each step's accepted rate, answer latency, lag
// to reconciled status, cost ratio (API-server CPU per update over CPU per
// raw append), API requests per update, conflicts, no-op status writes
// and memory; a sustained step of the interleaved mix with the manager's
// memory over time; the burst mix through the batch endpoint beside the
// single posts; and, with many Parcels loaded, etcd's size, the API
// server's and the manager's memory, a full LIST and the manager's resync
// after a restart. It prints tables, writes the figures as JSON and draws
// them as SVG charts. See docs/performance.md and docs/scale.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// options are the command-line flags.
type options struct {
	concurrency []int
	step        time.Duration
	rawStep     time.Duration
	parcels     []int
	couriers    int
	out         string
	drain       time.Duration
	profiles    string
	pool        int
	batch       int
	sustained   time.Duration
	idle        time.Duration
	// maxAPIServerRSS stops the scale load when kube-apiserver's resident
	// set passes it: the machine is shared.
	maxAPIServerRSS uint64
	charts          string
	eventModes      []string
	managerArgs     []string
}

func main() {
	var (
		o           options
		concurrency string
		parcels     string
		quick       bool
		maxRSS      string
		stagesOf    string
	)
	flag.StringVar(&concurrency, "concurrency", "1,4,16,64", "Comma-separated concurrent courier clients, one step each.")
	flag.DurationVar(&o.step, "step", 30*time.Second, "How long each courier API step sends.")
	flag.DurationVar(&o.rawStep, "raw-step", 10*time.Second, "How long each raw API-server measurement (creates, then appends) runs.")
	flag.StringVar(&parcels, "parcels", "300000",
		"Comma-separated Parcel counts (8 events each) to load for etcd size, memory, LIST and resync; empty skips.")
	flag.StringVar(&maxRSS, "max-apiserver-rss", "9Gi",
		"Stop loading Parcels when kube-apiserver's resident set passes this (a Kubernetes quantity), and report the count reached.")
	flag.IntVar(&o.pool, "pool", 10000, "Parcels in flight in the interleaved mix.")
	flag.IntVar(&o.batch, "batch", 100, "Updates per request in the batch steps (B, the burst mix through the batch endpoint); 0 skips them.")
	flag.DurationVar(&o.sustained, "sustained", 5*time.Minute,
		"How long the sustained step sends the interleaved mix at its peak rate; 0 skips.")
	flag.DurationVar(&o.idle, "idle", 10*time.Second,
		"How long the API server's idle CPU is measured (alone, then with the manager running).")
	flag.StringVar(&o.charts, "charts", "bin/bench", "Directory for the SVG charts; empty skips.")
	flag.Func("events", "A manager --events setting to run the interleaved mix with at the most clients, "+
		"after the sustained step, the manager restarted with it; repeat for several (e.g. -events exceptions).",
		func(v string) error {
			if v == "" {
				return errors.New("want a value of the manager's --events flag")
			}
			o.eventModes = append(o.eventModes, v)
			return nil
		})
	flag.Func("manager-arg", "A flag every start of the manager is given (e.g. -manager-arg=--max-concurrent-reconciles=16); "+
		"repeat for several.", func(v string) error {
		if !strings.HasPrefix(v, "--") {
			return errors.New("want a manager flag, such as --max-concurrent-reconciles=16")
		}
		o.managerArgs = append(o.managerArgs, v)
		return nil
	})
	flag.IntVar(&o.couriers, "couriers", 4, "Couriers the clients are spread over (each may use half the write slots).")
	flag.StringVar(&o.out, "out", "bin/bench/results.json", "Where the JSON results go.")
	flag.DurationVar(&o.drain, "drain", 2*time.Minute, "How long a step waits for the reconciler to catch up after it stops sending; "+
		"a longer step waits as long as it sent.")
	flag.StringVar(&o.profiles, "profiles", "bin/bench",
		"Directory for the manager's CPU profile of the busiest step and heap profiles after each restart; empty skips.")
	flag.BoolVar(&quick, "quick", false, "A development-sized run: concurrency 1,4,16, 8 s steps, 3 s raw steps, "+
		"a pool of 2,000, a 45 s sustained step, 4 s idle, 2,000 Parcels; a flag given beside it wins.")
	flag.StringVar(&stagesOf, "stages", "", "Comma-separated kube-apiserver CPU profiles (a run's bin/bench/apiserver-cpu-*.pprof): "+
		"print where their CPU went by stage, and run nothing.")
	flag.Parse()
	if stagesOf != "" {
		if err := printProfileStages(os.Stdout, strings.Split(stagesOf, ",")); err != nil {
			fatalf("-stages: %v", err)
		}
		return
	}
	if quick {
		// -quick sizes what the command line leaves unset: -quick
		// -concurrency 4 runs one step of 4 clients.
		given := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
		quickly := func(name string, set func()) {
			if !given[name] {
				set()
			}
		}
		quickly("concurrency", func() { concurrency = "1,4,16" })
		quickly("parcels", func() { parcels = "2000" })
		quickly("step", func() { o.step = 8 * time.Second })
		quickly("raw-step", func() { o.rawStep = 3 * time.Second })
		quickly("sustained", func() { o.sustained = 45 * time.Second })
		quickly("idle", func() { o.idle = 4 * time.Second })
		quickly("pool", func() { o.pool = 2000 })
	}
	var err error
	if o.concurrency, err = parseInts(concurrency); err != nil || len(o.concurrency) == 0 {
		fatalf("-concurrency=%q: want comma-separated positive integers", concurrency)
	}
	if o.parcels, err = parseInts(parcels); err != nil {
		fatalf("-parcels=%q: want comma-separated positive integers", parcels)
	}
	slices.Sort(o.parcels)
	if o.couriers < 1 {
		fatalf("-couriers=%d: want at least 1", o.couriers)
	}
	if o.pool < 4*slices.Max(o.concurrency) {
		fatalf("-pool=%d: want at least 4 parcels in flight per client (%d)", o.pool, 4*slices.Max(o.concurrency))
	}
	q, err := resource.ParseQuantity(maxRSS)
	if err != nil || q.Sign() <= 0 {
		fatalf("-max-apiserver-rss=%q: want a positive quantity such as 9Gi", maxRSS)
	}
	// A ceiling of memory needs no byte-exact value.
	o.maxAPIServerRSS = uint64(q.AsApproximateFloat64())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runBench(ctx, o)
	if res != nil {
		if perr := printTable(os.Stdout, res); perr != nil {
			err = errors.Join(err, fmt.Errorf("printing the results: %w", perr))
		}
		if werr := writeJSON(o.out, res); werr != nil {
			err = errors.Join(err, werr)
		} else {
			logf("results written to %s", o.out)
		}
		if o.charts != "" {
			if cerr := drawCharts(o.charts, res); cerr != nil {
				err = errors.Join(err, cerr)
			} else {
				logf("charts written to %s", o.charts)
			}
		}
	}
	if err != nil {
		fatalf("%v", err)
	}
}

// runBench runs every measurement in order, stopping what it started on
// the way out.
func runBench(ctx context.Context, o options) (*results, error) {
	res := &results{
		Started:   time.Now().UTC(),
		GoVersion: runtime.Version(),
		CPUs:      runtime.NumCPU(),
		Options: optionsJSON{Concurrency: o.concurrency, Step: o.step.String(), RawStep: o.rawStep.String(),
			Parcels: o.parcels, Couriers: o.couriers, Pool: o.pool, Batch: o.batch, Sustained: o.sustained.String(), Idle: o.idle.String(),
			MaxAPIServerRSSBytes: o.maxAPIServerRSS, Events: o.eventModes, ManagerArgs: o.managerArgs},
	}
	b, err := start(ctx)
	if b != nil {
		defer b.close()
	}
	if err != nil {
		return nil, err
	}
	b.managerArgs = o.managerArgs

	// R_raw, before the manager exists, so nothing else writes.
	if err := b.createNamespace(ctx, rawNamespace); err != nil {
		return nil, err
	}
	if res.BaselineEtcdDBBytes, err = b.etcdDBSize(); err != nil {
		return res, err
	}
	if res.BaselineAPIServerRSSBytes, err = apiServerRSS(); err != nil {
		return res, err
	}
	logf("idle: kube-apiserver and etcd alone for %s", o.idle)
	res.RawIdleCores = measureIdle(ctx, o.idle)
	createFraction := 1 / float64(len(lifecycle))
	for _, c := range o.concurrency {
		logf("raw API server, %d writers: creates, then appends, %s each", c, o.rawStep)
		r, err := b.measureRaw(ctx, c, o.rawStep, createFraction, res.RawIdleCores[procAPIServer])
		if err != nil {
			return res, err
		}
		logf("  creates %.0f/s, appends %.0f/s, blended %.0f/s, %.3f ms kube-apiserver CPU per append",
			r.CreatesPerSec, r.AppendsPerSec, r.MixPerSec, r.APIServerCPUMsPerAppend)
		res.Raw = append(res.Raw, r)
	}

	if err := b.createCouriers(ctx, o.couriers); err != nil {
		return res, err
	}
	logf("starting the manager")
	if _, err := b.startManager(ctx); err != nil {
		return res, err
	}
	// The heap of a manager with no Parcel: what the scale figures are
	// measured from.
	if res.BaselineHeapAfterGCBytes, _, err = b.manager.heapAfterGC(ctx); err != nil {
		return res, err
	}
	if res.BaselineManagerRSSBytes, _, err = b.manager.memory(); err != nil {
		return res, err
	}
	logf("idle: the manager running, no traffic, for %s", o.idle)
	res.IdleCores = measureIdle(ctx, o.idle)
	if err := b.webhookSteps(ctx, o, res); err != nil {
		return res, err
	}
	if err := b.scaleSteps(ctx, o, res); err != nil {
		return res, err
	}
	res.Finished = time.Now().UTC()
	return res, nil
}

// parseInts parses a comma-separated list of positive integers.
func parseInts(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// writeJSON writes the results to path, creating its directory.
func writeJSON(path string, res *results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("creating the results directory: %w", err)
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	return nil
}

// logf prints progress to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	os.Exit(1)
}
