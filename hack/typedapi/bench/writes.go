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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// sentPrefix starts the remarks of every event the benchmark writes; the
// rest is the time the request was sent, in Unix nanoseconds, from which
// the watcher computes its delivery lag.
const sentPrefix = "sent="

// watchDrain is how long a step's watcher keeps reading after the last
// write, for the events still on their way.
const watchDrain = 3 * time.Second

// eventStart is the time of every parcel's first event.
var eventStart = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// lifecycle is the order the benchmark's events report.
var lifecycle = []trackingv1alpha1.TrackingStatus{
	trackingv1alpha1.StatusReceivedInDepot, trackingv1alpha1.StatusLoadedByDriver,
	trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusDelivered,
}

// writeResult is one step: one operation on one path at one concurrency.
type writeResult struct {
	Target  string `json:"target"`
	Op      string `json:"op"`
	Writers int    `json:"writers"`
	Writes  int    `json:"writes"`
	Errors  int    `json:"errors"`
	// FirstError is the first error a writer met, if any.
	FirstError string  `json:"firstError,omitempty"`
	PerSec     float64 `json:"perSec"`
	P50Millis  float64 `json:"p50Millis"`
	P99Millis  float64 `json:"p99Millis"`
	// CPUMillisPerWrite is each server process's CPU time per write; the
	// total is under "total", the whole machine's under "machine".
	CPUMillisPerWrite map[string]float64 `json:"cpuMillisPerWrite"`
	// Watch delivery lag: from sending the write to a watcher on the same
	// path receiving it, over the events the watcher saw.
	WatchEvents       int     `json:"watchEvents"`
	WatchLagP50Millis float64 `json:"watchLagP50Millis"`
	WatchLagP99Millis float64 `json:"watchLagP99Millis"`
}

// event is the k-th event of a parcel, stamped with when it is sent.
func event(k int, sent time.Time) trackingv1alpha1.TrackingEvent {
	return trackingv1alpha1.TrackingEvent{
		ID:      "e" + strconv.Itoa(k),
		Status:  lifecycle[k%len(lifecycle)],
		Time:    metav1.NewTime(eventStart.Add(time.Duration(k) * time.Minute)),
		Remarks: sentPrefix + strconv.FormatInt(sent.UnixNano(), 10),
		Source:  "bench",
	}
}

// parcelJSON is a Parcel's body as both paths accept it.
func parcelJSON(ns, articleID string, events []trackingv1alpha1.TrackingEvent) ([]byte, error) {
	return json.Marshal(&trackingv1alpha1.Parcel{
		TypeMeta:   metav1.TypeMeta{APIVersion: trackingv1alpha1.GroupVersion.String(), Kind: "Parcel"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: trackingv1alpha1.ParcelName(articleID)},
		Spec:       trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: events},
	})
}

// appendPatch is the courier API's append (webhookserver/update.go): test
// the article ID, add one event at the end, in one JSON patch.
func appendPatch(articleID string, e trackingv1alpha1.TrackingEvent) ([]byte, error) {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	return json.Marshal([]op{{"test", "/spec/articleId", articleID}, {"add", "/spec/events/-", e}})
}

// writer is one concurrent client of a step: the parcels it created, and
// how many events each has.
type writer struct {
	articleIDs []string
	events     []int
}

// runWriteStep runs one operation ("create" or "append") on t for d with
// one goroutine per writer, in namespace ns (which must exist on the path).
func runWriteStep(ctx context.Context, t *target, ns string, writers []*writer, op string, d time.Duration) (writeResult, error) {
	res := writeResult{Target: t.name, Op: op, Writers: len(writers)}
	rv, err := t.currentResourceVersion(ctx, ns)
	if err != nil {
		return res, err
	}
	w, err := t.watch(ctx, ns, rv)
	if err != nil {
		return res, fmt.Errorf("watching %s: %w", t.name, err)
	}
	lags := make(chan []time.Duration, 1)
	go func() { lags <- watchLags(w) }()

	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	before := t.procs.cpuSeconds()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i, wr := range writers {
		wg.Go(func() {
			var local []time.Duration
			var errs int
			var first error
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				sent := time.Now()
				var err error
				switch op {
				case opCreate:
					articleID := fmt.Sprintf("W%d-%d-%d", len(writers), i, n)
					var body []byte
					if body, err = parcelJSON(ns, articleID, []trackingv1alpha1.TrackingEvent{event(0, sent)}); err == nil {
						if err = t.create(ctx, ns, body); err == nil {
							wr.articleIDs = append(wr.articleIDs, articleID)
							wr.events = append(wr.events, 1)
						}
					}
				case opAppend:
					if len(wr.articleIDs) == 0 {
						return
					}
					k := n % len(wr.articleIDs)
					var body []byte
					if body, err = appendPatch(wr.articleIDs[k], event(wr.events[k], sent)); err == nil {
						if err = t.patch(ctx, ns, trackingv1alpha1.ParcelName(wr.articleIDs[k]), types.JSONPatchType, body, false); err == nil {
							wr.events[k]++
						}
					}
				}
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				local = append(local, time.Since(sent))
			}
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, local...)
			res.Errors += errs
			if first != nil && res.FirstError == "" {
				res.FirstError = first.Error()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	after := t.procs.cpuSeconds()
	time.Sleep(watchDrain)
	w.Stop()
	watched := <-lags

	res.Writes = len(latencies)
	res.PerSec = round1(float64(res.Writes) / elapsed)
	res.P50Millis, res.P99Millis = percentileMillis(latencies, 0.50), percentileMillis(latencies, 0.99)
	res.CPUMillisPerWrite = cpuPerWrite(before, after, res.Writes)
	res.WatchEvents = len(watched)
	res.WatchLagP50Millis, res.WatchLagP99Millis = percentileMillis(watched, 0.50), percentileMillis(watched, 0.99)
	return res, nil
}

// watchLags reads w until it closes, returning for each Parcel event the
// time from its last event's send to now.
func watchLags(w watch.Interface) []time.Duration {
	var out []time.Duration
	for ev := range w.ResultChan() {
		now := time.Now()
		if ev.Type != watch.Added && ev.Type != watch.Modified {
			continue
		}
		spec, ok := specOf(ev.Object)
		if !ok || len(spec.Events) == 0 {
			continue
		}
		raw, ok := strings.CutPrefix(spec.Events[len(spec.Events)-1].Remarks, sentPrefix)
		if !ok {
			continue
		}
		if ns, err := strconv.ParseInt(raw, 10, 64); err == nil {
			out = append(out, now.Sub(time.Unix(0, ns)))
		}
	}
	return out
}

// cpuPerWrite is each process's CPU milliseconds per write between two
// samples, their total under "total" and the machine's under "machine".
func cpuPerWrite(before, after map[string]float64, writes int) map[string]float64 {
	out := map[string]float64{}
	if writes == 0 {
		return out
	}
	var total float64
	for role, t := range after {
		v := (t - before[role]) * 1000 / float64(writes)
		out[role] = round2(v)
		if role != "machine" {
			total += v
		}
	}
	out["total"] = round2(total)
	return out
}

func percentileMillis(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return round1(float64(s[i].Microseconds()) / 1000)
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
