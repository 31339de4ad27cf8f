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
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// scaleNamespace holds the Parcels loaded for the memory and resync
// measurements.
const scaleNamespace = "bench-scale"

// Series read from the manager's metrics.
const (
	metricRESTRequests = "rest_client_requests_total"
	metricHeapInuse    = "go_memstats_heap_inuse_bytes"
	metricPODStored    = "parcel_pod_stored_bytes_total"
	metricReconciles   = "controller_runtime_reconcile_total"
	metricQueueDepth   = "workqueue_depth"
	labelParcelCtrl    = `controller="parcel"`
	labelParcelQueue   = `name="parcel"`
	labelConflict      = `code="409"`
)

// webhookSteps drives the courier API at each concurrency, then at half of
// the peak accepted rate.
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
	peak := 0.0
	for i, c := range o.concurrency {
		st, err := b.webhookStep(ctx, o, d, tr, fmt.Sprintf("S%02d", i), c, 0, res.rawAt(c))
		if err != nil {
			return err
		}
		res.Steps = append(res.Steps, st)
		peak = max(peak, st.AcceptedPerSec)
	}
	if peak > 0 {
		st, err := b.webhookStep(ctx, o, d, tr, "HALF", maxConc, peak/2, res.rawAt(maxConc))
		if err != nil {
			return err
		}
		res.Steps = append(res.Steps, st)
	}
	return b.notifySteps(ctx, o, d, tr)
}

