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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

func newSubscription(ns string) *trackingv1alpha1.Subscription {
	return &trackingv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-notifications"},
		Spec: trackingv1alpha1.SubscriptionSpec{
			URL:       "https://shop.example.com/hooks/parcels?tenant=7",
			SecretRef: trackingv1alpha1.SecretReference{Name: "shop-webhook"},
		},
	}
}

var _ = Describe("Subscription validation by the API server", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("accepts a Subscription and defaults what it leaves out", func() {
		s := newSubscription(ns)
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		got := &trackingv1alpha1.Subscription{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), got)).To(Succeed())
		Expect(got.Spec.Types).To(Equal([]trackingv1alpha1.NotificationType{trackingv1alpha1.NotificationStatusChanged}))
		Expect(got.TimeoutOrDefault()).To(Equal(10 * time.Second))
		Expect(got.RetryWindowOrDefault()).To(Equal(24 * time.Hour))
	})

	It("accepts plain HTTP when the Subscription allows it", func() {
		s := newSubscription(ns)
		s.Spec.URL = "http://receiver.shop.svc:8080/hooks"
		s.Spec.AllowPlainHTTP = true
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
	})

	DescribeTable("refuses an invalid Subscription",
		func(mutate func(s *trackingv1alpha1.Subscription), fragments ...string) {
			s := newSubscription(ns)
			mutate(s)
			expectInvalid(k8sClient.Create(ctx, s), fragments...)
		},
		Entry("plain HTTP not allowed", func(s *trackingv1alpha1.Subscription) { s.Spec.URL = "http://shop.example.com/hooks" },
			"spec.url", "must be https:// unless allowPlainHTTP is true"),
		Entry("another scheme", func(s *trackingv1alpha1.Subscription) { s.Spec.URL = "ftp://shop.example.com/hooks" },
			"spec.url", "should match"),
		Entry("credentials in the URL", func(s *trackingv1alpha1.Subscription) { s.Spec.URL = "https://user:pw@shop.example.com/" },
			"spec.url", "should match"),
		Entry("no host", func(s *trackingv1alpha1.Subscription) { s.Spec.URL = "https:///hooks" },
			"spec.url"),
		Entry("an unknown type", func(s *trackingv1alpha1.Subscription) {
			s.Spec.Types = []trackingv1alpha1.NotificationType{"Everything"}
		}, "spec.types[0]", "Unsupported value"),
		Entry("an unknown status", func(s *trackingv1alpha1.Subscription) {
			s.Spec.Statuses = []trackingv1alpha1.TrackingStatus{"Missing"}
		}, "spec.statuses[0]", "Unsupported value"),
		Entry("a timeout over a minute", func(s *trackingv1alpha1.Subscription) {
			s.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Minute}
		}, "spec.timeout", "must be between 1s and 60s"),
		Entry("a retry window under a minute", func(s *trackingv1alpha1.Subscription) {
			s.Spec.RetryWindow = &metav1.Duration{Duration: 30 * time.Second}
		}, "spec.retryWindow", "must be between 1m and 168h"),
		Entry("a retry window over a week", func(s *trackingv1alpha1.Subscription) {
			s.Spec.RetryWindow = &metav1.Duration{Duration: 200 * time.Hour}
		}, "spec.retryWindow", "must be between 1m and 168h"),
		Entry("no Secret", func(s *trackingv1alpha1.Subscription) { s.Spec.SecretRef.Name = "" },
			"spec.secretRef.name"),
		Entry("a label selector with a bad operator", func(s *trackingv1alpha1.Subscription) {
			s.Spec.ParcelSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "shop", Operator: "Near"}}}
		}, "spec.parcelSelector", "operator must be In or NotIn with values"),
		Entry("In without values", func(s *trackingv1alpha1.Subscription) {
			s.Spec.ParcelSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "shop", Operator: "In"}}}
		}, "spec.parcelSelector", "operator must be In or NotIn with values"),
	)
})
