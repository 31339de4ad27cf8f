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
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/notify"
	"github.com/parcelops/parcel-operator/internal/retention"
)

// Names the specs share.
const (
	receiverSecret = "receiver"
	shopLabel      = "shop"
	testCourier    = "acme"
)

// skewClock is the real clock moved forward by an offset the test sets, so
// a retry window passes without waiting for it.
type skewClock struct {
	clock.RealClock
	offset atomic.Int64
}

func (c *skewClock) Now() time.Time                  { return c.RealClock.Now().Add(time.Duration(c.offset.Load())) }
func (c *skewClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// notifyHarness is a manager with the Parcel and Subscription reconcilers.
type notifyHarness struct {
	*harness
	clock *skewClock
}

// startNotifyManager runs a manager whose notifier delivers to loopback
// receivers, retries quickly and reports every 200ms.
func startNotifyManager(name string) *notifyHarness {
	GinkgoHelper()
	nh := &notifyHarness{clock: &skewClock{}}
	opts := notify.Options{
		Policy:      notify.AddressPolicy{AllowLoopback: true},
		Concurrency: 2,
		QueueLimit:  100,
		Backoff:     notify.Backoff{Base: 50 * time.Millisecond, Max: 500 * time.Millisecond},
		Margin:      time.Second,
		Tick:        200 * time.Millisecond,
	}
	nh.harness = startManager(name, "file://"+GinkgoT().TempDir(), retention.RetainPODFiles, func(mgr ctrl.Manager, h *harness) {
		// Verdicts are stamped on the same clock the notifier reads.
		h.reconciler.Clock = nh.clock
		Expect((&SubscriptionReconciler{
			Client:    mgr.GetClient(),
			APIReader: mgr.GetAPIReader(),
			Recorder:  mgr.GetEventRecorder("subscription-controller"),
			Notifier:  &notify.Notifier{Cache: mgr.GetCache(), Clock: nh.clock, Log: ctrl.Log.WithName("notifier-" + name), Options: opts},
			Clock:     nh.clock,
		}).SetupWithManager(mgr)).To(Succeed())
	})
	return nh
}

// answer is what the receiver says to one request.
type answer struct {
	code   int
	header map[string]string
	body   string
}

// received is one request the receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
	event  map[string]any
}

// receiver is a real HTTP server standing in for a subscriber: it answers
// from a script (then 200), and keeps every request.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	script []answer
	got    []received
}

func startReceiver() *receiver {
	GinkgoHelper()
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ev map[string]any
		_ = json.Unmarshal(body, &ev)
		r.mu.Lock()
		r.got = append(r.got, received{at: time.Now(), header: req.Header.Clone(), body: body, event: ev})
		a := answer{code: http.StatusNoContent}
		if len(r.script) > 0 {
			a, r.script = r.script[0], r.script[1:]
		}
		r.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.code)
		_, _ = io.WriteString(w, a.body)
	}))
	DeferCleanup(r.srv.Close)
	return r
}

// answer queues answers for the next requests.
func (r *receiver) answer(as ...answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, as...)
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// firstOfEach returns the first request of each notification (by its
// webhook-id), in order: delivery is at least once, and resuming a
// subscriber may send again what came after its checkpoint.
func (r *receiver) firstOfEach() []received {
	seen := map[string]bool{}
	var out []received
	for _, g := range r.requests() {
		if id := g.header.Get("webhook-id"); !seen[id] {
			seen[id] = true
			out = append(out, g)
		}
	}
	return out
}

// summaries returns "type eventId status" of each request, in order.
func (r *receiver) summaries() []string {
	reqs := r.requests()
	out := make([]string, 0, len(reqs))
	for _, g := range reqs {
		data, _ := g.event["data"].(map[string]any)
		status, _ := data["status"].(map[string]any)
		out = append(out, g.event["type"].(string)+" "+data["eventId"].(string)+" "+status["canonical"].(string))
	}
	return out
}

func newKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func whsec(k []byte) []byte { return []byte(notify.KeyPrefix + base64.StdEncoding.EncodeToString(k)) }

