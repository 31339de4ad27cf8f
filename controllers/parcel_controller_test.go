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
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/eventrecorder"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/retention"
)

const articleID = "ARP1000052447"

// deliveredID is the id of the delivery event the specs append, at minute
// deliveredMinute of the parcel's life.
const (
	deliveredID     = "delivered"
	deliveredMinute = 90
)

var base = time.Date(2025, 10, 8, 7, 0, 0, 0, time.UTC)

func ev(id string, s trackingv1alpha1.TrackingStatus, minute int) trackingv1alpha1.TrackingEvent {
	return trackingv1alpha1.TrackingEvent{
		ID:     id,
		Status: s,
		Time:   metav1.NewTime(base.Add(time.Duration(minute) * time.Minute)),
		Source: "acme",
	}
}

// toDeliveryHistory is the history the fold makes of toDelivery.
func toDeliveryHistory() []string {
	return []string{"received:Applied", "loaded:Applied", "in-transit:Applied"}
}

// toTransitChain is the StatusChanged note of a pass that applies
// toDelivery's events.
const toTransitChain = "Not Scanned -> Received in Depot -> Loaded by Driver -> In Transit"

// toDelivery is a parcel's life up to the last scan before delivery.
func toDelivery() []trackingv1alpha1.TrackingEvent {
	return []trackingv1alpha1.TrackingEvent{
		ev("received", trackingv1alpha1.StatusReceivedInDepot, 0),
		ev("loaded", trackingv1alpha1.StatusLoadedByDriver, 30),
		ev("in-transit", trackingv1alpha1.StatusInTransit, 60),
	}
}

// createParcel creates a Parcel this harness's manager watches, in a
// namespace of its own.
func (h *harness) createParcel(events ...trackingv1alpha1.TrackingEvent) *trackingv1alpha1.Parcel {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "parcel-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	p := &trackingv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: trackingv1alpha1.ParcelName(articleID), Labels: h.label},
		Spec:       trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: events},
	}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	return p
}

// appendEvents appends events the way writers do: one JSON patch, no
// read-modify-write of the list.
func appendEvents(p *trackingv1alpha1.Parcel, events ...trackingv1alpha1.TrackingEvent) {
	GinkgoHelper()
	current := &trackingv1alpha1.Parcel{}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), current)).To(Succeed())
	var ops []map[string]any
	if len(current.Spec.Events) == 0 {
		ops = append(ops, map[string]any{"op": "add", "path": "/spec/events", "value": events})
	} else {
		for _, e := range events {
			ops = append(ops, map[string]any{"op": "add", "path": "/spec/events/-", "value": e})
		}
	}
	patch, err := json.Marshal(ops)
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Patch(ctx, current, client.RawPatch(types.JSONPatchType, patch))).To(Succeed())
}

// reconciled waits until the status describes the current generation.
func reconciled(p *trackingv1alpha1.Parcel) *trackingv1alpha1.Parcel {
	GinkgoHelper()
	return reconciledUntil(p, func(Gomega, *trackingv1alpha1.Parcel) {})
}

// reconciledUntil waits until the status describes the current generation
// and passes check. The minute allows for the reconciler's backoff after an
// outage.
func reconciledUntil(p *trackingv1alpha1.Parcel, check func(g Gomega, p *trackingv1alpha1.Parcel)) *trackingv1alpha1.Parcel {
	GinkgoHelper()
	got := &trackingv1alpha1.Parcel{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		check(g, got)
	}).WithTimeout(time.Minute).Should(Succeed())
	return got
}

// history returns "id:result" for each verdict.
func history(p *trackingv1alpha1.Parcel) []string {
	out := make([]string, 0, len(p.Status.History))
	for _, v := range p.Status.History {
		out = append(out, v.ID+":"+string(v.Result))
	}
	return out
}

