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

package staging

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// countingReader counts the Lists that reach the API server.
type countingReader struct {
	client.Reader
	lists atomic.Int32
}

func (r *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	r.lists.Add(1)
	return r.Reader.List(ctx, list, opts...)
}

// sweeperHarness is a manager running only a Sweeper, on a bucket of
// its own so it never touches another spec's staged files.
type sweeperHarness struct {
	label   map[string]string
	store   *podstore.Store
	sweeper *Sweeper
	api     *countingReader
}

// grace is the sweepers' grace period in these specs; later() is past it.
const grace = time.Hour

// startSweeper runs a sweeper whose cache sees only Parcels with the
// harness's label; interval paces its own loop.
func startSweeper(name string, clk clock.PassiveClock, interval time.Duration) *sweeperHarness {
	GinkgoHelper()
	store, err := podstore.Open(ctx, "file://"+filepath.Join(GinkgoT().TempDir(), "pods"))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(store.Close)
	h := &sweeperHarness{label: map[string]string{"test.parcelops.io/sweeper": name}, store: store}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                  cache.Options{DefaultLabelSelector: labels.SelectorFromSet(h.label)},
	})
	Expect(err).NotTo(HaveOccurred())
	h.api = &countingReader{Reader: mgr.GetAPIReader()}
	h.sweeper = &Sweeper{
		Client:    mgr.GetClient(),
		APIReader: h.api,
		Store:     store,
		Grace:     grace,
		Interval:  interval,
		Clock:     clk,
		Log:       GinkgoLogr,
	}
	Expect(h.sweeper.SetupWithManager(ctx, mgr)).To(Succeed())
	mgrCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	DeferCleanup(func() {
		stop()
		<-done
	})
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
	return h
}

// stageIn stages a file for eventID in a fresh namespace and returns the
// namespace and the upload an event would carry.
func (h *sweeperHarness) stageIn(eventID string) (string, *trackingv1alpha1.ProofOfDeliveryUpload) {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sweep-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	s, err := h.store.Stage(ctx, ns.Name, eventID, bytes.NewReader(pdf(1024)), 10<<20)
	Expect(err).NotTo(HaveOccurred())
	return ns.Name, &trackingv1alpha1.ProofOfDeliveryUpload{
		StagingKey: s.Key, SHA256: s.SHA256, Size: s.Size, ContentType: s.ContentType, Filename: "pod.pdf",
	}
}

// createParcel creates a delivered Parcel whose last event carries upload;
// labels decide whether the sweeper's cache sees it.
func (h *sweeperHarness) createParcel(namespace string, upload *trackingv1alpha1.ProofOfDeliveryUpload,
	lbls map[string]string) *trackingv1alpha1.Parcel {
	GinkgoHelper()
	p := &trackingv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: trackingv1alpha1.ParcelName(articleID), Labels: lbls},
		Spec: trackingv1alpha1.ParcelSpec{
			ArticleID: articleID,
			Events:    append(toDelivery(), delivered(upload)),
		},
	}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	return p
}

func (h *sweeperHarness) exists(key string) bool {
	GinkgoHelper()
	ok, err := h.store.Exists(ctx, key)
	Expect(err).NotTo(HaveOccurred())
	return ok
}

const articleID = "ARP1000052447"

var base = time.Date(2025, 10, 8, 7, 0, 0, 0, time.UTC)

func ev(id string, s trackingv1alpha1.TrackingStatus, minute int) trackingv1alpha1.TrackingEvent {
	return trackingv1alpha1.TrackingEvent{
		ID:     id,
		Status: s,
		Time:   metav1.NewTime(base.Add(time.Duration(minute) * time.Minute)),
		Source: "acme",
	}
}

// toDelivery is a parcel's life up to the last scan before delivery.
func toDelivery() []trackingv1alpha1.TrackingEvent {
	return []trackingv1alpha1.TrackingEvent{
		ev("received", trackingv1alpha1.StatusReceivedInDepot, 0),
		ev("loaded", trackingv1alpha1.StatusLoadedByDriver, 30),
		ev("in-transit", trackingv1alpha1.StatusInTransit, 60),
	}
}

// delivered is the parcel's delivery, event id "delivered", 90 minutes in.
func delivered(upload *trackingv1alpha1.ProofOfDeliveryUpload) trackingv1alpha1.TrackingEvent {
	e := ev("delivered", trackingv1alpha1.StatusDelivered, 90)
	e.ProofOfDelivery = upload
	return e
}

// pdf returns a small PDF-looking file of random content.
func pdf(size int) []byte {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	return append([]byte("%PDF-1.7\n"), b...)
}

