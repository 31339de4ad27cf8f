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

package crd_test

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

var base = time.Date(2025, 10, 8, 8, 0, 0, 0, time.UTC)

// newNamespace gives each spec a namespace of its own.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "crd-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ns))).To(Succeed()) })
	return ns.Name
}

func event(id string, status trackingv1alpha1.TrackingStatus, minute int) trackingv1alpha1.TrackingEvent {
	return trackingv1alpha1.TrackingEvent{
		ID:     id,
		Status: status,
		Time:   metav1.NewTime(base.Add(time.Duration(minute) * time.Minute)),
		Source: "acme",
	}
}

func newParcel(ns, articleID string, events ...trackingv1alpha1.TrackingEvent) *trackingv1alpha1.Parcel {
	return &trackingv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: trackingv1alpha1.ParcelName(articleID)},
		Spec:       trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: events},
	}
}

// seedEvents is a parcel's usual life up to delivery, with its POD.
func seedEvents(ns string) []trackingv1alpha1.TrackingEvent {
	received := metav1.NewTime(base.Add(2 * time.Hour))
	delivered := event("ev-4", trackingv1alpha1.StatusDelivered, 135)
	delivered.ReceivedAt = &received
	delivered.Remarks = "Delivered successfully"
	delivered.Location = "Colombo 03"
	delivered.SignedBy = "R. Perera"
	delivered.ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{
		StagingKey:  "incoming/" + ns + "/ev-4",
		SHA256:      strings.Repeat("ab", 32),
		Size:        48213,
		ContentType: trackingv1alpha1.ContentTypePDF,
		Filename:    "pod.pdf",
	}
	return []trackingv1alpha1.TrackingEvent{
		event("ev-1", trackingv1alpha1.StatusReceivedInDepot, 0),
		event("ev-2", trackingv1alpha1.StatusLoadedByDriver, 30),
		event("ev-3", trackingv1alpha1.StatusInTransit, 60),
		delivered,
	}
}

// expectInvalid asserts the API server refused a write as Invalid with a
// message that names the field and the rule.
func expectInvalid(err error, fragments ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
	for _, f := range fragments {
		Expect(err.Error()).To(ContainSubstring(f))
	}
}

