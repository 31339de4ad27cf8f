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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// tracker watches the couriers' Parcels. It times each accepted update
// from its answer to the first status computed from a spec that holds it
// (the event id in status.history, which the reconciler writes together
// with observedGeneration, phase and Ready), and counts the status changes
// the watch delivers, for the no-op check.
type tracker struct {
	mu sync.Mutex
	// pending maps a parcel (namespace/name) to its answered events not
	// yet seen in status, with the time of their answer.
	pending map[string]map[string]time.Time
	// history is the event ids of each parcel's last status seen.
	history map[string]map[string]bool
	// status is each parcel's last status seen.
	status map[string]trackingv1alpha1.ParcelStatus
	// lags are answer-to-status times of the events seen since reset;
	// lastSeen is when the last of them was seen.
	lags     []time.Duration
	lastSeen time.Time
	// statusChanges counts watch events whose status differs from the
	// one before, since reset.
	statusChanges int
}

func newTracker() *tracker {
	return &tracker{
		pending: map[string]map[string]time.Time{},
		history: map[string]map[string]bool{},
		status:  map[string]trackingv1alpha1.ParcelStatus{},
	}
}

// answered notes an accepted update. A status that already holds it (the
// reconciler beat the answer to us) counts as no lag.
func (t *tracker) answered(parcel, eventID string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.history[parcel][eventID] {
		t.lags = append(t.lags, 0)
		return
	}
	if t.pending[parcel] == nil {
		t.pending[parcel] = map[string]time.Time{}
	}
	t.pending[parcel][eventID] = at
}

// observe takes in one watched Parcel.
func (t *tracker) observe(p *trackingv1alpha1.Parcel, now time.Time) {
	key := p.Namespace + "/" + p.Name
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.status[key]; ok && !equality.Semantic.DeepEqual(old, p.Status) {
		t.statusChanges++
	}
	t.status[key] = p.Status
	ids := make(map[string]bool, len(p.Status.History))
	for _, v := range p.Status.History {
		ids[v.ID] = true
	}
	t.history[key] = ids
	for id, at := range t.pending[key] {
		if ids[id] {
			t.lags = append(t.lags, now.Sub(at))
			t.lastSeen = now
			delete(t.pending[key], id)
		}
	}
	if len(t.pending[key]) == 0 {
		delete(t.pending, key)
	}
}

// reset starts a new step: its lags and status changes only.
func (t *tracker) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lags, t.statusChanges, t.lastSeen = nil, 0, time.Time{}
}

// outstanding counts the accepted updates not yet seen in a status.
func (t *tracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, ids := range t.pending {
		n += len(ids)
	}
	return n
}

// snapshot returns the step's lags, status changes and the time the last
// lag was seen.
func (t *tracker) snapshot() ([]time.Duration, int, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Duration(nil), t.lags...), t.statusChanges, t.lastSeen
}

// watch follows the Parcels of one namespace until ctx ends, watching
// again from the last resource version whenever the watch closes.
func (t *tracker) watch(ctx context.Context, c client.WithWatch, namespace string) {
	rv := ""
	for ctx.Err() == nil {
		w, err := c.Watch(ctx, &trackingv1alpha1.ParcelList{}, client.InNamespace(namespace),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				rv = ""
				break
			}
			p, ok := ev.Object.(*trackingv1alpha1.Parcel)
			if !ok {
				continue
			}
			rv = p.ResourceVersion
			if ev.Type != watch.Deleted {
				t.observe(p, time.Now())
			}
		}
		w.Stop()
	}
}
