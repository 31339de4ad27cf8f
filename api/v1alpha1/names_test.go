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
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// hashedNameShape is a name with a hash suffix: a readable DNS-1123 label
// prefix, '-', 16 hex digits, 63 characters at most.
var hashedNameShape = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,44}[a-z0-9])?-[0-9a-f]{16}$`)

// hashSuffix is the first 16 hex digits of the SHA-256 of id, as
// docs/architecture.md ("The API") and ParcelName's doc comment describe the
// suffix.
func hashSuffix(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])[:16]
}

// The 64-character IDs (the longest a Parcel accepts).
var (
	longPlainID = "ARP" + strings.Repeat("1234567890", 6) + "1"
	longLossyID = strings.Repeat("AB_", 21) + "C"
)

var _ = Describe("ParcelName", func() {
	DescribeTable("derives metadata.name from the article ID",
		func(articleID, want string) {
			got := trackingv1alpha1.ParcelName(articleID)
			Expect(got).To(Equal(want))
			Expect(validation.IsDNS1123Subdomain(got)).To(BeEmpty())
			if hashedNameShape.MatchString(want) {
				Expect(got).To(HaveSuffix("-" + hashSuffix(articleID)))
				Expect(len(got)).To(BeNumerically("<=", validation.DNS1123LabelMaxLength))
			} else {
				Expect(strings.ToUpper(got)).To(Equal(articleID), "a name without a hash must give the ID back")
			}
		},
		// Kept readable: upper-case letters, digits, '.' and '-' lower-cased.
		Entry("upper-case letters and digits: ARP1000052447 -> arp1000052447", "ARP1000052447", "arp1000052447"),
		Entry("digits only: 1000052447 -> 1000052447", "1000052447", "1000052447"),
		Entry("dot and dash: A.B-C -> a.b-c", "A.B-C", "a.b-c"),
		Entry("one letter: A -> a", "A", "a"),
		Entry("a dash and 10 digits: ARP-1000052447 -> arp-1000052447", "ARP-1000052447", "arp-1000052447"),
		Entry("17 characters after the dash, not a hash suffix: ARP-1000052447ABCDEFG", "ARP-1000052447ABCDEFG", "arp-1000052447abcdefg"),
		Entry("15 hex digits after the dash, not a hash suffix: ARP-1000052447ABCDE", "ARP-1000052447ABCDE", "arp-1000052447abcde"),
		Entry("64 characters, lossless: kept whole", longPlainID, strings.ToLower(longPlainID)),

		// Hashed: the ID could not be lower-cased losslessly into a valid name.
		Entry("lower-case letters and '_': arp_1 -> arp-1-68b8f844955d89b5", "arp_1", "arp-1-68b8f844955d89b5"),
		Entry("lower-case letters: arp1 -> arp1-<hash>", "arp1", "arp1-2111470b6871c7e3"),
		Entry("lower-case courier ID: arp1000052447 -> arp1000052447-<hash>", "arp1000052447", "arp1000052447-4464357779bad520"),
		Entry("underscore: ARP_1 -> arp-1-<hash>", "ARP_1", "arp-1-0dcac01a29710dd7"),
		Entry("colon: ARP:1 -> arp-1-<hash>", "ARP:1", "arp-1-9f601025ea6565c5"),
		Entry("space: ARP 1 -> arp-1-<hash>", "ARP 1", "arp-1-fc9fd8ad4102b55e"),
		Entry("leading '.': .ARP1 -> arp1-<hash>", ".ARP1", "arp1-11dc36f95eeff4f9"),
		Entry("trailing '.': ARP1. -> arp1-<hash>", "ARP1.", "arp1-0ef986b7180d8013"),
		Entry("leading '-': -ARP1 -> arp1-<hash>", "-ARP1", "arp1-b4f27e6a493280df"),
		Entry("double dot: ARP..1 -> arp-1-<hash>", "ARP..1", "arp-1-6df86d8030380c36"),
		Entry("looks like a hashed name once lower-cased: ARP-1000052447ABCDEF", "ARP-1000052447ABCDEF", "arp-1000052447abcdef-66b057bc2a9c79ba"),
		Entry("the upper-cased name of arp1 is not given arp1's name: ARP1-2111470B6871C7E3", "ARP1-2111470B6871C7E3", "arp1-2111470b6871c7e3-93732e8463a2cae4"),
		Entry("non-ASCII letter: ÄRP1 -> rp1-<hash>", "ÄRP1", "rp1-d8d9cc7bb8f69fdd"),
		Entry("no letter or digit at all: ___ -> parcel-<hash>", "___", "parcel-bda251550bf0478f"),
		Entry("empty: parcel-<hash>", "", "parcel-e3b0c44298fc1c14"),
		Entry("64 characters with '_': prefix cut to 46 characters, 63 in all", longLossyID, "ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-a-2355bff0b6ef601e"),
	)

	DescribeTable("keeps different IDs apart",
		func(a, b string) {
			Expect(trackingv1alpha1.ParcelName(a)).NotTo(Equal(trackingv1alpha1.ParcelName(b)))
		},
		Entry("case only: ARP1 vs arp1", "ARP1", "arp1"),
		Entry("case of one letter: ARP1 vs ArP1", "ARP1", "ArP1"),
		Entry("'_' vs '-': ARP_1 vs ARP-1", "ARP_1", "ARP-1"),
		Entry("':' vs '_': ARP:1 vs ARP_1", "ARP:1", "ARP_1"),
		Entry("'.' vs '-': ARP.1 vs ARP-1", "ARP.1", "ARP-1"),
		Entry("one '_' vs two: ARP_1 vs ARP__1", "ARP_1", "ARP__1"),
		Entry("an ID vs the upper-cased name of another: arp1 vs ARP1-2111470B6871C7E3", "arp1", "ARP1-2111470B6871C7E3"),
		Entry("two IDs without letters or digits: ___ vs ...", "___", "..."),
		Entry("64-character IDs differing in their last character, past the prefix cut", longLossyID, longLossyID[:63]+"D"),
	)

	It("depends on nothing but the ID", func() {
		for _, id := range []string{"ARP1000052447", "arp_1", "___", longLossyID} {
			Expect(trackingv1alpha1.ParcelName(id)).To(Equal(trackingv1alpha1.ParcelName(strings.Clone(id))))
		}
	})
})
