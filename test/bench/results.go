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
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
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
	BaselineHeapAfterGCBytes uint64 `json:"baselineHeapAfterGCBytes"`
	// The empty cluster's: the control plane alone, then the manager
	// just started; what the scale figures are measured from.
	BaselineEtcdDBBytes       int64  `json:"baselineEtcdDbBytes"`
	BaselineAPIServerRSSBytes uint64 `json:"baselineApiServerRssBytes"`
	BaselineManagerRSSBytes   uint64 `json:"baselineManagerRssBytes"`
	// RawIdleCores is the cores each process used with only the control
	// plane running, IdleCores with the manager running too; both with no
	// traffic, each subtracted from the CPU of the raw appends and of the
	// steps for the cost ratio.
	RawIdleCores map[string]float64 `json:"rawIdleCores"`
	IdleCores    map[string]float64 `json:"idleCores"`
	Raw          []rawResult        `json:"raw"`
	Steps        []stepResult       `json:"steps"`
	Sustained    *sustainedResult   `json:"sustained,omitempty"`
	Scale        []scaleResult      `json:"scale"`
}

// optionsJSON records the flags of the run.
type optionsJSON struct {
	Concurrency []int  `json:"concurrency"`
	Step        string `json:"step"`
	RawStep     string `json:"rawStep"`
	Parcels     []int  `json:"parcels"`
	Couriers    int    `json:"couriers"`
	Pool        int    `json:"pool"`
	Batch       int    `json:"batch"`
	Sustained   string `json:"sustained"`
	Idle        string `json:"idle"`
	// MaxAPIServerRSSBytes is where the scale load stops.
	MaxAPIServerRSSBytes uint64 `json:"maxApiServerRssBytes"`
	// Events are the manager --events settings of the E steps.
	Events []string `json:"events,omitempty"`
	// ManagerArgs are flags every start of the manager was given.
	ManagerArgs []string `json:"managerArgs,omitempty"`
}

// quantiles are latencies in milliseconds.
type quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// stepResult is one step of courier API load.
type stepResult struct {
	Name string `json:"name"`
	// Mix is burst (a parcel's scans back to back) or interleaved (many
	// parcels in flight).
	Mix         string  `json:"mix"`
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
	// EventsRecorded are the Kubernetes Events the controllers recorded,
	// EventsWritten the writes that reached the API server (a create, or a
	// repeat's count), EventWriteErrors the failed ones, and
	// EventWriteMsMean the mean time of one: the manager writes Events one
	// at a time and drops what its queue cannot hold.
	EventsRecorded   int     `json:"eventsRecorded"`
	EventsWritten    int     `json:"eventsWritten"`
	EventWriteErrors int     `json:"eventWriteErrors"`
	EventWriteMsMean float64 `json:"eventWriteMsMean"`
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
	// APIServerCPUSeconds is kube-apiserver's CPU time from the step's
	// first request until the reconciler caught up; APIServerIdleCores
	// what it uses with the manager running and no traffic;
	// APIServerCPUMsPerUpdate the difference per accepted update, and
	// CostRatio that over the CPU of one raw append at the same
	// concurrency (1.0: an update costs one plain write).
	APIServerCPUSeconds     float64 `json:"apiServerCpuSeconds"`
	APIServerIdleCores      float64 `json:"apiServerIdleCores"`
	APIServerCPUMsPerUpdate float64 `json:"apiServerCpuMsPerUpdate"`
	CostRatio               float64 `json:"costRatio"`
	// RequestsPerUpdate is the API server's apiserver_request_total over
	// the same time by "VERB resource[/subresource]", per accepted update;
	// every client's requests, the manager's (Events included) and the
	// benchmark's watch.
	RequestsPerUpdate      map[string]float64 `json:"requestsPerUpdate"`
	RequestsPerUpdateTotal float64            `json:"requestsPerUpdateTotal"`
	// APIServerStages is where kube-apiserver's CPU went in the step, from
	// its CPU profile (profiled steps only), APIServerProfileSeconds the
	// CPU time the profile sampled.
	APIServerStages         []stageShare `json:"apiServerStages,omitempty"`
	APIServerProfileSeconds float64      `json:"apiServerProfileSeconds,omitempty"`
}

