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

package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

func step(id string, from, to trackingv1alpha1.TrackingStatus) trackingv1alpha1.FoldStep {
	return trackingv1alpha1.FoldStep{From: from, To: to, Verdict: trackingv1alpha1.EventVerdict{ID: id}}
}

func rejected(id string, from, to trackingv1alpha1.TrackingStatus, reason string) trackingv1alpha1.FoldStep {
	s := step(id, from, to)
	s.Verdict.Result, s.Verdict.Reason = trackingv1alpha1.ResultRejected, reason
	return s
}

var (
	toReceived = step("r", trackingv1alpha1.StatusNotScanned, trackingv1alpha1.StatusReceivedInDepot)
	toLoaded   = step("l", trackingv1alpha1.StatusReceivedInDepot, trackingv1alpha1.StatusLoadedByDriver)
	toTransit  = step("t", trackingv1alpha1.StatusLoadedByDriver, trackingv1alpha1.StatusInTransit)
	toFailed   = step("f", trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusFailedDelivery)
	toReturned = step("x", trackingv1alpha1.StatusDelivered, trackingv1alpha1.StatusReturnToSender)
	toDepot    = step("d", trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusReturnToDepot)
	stored     = trackingv1alpha1.StoredProofOfDelivery{EventID: "pod", Size: 2048, URL: "s3://pods/acme/p/pod.pdf"}
)

var _ = Describe("The Events of a pass", func() {
	DescribeTable("are at most one per kind, filtered by the policy",
		func(rep report, policy EventPolicy, want []recordedEvent) {
			Expect(rep.events(policy)).To(Equal(want))
		},
		Entry("nothing new records nothing", report{}, EventsAll, []recordedEvent(nil)),
		Entry("one transition", report{applied: []trackingv1alpha1.FoldStep{toReceived}}, EventsAll, []recordedEvent{
			{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition, "Not Scanned -> Received in Depot"},
		}),
		Entry("a chain of transitions is one Event",
			report{applied: []trackingv1alpha1.FoldStep{toReceived, toLoaded, toTransit}}, EventsAll, []recordedEvent{
				{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition,
					toTransitChain},
			}),
		Entry("transitions that do not follow each other are separate chains of one Event",
			report{applied: []trackingv1alpha1.FoldStep{toReceived, toTransit, toFailed}}, EventsAll, []recordedEvent{
				{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition,
					"Not Scanned -> Received in Depot; Loaded by Driver -> In Transit -> Failed Delivery"},
			}),
		Entry("rejections are one Warning naming each event",
			report{rejected: []trackingv1alpha1.FoldStep{
				rejected("a", trackingv1alpha1.StatusNotScanned, trackingv1alpha1.StatusInTransit, "not allowed"),
				rejected("b", trackingv1alpha1.StatusNotScanned, trackingv1alpha1.StatusDelivered, "also not allowed"),
			}}, EventsExceptions, []recordedEvent{
				{corev1.EventTypeWarning, trackingv1alpha1.EventTransitionRejected, actionTransition,
					"event a: not allowed; event b: also not allowed"},
			}),
		Entry("files stored", report{stored: []trackingv1alpha1.StoredProofOfDelivery{stored}}, EventsAll, []recordedEvent{
			{corev1.EventTypeNormal, trackingv1alpha1.EventProofOfDeliveryStored, actionStorePODs,
				"event pod: 2048 bytes stored at s3://pods/acme/p/pod.pdf"},
		}),
		Entry("file failures are a Warning under every policy",
			report{podFailures: []string{"event a: digest differs", "event b: staged file missing"}}, EventsExceptions,
			[]recordedEvent{{corev1.EventTypeWarning, trackingv1alpha1.EventProofOfDeliveryFailed, actionReconcile,
				"event a: digest differs; event b: staged file missing"}}),
		Entry("exceptions: routine transitions and stored files record nothing",
			report{applied: []trackingv1alpha1.FoldStep{toReceived, toLoaded, toTransit},
				stored: []trackingv1alpha1.StoredProofOfDelivery{stored}}, EventsExceptions, []recordedEvent(nil)),
		Entry("exceptions: a pass reaching Failed Delivery names its whole chain",
			report{applied: []trackingv1alpha1.FoldStep{toTransit, toFailed}}, EventsExceptions, []recordedEvent{
				{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition, "Loaded by Driver -> In Transit -> Failed Delivery"},
			}),
		Entry("exceptions: Delivered", report{applied: []trackingv1alpha1.FoldStep{
			step("d", trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusDelivered)}}, EventsExceptions, []recordedEvent{
			{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition, "In Transit -> Delivered"},
		}),
		Entry("exceptions: a return to sender", report{applied: []trackingv1alpha1.FoldStep{toReturned}}, EventsExceptions,
			[]recordedEvent{{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition, "Delivered -> Return to Sender"}}),
		Entry("exceptions: a return to depot", report{applied: []trackingv1alpha1.FoldStep{toDepot}}, EventsExceptions,
			[]recordedEvent{{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition, "In Transit -> Return to Depot"}}),
		Entry("the zero policy is all", report{applied: []trackingv1alpha1.FoldStep{toLoaded}}, EventPolicy(""), []recordedEvent{
			{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition, "Received in Depot -> Loaded by Driver"},
		}),
	)

	DescribeTable("--events",
		func(value string, want EventPolicy, wantErr string) {
			got, err := ParseEventPolicy(value)
			if wantErr != "" {
				Expect(err).To(MatchError(wantErr))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry("all", "all", EventsAll, ""),
		Entry("exceptions", "exceptions", EventsExceptions, ""),
		Entry("empty", "", EventPolicy(""), `"": want all (an Event for every transition) or exceptions `+
			`(rejections, failures, Delivered, Failed Delivery and returns only)`),
		Entry("case matters", "All", EventPolicy(""), `"All": want all (an Event for every transition) or exceptions `+
			`(rejections, failures, Delivered, Failed Delivery and returns only)`),
	)

	DescribeTable("a reconcile request passes the predicate only when its value changes",
		func(old, updated string, want bool) {
			annotated := func(v string) *trackingv1alpha1.Parcel {
				p := &trackingv1alpha1.Parcel{}
				if v != "" {
					metav1.SetMetaDataAnnotation(&p.ObjectMeta, trackingv1alpha1.ReconcileRequestAnnotation, v)
				}
				return p
			}
			Expect(reconcileRequested{}.Update(event.UpdateEvent{ObjectOld: annotated(old), ObjectNew: annotated(updated)})).
				To(Equal(want))
		},
		Entry("set", "", "2026-12-01T20:00:00Z", true),
		Entry("changed", "2026-12-01T20:00:00Z", "2026-12-01T20:05:00Z", true),
		Entry("removed", "2026-12-01T20:00:00Z", "", true),
		Entry("unchanged", "2026-12-01T20:00:00Z", "2026-12-01T20:00:00Z", false),
		Entry("never set", "", "", false),
	)
})
