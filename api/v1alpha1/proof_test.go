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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

var _ = Describe("Proofs", func() {
	// ev is an event with id; a non-empty file names its staging key.
	ev := func(id, file string) trackingv1alpha1.TrackingEvent {
		e := trackingv1alpha1.TrackingEvent{ID: id, Status: trackingv1alpha1.StatusDelivered}
		if file != "" {
			e.ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{StagingKey: file}
		}
		return e
	}
	DescribeTable("picks the first file recorded with each id",
		func(want map[string]int, events ...trackingv1alpha1.TrackingEvent) {
			got := trackingv1alpha1.Proofs(events)
			if len(want) == 0 {
				Expect(got).To(BeEmpty())
			} else {
				Expect(got).To(Equal(want))
			}
			for id, i := range want {
				Expect(trackingv1alpha1.ProofOf(events, id)).To(BeIdenticalTo(events[i].ProofOfDelivery))
			}
			for _, e := range events {
				if _, ok := want[e.ID]; !ok {
					Expect(trackingv1alpha1.ProofOf(events, e.ID)).To(BeNil())
				}
			}
		},
		Entry("no events", nil),
		Entry("no files", nil, ev("a", ""), ev("b", "")),
		Entry("a file with its event", map[string]int{"a": 0}, ev("a", "k1")),
		Entry("a file sent after its event, as a repeat", map[string]int{"a": 1}, ev("a", ""), ev("a", "k1")),
		Entry("a second file for the same id is never the proof", map[string]int{"a": 0}, ev("a", "k1"), ev("a", "k2")),
		Entry("a late file, then a racing copy", map[string]int{"a": 1}, ev("a", ""), ev("a", "k1"), ev("a", "k2")),
		Entry("ids apart", map[string]int{"a": 2, "b": 1}, ev("a", ""), ev("b", "k1"), ev("a", "k2"), ev("b", "k3")),
		Entry("a repeat without a file changes nothing", map[string]int{"a": 0}, ev("a", "k1"), ev("a", "")),
	)
})