// scaleResult is one load of Parcels, then a LIST and a restart. The
// per-Parcel figures are growth from the empty cluster over every Parcel
// in it (the steps' and the load's).
type scaleResult struct {
	// Target is the count asked for; CachedParcels every Parcel in the
	// cluster once the load ended, early if kube-apiserver's resident set
	// passed -max-apiserver-rss (StoppedAtRSSCeiling).
	Target              int     `json:"target"`
	CachedParcels       int     `json:"cachedParcels"`
	StoppedAtRSSCeiling bool    `json:"stoppedAtRssCeiling"`
	LoadSeconds         float64 `json:"loadSeconds"`
	ReconciledSeconds   float64 `json:"reconciledSeconds"`
	// EtcdDBBytes is etcd's backend file; APIServerRSSBytes
	// kube-apiserver's resident set after the load, APIServerRSSPeakBytes
	// its peak after the LIST and the manager's resync.
	EtcdDBBytes           int64  `json:"etcdDbBytes"`
	APIServerRSSBytes     uint64 `json:"apiServerRssBytes"`
	APIServerRSSPeakBytes uint64 `json:"apiServerRssPeakBytes"`
	// ListSeconds is a full paginated LIST of every Parcel.
	ListSeconds           float64 `json:"listSeconds"`
	HeapAllocAfterGCBytes uint64  `json:"heapAllocAfterGCBytes"`
	HeapInuseAfterGCBytes uint64  `json:"heapInuseAfterGCBytes"`
	// LoadBytesPerParcel is the growth of the live heap (after a GC) over
	// the load, per Parcel loaded, in the running manager: the cache plus
	// what the load left behind for a while (Events the recorder keeps).
	LoadBytesPerParcel float64 `json:"loadBytesPerParcel"`
	RSSBytes           uint64  `json:"rssBytes"`
	RSSPeakBytes       uint64  `json:"rssPeakBytes"`
	// After a restart: time to ready (cache synced) and to every Parcel
	// reconciled, from process start; status writes meanwhile (all no-ops,
	// since nothing changed); the manager's live heap and RSS.
	ReadySeconds                 float64 `json:"readySeconds"`
	ResyncSeconds                float64 `json:"resyncSeconds"`
	ResyncStatusWrites           int     `json:"resyncStatusWrites"`
	RestartHeapAllocAfterGCBytes uint64  `json:"restartHeapAllocAfterGCBytes"`
	RestartRSSBytes              uint64  `json:"restartRssBytes"`
	RestartRSSPeakBytes          uint64  `json:"restartRssPeakBytes"`
	// Per Parcel in the cluster.
	EtcdBytesPerParcel         float64 `json:"etcdBytesPerParcel"`
	APIServerRSSBytesPerParcel float64 `json:"apiServerRssBytesPerParcel"`
	ManagerRSSBytesPerParcel   float64 `json:"managerRssBytesPerParcel"`
	CachedBytesPerParcel       float64 `json:"cachedBytesPerParcel"`
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
func printTable(w io.Writer, r *results) error {
	p := &printer{out: w, w: w}
	p.table()
	p.println("\nraw API server (plain client, QPS unlimited)\t\t\t\t\t\t")
	p.println("writers\tcreates/s\tappends/s\tblend 1:7/s\tCPU ms/append\terrors\t")
	for _, x := range r.Raw {
		p.printf("%d\t%.0f\t%.0f\t%.0f\t%.3f\t%d\t\n", x.Concurrency, x.CreatesPerSec, x.AppendsPerSec, x.MixPerSec,
			x.APIServerCPUMsPerAppend, x.Errors)
	}
	p.endTable()
	p.printf("  kube-apiserver idle: %.3f cores alone, %.3f with the manager running\n",
		r.RawIdleCores[procAPIServer], r.IdleCores[procAPIServer])

	p.table()
	p.println("\ncourier API\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t")
	p.println("step\tmix\tclients\taccepted/s\tx R_raw\tcost ratio\treq/update\tp50 ms\tp95 ms\tp99 ms\tlag p50\tlag p99\t" +
		"processed/s\tx R_raw\tPOD MB/s\t409s\tno-op\tnot fold\theap MB\tRSS peak MB\t")
	for _, s := range r.Steps {
		p.printf("%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%d\t%d\t%d\t%.0f\t%.0f\t\n",
			s.Name, s.Mix, s.Concurrency, s.AcceptedPerSec, s.IngestRatio, s.CostRatio, s.RequestsPerUpdateTotal,
			s.LatencyMs.P50, s.LatencyMs.P95, s.LatencyMs.P99, s.LagMs.P50, s.LagMs.P99, s.ProcessedPerSec,
			s.ProcessedRatio, s.PODBytesPerSec/(1<<20), s.Conflicts409, s.NoOpStatusWrites, s.Mismatched,
			s.HeapInuseMaxBytes/(1<<20), float64(s.RSSPeakBytes)/(1<<20))
	}
	p.endTable()
	for _, s := range r.Steps {
		p.printf("  %s API requests per update: %s\n", s.Name, formatRequests(s.RequestsPerUpdate))
	}
	for _, s := range r.Steps {
		p.printf("  %s Kubernetes Events: %.2f recorded and %.2f written per update (%d not written: merged or dropped), "+
			"%d failed writes, %.1f ms per write\n", s.Name, perUpdate(s.EventsRecorded, s.Accepted),
			perUpdate(s.EventsWritten, s.Accepted), s.EventsRecorded-s.EventsWritten, s.EventWriteErrors, s.EventWriteMsMean)
	}
	printStages(p, r.Steps)
	for _, s := range r.Steps {
		p.printf("  %s answers by code: %v; unreconciled %d; kube-apiserver %.1f CPU-s, %.3f ms per update; "+
			"CPU cores while sending: %v\n", s.Name, s.Codes, s.Unreconciled, s.APIServerCPUSeconds,
			s.APIServerCPUMsPerUpdate, s.CPUCores)
	}
	for _, x := range r.Raw {
		p.printf("  raw %d writers, CPU cores: %v\n", x.Concurrency, x.CPUCores)
	}

	if sus := r.Sustained; sus != nil {
		p.table()
		p.printf("\nsustained: interleaved mix at %.0f/s for %.0f s (manager, each after a GC)\n", sus.PacedPerSec, sus.Seconds)
		p.println("\tat s\tRSS MB\tlive heap MB\t")
		for _, m := range []struct {
			name string
			mark memoryMark
		}{{"start", sus.Start}, {"middle", sus.Middle}, {"end", sus.End}} {
			p.printf("%s\t%.0f\t%.0f\t%.0f\t\n", m.name, m.mark.AtSeconds, mib(m.mark.RSSBytes), mib(m.mark.LiveHeapBytes))
		}
		p.printf("second-half growth\t\t%+.1f%%\t%+.1f%%\t\n", 100*sus.RSSGrowthSecondHalf, 100*sus.LiveHeapGrowthSecondHalf)
		p.endTable()
	}

	if len(r.Scale) == 0 {
		return p.err
	}
	p.table()
	p.println("\nscale (per Parcel: growth from the empty cluster over every Parcel in it)\t\t\t\t\t\t\t\t\t\t\t\t\t\t")
	p.println("parcels\tof\tload s\tetcd MB\tB/parcel\tapiserver RSS MB\tB/parcel\tLIST s\t" +
		"manager RSS MB\tB/parcel\tlive heap B/parcel\tB/parcel (load)\tready s\tresync s\tresync writes\t")
	for _, s := range r.Scale {
		target := fmt.Sprint(s.Target)
		if s.StoppedAtRSSCeiling {
			target += " (RSS ceiling)"
		}
		p.printf("%d\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%d\t\n",
			s.CachedParcels, target, s.LoadSeconds, float64(s.EtcdDBBytes)/(1<<20), s.EtcdBytesPerParcel,
			mib(s.APIServerRSSBytes), s.APIServerRSSBytesPerParcel, s.ListSeconds, mib(s.RestartRSSBytes),
			s.ManagerRSSBytesPerParcel, s.CachedBytesPerParcel, s.LoadBytesPerParcel, s.ReadySeconds, s.ResyncSeconds,
			s.ResyncStatusWrites)
	}
	p.endTable()
	return p.err
}

// printer writes text, through a tabwriter between table and endTable,
// and keeps the first error.
type printer struct {
	out, w io.Writer
	tw     *tabwriter.Writer
	err    error
}

func (p *printer) table() {
	p.tw = tabwriter.NewWriter(p.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	p.w = p.tw
}

func (p *printer) endTable() {
	if p.err == nil {
		p.err = p.tw.Flush()
	}
	p.w = p.out
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) println(line string) {
	p.printf("%s\n", line)
}

// formatRequests prints requests per update, most first.
func formatRequests(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.3f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// printStages writes where kube-apiserver's CPU went in each profiled
// step, a column per step.
func printStages(p *printer, steps []stepResult) {
	var profiled []stepResult
	for _, s := range steps {
		if len(s.APIServerStages) > 0 {
			profiled = append(profiled, s)
		}
	}
	if len(profiled) == 0 {
		return
	}
	p.println("\nkube-apiserver CPU by stage (share of the step's profile; a sample counts under every stage its stack passes through)")
	p.table()
	header := "stage\t"
	for _, s := range profiled {
		header += fmt.Sprintf("%s (%.0f CPU-s)\t", s.Name, s.APIServerProfileSeconds)
	}
	p.println(header)
	for i, st := range profiled[0].APIServerStages {
		row := st.Stage + "\t"
		for _, s := range profiled {
			row += fmt.Sprintf("%.0f%%\t", 100*s.APIServerStages[i].Share)
		}
		p.println(row)
	}
	p.endTable()
}

// perUpdate is n per accepted update.
func perUpdate(n, accepted int) float64 {
	if accepted == 0 {
		return 0
	}
	return float64(n) / float64(accepted)
}