var _ = Describe("Parcel validation by the API server", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("accepts a valid Parcel and keeps every field", func() {
		p := newParcel(ns, "ARP1000052447", seedEvents(ns)...)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		got := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Name).To(Equal("arp1000052447"))
		Expect(got.Spec).To(Equal(p.Spec))
	})

	DescribeTable("refuses an invalid Parcel on create",
		func(mutate func(p *trackingv1alpha1.Parcel), fragments ...string) {
			p := newParcel(ns, "ARP1000052447", seedEvents(ns)...)
			mutate(p)
			expectInvalid(k8sClient.Create(ctx, p), fragments...)
		},
		Entry("an empty article ID", func(p *trackingv1alpha1.Parcel) { p.Spec.ArticleID = "" },
			"spec.articleId", "at least 1"),
		Entry("an article ID of 65 characters", func(p *trackingv1alpha1.Parcel) {
			p.Spec.ArticleID = strings.Repeat("A", 65)
		}, "spec.articleId", "Too long", "64"),
		Entry("an article ID with a slash", func(p *trackingv1alpha1.Parcel) { p.Spec.ArticleID = "ARP/1" },
			"spec.articleId", "should match"),
		Entry("an article ID with a space", func(p *trackingv1alpha1.Parcel) { p.Spec.ArticleID = "ARP 1" },
			"spec.articleId", "should match"),
		Entry("an article ID starting with punctuation", func(p *trackingv1alpha1.Parcel) { p.Spec.ArticleID = "-ARP1" },
			"spec.articleId", "should match"),
		Entry("257 events", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events = nil
			for i := range trackingv1alpha1.MaxEvents + 1 {
				p.Spec.Events = append(p.Spec.Events, event(fmt.Sprintf("ev-%d", i), trackingv1alpha1.StatusInTransit, i))
			}
		}, "spec.events", "Too many", "256"),
		Entry("an unknown status", func(p *trackingv1alpha1.Parcel) { p.Spec.Events[0].Status = "Lost" },
			"spec.events[0].status", `Unsupported value: "Lost"`, `"ReceivedInDepot"`),
		Entry("a courier spelling instead of the canonical status", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[0].Status = "Received in Depo"
		}, "spec.events[0].status", "Unsupported value"),
		Entry("a remark of 1025 characters", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[1].Remarks = strings.Repeat("r", trackingv1alpha1.MaxRemarksLength+1)
		}, "spec.events[1].remarks", "Too long", "1024"),
		Entry("a location of 257 characters", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[1].Location = strings.Repeat("l", trackingv1alpha1.MaxLocationLength+1)
		}, "spec.events[1].location", "Too long", "256"),
		Entry("a signedBy of 129 characters", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[3].SignedBy = strings.Repeat("s", trackingv1alpha1.MaxSignedByLength+1)
		}, "spec.events[3].signedBy", "Too long", "128"),
		Entry("signedBy on an event that is not Delivered", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[1].SignedBy = "R. Perera"
		}, "spec.events[1].signedBy", "only allowed on a Delivered event"),
		Entry("an empty event id", func(p *trackingv1alpha1.Parcel) { p.Spec.Events[0].ID = "" },
			"spec.events[0].id"),
		Entry("an event id of 65 characters", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[0].ID = strings.Repeat("e", 65)
		}, "spec.events[0].id", "Too long"),
		Entry("a staging key that climbs out of incoming/", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[3].ProofOfDelivery.StagingKey = "incoming/" + ns + "/../../pods/other/x"
		}, "spec.events[3].proofOfDelivery.stagingKey", "should match"),
		Entry("a staging key outside incoming/", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[3].ProofOfDelivery.StagingKey = "pods/other/ev-4"
		}, "spec.events[3].proofOfDelivery.stagingKey", "should match"),
		Entry("a digest that is not hex SHA-256", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[3].ProofOfDelivery.SHA256 = "not-a-digest"
		}, "spec.events[3].proofOfDelivery.sha256", "should match"),
		Entry("an executable as proof of delivery", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[3].ProofOfDelivery.ContentType = "application/x-msdownload"
		}, "spec.events[3].proofOfDelivery.contentType", "Unsupported value"),
		Entry("an empty proof-of-delivery file", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[3].ProofOfDelivery.Size = 0
		}, "spec.events[3].proofOfDelivery.size"),
	)

	DescribeTable("refuses changes to what was recorded",
		func(change func(p *trackingv1alpha1.Parcel), fragments ...string) {
			p := newParcel(ns, "ARP1000052447", seedEvents(ns)...)
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			change(p)
			expectInvalid(k8sClient.Update(ctx, p), fragments...)
		},
		Entry("changing the article ID", func(p *trackingv1alpha1.Parcel) { p.Spec.ArticleID = "ARP1000052448" },
			"spec.articleId", "articleId is immutable"),
		Entry("removing the last event", func(p *trackingv1alpha1.Parcel) { p.Spec.Events = p.Spec.Events[:3] },
			"spec.events", "events are append-only"),
		Entry("removing the first event", func(p *trackingv1alpha1.Parcel) { p.Spec.Events = p.Spec.Events[1:] },
			"spec.events", "events are append-only"),
		Entry("removing every event", func(p *trackingv1alpha1.Parcel) { p.Spec.Events = nil },
			"spec.events", "events are append-only"),
		Entry("editing an event's remarks", func(p *trackingv1alpha1.Parcel) { p.Spec.Events[1].Remarks = "edited" },
			"spec.events", "events are append-only"),
		Entry("editing an event's status", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[2].Status = trackingv1alpha1.StatusFailedDelivery
		}, "spec.events", "events are append-only"),
		Entry("forcing an event after the fact", func(p *trackingv1alpha1.Parcel) { p.Spec.Events[0].Force = true },
			"spec.events", "events are append-only"),
		Entry("reordering two events", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events[0], p.Spec.Events[1] = p.Spec.Events[1], p.Spec.Events[0]
		}, "spec.events", "events are append-only"),
		Entry("inserting an event before the others", func(p *trackingv1alpha1.Parcel) {
			p.Spec.Events = append([]trackingv1alpha1.TrackingEvent{event("ev-0", trackingv1alpha1.StatusReceivedInDepot, -5)}, p.Spec.Events...)
		}, "spec.events", "events are append-only"),
	)

	It("lets any writer append events, up to 256, one JSON patch each", func() {
		p := newParcel(ns, "ARP1000052447")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		for i := range trackingv1alpha1.MaxEvents {
			Expect(appendEvent(p, event(fmt.Sprintf("ev-%d", i), trackingv1alpha1.StatusInTransit, i))).To(Succeed())
		}
		Expect(p.Spec.Events).To(HaveLen(trackingv1alpha1.MaxEvents))
		expectInvalid(appendEvent(p, event("one-too-many", trackingv1alpha1.StatusDelivered, 999)),
			"spec.events", "Too many", "256")
	})

	It("refuses a phase outside the enum on the status subresource", func() {
		p := newParcel(ns, "ARP1000052447", seedEvents(ns)...)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		p.Status.Phase = "Lost"
		expectInvalid(k8sClient.Status().Update(ctx, p), "status.phase", `Unsupported value: "Lost"`)
	})
})

