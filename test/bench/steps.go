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
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Series read from the manager's metrics.
const (
	metricRESTRequests = "rest_client_requests_total"
	metricHeapInuse    = "go_memstats_heap_inuse_bytes"
	metricHeapAlloc    = "go_memstats_heap_alloc_bytes"
	metricPODStored    = "parcel_pod_stored_bytes_total"
	metricReconciles   = "controller_runtime_reconcile_total"
	metricQueueDepth   = "workqueue_depth"
	metricEvents       = "parcel_kube_events_recorded_total"
	metricEventWrites  = "parcel_kube_event_writes_total"
	metricEventWriteS  = "parcel_kube_event_write_duration_seconds"
	labelParcelCtrl    = `controller="parcel"`
	labelParcelQueue   = `name="parcel"`
	labelConflict      = `code="409"`
)

// stepSpec is one step of courier API load.
type stepSpec struct {
	name        string
	kind        string // mixBurst or mixInterleaved
	mix         mix
	concurrency int
	// paced, when not 0, is the open-loop rate the step sends at.
	paced float64
	dur   time.Duration
	// profile takes CPU profiles of kube-apiserver and the manager over
	// most of the step.
	profile bool
	// afterSend, when set, runs as soon as the step stops sending.
	afterSend func()
	// batch, when not 0, sends that many scans per request through the
	// batch endpoint.
	batch int
}

// The kinds of traffic.
const (
	mixBurst       = "burst"
	mixInterleaved = "interleaved"
)

// webhookSteps drives the courier API with the burst mix at each
// concurrency and at half of its peak accepted rate, then with the
// interleaved mix at each concurrency, then sustains the interleaved
// mix's peak rate.
func (b *bench) webhookSteps(ctx context.Context, o options, res *results) error {
	tr := newTracker()
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range b.couriers {
		go tr.watch(watchCtx, b.client, c.namespace)
	}
	maxConc := slices.Max(o.concurrency)
	d := &driver{
		url:      b.manager.webhookURL,
		couriers: b.couriers,
		http: &http.Client{
			Transport: &http.Transport{MaxIdleConns: 2 * maxConc, MaxIdleConnsPerHost: 2 * maxConc},
			Timeout:   2 * time.Minute,
		},
		tracker: tr,
	}
	run := func(spec stepSpec) (stepResult, error) {
		st, err := b.webhookStep(ctx, o, d, tr, spec, res)
		if err == nil {
			res.Steps = append(res.Steps, st)
		}
		return st, err
	}

	peak := 0.0
	for i, c := range o.concurrency {
		name := fmt.Sprintf("S%02d", i)
		st, err := run(stepSpec{name: name, kind: mixBurst, mix: newBurstMix(name, b.couriers, c), concurrency: c,
			dur: o.step, profile: c == maxConc})
		if err != nil {
			return err
		}
		peak = max(peak, st.AcceptedPerSec)
	}
	if peak > 0 {
		if _, err := run(stepSpec{name: "HALF", kind: mixBurst, mix: newBurstMix("HALF", b.couriers, maxConc),
			concurrency: maxConc, paced: peak / 2, dur: o.step}); err != nil {
			return err
		}
	}
	if err := b.batchSteps(o, run); err != nil {
		return err
	}

	logf("filling the interleaved pool: %d parcels in flight", o.pool)
	pool, err := b.newInterleavedMix(ctx, o.pool)
	if err != nil {
		return err
	}
	b.settle(ctx, time.Now().Add(o.drain))
	peak = 0
	for i, c := range o.concurrency {
		st, err := run(stepSpec{name: fmt.Sprintf("I%02d", i), kind: mixInterleaved, mix: pool, concurrency: c,
			dur: o.step, profile: c == maxConc})
		if err != nil {
			return err
		}
		peak = max(peak, st.AcceptedPerSec)
	}
	if peak > 0 && o.sustained > 0 {
		sus, err := b.sustainedStep(ctx, o, pool, maxConc, peak, run)
		res.Sustained = sus
		if err != nil {
			return err
		}
	}

	// The interleaved mix at the most clients again, once per --events
	// setting asked for, each with the manager restarted with it; then
	// back to the defaults for the scale steps.
	for i, mode := range o.eventModes {
		logf("restarting the manager with --events=%s", mode)
		b.stopManager()
		if _, err := b.startManager(ctx, "--events="+mode); err != nil {
			return err
		}
		d.url = b.manager.webhookURL
		if _, err := run(stepSpec{name: fmt.Sprintf("E%02d", i), kind: mixInterleaved + " --events=" + mode, mix: pool,
			concurrency: maxConc, dur: o.step}); err != nil {
			return err
		}
	}
	if len(o.eventModes) > 0 {
		b.stopManager()
		if _, err := b.startManager(ctx); err != nil {
			return err
		}
		d.url = b.manager.webhookURL
	}
	return b.notifySteps(ctx, o, d, tr, pool, res)
}