// webhookStep runs one step of the courier API load and collects what it
// did, waiting for the reconciler to catch up before it reads the
// figures that depend on it.
func (b *bench) webhookStep(ctx context.Context, o options, d *driver, tr *tracker, name string, concurrency int,
	paced float64, raw rawResult) (stepResult, error) {
	m := b.manager
	st := stepResult{Name: name, Concurrency: concurrency, PacedPerSec: paced, RawMixPerSec: raw.MixPerSec,
		Codes: map[string]int{}}
	courierNS := func(ns string) bool { return strings.HasPrefix(ns, "bench-courier-") }
	before, err := m.scrape(ctx)
	if err != nil {
		return st, err
	}
	if err := b.audit.read(); err != nil {
		return st, err
	}
	writesBefore := b.audit.total(courierNS)
	tr.reset()

	var limit *rate.Limiter
	label := fmt.Sprintf("%d clients", concurrency)
	if paced > 0 {
		limit = rate.NewLimiter(rate.Limit(paced), 1)
		label = fmt.Sprintf("%d clients paced at %.0f/s (half of peak)", concurrency, paced)
	}
	logf("courier API, %s, for %s", label, o.step)
	sampler := m.sampleHeap(ctx)
	var profiled sync.WaitGroup
	if o.profiles != "" && paced == 0 && concurrency == slices.Max(o.concurrency) {
		// A CPU profile of the busiest step, over most of it.
		profiled.Go(func() {
			secs := max(1, int(o.step.Seconds())-2)
			file := filepath.Join(o.profiles, fmt.Sprintf("manager-cpu-%s.pprof", name))
			if err := m.saveProfile(ctx, fmt.Sprintf("profile?seconds=%d", secs), file); err != nil {
				logf("  CPU profile: %v", err)
			}
		})
	}
	start := time.Now()
	cpuBefore := sampleCPU()
	samples, elapsed := d.drive(ctx, name, concurrency, o.step, limit)
	st.CPUCores = sampleCPU().coresSince(cpuBefore)
	profiled.Wait()

	// Let the reconciler catch up: every accepted update in a status, the
	// work queue empty, and a moment for the last writes to reach the
	// watch and the audit log.
	deadline := time.Now().Add(o.drain)
	for tr.outstanding() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if err := b.waitQueueEmpty(ctx, time.Until(deadline)); err != nil {
		logf("  %v", err)
	}
	time.Sleep(time.Second)
	st.HeapInuseMaxBytes = sampler()

	after, err := m.scrape(ctx)
	if err != nil {
		return st, err
	}
	if err := b.audit.read(); err != nil {
		return st, err
	}
	lags, changes, lastSeen := tr.snapshot()
	st.Unreconciled = tr.outstanding()

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
		if s.result != "duplicate" {
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
	st.Conflicts409 = int(after.sum(metricRESTRequests, labelConflict) - before.sum(metricRESTRequests, labelConflict))
	st.PODStoredBytes = int64(after.sum(metricPODStored) - before.sum(metricPODStored))
	st.StatusWrites = b.audit.total(courierNS) - writesBefore
	st.StatusChanges = changes
	st.NoOpStatusWrites = st.StatusWrites - st.StatusChanges
	if _, st.RSSPeakBytes, err = m.memory(); err != nil {
		return st, err
	}
	if st.Mismatched, err = b.verifyCouriers(ctx); err != nil {
		return st, err
	}
	logf("  accepted %.0f/s (%.2f x R_raw), answer p99 %.0f ms, lag p99 %.0f ms, processed %.0f/s, "+
		"409s %d, no-op status writes %d, unreconciled %d, status != fold %d",
		st.AcceptedPerSec, st.IngestRatio, st.LatencyMs.P99, st.LagMs.P99, st.ProcessedPerSec,
		st.Conflicts409, st.NoOpStatusWrites, st.Unreconciled, st.Mismatched)
	return st, nil
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

// waitQueueEmpty waits until the Parcel controller's work queue is empty.
func (b *bench) waitQueueEmpty(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ms, err := b.manager.scrape(ctx)
		if err == nil && ms.sum(metricQueueDepth, labelParcelQueue) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the Parcel work queue did not empty within %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
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

// scaleLifecycle is the eight events every loaded Parcel holds.
var scaleLifecycle = []trackingv1alpha1.TrackingStatus{
	trackingv1alpha1.StatusReceivedInDepot, trackingv1alpha1.StatusLoadedByDriver, trackingv1alpha1.StatusInTransit,
	trackingv1alpha1.StatusFailedDelivery, trackingv1alpha1.StatusReturnToDepot, trackingv1alpha1.StatusLoadedByDriver,
	trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusDelivered,
}

// scaleSteps loads Parcels up to each count, measures the manager's heap
// per Parcel, then restarts it and times the resync.
func (b *bench) scaleSteps(ctx context.Context, o options, res *results) error {
	if len(o.parcels) == 0 {
		return nil
	}
	if err := b.createNamespace(ctx, scaleNamespace); err != nil {
		return err
	}
	loaded := 0
	for _, n := range o.parcels {
		st := scaleResult{Parcels: n}
		toLoad := n - loaded
		allocBefore, _, err := b.manager.heapAfterGC(ctx)
		if err != nil {
			return err
		}
		before, err := b.manager.scrape(ctx)
		if err != nil {
			return err
		}
		logf("loading %d Parcels of 8 events (%d in all)", toLoad, n)
		start := time.Now()
		if err := b.load(ctx, loaded, n); err != nil {
			return err
		}
		st.LoadSeconds = time.Since(start).Seconds()
		if err := b.waitReconciled(ctx, before.sum(metricReconciles, labelParcelCtrl)+float64(toLoad)); err != nil {
			return err
		}
		st.ReconciledSeconds = time.Since(start).Seconds()
		loaded = n
		allocAfter, inuseAfter, err := b.manager.heapAfterGC(ctx)
		if err != nil {
			return err
		}
		st.HeapAllocAfterGCBytes, st.HeapInuseAfterGCBytes = allocAfter, inuseAfter
		if o.profiles != "" {
			file := filepath.Join(o.profiles, fmt.Sprintf("manager-heap-loaded-%d.pprof", n))
			if err := b.manager.saveProfile(ctx, "heap?gc=1", file); err != nil {
				logf("  heap profile: %v", err)
			}
		}
		st.LoadBytesPerParcel = (float64(allocAfter) - float64(allocBefore)) / float64(toLoad)
		if st.RSSBytes, st.RSSPeakBytes, err = b.manager.memory(); err != nil {
			return err
		}

		var all metav1.PartialObjectMetadataList
		all.SetGroupVersionKind(trackingv1alpha1.GroupVersion.WithKind("ParcelList"))
		if err := b.client.List(ctx, &all); err != nil {
			return fmt.Errorf("counting Parcels: %w", err)
		}
		st.CachedParcels = len(all.Items)
		if err := b.audit.read(); err != nil {
			return err
		}
		everywhere := func(string) bool { return true }
		writesBefore := b.audit.total(everywhere)

		logf("restarting the manager with %d Parcels", st.CachedParcels)
		b.stopManager()
		ready, err := b.startManager(ctx)
		if err != nil {
			return err
		}
		st.ReadySeconds = ready.Seconds()
		if err := b.waitReconciled(ctx, float64(st.CachedParcels)); err != nil {
			return err
		}
		st.ResyncSeconds = time.Since(b.manager.proc.Started()).Seconds()
		// Nothing changed while the manager was down: every status write
		// of the resync is a no-op.
		time.Sleep(time.Second)
		if err := b.audit.read(); err != nil {
			return err
		}
		st.ResyncStatusWrites = b.audit.total(everywhere) - writesBefore
		if st.RestartHeapAllocAfterGCBytes, _, err = b.manager.heapAfterGC(ctx); err != nil {
			return err
		}
		st.CachedBytesPerParcel = (float64(st.RestartHeapAllocAfterGCBytes) - float64(res.BaselineHeapAfterGCBytes)) /
			float64(st.CachedParcels)
		if o.profiles != "" {
			file := filepath.Join(o.profiles, fmt.Sprintf("manager-heap-%d.pprof", st.CachedParcels))
			if err := b.manager.saveProfile(ctx, "heap?gc=1", file); err != nil {
				logf("  heap profile: %v", err)
			}
		}
		if _, st.RestartRSSPeakBytes, err = b.manager.memory(); err != nil {
			return err
		}
		logf("  heap after GC: +%.0f B per Parcel loaded; after a restart %.0f B per cached Parcel, ready in %.1f s, "+
			"resynced in %.1f s, %d status writes", st.LoadBytesPerParcel, st.CachedBytesPerParcel, st.ReadySeconds,
			st.ResyncSeconds, st.ResyncStatusWrites)
		res.Scale = append(res.Scale, st)
	}
	return nil
}

// load creates the scale Parcels numbered from..to-1, each with all eight
// events, from 32 writers.
func (b *bench) load(ctx context.Context, from, to int) error {
	const writers = 32
	var (
		next   atomic.Int64
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	next.Store(int64(from))
	base := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				articleID := fmt.Sprintf("SCALE%09d", i)
				events := make([]trackingv1alpha1.TrackingEvent, len(scaleLifecycle))
				for j, s := range scaleLifecycle {
					t := base.Add(time.Duration(j) * 10 * time.Minute)
					events[j] = trackingv1alpha1.TrackingEvent{
						ID: trackingv1alpha1.DeriveEventID(articleID, s, t), Status: s, Time: metav1.NewTime(t),
						ReceivedAt: &metav1.Time{Time: t}, Remarks: "benchmark scan", Source: "bench",
					}
				}
				p := &trackingv1alpha1.Parcel{
					ObjectMeta: metav1.ObjectMeta{Namespace: scaleNamespace, Name: trackingv1alpha1.ParcelName(articleID),
						Labels: map[string]string{trackingv1alpha1.ArticleIDLabel: articleID}},
					Spec: trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: events},
				}
				if err := b.client.Create(ctx, p); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("loading Parcels: %w", err)
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("loading Parcels: %d creates failed", n)
	}
	return nil
}

// waitReconciled waits until the Parcel controller has reconciled at least
// want times in all and its work queue is empty.
func (b *bench) waitReconciled(ctx context.Context, want float64) error {
	for ctx.Err() == nil {
		ms, err := b.manager.scrape(ctx)
		if err == nil && ms.sum(metricReconciles, labelParcelCtrl) >= want && ms.sum(metricQueueDepth, labelParcelQueue) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("waiting for the reconciler: %w", ctx.Err())
}
