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
	"encoding/json"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/retention"
)

var _ = Describe("ArchiveDue", func() {
	const archiveAfter = 30 * 24 * time.Hour
	created := time.Date(2025, 10, 8, 7, 0, 0, 0, time.UTC)
	scanned := created.Add(3 * time.Hour)

	// terminal is a Parcel in the given phase, its status current and Ready.
	terminal := func(phase trackingv1alpha1.TrackingStatus) *trackingv1alpha1.Parcel {
		return &trackingv1alpha1.Parcel{
			ObjectMeta: metav1.ObjectMeta{Generation: 3, CreationTimestamp: metav1.NewTime(created)},
			Spec: trackingv1alpha1.ParcelSpec{Events: []trackingv1alpha1.TrackingEvent{
				{ID: "received", Status: trackingv1alpha1.StatusReceivedInDepot, Time: metav1.NewTime(created),
					ReceivedAt: ptr.To(metav1.NewTime(created.Add(time.Minute)))},
			}},
			Status: trackingv1alpha1.ParcelStatus{
				ObservedGeneration: 3,
				Phase:              phase,
				LastEventTime:      ptr.To(metav1.NewTime(scanned)),
				Conditions: []metav1.Condition{{
					Type: trackingv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: trackingv1alpha1.ReasonReconciled,
				}},
			},
		}
	}

	DescribeTable("counts archiveAfter from the latest of the terminal scan, the last event received and creation",
		func(p *trackingv1alpha1.Parcel, want time.Time) {
			got, ok := ArchiveDue(p, archiveAfter, trackingv1alpha1.DefaultTransitions)
			Expect(ok).To(BeTrue())
			Expect(got).To(Equal(want))
		},
		Entry("Delivered: from the delivery scan", terminal(trackingv1alpha1.StatusDelivered), scanned.Add(archiveAfter)),
		Entry("Returned to Sender: from the return scan", terminal(trackingv1alpha1.StatusReturnToSender), scanned.Add(archiveAfter)),
		Entry("imported after the scan: from creation", func() *trackingv1alpha1.Parcel {
			p := terminal(trackingv1alpha1.StatusDelivered)
			p.CreationTimestamp = metav1.NewTime(scanned.Add(48 * time.Hour))
			return p
		}(), scanned.Add(48*time.Hour+archiveAfter)),
		Entry("an event received late (even a rejected one): from its arrival", func() *trackingv1alpha1.Parcel {
			p := terminal(trackingv1alpha1.StatusDelivered)
			p.Spec.Events = append(p.Spec.Events, trackingv1alpha1.TrackingEvent{
				ID: "late", Status: trackingv1alpha1.StatusInTransit, Time: metav1.NewTime(created),
				ReceivedAt: ptr.To(metav1.NewTime(scanned.Add(10 * 24 * time.Hour))),
			})
			return p
		}(), scanned.Add(10*24*time.Hour+archiveAfter)),
		Entry("no lastEventTime (forced in with no applied scan): from creation", func() *trackingv1alpha1.Parcel {
			p := terminal(trackingv1alpha1.StatusDelivered)
			p.Status.LastEventTime = nil
			p.Spec.Events = nil
			return p
		}(), created.Add(archiveAfter)),
	)

	DescribeTable("is never due when",
		func(p *trackingv1alpha1.Parcel, archiveAfter time.Duration) {
			_, ok := ArchiveDue(p, archiveAfter, trackingv1alpha1.DefaultTransitions)
			Expect(ok).To(BeFalse())
		},
		Entry("archiving is off", terminal(trackingv1alpha1.StatusDelivered), time.Duration(0)),
		Entry("the parcel is in transit", terminal(trackingv1alpha1.StatusInTransit), archiveAfter),
		Entry("a correction moved it back to the depot", terminal(trackingv1alpha1.StatusReturnToDepot), archiveAfter),
		Entry("it was never reconciled", terminal(""), archiveAfter),
		Entry("its status is behind its spec", func() *trackingv1alpha1.Parcel {
			p := terminal(trackingv1alpha1.StatusDelivered)
			p.Generation = 4
			return p
		}(), archiveAfter),
		Entry("it is not Ready (a proof of delivery to store, or stalled)", func() *trackingv1alpha1.Parcel {
			p := terminal(trackingv1alpha1.StatusDelivered)
			p.Status.Conditions[0].Status = metav1.ConditionFalse
			return p
		}(), archiveAfter),
		Entry("it has no Ready condition", func() *trackingv1alpha1.Parcel {
			p := terminal(trackingv1alpha1.StatusDelivered)
			p.Status.Conditions = nil
			return p
		}(), archiveAfter),
	)
})

