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

package v1alpha1_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

var _ = Describe("IDs", func() {
	DescribeTable("ValidateArticleID and ValidateEventID agree with the CRD's pattern and lengths",
		func(id string, wantArticle, wantEvent string) {
			check := func(err error, want string) {
				if want == "" {
					Expect(err).NotTo(HaveOccurred())
				} else {
					Expect(err).To(MatchError(ContainSubstring(want)))
				}
			}
			check(trackingv1alpha1.ValidateArticleID(id), wantArticle)
			check(trackingv1alpha1.ValidateEventID(id), wantEvent)
		},
		Entry("the seed's article ID", "ARP1000052447", "", ""),
		Entry("every allowed punctuation", "a.b_c:d-e", "", ""),
		Entry("empty", "", "must not be empty", "must not be empty"),
		Entry("64 characters", strings.Repeat("A", 64), "", ""),
		Entry("65 characters", strings.Repeat("A", 65), "at most 64", "at most 64"),
		Entry("a leading dash", "-ARP1", "must start with a letter or digit", "must start with a letter or digit"),
		Entry("a slash", "ARP/1", "may contain only", "may contain only"),
		Entry("a space", "ARP 1", "may contain only", "may contain only"),
		Entry("a NUL byte", "ARP\x001", "may contain only", "may contain only"),
		Entry("non-ASCII", "ÄRP1", "may contain only", "may contain only"),
	)

	DescribeTable("DeriveEventID",
		func(articleID string, status trackingv1alpha1.TrackingStatus, t time.Time, want string) {
			Expect(trackingv1alpha1.DeriveEventID(articleID, status, t)).To(Equal(want))
		},
		// sha256("ARP1000052447\x00Delivered\x002025-10-08T10:15:00Z")[:16], computed with sha256sum.
		Entry("the seed example", "ARP1000052447", trackingv1alpha1.StatusDelivered,
			time.Date(2025, 10, 8, 10, 15, 0, 0, time.UTC), "642e7deea55e53f8"),
		Entry("the same instant in another zone", "ARP1000052447", trackingv1alpha1.StatusDelivered,
			time.Date(2025, 10, 8, 12, 15, 0, 0, time.FixedZone("CEST", 2*3600)), "642e7deea55e53f8"),
		Entry("a fraction of a second later (the API stores whole seconds)", "ARP1000052447", trackingv1alpha1.StatusDelivered,
			time.Date(2025, 10, 8, 10, 15, 0, 999_000_000, time.UTC), "642e7deea55e53f8"),
	)

	It("gives different updates different ids", func() {
		t := time.Date(2025, 10, 8, 10, 15, 0, 0, time.UTC)
		ids := map[string]bool{
			trackingv1alpha1.DeriveEventID("ARP1000052447", trackingv1alpha1.StatusDelivered, t):                  true,
			trackingv1alpha1.DeriveEventID("ARP1000052448", trackingv1alpha1.StatusDelivered, t):                  true,
			trackingv1alpha1.DeriveEventID("ARP1000052447", trackingv1alpha1.StatusInTransit, t):                  true,
			trackingv1alpha1.DeriveEventID("ARP1000052447", trackingv1alpha1.StatusDelivered, t.Add(time.Second)): true,
			trackingv1alpha1.DeriveEventID("arp1000052447", trackingv1alpha1.StatusDelivered, t):                  true,
		}
		Expect(ids).To(HaveLen(5))
		for id := range ids {
			Expect(trackingv1alpha1.ValidateEventID(id)).To(Succeed())
		}
	})
})
