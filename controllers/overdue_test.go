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
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/retention"
)

// courierAcme is the source ev gives events, so the Courier of that name
// handles the specs' parcels.
const courierAcme = "acme"

func limitsOf(limits map[trackingv1alpha1.TrackingStatus]time.Duration) []trackingv1alpha1.StatusTimeLimit {
	var out []trackingv1alpha1.StatusTimeLimit
	for _, s := range trackingv1alpha1.Statuses() {
		if d, ok := limits[s]; ok {
			out = append(out, trackingv1alpha1.StatusTimeLimit{Status: s, Duration: metav1.Duration{Duration: d}})
		}
	}
	return out
}

// TestComputeOverdue is the table of the pure decision; the specs below
// run it inside the reconciler.
func TestComputeOverdue(t *testing.T) {
	since := time.Date(2025, 10, 8, 8, 0, 0, 0, time.UTC)
	acme := &trackingv1alpha1.Courier{
		ObjectMeta: metav1.ObjectMeta{Name: courierAcme},
		Spec: trackingv1alpha1.CourierSpec{MaxTimeInStatus: limitsOf(map[trackingv1alpha1.TrackingStatus]time.Duration{
			trackingv1alpha1.StatusInTransit:      48 * time.Hour,
			trackingv1alpha1.StatusFailedDelivery: 72 * time.Hour,
		})},
	}
	in := func(phase trackingv1alpha1.TrackingStatus, last *time.Time) *trackingv1alpha1.Parcel {
		p := &trackingv1alpha1.Parcel{Status: trackingv1alpha1.ParcelStatus{Phase: phase}}
		if last != nil {
			p.Status.LastEventTime = &metav1.Time{Time: *last}
		}
		return p
	}
	within := "In Transit since 2025-10-08T08:00:00Z: overdue at 2025-10-10T08:00:00Z, after the 48h0m0s courier acme allows"
	over := "In Transit since 2025-10-08T08:00:00Z: longer than the 48h0m0s courier acme allows"
	for _, tc := range []struct {
		name    string
		parcel  *trackingv1alpha1.Parcel
		courier *trackingv1alpha1.Courier
		now     time.Time
		want    overdueVerdict
	}{
		{"no courier", in(trackingv1alpha1.StatusInTransit, &since), nil, since.Add(100 * time.Hour), overdueVerdict{}},
		{"a courier without limits", in(trackingv1alpha1.StatusInTransit, &since), &trackingv1alpha1.Courier{},
			since.Add(100 * time.Hour), overdueVerdict{}},
		{"no limit for the phase", in(trackingv1alpha1.StatusLoadedByDriver, &since), acme, since.Add(100 * time.Hour), overdueVerdict{}},
		{"terminal: Delivered", in(trackingv1alpha1.StatusDelivered, &since), acme, since.Add(100 * time.Hour), overdueVerdict{}},
		{"not scanned, no last event", in(trackingv1alpha1.StatusNotScanned, nil), acme, since, overdueVerdict{}},
		{"an invalid phase", in("Lost", &since), acme, since.Add(100 * time.Hour), overdueVerdict{}},
		{"just scanned", in(trackingv1alpha1.StatusInTransit, &since), acme, since,
			overdueVerdict{true, metav1.ConditionFalse, trackingv1alpha1.ReasonWithinTimeInStatus, within, 48 * time.Hour}},
		{"a second before", in(trackingv1alpha1.StatusInTransit, &since), acme, since.Add(48*time.Hour - time.Second),
			overdueVerdict{true, metav1.ConditionFalse, trackingv1alpha1.ReasonWithinTimeInStatus, within, time.Second}},
		{"at the limit", in(trackingv1alpha1.StatusInTransit, &since), acme, since.Add(48 * time.Hour),
			overdueVerdict{true, metav1.ConditionTrue, trackingv1alpha1.ReasonTimeInStatusExceeded, over, 0}},
		{"long after: the same message", in(trackingv1alpha1.StatusInTransit, &since), acme, since.Add(1000 * time.Hour),
			overdueVerdict{true, metav1.ConditionTrue, trackingv1alpha1.ReasonTimeInStatusExceeded, over, 0}},
		{"a clock behind the courier's", in(trackingv1alpha1.StatusFailedDelivery, &since), acme, since.Add(-time.Hour),
			overdueVerdict{true, metav1.ConditionFalse, trackingv1alpha1.ReasonWithinTimeInStatus,
				"Failed Delivery since 2025-10-08T08:00:00Z: overdue at 2025-10-11T08:00:00Z, after the 72h0m0s courier acme allows", 73 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := computeOverdue(tc.parcel, tc.courier, trackingv1alpha1.DefaultTransitions, tc.now); got != tc.want {
				t.Errorf("computeOverdue:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

var _ = Describe("Overdue, on a fake clock", Ordered, func() {
	var (
		h     *harness
		clock *clocktesting.FakePassiveClock
	)
	// inTransitAt is when toDelivery's In Transit scan happened.
	inTransitAt := base.Add(60 * time.Minute)

	BeforeAll(func() {
		clock = clocktesting.NewFakePassiveClock(inTransitAt.Add(time.Hour))
		h = startManager("overdue", "file://"+filepath.Join(GinkgoT().TempDir(), "pods"), retention.RetainPODFiles,
			func(_ ctrl.Manager, h *harness) { h.reconciler.Clock = clock })
	})

	// courier creates the courier "acme" (the source ev gives events) in
	// the parcel's namespace, with the limits.
	courier := func(ns string, limits map[trackingv1alpha1.TrackingStatus]time.Duration) *trackingv1alpha1.Courier {
		GinkgoHelper()
		c := &trackingv1alpha1.Courier{
			ObjectMeta: metav1.ObjectMeta{Name: courierAcme, Namespace: ns, Labels: h.label},
			Spec: trackingv1alpha1.CourierSpec{
				SecretRef: trackingv1alpha1.SecretReference{Name: courierAcme}, MaxTimeInStatus: limitsOf(limits),
			},
		}
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		return c
	}
	// reconcileNow runs a whole reconcile as the work queue would at a
	// requeue, through a reconciler reading the API server itself, so that
	// what it writes (or not) depends on nothing cached.
	reconcileNow := func(p *trackingv1alpha1.Parcel) ctrl.Result {
		GinkgoHelper()
		direct := &ParcelReconciler{Client: k8sClient, APIReader: k8sClient, Recorder: h.reconciler.Recorder, Store: h.store,
			Transitions: trackingv1alpha1.DefaultTransitions, OnDelete: retention.RetainPODFiles, Clock: clock}
		res, err := direct.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
		Expect(err).NotTo(HaveOccurred())
		return res
	}
	fresh := func(p *trackingv1alpha1.Parcel) *trackingv1alpha1.Parcel {
		GinkgoHelper()
		got := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		return got
	}
	expectCurrent := func(p *trackingv1alpha1.Parcel) {
		GinkgoHelper()
		Expect(kstatus(p)).To(Equal(status.CurrentStatus))
		Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionReady)).To(BeTrue())
	}
	inTransit := map[trackingv1alpha1.TrackingStatus]time.Duration{trackingv1alpha1.StatusInTransit: 48 * time.Hour}

	It("is False with the moment it falls due, requeues for that moment, turns True then with one Warning, and stays Current", func() {
		clock.SetTime(inTransitAt.Add(time.Hour))
		p := h.createParcel()
		courier(p.Namespace, inTransit)
		appendEvents(p, toDelivery()...)
		p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(condition(p, trackingv1alpha1.ConditionOverdue)).NotTo(BeNil())
		})
		c := condition(p, trackingv1alpha1.ConditionOverdue)
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Reason).To(Equal(trackingv1alpha1.ReasonWithinTimeInStatus))
		Expect(c.Message).To(Equal(
			"In Transit since 2025-10-08T08:00:00Z: overdue at 2025-10-10T08:00:00Z, after the 48h0m0s courier acme allows"))
		Expect(tableRow(p)).To(HaveKeyWithValue("Overdue", "False"))
		expectCurrent(p)
		Expect(reconcileNow(p).RequeueAfter).To(Equal(47 * time.Hour))

		clock.SetTime(inTransitAt.Add(48 * time.Hour))
		Expect(reconcileNow(p)).To(Equal(ctrl.Result{}))
		p = fresh(p)
		c = condition(p, trackingv1alpha1.ConditionOverdue)
		Expect(c.Status).To(Equal(metav1.ConditionTrue))
		Expect(c.Reason).To(Equal(trackingv1alpha1.ReasonTimeInStatusExceeded))
		Expect(c.Message).To(Equal("In Transit since 2025-10-08T08:00:00Z: longer than the 48h0m0s courier acme allows"))
		Expect(c.LastTransitionTime.Time).To(BeTemporally("==", clock.Now().Truncate(time.Second)))
		Expect(tableRow(p)).To(HaveKeyWithValue("Overdue", "True"))
		expectCurrent(p)
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventOverdue) }).Should(Equal([]string{c.Message}))

		By("writing nothing, and warning no more, when nothing changed")
		clock.SetTime(inTransitAt.Add(100 * time.Hour))
		Expect(reconcileNow(p)).To(Equal(ctrl.Result{}))
		Expect(fresh(p).ResourceVersion).To(Equal(p.ResourceVersion))
		Consistently(func() []string { return notes(p, trackingv1alpha1.EventOverdue) }).
			WithTimeout(2 * time.Second).Should(HaveLen(1))

		By("counting it in parcel_overdue, on the leader only")
		elected := make(chan struct{})
		collector := &OverdueCollector{Reader: k8sClient, Elected: elected}
		Expect(testutil.CollectAndCount(collector)).To(Equal(0))
		close(elected)
		Expect(testutil.CollectAndCompare(collector, strings.NewReader(`
# HELP parcel_overdue Parcels whose Overdue condition is True, by the namespace of the Parcel and its status. Only the elected leader reports it.
# TYPE parcel_overdue gauge
parcel_overdue{parcel_namespace="`+p.Namespace+`",status="InTransit"} 1
`), "parcel_overdue")).To(Succeed())

		By("clearing it when a new event arrives: a re-scan restarts the time in status")
		rescan := ev("rescan", trackingv1alpha1.StatusInTransit, 0)
		rescan.Time = metav1.NewTime(clock.Now().Add(-time.Hour).Truncate(time.Second))
		appendEvents(p, rescan)
		p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(condition(p, trackingv1alpha1.ConditionOverdue).Status).To(Equal(metav1.ConditionFalse))
		})
		Expect(condition(p, trackingv1alpha1.ConditionOverdue).Reason).To(Equal(trackingv1alpha1.ReasonWithinTimeInStatus))
		expectCurrent(p)
		Expect(reconcileNow(p).RequeueAfter).To(Equal(47 * time.Hour))
	})

	It("is never set on a terminal parcel", func() {
		clock.SetTime(inTransitAt.Add(1000 * time.Hour))
		p := h.createParcel()
		courier(p.Namespace, inTransit)
		appendEvents(p, append(toDelivery(), ev("delivered", trackingv1alpha1.StatusDelivered, 90))...)
		p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
		})
		Expect(condition(p, trackingv1alpha1.ConditionOverdue)).To(BeNil())
		Expect(reconcileNow(p)).To(Equal(ctrl.Result{}))
		Expect(fresh(p).ResourceVersion).To(Equal(p.ResourceVersion))
		Expect(tableRow(p)).To(HaveKeyWithValue("Overdue", BeNil()))
		expectCurrent(p)
	})

	It("follows its courier's maxTimeInStatus as it changes, without a new event", func() {
		clock.SetTime(inTransitAt.Add(10 * time.Hour))
		p := h.createParcel()
		c := courier(p.Namespace, nil)
		appendEvents(p, toDelivery()...)
		p = reconciled(p)
		Expect(condition(p, trackingv1alpha1.ConditionOverdue)).To(BeNil())

		patch := client.MergeFrom(c.DeepCopy())
		c.Spec.MaxTimeInStatus = limitsOf(map[trackingv1alpha1.TrackingStatus]time.Duration{trackingv1alpha1.StatusInTransit: time.Hour})
		Expect(k8sClient.Patch(ctx, c, patch)).To(Succeed())
		Eventually(func(g Gomega) {
			got := fresh(p)
			g.Expect(condition(got, trackingv1alpha1.ConditionOverdue)).NotTo(BeNil())
			g.Expect(condition(got, trackingv1alpha1.ConditionOverdue).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		expectCurrent(fresh(p))

		patch = client.MergeFrom(c.DeepCopy())
		c.Spec.MaxTimeInStatus = nil
		Expect(k8sClient.Patch(ctx, c, patch)).To(Succeed())
		Eventually(func() *metav1.Condition { return condition(fresh(p), trackingv1alpha1.ConditionOverdue) }).Should(BeNil())
	})
})