// retentionHarness is a manager running the Parcel reconciler and the
// retention reconciler on a fake clock.
type retentionHarness struct {
	*harness
	clock     *clocktesting.FakePassiveClock
	retention *RetentionReconciler
	recorder  events.EventRecorder
}

// startRetentionManager runs a manager with both reconcilers until the
// enclosing container ends.
func startRetentionManager(name, bucketURL string, onDelete retention.OnDelete, archiveAfter time.Duration) *retentionHarness {
	GinkgoHelper()
	h := &retentionHarness{clock: clocktesting.NewFakePassiveClock(time.Now())}
	h.harness = startManager(name, bucketURL, onDelete, func(mgr ctrl.Manager, base *harness) {
		h.recorder = mgr.GetEventRecorder("retention-controller")
		h.retention = &RetentionReconciler{
			Client:       mgr.GetClient(),
			Recorder:     h.recorder,
			Store:        base.store,
			Transitions:  trackingv1alpha1.DefaultTransitions,
			ArchiveAfter: archiveAfter,
			Clock:        h.clock,
		}
		Expect(h.retention.SetupWithManager(mgr)).To(Succeed())
	})
	return h
}

// poke changes an annotation, so the watch sees the parcel again (as it
// would at its requeue) after a spec moved the fake clock; it returns the
// parcel as the API server now has it.
func poke(p *trackingv1alpha1.Parcel) *trackingv1alpha1.Parcel {
	GinkgoHelper()
	current := &trackingv1alpha1.Parcel{}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), current)).To(Succeed())
	patch := client.MergeFrom(current.DeepCopy())
	metav1.SetMetaDataAnnotation(&current.ObjectMeta, "test.parcelops.io/poked", time.Now().Format(time.RFC3339Nano))
	Expect(k8sClient.Patch(ctx, current, patch)).To(Succeed())
	return current
}

func gone(p *trackingv1alpha1.Parcel) func() bool {
	return func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &trackingv1alpha1.Parcel{}))
	}
}

// deliveredParcel creates a parcel delivered without a file and waits
// until its status is current and Ready.
func (h *retentionHarness) deliveredParcel() *trackingv1alpha1.Parcel {
	GinkgoHelper()
	return reconciledUntil(h.createParcel(append(toDelivery(), delivered(deliveredID, nil))...),
		func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
		})
}

// expectArchiveOf reads the parcel's archive and compares it, field by
// field, with the archive of want written at archivedAt.
func (h *retentionHarness) expectArchiveOf(want *trackingv1alpha1.Parcel, archivedAt time.Time) *podstore.ParcelArchive {
	GinkgoHelper()
	doc, err := h.store.ReadArchive(ctx, podstore.ArchiveKey(want.Namespace, want.Name, want.UID))
	Expect(err).NotTo(HaveOccurred())
	expected := podstore.NewParcelArchive(want, archivedAt)
	// Decoded times are in the local zone; Semantic compares instants.
	Expect(equality.Semantic.DeepEqual(doc, expected)).To(BeTrue(), "archive\n%+v\nwant\n%+v", doc, expected)
	return doc
}

