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

package parcelcache

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

func TestParcelCache(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Parcel cache")
}

var _ = Describe("Transform", func() {
	const courier = "acme"
	scanned := time.Date(2025, 10, 8, 7, 0, 0, 0, time.UTC)

	It("keeps every value of a Parcel, dropping only managedFields and spare list capacity", func() {
		events := make([]trackingv1alpha1.TrackingEvent, 0, 9)
		events = append(events,
			trackingv1alpha1.TrackingEvent{ID: "a", Status: trackingv1alpha1.StatusReceivedInDepot,
				Time: metav1.NewTime(scanned), Source: courier},
			trackingv1alpha1.TrackingEvent{ID: "b", Status: trackingv1alpha1.StatusInTransit,
				Time: metav1.NewTime(scanned.Add(5 * time.Minute)), Source: courier})
		conditions := make([]metav1.Condition, 1, 4)
		conditions[0] = metav1.Condition{Type: trackingv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: trackingv1alpha1.ReasonReconciled, Message: "Received in Depot after 2 events"}
		p := &trackingv1alpha1.Parcel{
			ObjectMeta: metav1.ObjectMeta{Namespace: courier, Name: "arp1", Generation: 2,
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
			Spec: trackingv1alpha1.ParcelSpec{ArticleID: "ARP1", Events: events},
			Status: trackingv1alpha1.ParcelStatus{
				Phase:      trackingv1alpha1.StatusReceivedInDepot,
				History:    []trackingv1alpha1.EventVerdict{{ID: "a", Result: trackingv1alpha1.ResultApplied}},
				Conditions: conditions,
			},
		}
		want := p.DeepCopy()
		want.ManagedFields = nil

		got, err := Transform(p)
		Expect(err).NotTo(HaveOccurred())
		parcel, ok := got.(*trackingv1alpha1.Parcel)
		Expect(ok).To(BeTrue(), "a Parcel stays a Parcel")
		Expect(equality.Semantic.DeepEqual(parcel, want)).To(BeTrue(), "values changed: %+v", parcel)
		Expect(parcel.Spec.Events).To(HaveCap(len(parcel.Spec.Events)))
		Expect(parcel.Status.Conditions).To(HaveCap(len(parcel.Status.Conditions)))
		Expect(parcel.Status.ProofOfDelivery).To(BeNil(), "an absent list stays absent")
	})

	It("strips managedFields from other objects", func() {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token",
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
		got, err := Transform(s)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(BeAssignableToTypeOf(&corev1.Secret{}))
		Expect(got.(*corev1.Secret).ManagedFields).To(BeNil()) //nolint:forcetypeassert // checked on the line above
	})
})
