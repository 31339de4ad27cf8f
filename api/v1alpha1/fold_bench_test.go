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

package v1alpha1_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// lifecycle is a parcel's usual life with one failed delivery: 8 events.
var lifecycle = []trackingv1alpha1.TrackingStatus{
	trackingv1alpha1.StatusReceivedInDepot,
	trackingv1alpha1.StatusLoadedByDriver,
	trackingv1alpha1.StatusInTransit,
	trackingv1alpha1.StatusFailedDelivery,
	trackingv1alpha1.StatusInTransit,
	trackingv1alpha1.StatusFailedDelivery,
	trackingv1alpha1.StatusInTransit,
	trackingv1alpha1.StatusDelivered,
}

// benchEvents returns n events cycling through lifecycle, shuffled so the
// fold has sorting to do, as late updates cause.
func benchEvents(n int) []trackingv1alpha1.TrackingEvent {
	base := time.Date(2025, 10, 8, 7, 0, 0, 0, time.UTC)
	events := make([]trackingv1alpha1.TrackingEvent, n)
	for i := range events {
		events[i] = trackingv1alpha1.TrackingEvent{
			ID:     fmt.Sprintf("ev-%03d", i),
			Status: lifecycle[i%len(lifecycle)],
			Time:   metav1.NewTime(base.Add(time.Duration(i) * time.Minute)),
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	return events
}

// BenchmarkFold folds a parcel's events: 8 is a typical parcel, 256 the
// most a Parcel holds.
func BenchmarkFold(b *testing.B) {
	for _, n := range []int{8, 64, trackingv1alpha1.MaxEvents} {
		events := benchEvents(n)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = trackingv1alpha1.Fold(events)
			}
		})
	}
}