var _ = Describe("With --archive-after", Ordered, func() {
	const archiveAfter = 24 * time.Hour
	var h *retentionHarness
	BeforeAll(func() {
		h = startRetentionManager("retention", s3Server.BucketURL(podBucket), retention.DeletePODFiles, archiveAfter)
	})

	It("archives a due Delivered parcel, verified, then deletes it and keeps the POD files its archive links to", func() {
		h.clock.SetTime(time.Now())
		p := reconciled(h.createParcel(toDelivery()...))
		appendEvents(p, delivered(deliveredID, h.stage(p.Namespace, pdf(4096))))
		p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(p.Status.ProofOfDelivery).To(HaveLen(1))
		})
		podKey := podstore.FinalKey(p.Namespace, p.Name, deliveredID, trackingv1alpha1.ContentTypePDF)
		Expect(p.Finalizers).To(ContainElement(PODCleanupFinalizer))
		archivedBefore := testutil.ToFloat64(parcelsArchived)

		// Due to the second: archiveAfter counts from creation, the latest
		// of the times that count here (the scans are from 2025).
		h.clock.SetTime(p.CreationTimestamp.Add(archiveAfter))
		last := poke(p)
		Eventually(gone(p)).WithTimeout(time.Minute).Should(BeTrue())

		doc := h.expectArchiveOf(last, h.clock.Now())
		Expect(doc.Metadata.UID).To(Equal(p.UID))
		Expect(doc.Metadata.ResourceVersion).To(Equal(last.ResourceVersion), "the state deleted is the state archived")
		Expect(doc.Metadata.Annotations).NotTo(HaveKey(trackingv1alpha1.ArchivedAnnotation))
		Expect(doc.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
		Expect(doc.Spec.Events).To(HaveLen(4))
		Expect(doc.ProofOfDelivery).To(Equal([]podstore.ArchivedProofOfDelivery{{
			EventID: deliveredID, Key: podKey, URL: h.store.ObjectURL(podKey),
			SHA256: p.Status.ProofOfDelivery[0].SHA256, Size: 4105, ContentType: trackingv1alpha1.ContentTypePDF,
		}}))
		Expect(h.exists(podKey)).To(BeTrue(), "--pod-files-on-delete=Delete keeps the files of an archived parcel")
		Expect(testutil.ToFloat64(parcelsArchived)).To(Equal(archivedBefore + 1))

		key := podstore.ArchiveKey(p.Namespace, p.Name, p.UID)
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventArchived) }).Should(ConsistOf(
			MatchRegexp(`^archived to %s \(\d+ bytes, sha256 [0-9a-f]{64}\) and deleted$`, regexp.QuoteMeta(h.store.ObjectURL(key))),
		))
		Consistently(func() []string { return notes(p, trackingv1alpha1.EventProofOfDeliveryDeleted) }).Should(BeEmpty())

		out, err := json.MarshalIndent(doc, "", "  ")
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("archive %s:\n%s\n", key, out)
	})

	It("archives a parcel Returned to Sender as soon as it is Ready when it is already past --archive-after", func() {
		h.clock.SetTime(time.Now().Add(2 * archiveAfter))
		p := h.createParcel(ev("received", trackingv1alpha1.StatusReceivedInDepot, 0),
			ev("rts", trackingv1alpha1.StatusReturnToSender, 45))
		Eventually(gone(p)).WithTimeout(time.Minute).Should(BeTrue())
		doc, err := h.store.ReadArchive(ctx, podstore.ArchiveKey(p.Namespace, p.Name, p.UID))
		Expect(err).NotTo(HaveOccurred())
		Expect(doc.Status.Phase).To(Equal(trackingv1alpha1.StatusReturnToSender))
		Expect(trackingv1alpha1.WithoutRecorded(doc.Status.History)).To(Equal([]trackingv1alpha1.EventVerdict{
			{ID: "received", Result: trackingv1alpha1.ResultApplied}, {ID: "rts", Result: trackingv1alpha1.ResultApplied},
		}))
		Expect(doc.ProofOfDelivery).To(BeEmpty())
	})

	It("keeps a parcel not yet due, asks to be called the moment it falls due, then archives it", func() {
		h.clock.SetTime(time.Now())
		p := h.deliveredParcel()
		due := p.CreationTimestamp.Add(archiveAfter)
		h.clock.SetTime(due.Add(-time.Minute))

		Eventually(func(g Gomega) {
			res, err := h.retention.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.RequeueAfter).To(Equal(time.Minute))
		}).Should(Succeed())
		poke(p)
		Consistently(gone(p)).Should(BeFalse())
		Expect(h.exists(podstore.ArchiveKey(p.Namespace, p.Name, p.UID))).To(BeFalse())

		h.clock.SetTime(due)
		last := poke(p)
		Eventually(gone(p)).WithTimeout(time.Minute).Should(BeTrue())
		h.expectArchiveOf(last, due)
	})

	It("never archives a parcel that is not terminal, or whose proof of delivery is not stored", func() {
		h.clock.SetTime(time.Now().Add(10 * 365 * 24 * time.Hour))
		inTransit := reconciled(h.createParcel(toDelivery()...))

		stalled := reconciled(h.createParcel(toDelivery()...))
		upload := h.stage(stalled.Namespace, pdf(1024))
		upload.SHA256 = strings.Repeat("0", 64)
		appendEvents(stalled, delivered(deliveredID, upload))
		stalled = reconciledUntil(stalled, func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
			g.Expect(condition(p, trackingv1alpha1.ConditionStalled)).NotTo(BeNil())
		})

		for _, p := range []*trackingv1alpha1.Parcel{inTransit, stalled} {
			poke(p)
			res, err := h.retention.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(Equal(ctrl.Result{}), "nothing to wait for: a change to the parcel brings it back")
		}
		Consistently(func() bool { return gone(inTransit)() || gone(stalled)() }).Should(BeFalse())
		Expect(h.exists(podstore.ArchiveKey(inTransit.Namespace, inTransit.Name, inTransit.UID))).To(BeFalse())
		Expect(h.exists(podstore.ArchiveKey(stalled.Namespace, stalled.Name, stalled.UID))).To(BeFalse())
	})

	It("does not delete a parcel that changed after it was archived, and archives the new state before deleting it", func() {
		h.clock.SetTime(time.Now())
		p := h.deliveredParcel()
		// A second reconciler, whose clock says the parcel is due, driven
		// step by step; the manager's own still says it is not.
		steps := &RetentionReconciler{
			Client:       k8sClient,
			Recorder:     h.recorder,
			Store:        h.store,
			Transitions:  trackingv1alpha1.DefaultTransitions,
			ArchiveAfter: archiveAfter,
			Clock:        clocktesting.NewFakePassiveClock(time.Now().Add(2 * archiveAfter)),
		}
		snapshot := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), snapshot)).To(Succeed())
		archived, err := steps.archive(ctx, snapshot)
		Expect(err).NotTo(HaveOccurred())
		conflicts := testutil.ToFloat64(archiveFailures.WithLabelValues(archiveFailedConflict))

		appendEvents(p, ev("rescan", trackingv1alpha1.StatusDelivered, 120))
		err = steps.deleteArchived(ctx, snapshot.DeepCopy(), archived)
		Expect(apierrors.IsConflict(err)).To(BeTrue(), "got %v", err)
		Expect(gone(p)()).To(BeFalse())
		Expect(testutil.ToFloat64(archiveFailures.WithLabelValues(archiveFailedConflict))).To(Equal(conflicts + 1))
		doc, err := h.store.ReadArchive(ctx, archived.Key)
		Expect(err).NotTo(HaveOccurred())
		Expect(doc.Spec.Events).To(HaveLen(4), "the archive still holds the state before the re-scan")

		last := reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(history(p)).To(ContainElement("rescan:Unchanged"))
		})
		res, err := steps.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
		Expect(err).NotTo(HaveOccurred())
		Expect(res).To(Equal(ctrl.Result{}))
		Eventually(gone(p)).Should(BeTrue(), "deleted; the finalizer goes without touching the files")
		doc = h.expectArchiveOf(last, steps.Clock.Now())
		Expect(doc.Spec.Events).To(HaveLen(5))
	})

	It("removes an archive mark left on a parcel that is no longer due", func() {
		h.clock.SetTime(time.Now())
		p := h.deliveredParcel()
		marked := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), marked)).To(Succeed())
		patch := client.MergeFrom(marked.DeepCopy())
		metav1.SetMetaDataAnnotation(&marked.ObjectMeta, trackingv1alpha1.ArchivedAnnotation, "s3://parcel-pods/archive/x.json")
		Expect(k8sClient.Patch(ctx, marked, patch)).To(Succeed())
		// The watch ignores the update that sets the mark (the pass that
		// sets it deletes next); a mark left behind is found at the
		// parcel's next change.
		poke(p)

		Eventually(func(g Gomega) {
			got := &trackingv1alpha1.Parcel{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			g.Expect(got.Annotations).NotTo(HaveKey(trackingv1alpha1.ArchivedAnnotation))
		}).Should(Succeed())
		Expect(gone(p)()).To(BeFalse())
	})

	It("deletes nothing while the bucket is down, and archives once it is back", func() {
		h.clock.SetTime(time.Now().Add(2 * archiveAfter))
		failures := testutil.ToFloat64(archiveFailures.WithLabelValues(archiveFailedStore))
		Expect(s3Server.Stop()).To(Succeed())
		restarted := false
		DeferCleanup(func() error {
			if restarted {
				return nil
			}
			return s3Server.Restart()
		})

		p := h.createParcel(append(toDelivery(), delivered(deliveredID, nil))...)
		Eventually(func() float64 { return testutil.ToFloat64(archiveFailures.WithLabelValues(archiveFailedStore)) }).
			WithTimeout(time.Minute).Should(BeNumerically(">", failures))
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventArchiveFailed) }).Should(ContainElement(
			ContainSubstring("archiving to the bucket: podstore: writing archive " + podstore.ArchiveKey(p.Namespace, p.Name, p.UID))))
		Consistently(gone(p)).Should(BeFalse())
		got := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Annotations).NotTo(HaveKey(trackingv1alpha1.ArchivedAnnotation), "not marked without an archive")

		Expect(s3Server.Restart()).To(Succeed())
		restarted = true
		Eventually(gone(p)).WithTimeout(2 * time.Minute).Should(BeTrue())
		Expect(h.exists(podstore.ArchiveKey(p.Namespace, p.Name, p.UID))).To(BeTrue())
	})
})