// notes returns the notes of the Events recorded on p with the given
// reason, oldest first.
func notes(p *trackingv1alpha1.Parcel, reason string) []string {
	GinkgoHelper()
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(p.Namespace))).To(Succeed())
	// Events recorded through the core/v1 API have no eventTime; their
	// names end in the hex nanoseconds of their creation.
	slices.SortFunc(list.Items, func(a, b eventsv1.Event) int {
		return cmp.Or(a.EventTime.Compare(b.EventTime.Time), strings.Compare(a.Name, b.Name))
	})
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == p.Name && e.Reason == reason {
			out = append(out, e.Note)
		}
	}
	return out
}

func condition(p *trackingv1alpha1.Parcel, conditionType string) *metav1.Condition {
	return meta.FindStatusCondition(p.Status.Conditions, conditionType)
}

// kstatus is what Flux and other kstatus readers make of the parcel.
func kstatus(p *trackingv1alpha1.Parcel) status.Status {
	GinkgoHelper()
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: obj})
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// tableRow is the parcel's row as `kubectl get pcl` prints it, by column.
func tableRow(p *trackingv1alpha1.Parcel) map[string]any {
	GinkgoHelper()
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	raw, err := cs.CoreV1().RESTClient().Get().
		AbsPath("/apis/tracking.parcelops.io/v1alpha1/namespaces", p.Namespace, "parcels", p.Name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		DoRaw(ctx)
	Expect(err).NotTo(HaveOccurred())
	table := &metav1.Table{}
	Expect(json.Unmarshal(raw, table)).To(Succeed())
	Expect(table.Rows).To(HaveLen(1))
	row := map[string]any{}
	for i, c := range table.ColumnDefinitions {
		row[c.Name] = table.Rows[0].Cells[i]
	}
	return row
}

// pdf returns a small PDF-looking file of random content.
func pdf(size int) []byte {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	return append([]byte("%PDF-1.7\n"), b...)
}

// stage puts a file in the staging area as the webhook does and returns
// the upload an event carries.
func (h *harness) stage(ns string, content []byte) *trackingv1alpha1.ProofOfDeliveryUpload {
	GinkgoHelper()
	s, err := h.store.Stage(ctx, ns, deliveredID, bytes.NewReader(content), 10<<20)
	Expect(err).NotTo(HaveOccurred())
	return &trackingv1alpha1.ProofOfDeliveryUpload{
		StagingKey: s.Key, SHA256: s.SHA256, Size: s.Size, ContentType: s.ContentType, Filename: "pod.pdf",
	}
}

func (h *harness) exists(key string) bool {
	GinkgoHelper()
	ok, err := h.store.Exists(ctx, key)
	Expect(err).NotTo(HaveOccurred())
	return ok
}

func delivered(id string, upload *trackingv1alpha1.ProofOfDeliveryUpload) trackingv1alpha1.TrackingEvent {
	e := ev(id, trackingv1alpha1.StatusDelivered, deliveredMinute)
	e.Remarks = "Delivered successfully"
	e.ProofOfDelivery = upload
	return e
}

var _ = BeforeEach(func() {
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
})

var _ = Describe("Folding events into status", Ordered, func() {
	var h *harness
	BeforeAll(func() {
		h = startManager("fold", "file://"+GinkgoT().TempDir(), retention.RetainPODFiles)
	})

	It("applies events reported out of order in event-time order", func() {
		events := toDelivery()
		p := reconciled(h.createParcel(events[2], events[0], events[1]))
		Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusInTransit))
		Expect(history(p)).To(Equal(toDeliveryHistory()))
		Expect(p.Status.LastEventTime.Time).To(BeTemporally("==", events[2].Time.Time))
		Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionReady)).To(BeTrue())
		Expect(condition(p, trackingv1alpha1.ConditionProofOfDeliveryStored)).To(BeNil())
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).Should(Equal([]string{
			toTransitChain,
		}), "one Event for the pass, naming every transition it applied")
		Expect(kstatus(p)).To(Equal(status.CurrentStatus))
	})

	It("counts a retried event once and a re-scan as Unchanged", func() {
		p := reconciled(h.createParcel(ev("received", trackingv1alpha1.StatusReceivedInDepot, 0)))
		appendEvents(p, ev("received", trackingv1alpha1.StatusReceivedInDepot, 0),
			ev("rescan", trackingv1alpha1.StatusReceivedInDepot, 10))
		p = reconciled(p)
		Expect(history(p)).To(Equal([]string{"received:Applied", "received:Duplicate", "rescan:Unchanged"}))
		Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusReceivedInDepot))
		Expect(p.Status.LastEventTime.Time).To(BeTemporally("==", base.Add(10*time.Minute)))
		Consistently(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).
			Should(Equal([]string{"Not Scanned -> Received in Depot"}))
	})

	It("rejects a transition, then applies it once the missing scans arrive", func() {
		events := toDelivery()
		p := reconciled(h.createParcel(events[2]))
		Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusNotScanned))
		Expect(trackingv1alpha1.WithoutRecorded(p.Status.History)).To(Equal([]trackingv1alpha1.EventVerdict{{
			ID: "in-transit", Result: trackingv1alpha1.ResultRejected,
			Reason: "transition Not Scanned -> In Transit is not allowed; allowed after Not Scanned: Received in Depot",
		}}))
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventTransitionRejected) }).Should(Equal([]string{
			"event in-transit: transition Not Scanned -> In Transit is not allowed; allowed after Not Scanned: Received in Depot",
		}))

		appendEvents(p, events[0], events[1])
		p = reconciled(p)
		Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusInTransit))
		Expect(history(p)).To(Equal(toDeliveryHistory()))
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).Should(Equal([]string{
			toTransitChain,
		}))
	})

	It("keeps a terminal status unless a person forces a correction", func() {
		p := h.createParcel(append(toDelivery(), delivered(deliveredID, nil))...)
		appendEvents(p, ev("late-scan", trackingv1alpha1.StatusInTransit, 100))
		p = reconciled(p)
		Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
		Expect(trackingv1alpha1.WithoutRecorded(p.Status.History)[4]).To(Equal(trackingv1alpha1.EventVerdict{
			ID: "late-scan", Result: trackingv1alpha1.ResultRejected,
			Reason: "transition Delivered -> In Transit is not allowed: Delivered is terminal",
		}))

		correction := ev("correction", trackingv1alpha1.StatusReturnToDepot, 110)
		correction.Force = true
		correction.Source = "kubectl:ops@example.com"
		appendEvents(p, correction)
		p = reconciled(p)
		Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusReturnToDepot))
		Expect(trackingv1alpha1.WithoutRecorded(p.Status.History)[5]).To(Equal(
			trackingv1alpha1.EventVerdict{ID: "correction", Result: trackingv1alpha1.ResultApplied}))
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).
			Should(ContainElement("Delivered -> Return to Depot"))
	})

	It("records nothing and writes nothing when a reconcile finds nothing new", func() {
		p := reconciled(h.createParcel(toDelivery()...))
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).Should(HaveLen(1))
		_, err := h.reconciler.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
		Expect(err).NotTo(HaveOccurred())

		again := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), again)).To(Succeed())
		Expect(again.ResourceVersion).To(Equal(p.ResourceVersion), "a reconcile with nothing new must not write")
		Consistently(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).Should(HaveLen(1))
	})
})

