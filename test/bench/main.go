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
// on, in one run on one machine: the raw API-server write rate (R_raw), the
// courier API under a realistic mix of updates at increasing concurrency
// (accepted rate, answer latency, lag to reconciled status, conflicts,
// no-op status writes, memory), and the manager's memory per cached Parcel
// and resync time after a restart with many Parcels. It prints a table
// and writes the figures as JSON. See docs/performance.md.
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
}

func main() {
	var (
		o           options
		concurrency string
		parcels     string
		quick       bool
	)
	flag.StringVar(&concurrency, "concurrency", "1,4,16,64", "Comma-separated concurrent courier clients, one step each.")
	flag.DurationVar(&o.step, "step", 30*time.Second, "How long each courier API step sends.")
	flag.DurationVar(&o.rawStep, "raw-step", 10*time.Second, "How long each raw API-server measurement (creates, then appends) runs.")
	flag.StringVar(&parcels, "parcels", "10000,100000", "Comma-separated Parcel counts to load for memory and resync; empty skips.")
	flag.IntVar(&o.couriers, "couriers", 4, "Couriers the clients are spread over (each may use half the write slots).")
	flag.StringVar(&o.out, "out", "bin/bench/results.json", "Where the JSON results go.")
	flag.DurationVar(&o.drain, "drain", 2*time.Minute, "How long a step waits for the reconciler to catch up after it stops sending.")
	flag.StringVar(&o.profiles, "profiles", "bin/bench",
		"Directory for the manager's CPU profile of the busiest step and heap profiles after each restart; empty skips.")
	flag.BoolVar(&quick, "quick", false, "A development-sized run: concurrency 1,4,16, 8 s steps, 3 s raw steps, 2,000 Parcels.")
	flag.Parse()
	if quick {
		concurrency, parcels = "1,4,16", "2000"
		o.step, o.rawStep = 8*time.Second, 3*time.Second
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runBench(ctx, o)
	if res != nil {
		printTable(os.Stdout, res)
		if werr := writeJSON(o.out, res); werr != nil {
			err = errors.Join(err, werr)
		} else {
			logf("results written to %s", o.out)
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
			Parcels: o.parcels, Couriers: o.couriers},
	}
	b, err := start(ctx)
	if b != nil {
		defer b.close()
	}
	if err != nil {
		return nil, err
	}

	// R_raw, before the manager exists, so nothing else writes.
	if err := b.createNamespace(ctx, rawNamespace); err != nil {
		return nil, err
	}
	createFraction := 1 / float64(len(lifecycle))
	for _, c := range o.concurrency {
		logf("raw API server, %d writers: creates, then appends, %s each", c, o.rawStep)
		r, err := b.measureRaw(ctx, c, o.rawStep, createFraction)
		if err != nil {
			return res, err
		}
		logf("  creates %.0f/s, appends %.0f/s, blended %.0f/s", r.CreatesPerSec, r.AppendsPerSec, r.MixPerSec)
		res.Raw = append(res.Raw, r)
	}

	if err := b.createCouriers(ctx, o.couriers); err != nil {
		return res, err
	}
	logf("starting the manager")
	if _, err := b.startManager(ctx, managerNotifyArgs...); err != nil {
		return res, err
	}
	// The heap of a manager with no Parcel: what the scale figures are
	// measured from.
	if res.BaselineHeapAfterGCBytes, _, err = b.manager.heapAfterGC(ctx); err != nil {
		return res, err
	}
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
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the results directory: %w", err)
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
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
