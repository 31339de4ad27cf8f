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
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// scaleNamespace holds the Parcels loaded for the memory and resync
// measurements.
const scaleNamespace = "bench-scale"

// listPageSize is the page of the full LIST, kubectl's default chunk.
const listPageSize = 500

// listPageAttempts is how often one page of the full LIST is tried.
const listPageAttempts = 3

// loadLead is how many loaded Parcels may wait in the reconciler's queue
// before the load holds back: about 30 s of its work.
const loadLead = 2000

// scaleLifecycle is the eight events every loaded Parcel holds.
var scaleLifecycle = []trackingv1alpha1.TrackingStatus{
	trackingv1alpha1.StatusReceivedInDepot, trackingv1alpha1.StatusLoadedByDriver, trackingv1alpha1.StatusInTransit,
	trackingv1alpha1.StatusFailedDelivery, trackingv1alpha1.StatusReturnToDepot, trackingv1alpha1.StatusLoadedByDriver,
	trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusDelivered,
}

// scaleSteps loads Parcels up to each count, or until kube-apiserver's
// resident set passes -max-apiserver-rss, and measures etcd's size, the
// API server's and the manager's memory and a full LIST; then restarts
// the manager and times the resync.
func (b *bench) scaleSteps(ctx context.Context, o options, res *results) error {
	if len(o.parcels) == 0 {
		return nil
	}
	if err := b.createNamespace(ctx, scaleNamespace); err != nil {
		return err
	}
	loaded := 0
	for _, n := range o.parcels {
		st := scaleResult{Target: n}
		allocBefore, _, err := b.manager.heapAfterGC(ctx)
		if err != nil {
			return err
		}
		before, err := b.manager.scrape(ctx)
		if err != nil {
			return err
		}
		logf("loading %d Parcels of 8 events (%d in all), up to kube-apiserver RSS %.1f GiB",
			n-loaded, n, float64(o.maxAPIServerRSS)/(1<<30))
		start := time.Now()
		created, ceiling, err := b.guardedLoad(ctx, loaded, n, o.maxAPIServerRSS)
		if err != nil {
			return err
		}
		st.StoppedAtRSSCeiling = ceiling
		st.LoadSeconds = time.Since(start).Seconds()
		if err := b.waitReconciled(ctx, before.sum(metricReconciles, labelParcelCtrl)+float64(created)); err != nil {
			return err
		}
		st.ReconciledSeconds = time.Since(start).Seconds()
		loaded += created
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
		if created > 0 {
			st.LoadBytesPerParcel = (float64(allocAfter) - float64(allocBefore)) / float64(created)
		}
		if st.RSSBytes, st.RSSPeakBytes, err = b.manager.memory(); err != nil {
			return err
		}
		if st.APIServerRSSBytes, err = apiServerRSS(); err != nil {
			return err
		}
		if st.EtcdDBBytes, err = b.etcdDBSize(); err != nil {
			return err
		}

		logf("listing every Parcel, %d a page", listPageSize)
		if st.CachedParcels, st.ListSeconds, err = b.listAll(ctx); err != nil {
			return err
		}
		if err := b.restartAndResync(ctx, o, &st); err != nil {
			return err
		}
		st.perParcel(res)
		logf("  %d Parcels: etcd %.0f B, kube-apiserver RSS %.0f B, manager RSS %.0f B and live heap %.0f B per Parcel "+
			"(after a restart); heap +%.0f B per Parcel loaded; LIST %.1f s; ready in %.1f s, resynced in %.1f s, "+
			"%d status writes", st.CachedParcels, st.EtcdBytesPerParcel, st.APIServerRSSBytesPerParcel,
			st.ManagerRSSBytesPerParcel, st.CachedBytesPerParcel, st.LoadBytesPerParcel, st.ListSeconds,
			st.ReadySeconds, st.ResyncSeconds, st.ResyncStatusWrites)
		res.Scale = append(res.Scale, st)
		if ceiling {
			logf("  kube-apiserver passed %.1f GiB: no larger count", float64(o.maxAPIServerRSS)/(1<<30))
			break
		}
	}
	return nil
}

// restartAndResync restarts the manager with every Parcel in place and
// measures its ready and resync times, the status writes of the resync
// and its memory after it; and kube-apiserver's peak memory so far.
func (b *bench) restartAndResync(ctx context.Context, o options, st *scaleResult) error {
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
	if o.profiles != "" {
		file := filepath.Join(o.profiles, fmt.Sprintf("manager-heap-%d.pprof", st.CachedParcels))
		if err := b.manager.saveProfile(ctx, "heap?gc=1", file); err != nil {
			logf("  heap profile: %v", err)
		}
	}
	if st.RestartRSSBytes, st.RestartRSSPeakBytes, err = b.manager.memory(); err != nil {
		return err
	}
	if _, st.APIServerRSSPeakBytes, err = childMemory(procAPIServer); err != nil {
		return err
	}
	return nil
}

