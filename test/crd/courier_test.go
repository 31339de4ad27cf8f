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
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
		Entry("a time limit on a terminal status", func(c *trackingv1alpha1.Courier) {
			c.Spec.MaxTimeInStatus = []trackingv1alpha1.StatusTimeLimit{limit(trackingv1alpha1.StatusDelivered, "48h")}
		}, "spec.maxTimeInStatus[0].status", "must be one a scan can report and a parcel can leave"),
		Entry("a time limit on Not Scanned", func(c *trackingv1alpha1.Courier) {
			c.Spec.MaxTimeInStatus = []trackingv1alpha1.StatusTimeLimit{limit(trackingv1alpha1.StatusNotScanned, "48h")}
		}, "spec.maxTimeInStatus[0].status", "ReceivedInDepot, LoadedByDriver, InTransit, FailedDelivery or ReturnToDepot"),
		Entry("a status nobody knows", func(c *trackingv1alpha1.Courier) {
			c.Spec.MaxTimeInStatus = []trackingv1alpha1.StatusTimeLimit{limit("Lost", "48h")}
		}, "spec.maxTimeInStatus[0].status", "Unsupported value"),
		Entry("the same status twice", func(c *trackingv1alpha1.Courier) {
			c.Spec.MaxTimeInStatus = []trackingv1alpha1.StatusTimeLimit{
				limit(trackingv1alpha1.StatusInTransit, "48h"), limit(trackingv1alpha1.StatusInTransit, "72h")}
		}, "spec.maxTimeInStatus[1]", "Duplicate value"),
		Entry("a limit under a minute", func(c *trackingv1alpha1.Courier) {
			c.Spec.MaxTimeInStatus = []trackingv1alpha1.StatusTimeLimit{limit(trackingv1alpha1.StatusInTransit, "59s")}
		}, "spec.maxTimeInStatus[0].duration", "must be at least 1m and at most 8760h"),
		Entry("a limit over a year", func(c *trackingv1alpha1.Courier) {
			c.Spec.MaxTimeInStatus = []trackingv1alpha1.StatusTimeLimit{limit(trackingv1alpha1.StatusInTransit, "8761h")}
		}, "spec.maxTimeInStatus[0].duration", "must be at least 1m and at most 8760h"),
		Entry("an alias naming a status nobody knows", func(c *trackingv1alpha1.Courier) {
			c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{"DL": "Lost"}
		}, "spec.statusAliases.DL", "Unsupported value"),
		Entry("an empty alias", func(c *trackingv1alpha1.Courier) {
			c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{"": trackingv1alpha1.StatusDelivered}
		}, "spec.statusAliases", "1 to 64 characters on one line"),
		Entry("an alias of punctuation only", func(c *trackingv1alpha1.Courier) {
			c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{"--": trackingv1alpha1.StatusDelivered}
		}, "spec.statusAliases", "at least one ASCII letter or digit"),
		Entry("an alias over 64 characters", func(c *trackingv1alpha1.Courier) {
			c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{strings.Repeat("x", 65): trackingv1alpha1.StatusDelivered}
		}, "spec.statusAliases", "1 to 64 characters on one line"),
		Entry("an alias on two lines", func(c *trackingv1alpha1.Courier) {
			c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{"DL\nOK": trackingv1alpha1.StatusDelivered}
		}, "spec.statusAliases", "1 to 64 characters on one line"),
		Entry("an alias that is another status's built-in spelling", func(c *trackingv1alpha1.Courier) {
			c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{"rts": trackingv1alpha1.StatusDelivered}
		}, "spec.statusAliases", "may not be a built-in spelling of another status"),
		Entry("two aliases that differ in case only, naming two statuses", func(c *trackingv1alpha1.Courier) {
			c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{
				"DL": trackingv1alpha1.StatusDelivered, "d-l": trackingv1alpha1.StatusFailedDelivery}
		}, "spec.statusAliases", "must name the same status"),
		Entry("65 aliases", func(c *trackingv1alpha1.Courier) {
			c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{}
			for i := range 65 {
				c.Spec.StatusAliases[fmt.Sprintf("code%d", i)] = trackingv1alpha1.StatusInTransit
			}
		}, "spec.statusAliases", "must have at most 64 items"),
	)

	It("accepts a courier's own codes, the most of them, and a built-in spelling of the same status", func() {
		c := newCourier(ns)
		c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{
			"DL": trackingv1alpha1.StatusDelivered, "dl": trackingv1alpha1.StatusDelivered, "OFD": trackingv1alpha1.StatusInTransit,
			"Zugestellt": trackingv1alpha1.StatusDelivered, "Zurückgesendet": trackingv1alpha1.StatusReturnToSender,
			"Retour": trackingv1alpha1.StatusReturnToSender, "RTS": trackingv1alpha1.StatusReturnToSender,
			strings.Repeat("x", 64): trackingv1alpha1.StatusInTransit,
		}
		for i := len(c.Spec.StatusAliases); i < 64; i++ {
			c.Spec.StatusAliases[fmt.Sprintf("code%d", i)] = trackingv1alpha1.StatusInTransit
		}
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		got := &trackingv1alpha1.Courier{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(c), got)).To(Succeed())
		Expect(got.Spec.StatusAliases).To(Equal(c.Spec.StatusAliases))
	})

	It("refuses every built-in spelling as an alias of another status", func() {
		// Every name the code accepts, against every other status: the
		// rule's table of spellings must be the code's.
		names := trackingv1alpha1.AcceptedSpellings()
		for _, s := range trackingv1alpha1.Statuses() {
			names = append(names, string(s))
		}
		for _, name := range names {
			own, err := trackingv1alpha1.ParseTrackingStatus(name)
			Expect(err).NotTo(HaveOccurred())
			for _, other := range trackingv1alpha1.Statuses() {
				c := newCourier(ns)
				c.Name, c.GenerateName = "", "acme-"
				c.Spec.StatusAliases = map[string]trackingv1alpha1.TrackingStatus{strings.ToUpper(name): other}
				if other == own {
					Expect(k8sClient.Create(ctx, c)).To(Succeed(), "%q -> %s", name, other)
					continue
				}
				expectInvalid(k8sClient.Create(ctx, c), "may not be a built-in spelling of another status")
			}
		}
	})

	It("accepts time limits on every status a parcel can leave, and refuses a duration that is not Go's", func() {
		c := newCourier(ns)
		for _, s := range []trackingv1alpha1.TrackingStatus{trackingv1alpha1.StatusReceivedInDepot, trackingv1alpha1.StatusLoadedByDriver,
			trackingv1alpha1.StatusInTransit, trackingv1alpha1.StatusFailedDelivery, trackingv1alpha1.StatusReturnToDepot} {
			c.Spec.MaxTimeInStatus = append(c.Spec.MaxTimeInStatus, limit(s, "1m"))
		}
		c.Spec.MaxTimeInStatus[2] = limit(trackingv1alpha1.StatusInTransit, "8760h")
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		for _, s := range trackingv1alpha1.Statuses() {
			_, limited := c.MaxTimeIn(s)
			Expect(limited).To(Equal(!trackingv1alpha1.DefaultTransitions.IsTerminal(s) && s != trackingv1alpha1.StatusNotScanned), string(s))
		}

		raw := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"maxTimeInStatus":[{"status":"InTransit","duration":"2d"}]}}`))
		expectInvalid(k8sClient.Patch(ctx, c, raw), "spec.maxTimeInStatus[0].duration", "should match")
	})
})

func limit(s trackingv1alpha1.TrackingStatus, d string) trackingv1alpha1.StatusTimeLimit {
	parsed, err := time.ParseDuration(d)
	Expect(err).NotTo(HaveOccurred())
	return trackingv1alpha1.StatusTimeLimit{Status: s, Duration: metav1.Duration{Duration: parsed}}
}
