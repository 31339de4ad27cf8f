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
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// rawNamespace holds the Parcels the raw measurement writes; they are
// deleted before the manager starts.
const rawNamespace = "bench-raw"

// rawResult is the API server's own write rate at one concurrency.
type rawResult struct {
	Concurrency    int     `json:"concurrency"`
	CreatesPerSec  float64 `json:"createsPerSec"`
	AppendsPerSec  float64 `json:"appendsPerSec"`
	Errors         int64   `json:"errors"`
	MixPerSec      float64 `json:"mixPerSec"`
	CreateFraction float64 `json:"createFraction"`
	// CPUCores is the cores each process (and the machine) used on
	// average over both measurements.
	CPUCores map[string]float64 `json:"cpuCores"`
	// APIServerCPUMsPerAppend is kube-apiserver's CPU time per append,
	// net of what it used idle: the unit of the steps' cost ratio.
	APIServerCPUMsPerAppend float64 `json:"apiServerCpuMsPerAppend"`
}

// rawStatuses are the statuses the raw appends cycle through; the API
// server does not care which.
var rawStatuses = []trackingv1alpha1.TrackingStatus{
	trackingv1alpha1.StatusReceivedInDepot, trackingv1alpha1.StatusLoadedByDriver,
	trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusFailedDelivery,
}

// rawEvent is an event like the courier API writes: the same fields, the
// same sizes.
func rawEvent(articleID string, i int, now time.Time) trackingv1alpha1.TrackingEvent {
	t := now.Add(time.Duration(i) * time.Minute).UTC().Truncate(time.Second)
	status := rawStatuses[i%len(rawStatuses)]
	return trackingv1alpha1.TrackingEvent{
		ID:         trackingv1alpha1.DeriveEventID(articleID, status, t),
		Status:     status,
		Time:       metav1.NewTime(t),
		ReceivedAt: &metav1.Time{Time: now.UTC().Truncate(time.Second)},
		Remarks:    scanRemarks,
		Source:     scanSource,
	}
}

// measureRaw measures, with plain controller-runtime clients and no
// manager running, how fast the API server creates Parcels with one event
// and appends one event to existing Parcels with the courier API's JSON
// patch, at the given concurrency, each for d. createFraction is the share
// of creates among the courier API's writes, for the blended rate;
// idleCores is what kube-apiserver uses with nothing running.
func (b *bench) measureRaw(ctx context.Context, concurrency int, d time.Duration, createFraction,
	idleCores float64) (rawResult, error) {
	res := rawResult{Concurrency: concurrency, CreateFraction: createFraction}
	// The client discovers the Parcel kind on its first request: not part
	// of what is measured.
	if err := b.client.List(ctx, &trackingv1alpha1.ParcelList{}, client.InNamespace(rawNamespace), client.Limit(1)); err != nil {
		return res, fmt.Errorf("warming up the client: %w", err)
	}
	cpuBefore := sampleCPU()
	var (
		errs    atomic.Int64
		created = make([][]string, concurrency)
	)
	elapsed := run(ctx, concurrency, d, func(ctx context.Context, w, seq int) {
		articleID := fmt.Sprintf("RAW%03d%03d%07d", concurrency, w, seq)
		p := &trackingv1alpha1.Parcel{
			ObjectMeta: metav1.ObjectMeta{Namespace: rawNamespace, Name: trackingv1alpha1.ParcelName(articleID),
				Labels: map[string]string{trackingv1alpha1.ArticleIDLabel: articleID}},
			Spec: trackingv1alpha1.ParcelSpec{ArticleID: articleID,
				Events: []trackingv1alpha1.TrackingEvent{rawEvent(articleID, 0, time.Now())}},
		}
		if err := b.client.Create(ctx, p); err != nil {
			if ctx.Err() == nil {
				errs.Add(1)
			}
			return
		}
		created[w] = append(created[w], articleID)
	})
	n := 0
	for _, c := range created {
		n += len(c)
	}
	res.CreatesPerSec = float64(n) / elapsed.Seconds()

	// Each worker appends one event to each of its own Parcels in turn,
	// round after round.
	var appends atomic.Int64
	appendsBefore := sampleCPU()
	elapsed = run(ctx, concurrency, d, func(ctx context.Context, w, seq int) {
		mine := created[w]
		if len(mine) == 0 {
			return
		}
		articleID := mine[seq%len(mine)]
		i := 1 + seq/len(mine)
		patch, err := json.Marshal([]map[string]any{
			{"op": "test", "path": "/spec/articleId", "value": articleID},
			{"op": "add", "path": "/spec/events/-", "value": rawEvent(articleID, i, time.Now())},
		})
		if err != nil {
			errs.Add(1)
			return
		}
		p := &trackingv1alpha1.Parcel{ObjectMeta: metav1.ObjectMeta{Namespace: rawNamespace, Name: trackingv1alpha1.ParcelName(articleID)}}
		if err := b.client.Patch(ctx, p, client.RawPatch(types.JSONPatchType, patch)); err != nil {
			if ctx.Err() == nil {
				errs.Add(1)
			}
			return
		}
		appends.Add(1)
	})
	appendsAfter := sampleCPU()
	res.AppendsPerSec = float64(appends.Load()) / elapsed.Seconds()
	if n := appends.Load(); n > 0 {
		cpu := appendsAfter.byName[procAPIServer] - appendsBefore.byName[procAPIServer] -
			idleCores*appendsAfter.at.Sub(appendsBefore.at).Seconds()
		res.APIServerCPUMsPerAppend = round3(1000 * cpu / float64(n))
	}
	res.Errors = errs.Load()
	res.CPUCores = sampleCPU().coresSince(cpuBefore)
	if res.CreatesPerSec > 0 && res.AppendsPerSec > 0 {
		res.MixPerSec = 1 / (createFraction/res.CreatesPerSec + (1-createFraction)/res.AppendsPerSec)
	}
	if err := b.client.DeleteAllOf(ctx, &trackingv1alpha1.Parcel{}, client.InNamespace(rawNamespace)); err != nil {
		return res, fmt.Errorf("deleting the raw measurement's Parcels: %w", err)
	}
	return res, nil
}

// run calls op from concurrency workers, each with its own sequence
// number, until d has passed; it returns the time from the start until the
// last call returned.
func run(ctx context.Context, concurrency int, d time.Duration, op func(ctx context.Context, worker, seq int)) time.Duration {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			for seq := 0; time.Now().Before(deadline) && ctx.Err() == nil; seq++ {
				op(ctx, w, seq)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
