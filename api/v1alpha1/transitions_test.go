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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

var _ = Describe("TransitionGraph", func() {
	graph := trackingv1alpha1.DefaultTransitions

	// Every ordered pair of the 8 statuses, typed from the status graph in
	// docs/architecture.md ("The fold"):
	//
	//	NotScanned      -> ReceivedInDepot
	//	ReceivedInDepot -> LoadedByDriver | ReturnToSender
	//	LoadedByDriver  -> InTransit | ReceivedInDepot
	//	InTransit       -> Delivered | FailedDelivery
	//	FailedDelivery  -> InTransit | ReturnToDepot
	//	ReturnToDepot   -> LoadedByDriver | ReturnToSender
	//	Delivered, ReturnToSender: terminal
	DescribeTable("DefaultTransitions allows exactly the edges of the graph in docs/architecture.md",
		func(from, to trackingv1alpha1.TrackingStatus, want bool) {
			Expect(graph.Allows(from, to)).To(Equal(want))
		},
		Entry("Not Scanned -> Not Scanned: refused (same status)", notScanned, notScanned, false),
		Entry("Not Scanned -> Received in Depot: allowed", notScanned, receivedInDepot, true),
		Entry("Not Scanned -> Loaded by Driver: refused", notScanned, loadedByDriver, false),
		Entry("Not Scanned -> In Transit: refused", notScanned, inTransit, false),
		Entry("Not Scanned -> Delivered: refused", notScanned, delivered, false),
		Entry("Not Scanned -> Failed Delivery: refused", notScanned, failedDelivery, false),
		Entry("Not Scanned -> Return to Sender: refused", notScanned, returnToSender, false),
		Entry("Not Scanned -> Return to Depot: refused", notScanned, returnToDepot, false),

		Entry("Received in Depot -> Not Scanned: refused", receivedInDepot, notScanned, false),
		Entry("Received in Depot -> Received in Depot: refused (same status)", receivedInDepot, receivedInDepot, false),
		Entry("Received in Depot -> Loaded by Driver: allowed", receivedInDepot, loadedByDriver, true),
		Entry("Received in Depot -> In Transit: refused", receivedInDepot, inTransit, false),
		Entry("Received in Depot -> Delivered: refused", receivedInDepot, delivered, false),
		Entry("Received in Depot -> Failed Delivery: refused", receivedInDepot, failedDelivery, false),
		Entry("Received in Depot -> Return to Sender: allowed", receivedInDepot, returnToSender, true),
		Entry("Received in Depot -> Return to Depot: refused", receivedInDepot, returnToDepot, false),

		Entry("Loaded by Driver -> Not Scanned: refused", loadedByDriver, notScanned, false),
		Entry("Loaded by Driver -> Received in Depot: allowed", loadedByDriver, receivedInDepot, true),
		Entry("Loaded by Driver -> Loaded by Driver: refused (same status)", loadedByDriver, loadedByDriver, false),
		Entry("Loaded by Driver -> In Transit: allowed", loadedByDriver, inTransit, true),
		Entry("Loaded by Driver -> Delivered: refused", loadedByDriver, delivered, false),
		Entry("Loaded by Driver -> Failed Delivery: refused", loadedByDriver, failedDelivery, false),
		Entry("Loaded by Driver -> Return to Sender: refused", loadedByDriver, returnToSender, false),
		Entry("Loaded by Driver -> Return to Depot: refused", loadedByDriver, returnToDepot, false),

		Entry("In Transit -> Not Scanned: refused", inTransit, notScanned, false),
		Entry("In Transit -> Received in Depot: refused", inTransit, receivedInDepot, false),
		Entry("In Transit -> Loaded by Driver: refused", inTransit, loadedByDriver, false),
		Entry("In Transit -> In Transit: refused (same status)", inTransit, inTransit, false),
		Entry("In Transit -> Delivered: allowed", inTransit, delivered, true),
		Entry("In Transit -> Failed Delivery: allowed", inTransit, failedDelivery, true),
		Entry("In Transit -> Return to Sender: refused", inTransit, returnToSender, false),
		Entry("In Transit -> Return to Depot: refused", inTransit, returnToDepot, false),

		Entry("Delivered -> Not Scanned: refused (terminal)", delivered, notScanned, false),
		Entry("Delivered -> Received in Depot: refused (terminal)", delivered, receivedInDepot, false),
		Entry("Delivered -> Loaded by Driver: refused (terminal)", delivered, loadedByDriver, false),
		Entry("Delivered -> In Transit: refused (terminal)", delivered, inTransit, false),
		Entry("Delivered -> Delivered: refused (terminal, same status)", delivered, delivered, false),
		Entry("Delivered -> Failed Delivery: refused (terminal)", delivered, failedDelivery, false),
		Entry("Delivered -> Return to Sender: refused (terminal)", delivered, returnToSender, false),
		Entry("Delivered -> Return to Depot: refused (terminal)", delivered, returnToDepot, false),

		Entry("Failed Delivery -> Not Scanned: refused", failedDelivery, notScanned, false),
		Entry("Failed Delivery -> Received in Depot: refused", failedDelivery, receivedInDepot, false),
		Entry("Failed Delivery -> Loaded by Driver: refused", failedDelivery, loadedByDriver, false),
		Entry("Failed Delivery -> In Transit: allowed", failedDelivery, inTransit, true),
		Entry("Failed Delivery -> Delivered: refused", failedDelivery, delivered, false),
		Entry("Failed Delivery -> Failed Delivery: refused (same status)", failedDelivery, failedDelivery, false),
		Entry("Failed Delivery -> Return to Sender: refused", failedDelivery, returnToSender, false),
		Entry("Failed Delivery -> Return to Depot: allowed", failedDelivery, returnToDepot, true),

		Entry("Return to Sender -> Not Scanned: refused (terminal)", returnToSender, notScanned, false),
		Entry("Return to Sender -> Received in Depot: refused (terminal)", returnToSender, receivedInDepot, false),
		Entry("Return to Sender -> Loaded by Driver: refused (terminal)", returnToSender, loadedByDriver, false),
		Entry("Return to Sender -> In Transit: refused (terminal)", returnToSender, inTransit, false),
		Entry("Return to Sender -> Delivered: refused (terminal)", returnToSender, delivered, false),
		Entry("Return to Sender -> Failed Delivery: refused (terminal)", returnToSender, failedDelivery, false),
		Entry("Return to Sender -> Return to Sender: refused (terminal, same status)", returnToSender, returnToSender, false),
		Entry("Return to Sender -> Return to Depot: refused (terminal)", returnToSender, returnToDepot, false),

		Entry("Return to Depot -> Not Scanned: refused", returnToDepot, notScanned, false),
		Entry("Return to Depot -> Received in Depot: refused", returnToDepot, receivedInDepot, false),
		Entry("Return to Depot -> Loaded by Driver: allowed", returnToDepot, loadedByDriver, true),
		Entry("Return to Depot -> In Transit: refused", returnToDepot, inTransit, false),
		Entry("Return to Depot -> Delivered: refused", returnToDepot, delivered, false),
		Entry("Return to Depot -> Failed Delivery: refused", returnToDepot, failedDelivery, false),
		Entry("Return to Depot -> Return to Sender: allowed", returnToDepot, returnToSender, true),
		Entry("Return to Depot -> Return to Depot: refused (same status)", returnToDepot, returnToDepot, false),
	)

	DescribeTable("Allows refuses statuses it does not know",
		func(from, to trackingv1alpha1.TrackingStatus) {
			Expect(graph.Allows(from, to)).To(BeFalse())
		},
		Entry("unknown Lost -> Received in Depot", trackingv1alpha1.TrackingStatus("Lost"), receivedInDepot),
		Entry("Not Scanned -> unknown Lost", notScanned, trackingv1alpha1.TrackingStatus("Lost")),
		Entry(`Not Scanned -> empty ""`, notScanned, trackingv1alpha1.TrackingStatus("")),
		Entry(`Not Scanned -> display name "Received in Depot"`, notScanned, trackingv1alpha1.TrackingStatus("Received in Depot")),
	)

	DescribeTable("IsTerminal holds for Delivered and Return to Sender only",
		func(status trackingv1alpha1.TrackingStatus, want bool) {
			Expect(graph.IsTerminal(status)).To(Equal(want))
		},
		Entry("Not Scanned: not terminal", notScanned, false),
		Entry("Received in Depot: not terminal", receivedInDepot, false),
		Entry("Loaded by Driver: not terminal", loadedByDriver, false),
		Entry("In Transit: not terminal", inTransit, false),
		Entry("Delivered: terminal", delivered, true),
		Entry("Failed Delivery: not terminal", failedDelivery, false),
		Entry("Return to Sender: terminal", returnToSender, true),
		Entry("Return to Depot: not terminal", returnToDepot, false),
	)

	DescribeTable("Next lists the statuses allowed after each status",
		func(from trackingv1alpha1.TrackingStatus, want []trackingv1alpha1.TrackingStatus) {
			Expect(graph.Next(from)).To(ConsistOf(want))
		},
		Entry("after Not Scanned: Received in Depot", notScanned, []trackingv1alpha1.TrackingStatus{receivedInDepot}),
		Entry("after Received in Depot: Loaded by Driver, Return to Sender", receivedInDepot, []trackingv1alpha1.TrackingStatus{loadedByDriver, returnToSender}),
		Entry("after Loaded by Driver: In Transit, Received in Depot", loadedByDriver, []trackingv1alpha1.TrackingStatus{inTransit, receivedInDepot}),
		Entry("after In Transit: Delivered, Failed Delivery", inTransit, []trackingv1alpha1.TrackingStatus{delivered, failedDelivery}),
		Entry("after Delivered: nothing", delivered, []trackingv1alpha1.TrackingStatus{}),
		Entry("after Failed Delivery: In Transit, Return to Depot", failedDelivery, []trackingv1alpha1.TrackingStatus{inTransit, returnToDepot}),
		Entry("after Return to Sender: nothing", returnToSender, []trackingv1alpha1.TrackingStatus{}),
		Entry("after Return to Depot: Loaded by Driver, Return to Sender", returnToDepot, []trackingv1alpha1.TrackingStatus{loadedByDriver, returnToSender}),
	)

	It("returns a copy from Next, so a caller cannot change the graph", func() {
		next := graph.Next(inTransit)
		Expect(next).NotTo(BeEmpty())
		next[0] = notScanned
		Expect(graph.Allows(inTransit, notScanned)).To(BeFalse())
		Expect(graph.Next(inTransit)).To(ConsistOf(delivered, failedDelivery))
	})

	DescribeTable("NewTransitionGraph refuses a graph that names an unknown status or a self-loop",
		func(edges map[trackingv1alpha1.TrackingStatus][]trackingv1alpha1.TrackingStatus, wantMessage string) {
			g, err := trackingv1alpha1.NewTransitionGraph(edges)
			Expect(err).To(MatchError(wantMessage))
			Expect(g).To(BeNil())
			Expect(func() { trackingv1alpha1.MustTransitionGraph(edges) }).To(PanicWith(MatchError(wantMessage)))
		},
		Entry("unknown source status Lost -> Delivered",
			map[trackingv1alpha1.TrackingStatus][]trackingv1alpha1.TrackingStatus{"Lost": {delivered}},
			`transition graph: unknown status "Lost"`),
		Entry("unknown target status In Transit -> Lost",
			map[trackingv1alpha1.TrackingStatus][]trackingv1alpha1.TrackingStatus{inTransit: {delivered, "Lost"}},
			`transition graph: unknown status "Lost" after InTransit`),
		Entry("a display name instead of a canonical value: Not Scanned -> Received in Depot",
			map[trackingv1alpha1.TrackingStatus][]trackingv1alpha1.TrackingStatus{notScanned: {"Received in Depot"}},
			`transition graph: unknown status "Received in Depot" after NotScanned`),
		Entry("self-loop In Transit -> In Transit",
			map[trackingv1alpha1.TrackingStatus][]trackingv1alpha1.TrackingStatus{inTransit: {delivered, inTransit}},
			"transition graph: InTransit -> InTransit: a status cannot follow itself (a re-scan is Unchanged)"),
	)

	Context("a custom graph", func() {
		// An express service: no depot, straight from pick-up to transit.
		express := map[trackingv1alpha1.TrackingStatus][]trackingv1alpha1.TrackingStatus{
			notScanned: {inTransit},
			inTransit:  {delivered},
		}

		It("is built from its edges only; a status without edges is terminal", func() {
			g, err := trackingv1alpha1.NewTransitionGraph(express)
			Expect(err).NotTo(HaveOccurred())
			Expect(g.Allows(notScanned, inTransit)).To(BeTrue())
			Expect(g.Allows(inTransit, delivered)).To(BeTrue())
			Expect(g.Allows(notScanned, receivedInDepot)).To(BeFalse())
			Expect(g.Allows(inTransit, failedDelivery)).To(BeFalse())
			Expect(g.IsTerminal(notScanned)).To(BeFalse())
			Expect(g.IsTerminal(delivered)).To(BeTrue())
			Expect(g.IsTerminal(receivedInDepot)).To(BeTrue())
			Expect(g.IsTerminal(failedDelivery)).To(BeTrue())
		})

		It("keeps its own copy of the edges", func() {
			edges := map[trackingv1alpha1.TrackingStatus][]trackingv1alpha1.TrackingStatus{
				notScanned: {inTransit},
				inTransit:  {delivered},
			}
			g := trackingv1alpha1.MustTransitionGraph(edges)
			edges[inTransit][0] = failedDelivery
			edges[notScanned] = append(edges[notScanned], receivedInDepot)
			Expect(g.Allows(inTransit, delivered)).To(BeTrue())
			Expect(g.Allows(inTransit, failedDelivery)).To(BeFalse())
			Expect(g.Allows(notScanned, receivedInDepot)).To(BeFalse())
		})

		It("drives the fold: Not Scanned -> In Transit -> Delivered applies, Received in Depot is refused", func() {
			g := trackingv1alpha1.MustTransitionGraph(express)
			events := []trackingv1alpha1.TrackingEvent{
				event("pickup", inTransit, 1),
				event("depot", receivedInDepot, 2),
				event("drop", delivered, 3),
			}
			got := g.Fold(events)
			Expect(got.Phase).To(Equal(delivered))
			Expect(got.LastEventTime).NotTo(BeNil())
			Expect(got.LastEventTime.Time).To(BeTemporally("==", at(3).Time))
			Expect(got.History()).To(Equal([]trackingv1alpha1.EventVerdict{
				applied("pickup"),
				rejected("depot", "transition In Transit -> Received in Depot is not allowed; allowed after In Transit: Delivered"),
				applied("drop"),
			}))

			// The same events under the default graph, which wants a depot scan first.
			def := trackingv1alpha1.Fold(events)
			Expect(def.Phase).To(Equal(receivedInDepot))
			Expect(def.History()).To(Equal([]trackingv1alpha1.EventVerdict{
				rejected("pickup", "transition Not Scanned -> In Transit is not allowed; allowed after Not Scanned: Received in Depot"),
				applied("depot"),
				rejected("drop", "transition Received in Depot -> Delivered is not allowed; allowed after Received in Depot: Loaded by Driver, Return to Sender"),
			}))
		})

		It("orders events at the same instant by its own graph", func() {
			// Delivered before In Transit here, the reverse of the default graph.
			g := trackingv1alpha1.MustTransitionGraph(map[trackingv1alpha1.TrackingStatus][]trackingv1alpha1.TrackingStatus{
				notScanned: {delivered},
				delivered:  {inTransit},
			})
			events := []trackingv1alpha1.TrackingEvent{
				event("a", inTransit, 1),
				event("z", delivered, 1),
			}
			got := g.Fold(events)
			Expect(got.Phase).To(Equal(inTransit))
			Expect(got.History()).To(Equal([]trackingv1alpha1.EventVerdict{applied("z"), applied("a")}))

			def := trackingv1alpha1.Fold(events)
			Expect(def.History()).To(Equal([]trackingv1alpha1.EventVerdict{
				rejected("a", "transition Not Scanned -> In Transit is not allowed; allowed after Not Scanned: Received in Depot"),
				rejected("z", "transition Not Scanned -> Delivered is not allowed; allowed after Not Scanned: Received in Depot"),
			}))
		})

		It("with no edges at all, everything is terminal and only re-scans of Not Scanned are accepted", func() {
			g, err := trackingv1alpha1.NewTransitionGraph(nil)
			Expect(err).NotTo(HaveOccurred())
			for _, s := range trackingv1alpha1.Statuses() {
				Expect(g.IsTerminal(s)).To(BeTrue(), "status %s", s)
			}
			got := g.Fold([]trackingv1alpha1.TrackingEvent{
				event("n", notScanned, 1),
				event("r", receivedInDepot, 2),
			})
			Expect(got.Phase).To(Equal(notScanned))
			Expect(got.History()).To(Equal([]trackingv1alpha1.EventVerdict{
				unchanged("n"),
				rejected("r", "transition Not Scanned -> Received in Depot is not allowed: Not Scanned is terminal"),
			}))
		})
	})
})