var _ = Describe("The staging sweeper", func() {
	// later is a clock two hours ahead: with a one-hour grace, every file
	// staged by a spec is past it.
	later := func() clock.PassiveClock { return clocktesting.NewFakePassiveClock(time.Now().Add(2 * time.Hour)) }

	It("runs on the elected leader only", func() {
		Expect((&Sweeper{}).NeedLeaderElection()).To(BeTrue())
	})

	It("deletes a staged file past the grace period that no Parcel names, and counts it", func() {
		h := startSweeper("orphan", later(), time.Hour)
		_, upload := h.stageIn("gave-up")
		swept, sweeps := testutil.ToFloat64(stagingSwept), testutil.ToFloat64(stagingSweeps.WithLabelValues(sweepOK))
		Expect(h.sweeper.Sweep(ctx)).To(Equal(1))
		Expect(h.exists(upload.StagingKey)).To(BeFalse())
		Expect(testutil.ToFloat64(stagingSwept)).To(Equal(swept + 1))
		Expect(testutil.ToFloat64(stagingSweeps.WithLabelValues(sweepOK))).To(Equal(sweeps + 1))
	})

	It("keeps a staged file younger than the grace period, whose event may still be on its way", func() {
		h := startSweeper("young", clock.RealClock{}, time.Hour)
		_, upload := h.stageIn("on-its-way")
		Expect(h.sweeper.Sweep(ctx)).To(Equal(0))
		Expect(h.exists(upload.StagingKey)).To(BeTrue())
	})

	It("keeps a staged file a Parcel names and has not stored, on the cache's word alone", func() {
		h := startSweeper("needed", later(), time.Hour)
		ns, upload := h.stageIn("delivered")
		h.createParcel(ns, upload, h.label)
		Eventually(func(g Gomega) {
			parcels := &trackingv1alpha1.ParcelList{}
			g.Expect(h.sweeper.Client.List(ctx, parcels, client.InNamespace(ns),
				client.MatchingFields{pendingStagingKeyIndex: upload.StagingKey})).To(Succeed())
			g.Expect(parcels.Items).To(HaveLen(1))
		}).Should(Succeed())
		lists := h.api.lists.Load()
		Expect(h.sweeper.Sweep(ctx)).To(Equal(0))
		Expect(h.exists(upload.StagingKey)).To(BeTrue())
		Expect(h.api.lists.Load()).To(Equal(lists), "the cache knew; the API server was not asked")
	})

	It("asks the API server before deleting, and keeps a file a Parcel the cache has not seen names", func() {
		h := startSweeper("lagging-cache", later(), time.Hour)
		ns, upload := h.stageIn("delivered")
		h.createParcel(ns, upload, nil)
		lists := h.api.lists.Load()
		Expect(h.sweeper.Sweep(ctx)).To(Equal(0))
		Expect(h.exists(upload.StagingKey)).To(BeTrue())
		Expect(h.api.lists.Load()).To(BeNumerically(">", lists))
	})

	It("keeps the file sent after its event, as a repeat of it, and deletes a second file for that event", func() {
		h := startSweeper("late", later(), time.Hour)
		ns, late := h.stageIn("delivered")
		s, err := h.store.Stage(ctx, ns, "delivered", bytes.NewReader(pdf(1024)), 10<<20)
		Expect(err).NotTo(HaveOccurred())
		second := &trackingv1alpha1.ProofOfDeliveryUpload{StagingKey: s.Key, SHA256: s.SHA256, Size: s.Size, ContentType: s.ContentType}
		p := &trackingv1alpha1.Parcel{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: trackingv1alpha1.ParcelName(articleID)},
			Spec: trackingv1alpha1.ParcelSpec{
				ArticleID: articleID,
				Events: append(toDelivery(), delivered(nil),
					delivered(late), delivered(second)),
			},
		}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Expect(h.sweeper.Sweep(ctx)).To(Equal(1))
		Expect(h.exists(late.StagingKey)).To(BeTrue(), "the late file proves the event")
		Expect(h.exists(second.StagingKey)).To(BeFalse(), "a second file for the event is never stored")
	})

	It("deletes a staged copy of a file already stored: a retry staged it again", func() {
		h := startSweeper("stored", later(), time.Hour)
		ns, upload := h.stageIn("delivered")
		p := h.createParcel(ns, upload, h.label)
		base := p.DeepCopy()
		p.Status.ProofOfDelivery = []trackingv1alpha1.StoredProofOfDelivery{{
			EventID:  "delivered",
			URL:      h.store.ObjectURL(podstore.FinalKey(ns, p.Name, "delivered", upload.ContentType)),
			SHA256:   upload.SHA256,
			Size:     upload.Size,
			StoredAt: metav1.Now(),
		}}
		Expect(k8sClient.Status().Patch(ctx, p, client.MergeFrom(base))).To(Succeed())
		Eventually(func() (int, error) { return h.sweeper.Sweep(ctx) }).Should(Equal(1))
		Expect(h.exists(upload.StagingKey)).To(BeFalse())
	})

	It("sweeps as soon as it starts and then every interval", func() {
		h := startSweeper("loop", later(), 100*time.Millisecond)
		_, first := h.stageIn("first")
		Eventually(func() bool { return h.exists(first.StagingKey) }).Should(BeFalse())
		_, second := h.stageIn("second")
		Eventually(func() bool { return h.exists(second.StagingKey) }).Should(BeFalse())
	})

	DescribeTable("derives its interval from the grace period",
		func(grace, want time.Duration) {
			Expect((&Sweeper{Grace: grace}).interval()).To(Equal(want))
		},
		Entry("a quarter of it", 20*time.Minute, 5*time.Minute),
		Entry("a quarter of a short one", 30*time.Second, 7500*time.Millisecond),
		Entry("at most ten minutes", 24*time.Hour, 10*time.Minute),
		Entry("at least a second", 2*time.Second, time.Second),
	)
})
