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
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// results is everything one run measured, as written to JSON.
type results struct {
	Started   time.Time   `json:"started"`
	Finished  time.Time   `json:"finished"`
	GoVersion string      `json:"goVersion"`
	CPUs      int         `json:"cpus"`
	Options   optionsJSON `json:"options"`
	// BaselineHeapAfterGCBytes is the live heap of the freshly started
	// manager, before any Parcel exists.
	BaselineHeapAfterGCBytes uint64        `json:"baselineHeapAfterGCBytes"`
	Raw                      []rawResult   `json:"raw"`
	Steps                    []stepResult  `json:"steps"`
	Scale                    []scaleResult `json:"scale"`
}

// optionsJSON records the flags of the run.
type optionsJSON struct {
	Concurrency []int  `json:"concurrency"`
	Step        string `json:"step"`
	RawStep     string `json:"rawStep"`
	Parcels     []int  `json:"parcels"`
	Couriers    int    `json:"couriers"`
}

// quantiles are latencies in milliseconds.
type quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// stepResult is one step of courier API load.
type stepResult struct {
	Name        string  `json:"name"`
	Concurrency int     `json:"concurrency"`
	PacedPerSec float64 `json:"pacedPerSec,omitempty"`
	Seconds     float64 `json:"seconds"`
	// Requests sent; Accepted answered 200 or 409 rejected (recorded);
	// Written of those, the ones not answered duplicate.
	Requests int            `json:"requests"`
	Accepted int            `json:"accepted"`
	Written  int            `json:"written"`
	Codes    map[string]int `json:"codes"`
	// Rates over the sending time.
	AcceptedPerSec float64 `json:"acceptedPerSec"`
	WrittenPerSec  float64 `json:"writtenPerSec"`
	RawMixPerSec   float64 `json:"rawMixPerSec"`
	IngestRatio    float64 `json:"ingestRatio"`
	// ProcessedPerSec is written updates seen in a reconciled status, per
	// second from the step's start to the last one seen.
	ProcessedPerSec float64   `json:"processedPerSec"`
	ProcessedRatio  float64   `json:"processedRatio"`
	LatencyMs       quantiles `json:"answerLatencyMs"`
	LagMs           quantiles `json:"answerToStatusLagMs"`
	Unreconciled    int       `json:"unreconciled"`
	PODBytes        int64     `json:"podBytes"`
	PODBytesPerSec  float64   `json:"podBytesPerSec"`
	PODStoredBytes  int64     `json:"podStoredBytes"`
	Conflicts409    int       `json:"apiConflicts409"`
	// StatusWrites are successful status patches in the audit log,
	// StatusChanges the status changes the watch saw; the difference is
	// the no-op status writes.
	StatusWrites      int     `json:"statusWrites"`
	StatusChanges     int     `json:"statusChanges"`
	NoOpStatusWrites  int     `json:"noOpStatusWrites"`
	Mismatched        int     `json:"statusNotFold"`
	HeapInuseMaxBytes float64 `json:"heapInuseMaxBytes"`
	RSSPeakBytes      uint64  `json:"rssPeakBytes"`
	// CPUCores is the cores each process (and the machine) used on
	// average while the step sent.
	CPUCores map[string]float64 `json:"cpuCores"`
}

// scaleResult is one load of Parcels, then a restart.
type scaleResult struct {
	Parcels               int     `json:"parcels"`
	CachedParcels         int     `json:"cachedParcels"`
	LoadSeconds           float64 `json:"loadSeconds"`
	ReconciledSeconds     float64 `json:"reconciledSeconds"`
	HeapAllocAfterGCBytes uint64  `json:"heapAllocAfterGCBytes"`
	HeapInuseAfterGCBytes uint64  `json:"heapInuseAfterGCBytes"`
	// LoadBytesPerParcel is the growth of the live heap (after a GC) over
	// the load, per Parcel loaded, in the running manager: the cache plus
	// what the load left behind for a while (the Event recorder keeps
	// every Event it sent for 6 to 12 minutes).
	LoadBytesPerParcel float64 `json:"loadBytesPerParcel"`
	RSSBytes           uint64  `json:"rssBytes"`
	RSSPeakBytes       uint64  `json:"rssPeakBytes"`
	// After a restart: time to ready (cache synced) and to every Parcel
	// reconciled, from process start; status writes meanwhile (all no-ops,
	// since nothing changed); the growth of the live heap from the
	// baseline, per cached Parcel.
	ReadySeconds                 float64 `json:"readySeconds"`
	ResyncSeconds                float64 `json:"resyncSeconds"`
	ResyncStatusWrites           int     `json:"resyncStatusWrites"`
	RestartHeapAllocAfterGCBytes uint64  `json:"restartHeapAllocAfterGCBytes"`
	CachedBytesPerParcel         float64 `json:"cachedBytesPerParcel"`
	RestartRSSPeakBytes          uint64  `json:"restartRssPeakBytes"`
}