var _ = Describe("Storing proof of delivery", func() {
	for _, b := range backends {
		Context("in a "+b.name+" bucket", Ordered, func() {
			var h *harness
			BeforeAll(func() { h = startManager(b.name, b.bucketURL(), retention.RetainPODFiles) })

			It("follows a parcel through every seed status to Delivered and stores its POD", func() {
				p := reconciled(h.createParcel(toDelivery()...))
				content := pdf(100 << 10)
				upload := h.stage(p.Namespace, content)
				appendEvents(p, delivered(deliveredID, upload))

				finalKey := podstore.FinalKey(p.Namespace, p.Name, deliveredID, trackingv1alpha1.ContentTypePDF)
				p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
					g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionReady)).To(BeTrue())
				})
				Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
				Expect(history(p)).To(Equal(append(toDeliveryHistory(), "delivered:Applied")))
				Expect(p.Status.ProofOfDelivery).To(HaveLen(1))
				stored := p.Status.ProofOfDelivery[0]
				Expect(stored.EventID).To(Equal(deliveredID))
				Expect(stored.URL).To(Equal(h.store.ObjectURL(finalKey)))
				Expect(stored.SHA256).To(Equal(upload.SHA256))
				Expect(stored.Size).To(Equal(int64(len(content))))
				Expect(stored.StoredAt.IsZero()).To(BeFalse())

				podCond := condition(p, trackingv1alpha1.ConditionProofOfDeliveryStored)
				Expect(podCond.Status).To(Equal(metav1.ConditionTrue))
				Expect(podCond.Reason).To(Equal(trackingv1alpha1.ReasonStored))
				Expect(podCond.ObservedGeneration).To(Equal(p.Generation))
				Expect(h.exists(finalKey)).To(BeTrue())
				Expect(h.exists(upload.StagingKey)).To(BeFalse())

				Eventually(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).Should(Equal([]string{
					toTransitChain, "In Transit -> Delivered",
				}))
				Eventually(func() []string { return notes(p, trackingv1alpha1.EventProofOfDeliveryStored) }).Should(Equal([]string{
					"event delivered: 102409 bytes stored at " + stored.URL,
				}))
				Expect(kstatus(p)).To(Equal(status.CurrentStatus))

				row := tableRow(p)
				Expect(row).To(HaveKeyWithValue("Status", "Delivered"))
				Expect(row).To(HaveKeyWithValue("POD", "Stored"))
				Expect(row).To(HaveKeyWithValue("Article", articleID))
			})

			It("never stores a file whose digest differs from the one recorded, and does not retry it", func() {
				p := reconciled(h.createParcel(toDelivery()...))
				upload := h.stage(p.Namespace, pdf(4096))
				upload.SHA256 = strings.Repeat("0", 64)
				appendEvents(p, delivered(deliveredID, upload))

				p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
					c := condition(p, trackingv1alpha1.ConditionProofOfDeliveryStored)
					g.Expect(c).NotTo(BeNil())
					g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
					g.Expect(c.Reason).To(Equal(trackingv1alpha1.ReasonVerificationFailed))
				})
				Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered), "the scan counts; only its file is refused")
				Expect(p.Status.ProofOfDelivery).To(BeEmpty())
				Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionStalled)).To(BeTrue())
				Expect(meta.IsStatusConditionFalse(p.Status.Conditions, trackingv1alpha1.ConditionReady)).To(BeTrue())
				Expect(kstatus(p)).To(Equal(status.FailedStatus))
				Expect(h.exists(upload.StagingKey)).To(BeTrue(), "kept for inspection")
				Expect(h.exists(podstore.FinalKey(p.Namespace, p.Name, deliveredID, trackingv1alpha1.ContentTypePDF))).To(BeFalse())
				Eventually(func() []string { return notes(p, trackingv1alpha1.EventProofOfDeliveryFailed) }).Should(HaveLen(1))

				failures := testutil.ToFloat64(podMoves.WithLabelValues(moveVerificationFailed))
				Consistently(func() float64 { return testutil.ToFloat64(podMoves.WithLabelValues(moveVerificationFailed)) }).
					Should(Equal(failures), "a terminal failure is not retried")
			})

			It("converges after a crash between writing the final object and deleting the staged one", func() {
				p := reconciled(h.createParcel(toDelivery()...))
				content := pdf(8192)
				upload := h.stage(p.Namespace, content)
				// The final object written, the staged one still there: what a
				// crash in the middle of Move leaves. (Another upload of the
				// same file is moved to get there.)
				twin := h.stage(p.Namespace, content)
				_, err := h.store.Move(ctx, podstore.MoveRequest{
					Namespace: p.Namespace, Parcel: p.Name, ArticleID: articleID, EventID: deliveredID, Upload: *twin,
				})
				Expect(err).NotTo(HaveOccurred())
				Expect(h.exists(upload.StagingKey)).To(BeTrue())

				appendEvents(p, delivered(deliveredID, upload))
				p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
					g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionProofOfDeliveryStored)).To(BeTrue())
				})
				Expect(h.exists(upload.StagingKey)).To(BeFalse())
				Expect(p.Status.ProofOfDelivery).To(HaveLen(1))
			})

			It("treats a file already moved as stored when its staged copy is gone", func() {
				p := reconciled(h.createParcel(toDelivery()...))
				upload := h.stage(p.Namespace, pdf(8192))
				_, err := h.store.Move(ctx, podstore.MoveRequest{
					Namespace: p.Namespace, Parcel: p.Name, ArticleID: articleID, EventID: deliveredID, Upload: *upload,
				})
				Expect(err).NotTo(HaveOccurred())
				Expect(h.exists(upload.StagingKey)).To(BeFalse())

				appendEvents(p, delivered(deliveredID, upload))
				reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
					g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionProofOfDeliveryStored)).To(BeTrue())
				})
			})

			It("reports a staged file that vanished before it was stored", func() {
				p := reconciled(h.createParcel(toDelivery()...))
				upload := h.stage(p.Namespace, pdf(1024))
				upload.StagingKey = podstore.StagingKey(p.Namespace, "never-staged", podstore.NewUploadID())
				appendEvents(p, delivered("never-staged", upload))
				p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
					c := condition(p, trackingv1alpha1.ConditionProofOfDeliveryStored)
					g.Expect(c).NotTo(BeNil())
					g.Expect(c.Reason).To(Equal(trackingv1alpha1.ReasonStagedObjectMissing))
				})
				Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionStalled)).To(BeTrue())
			})

			It("keeps stored files when the Parcel is deleted", func() {
				p := reconciled(h.createParcel(toDelivery()...))
				appendEvents(p, delivered(deliveredID, h.stage(p.Namespace, pdf(2048))))
				p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
					g.Expect(p.Status.ProofOfDelivery).To(HaveLen(1))
				})
				Expect(controllerutil.ContainsFinalizer(p, PODCleanupFinalizer)).To(BeFalse())

				Expect(k8sClient.Delete(ctx, p)).To(Succeed())
				Eventually(func() bool {
					return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &trackingv1alpha1.Parcel{}))
				}).Should(BeTrue())
				Expect(h.exists(podstore.FinalKey(p.Namespace, p.Name, deliveredID, trackingv1alpha1.ContentTypePDF))).To(BeTrue())
			})
		})
	}
})