// subscribe creates a namespace, a Secret with key and a Subscription to
// the receiver; mutate adjusts the Subscription before it is created.
func (h *notifyHarness) subscribe(rcv *receiver, key []byte, mutate func(*trackingv1alpha1.Subscription)) *trackingv1alpha1.Subscription {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "notify-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: receiverSecret},
		Data:       map[string][]byte{trackingv1alpha1.SubscriptionSigningKey: whsec(key)},
	})).To(Succeed())
	sub := &trackingv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: shopLabel, Labels: h.label},
		Spec: trackingv1alpha1.SubscriptionSpec{
			URL:            rcv.srv.URL + "/hooks/parcels",
			AllowPlainHTTP: true,
			SecretRef:      trackingv1alpha1.SecretReference{Name: receiverSecret},
			Types: []trackingv1alpha1.NotificationType{trackingv1alpha1.NotificationStatusChanged,
				trackingv1alpha1.NotificationProofOfDeliveryStored, trackingv1alpha1.NotificationUpdateRejected},
		},
	}
	if mutate != nil {
		mutate(sub)
	}
	Expect(k8sClient.Create(ctx, sub)).To(Succeed())
	if !sub.Spec.Suspend {
		subscriptionReady(sub, trackingv1alpha1.ReasonSubscriberAnswering)
	}
	return sub
}

// parcelIn creates a Parcel in ns that the harness's manager watches.
func (h *notifyHarness) parcelIn(ns, article string, labels map[string]string,
	events ...trackingv1alpha1.TrackingEvent) *trackingv1alpha1.Parcel {
	GinkgoHelper()
	all := map[string]string{}
	for k, v := range h.label {
		all[k] = v
	}
	for k, v := range labels {
		all[k] = v
	}
	p := &trackingv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: trackingv1alpha1.ParcelName(article), Labels: all},
		Spec:       trackingv1alpha1.ParcelSpec{ArticleID: article, Events: events},
	}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	return p
}

// subscriptionReady waits for the Subscription's status to describe its
// generation with Ready of the given reason, and returns it.
func subscriptionReady(sub *trackingv1alpha1.Subscription, reason string) *trackingv1alpha1.Subscription {
	GinkgoHelper()
	got := &trackingv1alpha1.Subscription{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sub), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		c := meta.FindStatusCondition(got.Status.Conditions, trackingv1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reason), c.Message)
	}).Should(Succeed())
	return got
}

// subscriptionNotes returns the notes of the Events on sub with reason.
func subscriptionNotes(sub *trackingv1alpha1.Subscription, reason string) []string {
	GinkgoHelper()
	p := &trackingv1alpha1.Parcel{ObjectMeta: metav1.ObjectMeta{Namespace: sub.Namespace, Name: sub.Name}}
	return notes(p, reason)
}

// verifiedBy reports whether the standard-webhooks library accepts the
// request's signature with key.
func verifiedBy(g received, key []byte) error {
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return err
	}
	return wh.Verify(g.body, g.header)
}

