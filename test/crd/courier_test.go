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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

func newCourier(ns string) *trackingv1alpha1.Courier {
	return &trackingv1alpha1.Courier{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme"},
		Spec: trackingv1alpha1.CourierSpec{
			DisplayName: "ACME Logistics",
			SecretRef:   trackingv1alpha1.SecretReference{Name: "acme-token"},
		},
	}
}

var _ = Describe("Courier validation by the API server", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("accepts a Courier and defaults what it leaves out", func() {
		c := newCourier(ns)
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		got := &trackingv1alpha1.Courier{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(c), got)).To(Succeed())
		Expect(got.Spec.AllowParcelCreation).To(HaveValue(BeTrue()))
		Expect(got.MaxPODBytes()).To(Equal(int64(trackingv1alpha1.DefaultMaxProofOfDeliverySize)))
	})

	DescribeTable("refuses an invalid Courier",
		func(mutate func(c *trackingv1alpha1.Courier), fragments ...string) {
			c := newCourier(ns)
			mutate(c)
			expectInvalid(k8sClient.Create(ctx, c), fragments...)
		},
		Entry("no Secret name", func(c *trackingv1alpha1.Courier) { c.Spec.SecretRef.Name = "" },
			"spec.secretRef.name"),
		Entry("a Secret name that is not a DNS name", func(c *trackingv1alpha1.Courier) { c.Spec.SecretRef.Name = "Acme_Token" },
			"spec.secretRef.name", "should match"),
		Entry("a zero POD size cap", func(c *trackingv1alpha1.Courier) {
			q := resource.MustParse("0")
			c.Spec.MaxProofOfDeliverySize = &q
		}, "spec.maxProofOfDeliverySize", "must be more than 0 and at most 100Mi"),
		Entry("a POD size cap over 100Mi", func(c *trackingv1alpha1.Courier) {
			q := resource.MustParse("101Mi")
			c.Spec.MaxProofOfDeliverySize = &q
		}, "spec.maxProofOfDeliverySize", "must be more than 0 and at most 100Mi"),
	)
})
