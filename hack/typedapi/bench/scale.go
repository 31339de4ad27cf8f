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

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// scaleNamespace holds the Parcels the scale series loads.
const scaleNamespace = "bench-scale"

// eventsPerParcel is how many events a loaded Parcel carries, as in the
// probe the issue reports (a create and a status write each).
const eventsPerParcel = 8

// listPageSize is a paginated LIST's page, as the probe used.
const listPageSize = 500

// settle is the pause before reading memory after loading, so in-flight
// requests finish and the watch cache catches up.
const settle = 5 * time.Second

// scalePoint is one server at one object count.
type scalePoint struct {
	Target string `json:"target"`
	// Loaded is how many Parcels of eventsPerParcel events the series has
	// loaded, the level; Objects every Parcel the server holds, the write
	// steps' (of one to a few events) included.
	Loaded  int `json:"loaded"`
	Objects int `json:"objects"`
	// LoadWritesPerSec is the rate (creates plus status writes) the load
	// up to this point ran at.
	LoadWritesPerSec float64 `json:"loadWritesPerSec"`
	// RSSBytes is each server process's resident memory, before the LIST.
	RSSBytes      map[string]int64 `json:"rssBytes"`
	EtcdDataBytes int64            `json:"etcdDataBytes"`
	// ListSeconds is a full paginated LIST's time, by path.
	ListSeconds map[string]float64 `json:"listSeconds"`
}

// scaleSeries is one server's series and why it stopped, if early.
type scaleSeries struct {
	Target  string       `json:"target"`
	Points  []scalePoint `json:"points"`
	Stopped string       `json:"stopped,omitempty"`
}

// seriesOptions bound a series.
type seriesOptions struct {
	levels   []int
	loaders  int
	rssLimit int64
	budget   time.Duration
}

// runSeries loads Parcels of eventsPerParcel events through load until it
// has loaded each level, and measures the server's memory (mainRole's RSS
// is the one the limit applies to), its etcd's data directory, and a full
// LIST through each of lists. before is how many Parcels the server held
// when the series began (the write steps'): the first point measures
// them, and the levels count only what the series loads, so the memory
// between two levels is that of level-to-level Parcels of one shape.
func runSeries(ctx context.Context, name string, load *target, lists []*target, mainRole, etcdDir string,
	before int, o seriesOptions) scaleSeries {
	series := scaleSeries{Target: name}
	series.Points = append(series.Points, measurePoint(ctx, name, load, lists, etcdDir, 0, before, 0))
	var loading time.Duration
	loaded := 0
	for _, level := range o.levels {
		logf("%s: loading Parcels %d to %d", name, loaded, level)
		start := time.Now()
		writes, err := loadParcels(ctx, load, loaded, level-loaded, o.loaders)
		took := time.Since(start)
		loading += took
		if err != nil {
			series.Stopped = fmt.Sprintf("loading stopped between %d and %d Parcels: %v", loaded, level, err)
			return series
		}
		loaded = level
		p := measurePoint(ctx, name, load, lists, etcdDir, loaded, before+loaded, float64(writes)/took.Seconds())
		series.Points = append(series.Points, p)
		logf("%s: %d Parcels loaded: %s RSS %d MB, LIST %v", name, loaded, mainRole, p.RSSBytes[mainRole]>>20, p.ListSeconds)
		if rss := p.RSSBytes[mainRole]; rss > o.rssLimit {
			series.Stopped = fmt.Sprintf("stopped after %d Parcels loaded: %s RSS %d MB passed the %d MB limit",
				loaded, mainRole, rss>>20, o.rssLimit>>20)
			return series
		}
		if loading > o.budget {
			series.Stopped = fmt.Sprintf("stopped after %d Parcels loaded: loading took %s, past the %s budget",
				loaded, loading.Round(time.Second), o.budget)
			return series
		}
	}
	return series
}

// measurePoint reads the server's memory and its etcd's size and, once the
// series has loaded something, times a full LIST.
func measurePoint(ctx context.Context, name string, load *target, lists []*target, etcdDir string,
	loaded, objects int, rate float64) scalePoint {
	time.Sleep(settle)
	p := scalePoint{Target: name, Loaded: loaded, Objects: objects, LoadWritesPerSec: round1(rate),
		RSSBytes: load.procs.rssBytes(), EtcdDataBytes: dirBytes(etcdDir), ListSeconds: map[string]float64{}}
	if loaded == 0 {
		return p
	}
	for _, t := range lists {
		start := time.Now()
		n, err := t.listAll(ctx, listPageSize)
		if err != nil {
			logf("%s: %v", t.name, err)
			continue
		}
		p.ListSeconds[t.name] = since(start)
		if n < objects {
			logf("%s: LIST returned %d Parcels, want at least %d", t.name, n, objects)
		}
	}
	return p
}

// loadParcels creates n Parcels of eventsPerParcel events numbered from
// first, each followed by the status write a reconciler would make, with
// loaders concurrent writers; it returns the writes made.
func loadParcels(ctx context.Context, t *target, first, n, loaders int) (int64, error) {
	var (
		next, writes atomic.Int64
		once         sync.Once
		failure      error
		wg           sync.WaitGroup
	)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		once.Do(func() { failure = err; cancel() })
	}
	for range loaders {
		wg.Go(func() {
			for lctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				articleID := fmt.Sprintf("S%07d", first+i)
				events := make([]trackingv1alpha1.TrackingEvent, eventsPerParcel)
				for k := range events {
					events[k] = event(k, time.Now())
				}
				body, err := parcelJSON(scaleNamespace, articleID, events)
				if err != nil {
					fail(err)
					return
				}
				if err := t.create(lctx, scaleNamespace, body); err != nil {
					fail(fmt.Errorf("creating %s: %w", articleID, err))
					return
				}
				status, err := statusPatch(events)
				if err != nil {
					fail(err)
					return
				}
				if err := t.patch(lctx, scaleNamespace, trackingv1alpha1.ParcelName(articleID), types.MergePatchType, status, true); err != nil {
					fail(fmt.Errorf("writing the status of %s: %w", articleID, err))
					return
				}
				writes.Add(2)
			}
		})
	}
	wg.Wait()
	return writes.Load(), failure
}

// statusPatch is the status the fold derives from events, with Ready, as
// a merge patch of the status subresource.
func statusPatch(events []trackingv1alpha1.TrackingEvent) ([]byte, error) {
	fold := trackingv1alpha1.Fold(events)
	now := metav1.Now()
	status := trackingv1alpha1.ParcelStatus{
		ObservedGeneration: 1,
		Phase:              fold.Phase,
		LastEventTime:      fold.LastEventTime,
		History:            fold.History(),
		Conditions: []metav1.Condition{{Type: trackingv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: "Reconciled", Message: "status reflects every event", ObservedGeneration: 1, LastTransitionTime: now}},
	}
	return json.Marshal(map[string]any{"status": status})
}