// batchSteps sends the burst mix again through the batch endpoint, at the
// fewest and the most clients, beside the single posts of the S steps.
func (b *bench) batchSteps(o options, run func(stepSpec) (stepResult, error)) error {
	for i, c := range batchConcurrencies(o.concurrency, o.batch) {
		name := fmt.Sprintf("B%02d", i)
		if _, err := run(stepSpec{name: name, kind: fmt.Sprintf("%s batch=%d", mixBurst, o.batch),
			mix: newBurstMix(name, b.couriers, c), concurrency: c, dur: o.step, batch: o.batch}); err != nil {
			return err
		}
	}
	return nil
}

// batchConcurrencies are the client counts the batch steps run at: the
// fewest and the most of the single-post steps; none without a batch size.
func batchConcurrencies(all []int, batch int) []int {
	if batch <= 0 {
		return nil
	}
	lo, hi := slices.Min(all), slices.Max(all)
	if lo == hi {
		return []int{lo}
	}
	return []int{lo, hi}
}

// measureIdle returns the cores each process uses over d with no traffic.
func measureIdle(ctx context.Context, d time.Duration) map[string]float64 {
	before := sampleCPU()
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return sampleCPU().coresSince(before)
}

// webhookStep runs one step of the courier API load and collects what it
// did, waiting for the reconciler to catch up before it reads the
// figures that depend on it.
func (b *bench) webhookStep(ctx context.Context, o options, d *driver, tr *tracker, spec stepSpec,
	res *results) (stepResult, error) {
	m := b.manager
	raw := res.rawAt(spec.concurrency)
	st := stepResult{Name: spec.name, Mix: spec.kind, Concurrency: spec.concurrency, PacedPerSec: spec.paced,
		RawMixPerSec: raw.MixPerSec, Codes: map[string]int{}}
	courierNS := func(ns string) bool { return strings.HasPrefix(ns, "bench-courier-") }
	before, err := m.scrape(ctx)
	if err != nil {
		return st, err
	}
	requestsBefore, err := b.apiRequests(ctx)
	if err != nil {
		return st, err
	}
	if err := b.audit.read(); err != nil {
		return st, err
	}
	writesBefore := b.audit.total(courierNS)
	tr.reset()

	var limit *rate.Limiter
	label := fmt.Sprintf("%s mix, %d clients", spec.kind, spec.concurrency)
	if spec.paced > 0 {
		limit = rate.NewLimiter(rate.Limit(spec.paced), 1)
		label = fmt.Sprintf("%s mix, %d clients paced at %.0f/s", spec.kind, spec.concurrency, spec.paced)
	}
	logf("courier API, %s: %s, for %s", spec.name, label, spec.dur)
	sampler := m.sampleHeap(ctx)
	profiled := b.profileStep(ctx, o, m, spec, &st)
	start := time.Now()
	cpuBefore := sampleCPU()
	samples, elapsed := d.drive(ctx, spec.mix, spec.concurrency, spec.dur, limit, spec.batch)
	if spec.afterSend != nil {
		spec.afterSend()
	}
	st.CPUCores = sampleCPU().coresSince(cpuBefore)
	profiled()

	// Let the reconciler catch up: every accepted update in a status, the
	// work queue empty, and a moment for the last writes to reach the
	// watch and the audit log. A step longer than the drain can leave a
	// longer backlog, so it is waited for as long as it sent: the next
	// step starts from none.
	deadline := time.Now().Add(max(o.drain, spec.dur))
	for tr.outstanding() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	b.settle(ctx, deadline)
	time.Sleep(time.Second)
	cpuAfter := sampleCPU()
	st.HeapInuseMaxBytes = sampler()

	after, err := m.scrape(ctx)
	if err != nil {
		return st, err
	}
	requestsAfter, err := b.apiRequests(ctx)
	if err != nil {
		return st, err
	}
	if err := b.audit.read(); err != nil {
		return st, err
	}
	lags, changes, lastSeen := tr.snapshot()
	st.Unreconciled = tr.outstanding()

	st.tally(samples, elapsed, start, raw, lags, lastSeen)
	if st.Accepted == 0 {
		// Nothing to divide by: a step that measured nothing must not
		// pass as a zero cost.
		return st, fmt.Errorf("step %s: no update accepted of %d sent (answers %v)", spec.name, st.Requests, st.Codes)
	}
	st.Conflicts409 = int(after.sum(metricRESTRequests, labelConflict) - before.sum(metricRESTRequests, labelConflict))
	st.PODStoredBytes = int64(after.sum(metricPODStored) - before.sum(metricPODStored))
	st.events(before, after)
	st.StatusWrites = b.audit.total(courierNS) - writesBefore
	st.StatusChanges = changes
	st.NoOpStatusWrites = st.StatusWrites - st.StatusChanges

	st.cost(cpuBefore, cpuAfter, res.IdleCores[procAPIServer], raw)
	st.requests(requestsBefore, requestsAfter)

	if _, st.RSSPeakBytes, err = m.memory(); err != nil {
		return st, err
	}
	if st.Mismatched, err = b.verifyCouriers(ctx); err != nil {
		return st, err
	}
	logf("  accepted %.0f/s (%.2f x R_raw), cost ratio %.2f (%.3f ms API-server CPU per update), "+
		"%.2f API requests per update, answer p99 %.0f ms, lag p99 %.0f ms, processed %.0f/s, "+
		"409s %d, no-op status writes %d, unreconciled %d, status != fold %d",
		st.AcceptedPerSec, st.IngestRatio, st.CostRatio, st.APIServerCPUMsPerUpdate, st.RequestsPerUpdateTotal,
		st.LatencyMs.P99, st.LagMs.P99, st.ProcessedPerSec,
		st.Conflicts409, st.NoOpStatusWrites, st.Unreconciled, st.Mismatched)
	return st, nil
}

