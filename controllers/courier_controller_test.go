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
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/courierauth"
)

// forbiddenClient is a client of a user the API server authenticates but
// grants nothing: every request it makes is refused with Forbidden.
func forbiddenClient() client.Client {
	GinkgoHelper()
	user, err := testEnv.ControlPlane.AddUser(envtest.User{Name: "no-rights"}, nil)
	Expect(err).NotTo(HaveOccurred())
	c, err := client.New(user.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// courierManager is the manager startCourierManager runs.
var courierManager ctrl.Manager

// startCourierManager runs a manager with the CourierReconciler, caching
// Secrets by label only, as cmd/main.go does.
func startCourierManager() {
	GinkgoHelper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                  cache.Options{ByObject: courierauth.CacheByObject()},
	})
	Expect(err).NotTo(HaveOccurred())
	courierManager = mgr
	Expect(courierauth.IndexFields(ctx, mgr.GetFieldIndexer())).To(Succeed())
	Expect((&CourierReconciler{
		Client: mgr.GetClient(),
		Auth:   &courierauth.Authenticator{Reader: mgr.GetClient()},
		Clock:  clock.RealClock{},
	}).SetupWithManager(mgr)).To(Succeed())
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
}

func courierSecret(ns, name string, token string, labelled bool) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data:       map[string][]byte{},
	}
	if token != "" {
		s.Data[trackingv1alpha1.CourierTokenKey] = []byte(token)
	}
	if labelled {
		s.Labels = map[string]string{trackingv1alpha1.CourierCredentialsLabel: "true"}
	}
	return s
}

func newCourierObject(ns, name, secret string) *trackingv1alpha1.Courier {
	return &trackingv1alpha1.Courier{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       trackingv1alpha1.CourierSpec{SecretRef: trackingv1alpha1.SecretReference{Name: secret}},
	}
}

// readiness waits for the Courier's Ready condition to describe its
// current generation and returns it.
func readiness(c *trackingv1alpha1.Courier) *metav1.Condition {
	GinkgoHelper()
	var ready *metav1.Condition
	Eventually(func(g Gomega) {
		got := &trackingv1alpha1.Courier{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(c), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		ready = meta.FindStatusCondition(got.Status.Conditions, trackingv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
	}).Should(Succeed())
	return ready
}

var _ = Describe("Courier credentials", Ordered, func() {
	var ns string
	BeforeAll(startCourierManager)
	BeforeEach(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "courier-"}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		ns = n.Name
	})

	DescribeTable("say in the Ready condition whether the courier can authenticate",
		func(secret *corev1.Secret, wantStatus metav1.ConditionStatus, wantReason, wantMessage string) {
			if secret != nil {
				secret.Namespace = ns
				Expect(k8sClient.Create(ctx, secret)).To(Succeed())
			}
			c := newCourierObject(ns, "acme", "acme-token")
			Expect(k8sClient.Create(ctx, c)).To(Succeed())
			Eventually(func(g Gomega) {
				ready := readiness(c)
				g.Expect(ready.Status).To(Equal(wantStatus))
				g.Expect(ready.Reason).To(Equal(wantReason))
				g.Expect(ready.Message).To(ContainSubstring(wantMessage))
			}).Should(Succeed())
		},
		Entry("a usable token", courierSecret("", "acme-token", "a-token-used-by-this-courier-only", true),
			metav1.ConditionTrue, trackingv1alpha1.ReasonCredentialsValid, `token in Secret "acme-token" is usable`),
		Entry("no Secret", nil,
			metav1.ConditionFalse, trackingv1alpha1.ReasonSecretNotFound, `Secret "acme-token" not found among Secrets labelled`),
		Entry("a Secret without the label (the operator cannot see it)",
			courierSecret("", "acme-token", "an-unlabelled-token-of-20-bytes", false),
			metav1.ConditionFalse, trackingv1alpha1.ReasonSecretNotFound, "tracking.parcelops.io/courier-credentials=true"),
		Entry("a Secret without a token", courierSecret("", "acme-token", "", true),
			metav1.ConditionFalse, trackingv1alpha1.ReasonTokenMissing, `has no "token" key`),
		Entry("a token of 15 bytes", courierSecret("", "acme-token", "0123456789abcde", true),
			metav1.ConditionFalse, trackingv1alpha1.ReasonTokenTooShort, "is 15 bytes; at least 16 are required"),
	)

	It("follows the Secret: fixed, then shared with another courier, then fixed again", func() {
		// Tokens are matched across namespaces, so this spec uses its own.
		c := newCourierObject(ns, "acme", "acme-token")
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		Eventually(func() string { return readiness(c).Reason }).Should(Equal(trackingv1alpha1.ReasonSecretNotFound))

		secret := courierSecret(ns, "acme-token", "a-token-two-couriers-will-share", true)
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())
		Eventually(func() string { return readiness(c).Reason }).Should(Equal(trackingv1alpha1.ReasonCredentialsValid))

		other := courierSecret(ns, "other-token", "a-token-two-couriers-will-share", true)
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		otherCourier := newCourierObject(ns, "other", "other-token")
		Expect(k8sClient.Create(ctx, otherCourier)).To(Succeed())
		Eventually(func() string { return readiness(c).Reason }).Should(Equal(trackingv1alpha1.ReasonTokenShared))
		Eventually(func() string { return readiness(otherCourier).Reason }).Should(Equal(trackingv1alpha1.ReasonTokenShared))

		other.Data[trackingv1alpha1.CourierTokenKey] = []byte("another-token-entirely")
		Expect(k8sClient.Update(ctx, other)).To(Succeed())
		Eventually(func() string { return readiness(c).Reason }).Should(Equal(trackingv1alpha1.ReasonCredentialsValid))
		Eventually(func() string { return readiness(otherCourier).Reason }).Should(Equal(trackingv1alpha1.ReasonCredentialsValid))
	})
	It("surfaces an error reading the Courier rather than taking it for a deleted one", func() {
		c := newCourierObject(ns, "acme", "acme-token")
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		r := &CourierReconciler{
			Client:   forbiddenClient(),
			Recorder: courierManager.GetEventRecorder("courier-controller-test"),
			Auth:     &courierauth.Authenticator{Reader: k8sClient},
			Clock:    clock.RealClock{},
		}
		_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(c)})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
	})

	It("records a Warning Event when a step fails", func() {
		c := newCourierObject(ns, "acme", "acme-token")
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		r := &CourierReconciler{
			Client:   k8sClient,
			Recorder: courierManager.GetEventRecorder("courier-controller-test"),
			// The Secret is read by a user the API server refuses.
			Auth:  &courierauth.Authenticator{Reader: forbiddenClient()},
			Clock: clock.RealClock{},
		}
		_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(c)})
		Expect(err).To(MatchError(ContainSubstring(`checking the credentials in Secret "acme-token"`)))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Eventually(func(g Gomega) {
			list := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			var warnings []eventsv1.Event
			for _, e := range list.Items {
				if e.Regarding.Kind == "Courier" && e.Regarding.Name == c.Name && e.Type == corev1.EventTypeWarning {
					warnings = append(warnings, e)
				}
			}
			g.Expect(warnings).To(ConsistOf(And(
				HaveField("Reason", trackingv1alpha1.EventReconcileFailed),
				HaveField("Note", ContainSubstring("forbidden")))))
		}).Should(Succeed())
	})
})
