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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

var _ = Describe("StampRecorded", func() {
	earlier := metav1.NewTime(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	verdict := func(id string, r trackingv1alpha1.EventResult, at *metav1.Time) trackingv1alpha1.EventVerdict {
		return trackingv1alpha1.EventVerdict{ID: id, Result: r, RecordedAt: at}
	}
	applied, rejected, duplicate := trackingv1alpha1.ResultApplied, trackingv1alpha1.ResultRejected, trackingv1alpha1.ResultDuplicate

	DescribeTable("keeps the time of a verdict already recorded, stamps the others now",
		func(prior, next []trackingv1alpha1.EventVerdict, want []*metav1.Time) {
			trackingv1alpha1.StampRecorded(prior, next, now)
			got := make([]*metav1.Time, len(next))
			for i := range next {
				got[i] = next[i].RecordedAt
			}
			Expect(got).To(Equal(want))
		},
		Entry("a first history", nil,
			[]trackingv1alpha1.EventVerdict{verdict("a", applied, nil), verdict("b", applied, nil)},
			[]*metav1.Time{&now, &now}),
		Entry("a verdict kept as it was", []trackingv1alpha1.EventVerdict{verdict("a", applied, &earlier)},
			[]trackingv1alpha1.EventVerdict{verdict("a", applied, nil), verdict("b", applied, nil)},
			[]*metav1.Time{&earlier, &now}),
		Entry("a late event inserted before a recorded one", []trackingv1alpha1.EventVerdict{verdict("b", applied, &earlier)},
			[]trackingv1alpha1.EventVerdict{verdict("a", applied, nil), verdict("b", applied, nil)},
			[]*metav1.Time{&now, &earlier}),
		Entry("a rejected event that applies once the missing one arrives",
			[]trackingv1alpha1.EventVerdict{verdict("b", rejected, &earlier)},
			[]trackingv1alpha1.EventVerdict{verdict("a", applied, nil), verdict("b", applied, nil)},
			[]*metav1.Time{&now, &now}),
		Entry("a prior verdict without a time (recorded before recordedAt existed)",
			[]trackingv1alpha1.EventVerdict{verdict("a", applied, nil)},
			[]trackingv1alpha1.EventVerdict{verdict("a", applied, nil)},
			[]*metav1.Time{&now}),
		Entry("a retry of an event keeps the first one's time for the first one",
			[]trackingv1alpha1.EventVerdict{verdict("a", applied, &earlier)},
			[]trackingv1alpha1.EventVerdict{verdict("a", applied, nil), verdict("a", duplicate, nil)},
			[]*metav1.Time{&earlier, &now}),
	)

	It("does not share the prior history's times", func() {
		prior := []trackingv1alpha1.EventVerdict{verdict("a", applied, earlier.DeepCopy())}
		next := []trackingv1alpha1.EventVerdict{verdict("a", applied, nil)}
		trackingv1alpha1.StampRecorded(prior, next, now)
		Expect(next[0].RecordedAt).NotTo(BeIdenticalTo(prior[0].RecordedAt))
	})

	It("WithoutRecorded drops only the times, and leaves its input alone", func() {
		in := []trackingv1alpha1.EventVerdict{{ID: "a", Result: rejected, Reason: "why", RecordedAt: &now}}
		Expect(trackingv1alpha1.WithoutRecorded(in)).To(Equal([]trackingv1alpha1.EventVerdict{{ID: "a", Result: rejected, Reason: "why"}}))
		Expect(in[0].RecordedAt).To(Equal(&now))
		Expect(trackingv1alpha1.WithoutRecorded(nil)).To(BeNil())
	})
})
