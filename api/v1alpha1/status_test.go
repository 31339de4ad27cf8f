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
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Short names for the statuses, so the tables read like the status graph in
// docs/architecture.md ("The fold").
const (
	notScanned      = trackingv1alpha1.StatusNotScanned
	receivedInDepot = trackingv1alpha1.StatusReceivedInDepot
	loadedByDriver  = trackingv1alpha1.StatusLoadedByDriver
	inTransit       = trackingv1alpha1.StatusInTransit
	delivered       = trackingv1alpha1.StatusDelivered
	failedDelivery  = trackingv1alpha1.StatusFailedDelivery
	returnToSender  = trackingv1alpha1.StatusReturnToSender
	returnToDepot   = trackingv1alpha1.StatusReturnToDepot
)

var _ = Describe("TrackingStatus", func() {
	DescribeTable("ParseTrackingStatus accepts every spelling the status table (status.go) lists, ignoring case, spaces and punctuation",
		func(value string, want trackingv1alpha1.TrackingStatus) {
			got, err := trackingv1alpha1.ParseTrackingStatus(value)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		// NotScanned
		Entry(`canonical "NotScanned"`, "NotScanned", notScanned),
		Entry(`display "Not Scanned"`, "Not Scanned", notScanned),
		Entry(`snake case "NOT_SCANNED"`, "NOT_SCANNED", notScanned),
		Entry(`kebab case "not-scanned"`, "not-scanned", notScanned),
		// ReceivedInDepot
		Entry(`canonical "ReceivedInDepot"`, "ReceivedInDepot", receivedInDepot),
		Entry(`display "Received in Depot"`, "Received in Depot", receivedInDepot),
		Entry(`seed spelling with its typo "Received in Depo"`, "Received in Depo", receivedInDepot),
		Entry(`kebab case "received-in-depot"`, "received-in-depot", receivedInDepot),
		Entry(`upper case seed typo "RECEIVED IN DEPO"`, "RECEIVED IN DEPO", receivedInDepot),
		Entry(`snake case "received_in_depot"`, "received_in_depot", receivedInDepot),
		Entry(`trailing full stop "Received in Depot."`, "Received in Depot.", receivedInDepot),
		// LoadedByDriver
		Entry(`canonical "LoadedByDriver"`, "LoadedByDriver", loadedByDriver),
		Entry(`display "Loaded by Driver"`, "Loaded by Driver", loadedByDriver),
		Entry(`kebab case "loaded-by-driver"`, "loaded-by-driver", loadedByDriver),
		Entry(`upper case "LOADED BY DRIVER"`, "LOADED BY DRIVER", loadedByDriver),
		// InTransit
		Entry(`canonical "InTransit"`, "InTransit", inTransit),
		Entry(`display "In Transit"`, "In Transit", inTransit),
		Entry(`upper snake case "IN_TRANSIT"`, "IN_TRANSIT", inTransit),
		Entry(`lower case "in transit"`, "in transit", inTransit),
		Entry(`hyphenated "In-Transit"`, "In-Transit", inTransit),
		// Delivered
		Entry(`canonical and display "Delivered"`, "Delivered", delivered),
		Entry(`padded with spaces "  delivered  "`, "  delivered  ", delivered),
		Entry(`upper case "DELIVERED"`, "DELIVERED", delivered),
		Entry(`tab, full stop and newline "\tDelivered.\n"`, "\tDelivered.\n", delivered),
		// FailedDelivery
		Entry(`canonical "FailedDelivery"`, "FailedDelivery", failedDelivery),
		Entry(`display "Failed Delivery"`, "Failed Delivery", failedDelivery),
		Entry(`snake case "failed_delivery"`, "failed_delivery", failedDelivery),
		Entry(`upper kebab case "FAILED-DELIVERY"`, "FAILED-DELIVERY", failedDelivery),
		// ReturnToSender
		Entry(`canonical "ReturnToSender"`, "ReturnToSender", returnToSender),
		Entry(`display "Return to Sender"`, "Return to Sender", returnToSender),
		Entry(`seed spelling "RTS- Return to Sender"`, "RTS- Return to Sender", returnToSender),
		Entry(`abbreviation "RTS"`, "RTS", returnToSender),
		Entry(`lower-case abbreviation "rts"`, "rts", returnToSender),
		Entry(`dotted abbreviation "R.T.S."`, "R.T.S.", returnToSender),
		Entry(`spaced seed spelling "RTS - Return To Sender"`, "RTS - Return To Sender", returnToSender),
		Entry(`kebab case "return-to-sender"`, "return-to-sender", returnToSender),
		// ReturnToDepot
		Entry(`canonical "ReturnToDepot"`, "ReturnToDepot", returnToDepot),
		Entry(`display "Return to Depot"`, "Return to Depot", returnToDepot),
		Entry(`seed spelling with its typo "RD- Return to depo"`, "RD- Return to depo", returnToDepot),
		Entry(`abbreviation "RD"`, "RD", returnToDepot),
		Entry(`lower-case abbreviation "rd"`, "rd", returnToDepot),
		Entry(`typo without the prefix "Return to Depo"`, "Return to Depo", returnToDepot),
		Entry(`seed form with the typo corrected "RD- Return to Depot"`, "RD- Return to Depot", returnToDepot),
		Entry(`a check mark is punctuation "Delivered ✓"`, "Delivered ✓", delivered),
		Entry(`upper snake case "RETURN_TO_DEPOT"`, "RETURN_TO_DEPOT", returnToDepot),
	)

	DescribeTable("ParseTrackingStatus refuses unknown spellings with an *UnknownStatusError naming the value and the accepted spellings",
		func(value, wantMessageStart string) {
			got, err := trackingv1alpha1.ParseTrackingStatus(value)
			Expect(got).To(BeEmpty())
			var unknown *trackingv1alpha1.UnknownStatusError
			Expect(errors.As(err, &unknown)).To(BeTrue(), "error %v (%T) is not an *UnknownStatusError", err, err)
			Expect(unknown.Value).To(Equal(value))
			Expect(err.Error()).To(HavePrefix(wantMessageStart + "; accepted: "))
			for _, spelling := range []string{
				`"Not Scanned"`, `"Received in Depot"`, `"Received in Depo"`, `"In Transit"`,
				`"RTS- Return to Sender"`, `"RTS"`, `"RD- Return to depo"`, `"Return to Depot"`,
			} {
				Expect(err.Error()).To(ContainSubstring(spelling))
			}
		},
		Entry(`empty ""`, "", "status is empty"),
		Entry(`only spaces "   "`, "   ", "status is empty"),
		Entry(`only punctuation "--"`, "--", `unknown status "--"`),
		Entry(`not a status "Lost"`, "Lost", `unknown status "Lost"`),
		Entry(`misspelt "Deliverd"`, "Deliverd", `unknown status "Deliverd"`),
		Entry(`truncated "Received"`, "Received", `unknown status "Received"`),
		Entry(`truncated "Transit"`, "Transit", `unknown status "Transit"`),
		Entry(`two statuses run together "Delivered Failed"`, "Delivered Failed", `unknown status "Delivered Failed"`),
		Entry(`a digit added "In Transit 2"`, "In Transit 2", `unknown status "In Transit 2"`),
		Entry(`non-ASCII letter inside "Délivered"`, "Délivered", `unknown status "Délivered"`),
		Entry(`non-ASCII words "Zugestellt ✓"`, "Zugestellt ✓", `unknown status "Zugestellt ✓"`),
		Entry(`Japanese "配達済み"`, "配達済み", `unknown status "配達済み"`),
		Entry(`full-width letters "Ｄｅｌｉｖｅｒｅｄ"`, "Ｄｅｌｉｖｅｒｅｄ", `unknown status "Ｄｅｌｉｖｅｒｅｄ"`),
		Entry(`a non-ASCII letter after a valid spelling "Deliveredé"`, "Deliveredé", `unknown status "Deliveredé"`),
		Entry(`a non-ASCII digit after a valid spelling "RD٣"`, "RD٣", `unknown status "RD٣"`),
		Entry(`invalid UTF-8 before a valid spelling "\xffRD"`, "\xffRD", `unknown status "\xffRD"`),
	)

	aliases := map[string]trackingv1alpha1.TrackingStatus{
		"DL": delivered, "OFD": inTransit, "Zurückgesendet": returnToSender, "配達済み": delivered, "RTS": returnToSender,
	}
	DescribeTable("ResolveStatus takes a built-in spelling first, then a courier's alias, matched the same way",
		func(value string, want trackingv1alpha1.TrackingStatus, wantAliased bool) {
			got, aliased, err := trackingv1alpha1.ResolveStatus(value, aliases)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
			Expect(aliased).To(Equal(wantAliased))
		},
		Entry("a built-in spelling", "Received in Depo", receivedInDepot, false),
		Entry("a built-in spelling also listed as an alias of its own status", "rts", returnToSender, false),
		Entry("an alias as configured", "DL", delivered, true),
		Entry("an alias in another case, with punctuation", " o.f.d ", inTransit, true),
		Entry("an alias with non-ASCII letters, upper-cased", "ZURÜCKGESENDET", returnToSender, true),
		Entry("an alias in another script", "配達済み", delivered, true),
	)

	DescribeTable("ResolveStatus refuses what neither a built-in spelling nor an alias names",
		func(value string, aliases map[string]trackingv1alpha1.TrackingStatus) {
			got, aliased, err := trackingv1alpha1.ResolveStatus(value, aliases)
			Expect(got).To(BeEmpty())
			Expect(aliased).To(BeFalse())
			var unknown *trackingv1alpha1.UnknownStatusError
			Expect(errors.As(err, &unknown)).To(BeTrue(), "error %v (%T) is not an *UnknownStatusError", err, err)
			Expect(unknown.Value).To(Equal(value))
		},
		Entry("no aliases", "DL", nil),
		Entry("an alias's prefix", "D", aliases),
		Entry("an alias run together with more", "DLX", aliases),
		Entry("punctuation only", "--", aliases),
		Entry("invalid UTF-8 around an alias", "\xffDL", aliases),
		Entry("an alias naming no status (the API server refuses it)", "LOST", map[string]trackingv1alpha1.TrackingStatus{"LOST": "Lost"}),
	)

	It("SortedAliases lists the codes in order", func() {
		Expect(trackingv1alpha1.SortedAliases(aliases)).To(Equal([]string{"DL", "OFD", "RTS", "Zurückgesendet", "配達済み"}))
		Expect(trackingv1alpha1.SortedAliases(nil)).To(BeEmpty())
	})

	DescribeTable("DisplayName gives the name people read",
		func(status trackingv1alpha1.TrackingStatus, want string) {
			Expect(status.DisplayName()).To(Equal(want))
		},
		Entry("NotScanned -> Not Scanned", notScanned, "Not Scanned"),
		Entry("ReceivedInDepot -> Received in Depot", receivedInDepot, "Received in Depot"),
		Entry("LoadedByDriver -> Loaded by Driver", loadedByDriver, "Loaded by Driver"),
		Entry("InTransit -> In Transit", inTransit, "In Transit"),
		Entry("Delivered -> Delivered", delivered, "Delivered"),
		Entry("FailedDelivery -> Failed Delivery", failedDelivery, "Failed Delivery"),
		Entry("ReturnToSender -> Return to Sender", returnToSender, "Return to Sender"),
		Entry("ReturnToDepot -> Return to Depot", returnToDepot, "Return to Depot"),
		Entry("an unknown value is shown as it is: Lost -> Lost", trackingv1alpha1.TrackingStatus("Lost"), "Lost"),
	)

	DescribeTable("IsValid accepts only the canonical values",
		func(status trackingv1alpha1.TrackingStatus, want bool) {
			Expect(status.IsValid()).To(Equal(want))
		},
		Entry("NotScanned is valid", notScanned, true),
		Entry("ReceivedInDepot is valid", receivedInDepot, true),
		Entry("LoadedByDriver is valid", loadedByDriver, true),
		Entry("InTransit is valid", inTransit, true),
		Entry("Delivered is valid", delivered, true),
		Entry("FailedDelivery is valid", failedDelivery, true),
		Entry("ReturnToSender is valid", returnToSender, true),
		Entry("ReturnToDepot is valid", returnToDepot, true),
		Entry(`empty "" is not`, trackingv1alpha1.TrackingStatus(""), false),
		Entry(`a display name "In Transit" is not`, trackingv1alpha1.TrackingStatus("In Transit"), false),
		Entry(`a lower-cased canonical value "intransit" is not`, trackingv1alpha1.TrackingStatus("intransit"), false),
		Entry(`a courier spelling "RTS" is not`, trackingv1alpha1.TrackingStatus("RTS"), false),
		Entry(`"Lost" is not`, trackingv1alpha1.TrackingStatus("Lost"), false),
	)

	It("lists the eight statuses in the order a parcel usually meets them", func() {
		Expect(trackingv1alpha1.Statuses()).To(Equal([]trackingv1alpha1.TrackingStatus{
			notScanned, receivedInDepot, loadedByDriver, inTransit,
			delivered, failedDelivery, returnToSender, returnToDepot,
		}))
	})

	It("accepts every display name and courier spelling that AcceptedSpellings lists", func() {
		spellings := trackingv1alpha1.AcceptedSpellings()
		Expect(spellings).To(ContainElements(
			"Not Scanned", "Received in Depot", "Received in Depo", "Loaded by Driver", "In Transit",
			"Delivered", "Failed Delivery", "Return to Sender", "RTS- Return to Sender", "RTS",
			"Return to Depot", "RD- Return to depo", "RD",
		))
		for _, spelling := range spellings {
			got, err := trackingv1alpha1.ParseTrackingStatus(spelling)
			Expect(err).NotTo(HaveOccurred(), "spelling %q", spelling)
			Expect(got.IsValid()).To(BeTrue(), "spelling %q", spelling)
		}
	})
})