var _ = Describe("With --pod-files-on-delete=Delete", Ordered, func() {
	var h *harness
	BeforeAll(func() { h = startManager("retention-delete", s3Server.BucketURL(podBucket), retention.DeletePODFiles) })

	It("deletes a parcel's stored files before the Parcel goes", func() {
		p := reconciled(h.createParcel(toDelivery()...))
		appendEvents(p, delivered(deliveredID, h.stage(p.Namespace, pdf(2048))))
		p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(p.Status.ProofOfDelivery).To(HaveLen(1))
		})
		Expect(controllerutil.ContainsFinalizer(p, PODCleanupFinalizer)).To(BeTrue())
		finalKey := podstore.FinalKey(p.Namespace, p.Name, deliveredID, trackingv1alpha1.ContentTypePDF)
		Expect(h.exists(finalKey)).To(BeTrue())

		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &trackingv1alpha1.Parcel{}))
		}).Should(BeTrue())
		Expect(h.exists(finalKey)).To(BeFalse())
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventProofOfDeliveryDeleted) }).Should(HaveLen(1))
	})
})

var _ = Describe("When the object store is down", Ordered, func() {
	var h *harness
	BeforeAll(func() { h = startManager("s3-outage", s3Server.BucketURL(podBucket), retention.RetainPODFiles) })

	It("reports the outage, retries with backoff, and stores the file once the store is back", func() {
		p := reconciled(h.createParcel(toDelivery()...))
		upload := h.stage(p.Namespace, pdf(4096))

		Expect(s3Server.Stop()).To(Succeed())
		restarted := false
		DeferCleanup(func() error {
			if restarted {
				return nil
			}
			return s3Server.Restart()
		})
		appendEvents(p, delivered(deliveredID, upload))
		p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
			c := condition(p, trackingv1alpha1.ConditionProofOfDeliveryStored)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(trackingv1alpha1.ReasonStoreUnavailable))
		})
		Expect(p.Status.Phase).To(Equal(trackingv1alpha1.StatusDelivered))
		Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionReconciling)).To(BeTrue())
		Expect(meta.IsStatusConditionFalse(p.Status.Conditions, trackingv1alpha1.ConditionReady)).To(BeTrue())
		Expect(kstatus(p)).To(Equal(status.InProgressStatus))
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventProofOfDeliveryFailed) }).ShouldNot(BeEmpty())

		Expect(s3Server.Restart()).To(Succeed())
		restarted = true
		p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
			g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, trackingv1alpha1.ConditionProofOfDeliveryStored)).To(BeTrue())
		})
		Expect(condition(p, trackingv1alpha1.ConditionReconciling)).To(BeNil())
		Expect(kstatus(p)).To(Equal(status.CurrentStatus))
		Expect(h.exists(upload.StagingKey)).To(BeFalse())
		Expect(h.exists(podstore.FinalKey(p.Namespace, p.Name, deliveredID, trackingv1alpha1.ContentTypePDF))).To(BeTrue())
	})
})