// rawAt is the raw measurement at concurrency c, or the nearest below.
func (r *results) rawAt(c int) rawResult {
	var best rawResult
	for _, raw := range r.Raw {
		if raw.Concurrency <= c && raw.Concurrency >= best.Concurrency {
			best = raw
		}
	}
	return best
}

// percentiles returns the 50th, 95th and 99th percentiles in milliseconds
// (nearest rank).
func percentiles(ds []time.Duration) quantiles {
	if len(ds) == 0 {
		return quantiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return float64(s[max(i, 0)].Microseconds()) / 1000
	}
	return quantiles{P50: at(0.50), P95: at(0.95), P99: at(0.99)}
}

// printTable writes the results as tables people read.
func printTable(w io.Writer, r *results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\nraw API server (plain client, QPS unlimited)\t\t\t\t\t")
	fmt.Fprintln(tw, "writers\tcreates/s\tappends/s\tblend 1:7/s\terrors\t")
	for _, x := range r.Raw {
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f\t%d\t\n", x.Concurrency, x.CreatesPerSec, x.AppendsPerSec, x.MixPerSec, x.Errors)
	}
	_ = tw.Flush()

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\ncourier API\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t")
	fmt.Fprintln(tw, "step\tclients\taccepted/s\tx R_raw\tp50 ms\tp95 ms\tp99 ms\tlag p50\tlag p99\tprocessed/s\tx R_raw\t"+
		"POD MB/s\t409s\tno-op\tnot fold\theap MB\tRSS peak MB\t")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%d\t%d\t%d\t%.0f\t%.0f\t\n",
			s.Name, s.Concurrency, s.AcceptedPerSec, s.IngestRatio, s.LatencyMs.P50, s.LatencyMs.P95, s.LatencyMs.P99,
			s.LagMs.P50, s.LagMs.P99, s.ProcessedPerSec, s.ProcessedRatio, s.PODBytesPerSec/(1<<20),
			s.Conflicts409, s.NoOpStatusWrites, s.Mismatched, s.HeapInuseMaxBytes/(1<<20), float64(s.RSSPeakBytes)/(1<<20))
	}
	_ = tw.Flush()
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %s answers by code: %v; unreconciled %d; CPU cores while sending: %v\n", s.Name, s.Codes,
			s.Unreconciled, s.CPUCores)
	}
	for _, x := range r.Raw {
		fmt.Fprintf(w, "  raw %d writers, CPU cores: %v\n", x.Concurrency, x.CPUCores)
	}

	if len(r.Scale) == 0 {
		return
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\nscale\t\t\t\t\t\t\t\t\t\t")
	fmt.Fprintln(tw, "parcels\tload s\treconciled s\tB/parcel (load)\theap MB\tRSS peak MB\tready s\tresync s\tresync writes\t"+
		"B/cached parcel\t")
	for _, s := range r.Scale {
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%d\t%.0f\t\n", s.CachedParcels, s.LoadSeconds,
			s.ReconciledSeconds, s.LoadBytesPerParcel, float64(s.HeapAllocAfterGCBytes)/(1<<20), float64(s.RSSPeakBytes)/(1<<20),
			s.ReadySeconds, s.ResyncSeconds, s.ResyncStatusWrites, s.CachedBytesPerParcel)
	}
	_ = tw.Flush()
}