// perParcel fills in the per-Parcel figures: growth from the empty
// cluster (control plane alone; the manager before any Parcel) over every
// Parcel in the cluster.
func (st *scaleResult) perParcel(res *results) {
	n := float64(st.CachedParcels)
	if n == 0 {
		return
	}
	st.EtcdBytesPerParcel = float64(st.EtcdDBBytes-res.BaselineEtcdDBBytes) / n
	st.APIServerRSSBytesPerParcel = (float64(st.APIServerRSSBytes) - float64(res.BaselineAPIServerRSSBytes)) / n
	st.ManagerRSSBytesPerParcel = (float64(st.RestartRSSBytes) - float64(res.BaselineManagerRSSBytes)) / n
	st.CachedBytesPerParcel = (float64(st.RestartHeapAllocAfterGCBytes) - float64(res.BaselineHeapAfterGCBytes)) / n
}

// guardedLoad loads Parcels from..to-1 and stops early when
// kube-apiserver's resident set passes ceiling; it returns how many it
// created and whether the ceiling stopped it. The load waits while the
// reconciler is more than loadLead Parcels behind, so the ceiling is met
// by reconciled Parcels (status, history and conditions written), the
// kind the figures are per, not by a backlog of bare specs.
func (b *bench) guardedLoad(ctx context.Context, from, to int, ceiling uint64) (int, bool, error) {
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		stopped, paused atomic.Bool
		wg              sync.WaitGroup
	)
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
				if rss, err := apiServerRSS(); err == nil && rss > ceiling {
					stopped.Store(true)
					cancel()
					return
				}
				if ms, err := b.manager.scrape(loadCtx); err == nil {
					paused.Store(ms.sum(metricQueueDepth, labelParcelQueue) > loadLead)
				}
			}
		}
	})
	created, err := b.load(loadCtx, from, to, paused.Load)
	cancel()
	wg.Wait()
	if stopped.Load() && ctx.Err() == nil {
		logf("  kube-apiserver RSS passed the ceiling after %d Parcels", from+created)
		return created, true, nil
	}
	return created, false, err
}

// load creates the scale Parcels numbered from..to-1, each with all eight
// events, from 32 writers, holding back while paused says so, and returns
// how many it created.
func (b *bench) load(ctx context.Context, from, to int, paused func() bool) (int, error) {
	const writers = 32
	var (
		next    atomic.Int64
		created atomic.Int64
		failed  atomic.Int64
		wg      sync.WaitGroup
	)
	next.Store(int64(from))
	base := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if paused() {
					time.Sleep(100 * time.Millisecond)
					continue
				}
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
						ReceivedAt: &metav1.Time{Time: t}, Remarks: scanRemarks, Source: scanSource,
					}
				}
				p := &trackingv1alpha1.Parcel{
					ObjectMeta: metav1.ObjectMeta{Namespace: scaleNamespace, Name: trackingv1alpha1.ParcelName(articleID),
						Labels: map[string]string{trackingv1alpha1.ArticleIDLabel: articleID}},
					Spec: trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: events},
				}
				switch err := b.client.Create(ctx, p); {
				case err == nil:
					created.Add(1)
				case ctx.Err() == nil:
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return int(created.Load()), fmt.Errorf("loading Parcels: %w", err)
	}
	if n := failed.Load(); n > 0 {
		return int(created.Load()), fmt.Errorf("loading Parcels: %d creates failed", n)
	}
	return int(created.Load()), nil
}

// listAll lists every Parcel in the cluster, listPageSize a page, as
// kubectl get parcels -A does, and returns how many and how long it took.
func (b *bench) listAll(ctx context.Context) (int, float64, error) {
	start := time.Now()
	n, cont := 0, ""
	for {
		var (
			page trackingv1alpha1.ParcelList
			err  error
		)
		// A page can fail on a loaded API server (an HTTP/2 stream reset
		// mid-body, "Please retry"): try it again, as kubectl would be
		// run again, before giving up.
		for range listPageAttempts {
			if err = b.client.List(ctx, &page, client.Limit(listPageSize), client.Continue(cont)); err == nil || ctx.Err() != nil {
				break
			}
			logf("  LIST page after %d Parcels: %v; again", n, err)
		}
		if err != nil {
			return n, 0, fmt.Errorf("listing Parcels: %w", err)
		}
		n += len(page.Items)
		if cont = page.Continue; cont == "" {
			return n, time.Since(start).Seconds(), nil
		}
	}
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