// staleClient serves a fixed, old copy of one Parcel, as a lagging informer
// cache would, and passes everything else to the API server.
type staleClient struct {
	client.Client
	stale *trackingv1alpha1.Parcel
}

func (c staleClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if p, ok := obj.(*trackingv1alpha1.Parcel); ok && key == client.ObjectKeyFromObject(c.stale) {
		c.stale.DeepCopyInto(p)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

var _ = Describe("With a cache that lags the API server", func() {
	It("never writes a status computed against a stale copy", func() {
		// No manager watches this label: the spec drives the reconciler.
		h := &harness{label: map[string]string{"test.parcelops.io/manager": "none"}}
		recorderCtx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		httpClient, err := rest.HTTPClientFor(cfg)
		Expect(err).NotTo(HaveOccurred())
		recorders, err := eventrecorder.New(recorderCtx, cfg, httpClient, scheme)
		Expect(err).NotTo(HaveOccurred())
		r := &ParcelReconciler{
			Client:      k8sClient,
			APIReader:   k8sClient,
			Recorder:    recorders.Recorder("parcel-controller"),
			Transitions: trackingv1alpha1.DefaultTransitions,
			OnDelete:    retention.RetainPODFiles,
			Clock:       clock.RealClock{},
		}
		p := h.createParcel(toDelivery()...)
		req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)}
		_, err = r.Reconcile(ctx, req)
		Expect(err).NotTo(HaveOccurred())

		// What a reconcile of generation 2 sees, and what the API server
		// holds once generation 3 is appended while it runs.
		appendEvents(p, ev("failed", trackingv1alpha1.StatusFailedDelivery, 90))
		gen2 := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, req.NamespacedName, gen2)).To(Succeed())
		appendEvents(p, ev("retry", trackingv1alpha1.StatusInTransit, 120))
		gen3 := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, req.NamespacedName, gen3)).To(Succeed())
		Expect(gen3.Status.Phase).To(Equal(trackingv1alpha1.StatusInTransit))

		// The reconcile of generation 2, begun before the append, writes its
		// status (Failed Delivery); the next reads generation 3 from a cache
		// that has not seen that write and still shows In Transit, the phase
		// it computes again.
		s1 := gen3.DeepCopy()
		gen2Fold := trackingv1alpha1.DefaultTransitions.Fold(gen2.Spec.Events)
		s1.Status.ObservedGeneration = gen2.Generation
		s1.Status.Phase = gen2Fold.Phase
		s1.Status.LastEventTime = gen2Fold.LastEventTime
		s1.Status.History = gen2Fold.History()
		Expect(k8sClient.Status().Patch(ctx, s1, client.MergeFrom(gen3))).To(Succeed())
		Expect(s1.Status.Phase).To(Equal(trackingv1alpha1.StatusFailedDelivery))

		conflicts := testutil.ToFloat64(staleCopies)
		_, err = (&ParcelReconciler{
			Client: staleClient{Client: k8sClient, stale: gen3}, APIReader: k8sClient, Recorder: r.Recorder,
			Transitions: r.Transitions, OnDelete: r.OnDelete, Clock: r.Clock,
		}).Reconcile(ctx, req)
		Expect(err).NotTo(HaveOccurred())

		got := &trackingv1alpha1.Parcel{}
		Expect(k8sClient.Get(ctx, req.NamespacedName, got)).To(Succeed())
		fold := trackingv1alpha1.DefaultTransitions.Fold(got.Spec.Events)
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(got.Status.Phase).To(Equal(fold.Phase), "status is the fold of the events")
		Expect(trackingv1alpha1.WithoutRecorded(got.Status.History)).To(Equal(fold.History()))
		for _, v := range got.Status.History {
			Expect(v.RecordedAt).NotTo(BeNil(), "every verdict written is stamped (event %s)", v.ID)
		}
		Expect(testutil.ToFloat64(staleCopies)).To(Equal(conflicts+1), "the stale copy met a conflict and was read again")

		// The stale copy's pass recorded nothing; its re-run named only the
		// transition the server's status lacked.
		Eventually(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).Should(Equal([]string{
			toTransitChain,
			"Failed Delivery -> In Transit",
		}))
		Consistently(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).Should(HaveLen(2))
	})
})