var _ = Describe("Notifying subscribers", Ordered, func() {
	var h *notifyHarness
	BeforeAll(func() { h = startNotifyManager("notify") })

	It("delivers every transition of the seed flow in order, signed, as structured CloudEvents", func() {
		rcv := startReceiver()
		key := newKey()
		sub := h.subscribe(rcv, key, nil)
		events := append(toDelivery(), delivered(deliveredID, h.stage(sub.Namespace, pdf(2048))))
		p := h.parcelIn(sub.Namespace, articleID, nil, events[0])
		for _, e := range events[1:] {
			reconciled(p)
			appendEvents(p, e)
		}
		Eventually(rcv.summaries).Should(Equal([]string{
			"io.parcelops.parcel.status.changed received ReceivedInDepot",
			"io.parcelops.parcel.status.changed loaded LoadedByDriver",
			"io.parcelops.parcel.status.changed in-transit InTransit",
			"io.parcelops.parcel.status.changed delivered Delivered",
			"io.parcelops.parcel.proofofdelivery.stored delivered Delivered",
		}))
		p = reconciled(p)
		ids := map[string]bool{}
		for _, g := range rcv.requests() {
			Expect(verifiedBy(g, key)).To(Succeed())
			Expect(g.header.Get("Content-Type")).To(Equal("application/cloudevents+json"))
			Expect(g.header.Get("webhook-id")).To(Equal(g.event["id"]))
			Expect(ids).NotTo(HaveKey(g.event["id"]))
			ids[g.event["id"].(string)] = true
			Expect(g.event).To(HaveKeyWithValue("specversion", "1.0"))
			Expect(g.event).To(HaveKeyWithValue("subject", articleID))
			Expect(g.event).To(HaveKeyWithValue("source", "/apis/tracking.parcelops.io/v1alpha1/namespaces/"+p.Namespace+"/parcels/"+p.Name))
			Expect(g.event).To(HaveKeyWithValue("datacontenttype", "application/json"))
		}
		last := rcv.requests()[4].event
		Expect(last["time"]).To(Equal("2025-10-08T08:30:00Z"))
		data := last["data"].(map[string]any)
		Expect(data["previousStatus"]).To(Equal(map[string]any{"canonical": "InTransit", "display": "In Transit"}))
		Expect(data["remarks"]).To(Equal("Delivered successfully"))
		Expect(data["courier"]).To(Equal(testCourier))
		pod := data["proofOfDelivery"].(map[string]any)
		Expect(pod["url"]).To(Equal(p.Status.ProofOfDelivery[0].URL))
		Expect(pod["sha256"]).To(Equal(p.Status.ProofOfDelivery[0].SHA256))

		got := &trackingv1alpha1.Subscription{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sub), got)).To(Succeed())
			g.Expect(got.Status.Delivered).To(Equal(int64(5)))
			g.Expect(got.Status.Backlog).To(BeZero())
			g.Expect(got.Status.LastStatusCode).To(Equal(int32(http.StatusNoContent)))
			g.Expect(got.Status.LastDeliveryTime).NotTo(BeNil())
			g.Expect(got.Status.Checkpoint).NotTo(BeNil())
			g.Expect(got.Status.Checkpoint.Time).To(BeTemporally(">=", p.Status.ProofOfDelivery[0].StoredAt.Time))
		}).Should(Succeed())
		Expect(got.Status.Host).To(Equal(strings.TrimPrefix(rcv.srv.URL, "http://")))
		Consistently(func() int { return len(rcv.requests()) }).Should(Equal(5))
	})

	It("sends only what the filters ask for", func() {
		north := map[string]string{shopLabel: "north"}
		rcv := startReceiver()
		sub := h.subscribe(rcv, newKey(), func(s *trackingv1alpha1.Subscription) {
			s.Spec.Types = []trackingv1alpha1.NotificationType{trackingv1alpha1.NotificationStatusChanged}
			s.Spec.Statuses = []trackingv1alpha1.TrackingStatus{trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusDelivered}
			s.Spec.Couriers = []string{testCourier}
			s.Spec.ParcelSelector = &metav1.LabelSelector{MatchLabels: north}
		})
		other := ev("by-other", trackingv1alpha1.StatusDelivered, 90)
		other.Source = "other-courier"
		h.parcelIn(sub.Namespace, "NORTH1", north, append(toDelivery(), ev("rejected", trackingv1alpha1.StatusNotScanned, 70))...)
		h.parcelIn(sub.Namespace, "NORTH2", north, append(toDelivery(), other)...)
		h.parcelIn(sub.Namespace, "SOUTH1", map[string]string{shopLabel: "south"}, toDelivery()...)
		Eventually(rcv.summaries).Should(ConsistOf(
			"io.parcelops.parcel.status.changed in-transit InTransit",
			"io.parcelops.parcel.status.changed in-transit InTransit",
		))
		Consistently(rcv.summaries).Should(HaveLen(2))
	})

	It("retries a 500 until the receiver answers, with the same id, then goes on", func() {
		rcv := startReceiver()
		rcv.answer(answer{code: 500, body: "database down"}, answer{code: 503})
		sub := h.subscribe(rcv, newKey(), nil)
		h.parcelIn(sub.Namespace, articleID, nil, toDelivery()[:2]...)
		Eventually(func() int { return len(rcv.requests()) }).Should(Equal(4))
		reqs := rcv.requests()
		Expect(reqs[0].header.Get("webhook-id")).To(Equal(reqs[1].header.Get("webhook-id")))
		Expect(reqs[1].header.Get("webhook-id")).To(Equal(reqs[2].header.Get("webhook-id")))
		Expect(rcv.summaries()[2:]).To(Equal([]string{
			"io.parcelops.parcel.status.changed received ReceivedInDepot",
			"io.parcelops.parcel.status.changed loaded LoadedByDriver",
		}))
		got := subscriptionReady(sub, trackingv1alpha1.ReasonSubscriberAnswering)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sub), got)).To(Succeed())
			g.Expect(got.Status.Delivered).To(Equal(int64(2)))
		}).Should(Succeed())
		Expect(got.Status.Failed).To(BeZero())
	})

	It("waits as long as a 429's Retry-After says", func() {
		rcv := startReceiver()
		rcv.answer(answer{code: 429, header: map[string]string{"Retry-After": "2"}})
		sub := h.subscribe(rcv, newKey(), nil)
		h.parcelIn(sub.Namespace, articleID, nil, toDelivery()[0])
		Eventually(func() int { return len(rcv.requests()) }).Should(Equal(2))
		reqs := rcv.requests()
		Expect(reqs[1].at.Sub(reqs[0].at)).To(BeNumerically(">=", 2*time.Second-50*time.Millisecond))
		Expect(reqs[1].header.Get("webhook-id")).To(Equal(reqs[0].header.Get("webhook-id")))
	})

	It("counts a 400 as refused for good, with a Warning Event, and goes on with the next", func() {
		rcv := startReceiver()
		rcv.answer(answer{code: 400, body: "unknown article"})
		sub := h.subscribe(rcv, newKey(), nil)
		h.parcelIn(sub.Namespace, articleID, nil, toDelivery()[:2]...)
		Eventually(func() int { return len(rcv.requests()) }).Should(Equal(2))
		got := &trackingv1alpha1.Subscription{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sub), got)).To(Succeed())
			g.Expect(got.Status.Failed).To(Equal(int64(1)))
			g.Expect(got.Status.Delivered).To(Equal(int64(1)))
		}).Should(Succeed())
		Eventually(func() []string { return subscriptionNotes(sub, trackingv1alpha1.EventDeliveryFailed) }).Should(ConsistOf(
			ContainSubstring("answered 400 Bad Request: unknown article")))
		Consistently(func() int { return len(rcv.requests()) }).Should(Equal(2))
	})

	It("keeps the backlog while suspended and delivers it on resume", func() {
		rcv := startReceiver()
		sub := h.subscribe(rcv, newKey(), func(s *trackingv1alpha1.Subscription) { s.Spec.Suspend = true })
		Expect(subscriptionReady(sub, trackingv1alpha1.ReasonSuspended).Status.Conditions[0].Status).To(Equal(metav1.ConditionFalse))
		h.parcelIn(sub.Namespace, articleID, nil, toDelivery()...)
		Eventually(func(g Gomega) {
			got := &trackingv1alpha1.Subscription{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sub), got)).To(Succeed())
			g.Expect(got.Status.Backlog).To(Equal(int64(3)))
		}).Should(Succeed())
		Consistently(func() int { return len(rcv.requests()) }).Should(BeZero())

		patch := client.MergeFrom(sub.DeepCopy())
		sub.Spec.Suspend = false
		Expect(k8sClient.Patch(ctx, sub, patch)).To(Succeed())
		Eventually(rcv.summaries).Should(HaveLen(3))
		subscriptionReady(sub, trackingv1alpha1.ReasonSubscriberAnswering)
	})

	It("signs with both keys during a rotation, and with the new one after", func() {
		rcv := startReceiver()
		oldKey, newer := newKey(), newKey()
		sub := h.subscribe(rcv, oldKey, nil)
		p := h.parcelIn(sub.Namespace, articleID, nil, toDelivery()[0])
		Eventually(func() int { return len(rcv.firstOfEach()) }).Should(Equal(1))

		// Suspending with the Secret change is a barrier: once Ready says
		// Suspended, the reconcile that read the new Secret has run.
		rotate := func(data map[string][]byte, next trackingv1alpha1.TrackingEvent) {
			secret := &corev1.Secret{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: sub.Namespace, Name: receiverSecret}, secret)).To(Succeed())
			secret.Data = data
			Expect(k8sClient.Update(ctx, secret)).To(Succeed())
			patch := client.MergeFrom(sub.DeepCopy())
			sub.Spec.Suspend = true
			Expect(k8sClient.Patch(ctx, sub, patch)).To(Succeed())
			subscriptionReady(sub, trackingv1alpha1.ReasonSuspended)
			reconciled(p)
			appendEvents(p, next)
			patch = client.MergeFrom(sub.DeepCopy())
			sub.Spec.Suspend = false
			Expect(k8sClient.Patch(ctx, sub, patch)).To(Succeed())
		}
		rotate(map[string][]byte{
			trackingv1alpha1.SubscriptionSigningKey:         whsec(newer),
			trackingv1alpha1.SubscriptionSigningKeyPrevious: whsec(oldKey),
		}, toDelivery()[1])
		Eventually(func() int { return len(rcv.firstOfEach()) }).Should(Equal(2))
		during := rcv.firstOfEach()[1]
		Expect(strings.Fields(during.header.Get("webhook-signature"))).To(HaveLen(2))
		Expect(verifiedBy(during, newer)).To(Succeed())
		Expect(verifiedBy(during, oldKey)).To(Succeed())

		rotate(map[string][]byte{trackingv1alpha1.SubscriptionSigningKey: whsec(newer)}, toDelivery()[2])
		Eventually(func() int { return len(rcv.firstOfEach()) }).Should(Equal(3))
		after := rcv.firstOfEach()[2]
		Expect(verifiedBy(after, newer)).To(Succeed())
		Expect(verifiedBy(after, oldKey)).NotTo(Succeed())
	})

	It("refuses an endpoint whose address is link-local, without connecting", func() {
		rcv := startReceiver()
		sub := h.subscribe(rcv, newKey(), nil)
		patch := client.MergeFrom(sub.DeepCopy())
		sub.Spec.URL = "http://169.254.169.254/latest/meta-data/"
		Expect(k8sClient.Patch(ctx, sub, patch)).To(Succeed())
		// The notifier has the new endpoint once the reconciler observed
		// it; a parcel before that could still go to the receiver.
		Eventually(func(g Gomega) {
			got := &trackingv1alpha1.Subscription{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sub), got)).To(Succeed())
			g.Expect(got.Status.ObservedGeneration).To(Equal(sub.Generation))
		}).Should(Succeed())
		h.parcelIn(sub.Namespace, articleID, nil, toDelivery()[0])
		got := subscriptionReady(sub, trackingv1alpha1.ReasonEndpointRefused)
		Expect(meta.FindStatusCondition(got.Status.Conditions, trackingv1alpha1.ConditionReady).Message).To(
			ContainSubstring("169.254.169.254 is link-local"))
		Expect(got.Status.Backlog).To(Equal(int64(1)))
		Expect(rcv.requests()).To(BeEmpty())
	})

	It("says which key of the Secret is wrong, and never its value", func() {
		rcv := startReceiver()
		sub := h.subscribe(rcv, newKey(), nil)
		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: sub.Namespace, Name: receiverSecret}, secret)).To(Succeed())
		secret.Data[trackingv1alpha1.SubscriptionSigningKey] = []byte("not-a-whsec-key-but-secret")
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
		patch := client.MergeFrom(sub.DeepCopy())
		sub.Annotations = map[string]string{"test.parcelops.io/touched": "1"}
		Expect(k8sClient.Patch(ctx, sub, patch)).To(Succeed())
		got := subscriptionReady(sub, trackingv1alpha1.ReasonSubscriptionSecretInvalid)
		msg := meta.FindStatusCondition(got.Status.Conditions, trackingv1alpha1.ConditionReady).Message
		Expect(msg).To(ContainSubstring(`Secret "` + receiverSecret + `" signingKey`))
		Expect(msg).NotTo(ContainSubstring("not-a-whsec-key-but-secret"))
	})

	It("resends one parcel's notifications when the annotation asks", func() {
		rcv := startReceiver()
		sub := h.subscribe(rcv, newKey(), nil)
		p := h.parcelIn(sub.Namespace, articleID, nil, toDelivery()...)
		Eventually(func() int { return len(rcv.requests()) }).Should(Equal(3))
		first := rcv.requests()

		patch := client.MergeFrom(sub.DeepCopy())
		sub.Annotations = map[string]string{trackingv1alpha1.ResendAnnotation: p.Name + "@1"}
		Expect(k8sClient.Patch(ctx, sub, patch)).To(Succeed())
		Eventually(func() int { return len(rcv.requests()) }).Should(Equal(6))
		for i, again := range rcv.requests()[3:] {
			Expect(again.header.Get("webhook-id")).To(Equal(first[i].header.Get("webhook-id")))
		}
		Eventually(func(g Gomega) {
			got := &trackingv1alpha1.Subscription{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sub), got)).To(Succeed())
			g.Expect(got.Status.LastHandledResend).To(Equal(p.Name + "@1"))
		}).Should(Succeed())
		Eventually(func() []string { return subscriptionNotes(sub, trackingv1alpha1.EventResendQueued) }).Should(HaveLen(1))
		Consistently(func() int { return len(rcv.requests()) }).Should(Equal(6))
	})
})