// appendEvent appends one event the way the webhook will: a single JSON
// patch, no read-modify-write.
func appendEvent(p *trackingv1alpha1.Parcel, e trackingv1alpha1.TrackingEvent) error {
	op := "add"
	path := "/spec/events/-"
	value := any(e)
	if len(p.Spec.Events) == 0 {
		path = "/spec/events"
		value = []trackingv1alpha1.TrackingEvent{e}
	}
	patch, err := jsonPatch(op, path, value)
	if err != nil {
		return err
	}
	return k8sClient.Patch(ctx, p, client.RawPatch(types.JSONPatchType, patch))
}

var _ = Describe("Parcels through kubectl", func() {
	var (
		ns      string
		kubectl func(args ...string) string
	)

	BeforeEach(func() {
		ns = newNamespace()
		user, err := testEnv.ControlPlane.AddUser(envtest.User{Name: "platform-admin", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		k, err := user.Kubectl()
		Expect(err).NotTo(HaveOccurred())
		kubectl = func(args ...string) string {
			GinkgoHelper()
			stdout, stderr, err := k.Run(append([]string{"--namespace", ns}, args...)...)
			errText, _ := io.ReadAll(stderr)
			Expect(err).NotTo(HaveOccurred(), "kubectl %v: %s", args, errText)
			out, err := io.ReadAll(stdout)
			Expect(err).NotTo(HaveOccurred())
			return string(out)
		}

		for _, tc := range []struct {
			articleID string
			phase     trackingv1alpha1.TrackingStatus
		}{
			{"ARP1", trackingv1alpha1.StatusDelivered},
			{"ARP2", trackingv1alpha1.StatusInTransit},
			{"ARP3", trackingv1alpha1.StatusDelivered},
		} {
			p := newParcel(ns, tc.articleID, seedEvents(ns)...)
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			p.Status = trackingv1alpha1.ParcelStatus{
				ObservedGeneration: p.Generation,
				Phase:              tc.phase,
				LastEventTime:      &p.Spec.Events[3].Time,
				Conditions: []metav1.Condition{{
					Type: trackingv1alpha1.ConditionProofOfDeliveryStored, Status: metav1.ConditionTrue,
					Reason: trackingv1alpha1.ReasonStored, ObservedGeneration: p.Generation,
					LastTransitionTime: metav1.Now(),
				}},
			}
			Expect(k8sClient.Status().Update(ctx, p)).To(Succeed())
		}
	})

	It("selects parcels by phase and by article ID on the server", func() {
		list := &trackingv1alpha1.ParcelList{}
		Expect(k8sClient.List(ctx, list, client.InNamespace(ns),
			client.MatchingFields{"status.phase": string(trackingv1alpha1.StatusDelivered)})).To(Succeed())
		Expect(names(list)).To(ConsistOf("arp1", "arp3"))

		Expect(k8sClient.List(ctx, list, client.InNamespace(ns),
			client.MatchingFields{"spec.articleId": "ARP2"})).To(Succeed())
		Expect(names(list)).To(ConsistOf("arp2"))

		Expect(kubectl("get", "pcl", "--field-selector", "status.phase=Delivered", "-o", "name")).
			To(Equal("parcel.tracking.parcelops.io/arp1\nparcel.tracking.parcelops.io/arp3\n"))
	})

	It("lists parcels by short name and category with the printer columns", func() {
		for _, resource := range []string{"pcl", "parcels", "parcelops"} {
			out := kubectl("get", resource)
			// A category may name several kinds, so kubectl qualifies the
			// names; this namespace holds Parcels only.
			out = strings.ReplaceAll(out, "parcel.tracking.parcelops.io/", "")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			Expect(lines).To(HaveLen(4), resource)
			Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "ARTICLE", "STATUS", "LAST", "EVENT", "POD", "OVERDUE", "AGE"}))
			// No courier sets a maxTimeInStatus here: OVERDUE is empty.
			row := strings.Fields(lines[1])
			Expect(row).To(HaveLen(6), lines[1])
			Expect(row[:3]).To(Equal([]string{"arp1", "ARP1", "Delivered"}))
			Expect(row[3]).To(MatchRegexp(`^[0-9]+[dy]`), "LAST EVENT is an age, the event was in 2025")
			Expect(row[4]).To(Equal(trackingv1alpha1.ReasonStored))
			Expect(strings.Fields(lines[2])[:3]).To(Equal([]string{"arp2", "ARP2", "InTransit"}))
		}
	})

	It("lets kubectl wait for a phase", func() {
		Expect(kubectl("wait", "pcl/arp1", "--for=jsonpath={.status.phase}=Delivered", "--timeout=10s")).
			To(ContainSubstring("parcel.tracking.parcelops.io/arp1 condition met"))
	})
})

func names(list *trackingv1alpha1.ParcelList) []string {
	out := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	return out
}

func jsonPatch(op, path string, value any) ([]byte, error) {
	return json.Marshal([]map[string]any{{"op": op, "path": path, "value": value}})
}