var _ = Describe("Asking for a reconcile", Ordered, func() {
	var h *harness
	BeforeAll(func() {
		h = startManager("request", "file://"+GinkgoT().TempDir(), retention.RetainPODFiles)
	})

	It("reconciles once for each new value of the annotation and records it in status", func() {
		p := reconciled(h.createParcel(toDelivery()...))
		Expect(p.Status.LastHandledReconcileAt).To(BeEmpty())
		for _, at := range []string{"2026-12-01T20:00:00Z", "2026-12-01T20:05:00Z"} {
			request := client.MergeFrom(p.DeepCopy())
			metav1.SetMetaDataAnnotation(&p.ObjectMeta, trackingv1alpha1.ReconcileRequestAnnotation, at)
			Expect(k8sClient.Patch(ctx, p, request)).To(Succeed())
			p = reconciledUntil(p, func(g Gomega, p *trackingv1alpha1.Parcel) {
				g.Expect(p.Status.LastHandledReconcileAt).To(Equal(at))
			})
			Expect(p.Generation).To(Equal(int64(1)), "a request is not a new generation")
		}
		Consistently(func() []string { return notes(p, trackingv1alpha1.EventStatusChanged) }).Should(HaveLen(1),
			"a requested reconcile that changes nothing else records nothing")
	})
})