var _ = Describe("A subscriber failing past its retry window", Ordered, func() {
	var h *notifyHarness
	BeforeAll(func() { h = startNotifyManager("notify-window") })

	It("has its backlog dropped with a count, a Warning and Ready=False, and resumes when it answers", func() {
		rcv := startReceiver()
		sub := h.subscribe(rcv, newKey(), func(s *trackingv1alpha1.Subscription) {
			s.Spec.RetryWindow = &metav1.Duration{Duration: time.Minute}
		})
		down := make([]answer, 1000)
		for i := range down {
			down[i] = answer{code: http.StatusBadGateway}
		}
		rcv.answer(down...)
		p := h.parcelIn(sub.Namespace, articleID, nil, toDelivery()[:2]...)
		subscriptionReady(sub, trackingv1alpha1.ReasonSubscriberFailing)

		h.clock.offset.Store(int64(2 * time.Minute))
		got := subscriptionReady(sub, trackingv1alpha1.ReasonRetryWindowExceeded)
		Expect(got.Status.Dropped).To(Equal(int64(2)))
		Expect(got.Status.Backlog).To(BeZero())
		Eventually(func() []string { return subscriptionNotes(sub, trackingv1alpha1.EventBacklogDropped) }).Should(ConsistOf(
			"2 notifications dropped after retrying for 1m0s"))

		rcv.mu.Lock()
		rcv.script = nil
		rcv.mu.Unlock()
		reconciled(p)
		appendEvents(p, toDelivery()[2])
		Eventually(func() []string {
			s := rcv.summaries()
			return s[len(s)-1:]
		}).Should(Equal([]string{"io.parcelops.parcel.status.changed in-transit InTransit"}))
		subscriptionReady(sub, trackingv1alpha1.ReasonSubscriberAnswering)
		Eventually(func() []string { return subscriptionNotes(sub, trackingv1alpha1.EventDeliveryResumed) }).Should(HaveLen(1))
	})
})