// events fills in the Kubernetes Events the manager recorded and wrote
// during the step, from its metrics.
func (st *stepResult) events(before, after metrics) {
	delta := func(name string, labels ...string) float64 {
		return after.sum(name, labels...) - before.sum(name, labels...)
	}
	st.EventsRecorded = int(delta(metricEvents))
	st.EventsWritten = int(delta(metricEventWrites, `result="created"`) + delta(metricEventWrites, `result="patched"`) +
		delta(metricEventWrites, `result="updated"`))
	st.EventWriteErrors = int(delta(metricEventWrites, `result="error"`))
	if n := delta(metricEventWriteS + "_count"); n > 0 {
		st.EventWriteMsMean = 1000 * delta(metricEventWriteS+"_sum") / n
	}
}

// tally fills in the answers, rates and latencies of a step from its
// samples, and its lags from the tracker.
func (st *stepResult) tally(samples []sample, elapsed time.Duration, start time.Time, raw rawResult,
	lags []time.Duration, lastSeen time.Time) {
	var latencies []time.Duration
	for _, s := range samples {
		st.Requests++
		code := strconv.Itoa(s.code)
		if s.err {
			code = "error"
		}
		st.Codes[code]++
		if !s.accepted() {
			continue
		}
		st.Accepted++
		if s.result != resultDuplicate {
			st.Written++
		}
		st.PODBytes += int64(s.podBytes)
		latencies = append(latencies, s.latency)
	}
	secs := elapsed.Seconds()
	st.Seconds = secs
	st.AcceptedPerSec = float64(st.Accepted) / secs
	st.WrittenPerSec = float64(st.Written) / secs
	st.PODBytesPerSec = float64(st.PODBytes) / secs
	if raw.MixPerSec > 0 {
		st.IngestRatio = st.AcceptedPerSec / raw.MixPerSec
	}
	if !lastSeen.IsZero() {
		st.ProcessedPerSec = float64(len(lags)) / lastSeen.Sub(start).Seconds()
		if raw.MixPerSec > 0 {
			st.ProcessedRatio = st.ProcessedPerSec / raw.MixPerSec
		}
	}
	st.LatencyMs = percentiles(latencies)
	st.LagMs = percentiles(lags)
}

// cost fills in the step's API-server CPU and cost ratio from the CPU
// samples taken at its first request and once the reconciler caught up.
func (st *stepResult) cost(before, after cpuSample, idleCores float64, raw rawResult) {
	// The cost: the API server's CPU from the first request to the
	// drained queue, less what it burns idle with the manager running,
	// per accepted update, over the same for one raw append.
	wall := after.at.Sub(before.at).Seconds()
	st.APIServerCPUSeconds = round3(after.byName[procAPIServer] - before.byName[procAPIServer])
	st.APIServerIdleCores = idleCores
	if st.Accepted > 0 {
		net := st.APIServerCPUSeconds - st.APIServerIdleCores*wall
		st.APIServerCPUMsPerUpdate = round3(1000 * net / float64(st.Accepted))
		if raw.APIServerCPUMsPerAppend > 0 {
			st.CostRatio = round2(st.APIServerCPUMsPerUpdate / raw.APIServerCPUMsPerAppend)
		}
	}
}

// requests fills in the API requests per accepted update.
func (st *stepResult) requests(before, after requestCounts) {
	st.RequestsPerUpdate = after.perUpdate(before, st.Accepted)
	for _, v := range st.RequestsPerUpdate {
		st.RequestsPerUpdateTotal += v
	}
	st.RequestsPerUpdateTotal = round3(st.RequestsPerUpdateTotal)
}

// sampleHeap samples the manager's heap in use every second until the
// returned function is called, which returns the highest value seen.
func (m *manager) sampleHeap(ctx context.Context) func() float64 {
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu   sync.Mutex
		peak float64
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if ms, err := m.scrape(ctx); err == nil {
				mu.Lock()
				peak = max(peak, ms.sum(metricHeapInuse))
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() float64 {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// waitQueueEmpty waits until the Parcel controller's work queue is empty,
// until deadline at the most.
func (b *bench) waitQueueEmpty(ctx context.Context, deadline time.Time) error {
	for {
		ms, err := b.manager.scrape(ctx)
		depth := ms.sum(metricQueueDepth, labelParcelQueue)
		if err == nil && depth == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the Parcel work queue still held %.0f Parcels at the end of the drain", depth)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settle waits, until deadline at the most, for the Parcel work queue to
// empty and then for the manager's Event sink to write what the passes
// recorded; what it gives up on is logged, and the step measured as it is.
func (b *bench) settle(ctx context.Context, deadline time.Time) {
	if err := b.waitQueueEmpty(ctx, deadline); err != nil {
		logf("  %v", err)
	}
	if err := b.waitEventsWritten(ctx, deadline); err != nil {
		logf("  %v", err)
	}
}

// eventsQuiet is how long no Event may be written for the manager's Event
// sink to count as drained. Its broadcaster writes from one goroutine, as
// fast as the API server answers, so a backlog leaves no gap this long.
const eventsQuiet = 1500 * time.Millisecond

// waitEventsWritten waits, until deadline at the most, until the API
// server has been asked to write no Event for eventsQuiet: the manager's
// broadcaster writes Events behind the reconciler, so a step that ends
// when the work queue is empty would otherwise leave its last Events to be
// counted, and paid for, by the next (the 10,000-parcel pool fill's Events
// had read as 1.95 Event writes per update of the first interleaved step).
func (b *bench) waitEventsWritten(ctx context.Context, deadline time.Time) error {
	last, quietSince := -1.0, time.Now()
	for {
		c, err := b.apiRequests(ctx)
		if err != nil {
			return err
		}
		n := c.events()
		if n != last {
			last, quietSince = n, time.Now()
		} else if time.Since(quietSince) >= eventsQuiet {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the manager was still writing Events at the end of the drain (%.0f written in all)", n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// verifyCouriers counts the couriers' Parcels whose status is not the
// fold of their events at their current generation, Ready.
func (b *bench) verifyCouriers(ctx context.Context) (int, error) {
	bad := 0
	for _, c := range b.couriers {
		var list trackingv1alpha1.ParcelList
		if err := b.client.List(ctx, &list, client.InNamespace(c.namespace)); err != nil {
			return 0, fmt.Errorf("listing the Parcels of %s: %w", c.namespace, err)
		}
		for i := range list.Items {
			p := &list.Items[i]
			fold := trackingv1alpha1.Fold(p.Spec.Events)
			if p.Status.ObservedGeneration != p.Generation || p.Status.Phase != fold.Phase ||
				!equality.Semantic.DeepEqual(trackingv1alpha1.WithoutRecorded(p.Status.History), fold.History()) ||
				!meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionReady) {
				bad++
			}
		}
	}
	return bad, nil
}

// profileStep starts CPU profiles of kube-apiserver and the manager over
// most of a step that asks for them; the function it returns waits for
// both and puts where kube-apiserver's CPU went into st.
func (b *bench) profileStep(ctx context.Context, o options, m *manager, spec stepSpec, st *stepResult) func() {
	if o.profiles == "" || !spec.profile {
		return func() {}
	}
	secs := max(1, int(spec.dur.Seconds())-2)
	var (
		wg      sync.WaitGroup
		apiFile string
	)
	wg.Go(func() {
		file := filepath.Join(o.profiles, fmt.Sprintf("manager-cpu-%s.pprof", spec.name))
		if err := m.saveProfile(ctx, fmt.Sprintf("profile?seconds=%d", secs), file); err != nil {
			logf("  manager CPU profile: %v", err)
		}
	})
	wg.Go(func() {
		file := filepath.Join(o.profiles, fmt.Sprintf("apiserver-cpu-%s.pprof", spec.name))
		if err := b.saveAPIServerProfile(ctx, secs, file); err != nil {
			logf("  kube-apiserver CPU profile: %v", err)
			return
		}
		apiFile = file
	})
	return func() {
		wg.Wait()
		if apiFile == "" {
			return
		}
		var err error
		if st.APIServerStages, st.APIServerProfileSeconds, err = readStages(apiFile); err != nil {
			logf("  kube-apiserver CPU profile: %v", err)
		}
	}
}
