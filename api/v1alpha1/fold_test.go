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
	"fmt"
	"math"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// foldBase is minute 0 of every fold scenario.
var foldBase = time.Date(2025, 10, 8, 7, 0, 0, 0, time.UTC)

// at is minute n of a fold scenario.
func at(minute int) metav1.Time {
	return metav1.NewTime(foldBase.Add(time.Duration(minute) * time.Minute))
}

// eventOption sets an optional field of a test event.
type eventOption func(*trackingv1alpha1.TrackingEvent)

// receivedAt sets when the operator received the event.
func receivedAt(minute int) eventOption {
	return func(e *trackingv1alpha1.TrackingEvent) {
		t := at(minute)
		e.ReceivedAt = &t
	}
}

// forced marks the event as a correction that skips the graph.
func forced(e *trackingv1alpha1.TrackingEvent) { e.Force = true }

// event builds a tracking event that happened at the given minute.
func event(id string, status trackingv1alpha1.TrackingStatus, minute int, opts ...eventOption) trackingv1alpha1.TrackingEvent {
	e := trackingv1alpha1.TrackingEvent{ID: id, Status: status, Time: at(minute)}
	for _, opt := range opts {
		opt(&e)
	}
	return e
}

func applied(id string) trackingv1alpha1.EventVerdict {
	return trackingv1alpha1.EventVerdict{ID: id, Result: trackingv1alpha1.ResultApplied}
}

func unchanged(id string) trackingv1alpha1.EventVerdict {
	return trackingv1alpha1.EventVerdict{ID: id, Result: trackingv1alpha1.ResultUnchanged}
}

func duplicate(id string) trackingv1alpha1.EventVerdict {
	return trackingv1alpha1.EventVerdict{ID: id, Result: trackingv1alpha1.ResultDuplicate}
}

func rejected(id, reason string) trackingv1alpha1.EventVerdict {
	return trackingv1alpha1.EventVerdict{ID: id, Result: trackingv1alpha1.ResultRejected, Reason: reason}
}

type (
	eventList   = []trackingv1alpha1.TrackingEvent
	verdictList = []trackingv1alpha1.EventVerdict
)

// happyPath is Received in Depot -> Loaded by Driver -> In Transit ->
// Delivered at minutes 1 to 4, followed by any later events.
func happyPath(later ...trackingv1alpha1.TrackingEvent) eventList {
	return append(eventList{
		event("r1", receivedInDepot, 1),
		event("l1", loadedByDriver, 2),
		event("t1", inTransit, 3),
		event("d1", delivered, 4),
	}, later...)
}

var happyVerdicts = verdictList{applied("r1"), applied("l1"), applied("t1"), applied("d1")}

func withHappyVerdicts(later ...trackingv1alpha1.EventVerdict) verdictList {
	return append(append(verdictList{}, happyVerdicts...), later...)
}

// noLastEvent stands for a nil LastEventTime.
const noLastEvent = math.MinInt

// foldWant is what a fold must give.
type foldWant struct {
	phase trackingv1alpha1.TrackingStatus
	// lastMinute is the minute of LastEventTime, or noLastEvent.
	lastMinute int
	history    verdictList
}

// The reasons, typed out as a person reads them.
const (
	reasonNotScannedToInTransit       = "transition Not Scanned -> In Transit is not allowed; allowed after Not Scanned: Received in Depot"
	reasonInTransitToReceivedInDepot  = "transition In Transit -> Received in Depot is not allowed; allowed after In Transit: Delivered, Failed Delivery"
	reasonReceivedInDepotToDelivered  = "transition Received in Depot -> Delivered is not allowed; allowed after Received in Depot: Loaded by Driver, Return to Sender"
	reasonReceivedInDepotToNotScanned = "transition Received in Depot -> Not Scanned is not allowed; allowed after Received in Depot: Loaded by Driver, Return to Sender"
	reasonFailedDeliveryToDelivered   = "transition Failed Delivery -> Delivered is not allowed; allowed after Failed Delivery: In Transit, Return to Depot"
	reasonDeliveredToInTransit        = "transition Delivered -> In Transit is not allowed: Delivered is terminal"
	reasonDeliveredToFailedDelivery   = "transition Delivered -> Failed Delivery is not allowed: Delivered is terminal"
	reasonDeliveredToReturnToDepot    = "transition Delivered -> Return to Depot is not allowed: Delivered is terminal"
	reasonReturnToSenderToLoaded      = "transition Return to Sender -> Loaded by Driver is not allowed: Return to Sender is terminal"
	reasonUnknownLost                 = `unknown status "Lost"`
)

// expectFold checks a fold's phase, last event time and history.
func expectFold(got trackingv1alpha1.FoldResult, want foldWant) {
	GinkgoHelper()
	Expect(got.Phase).To(Equal(want.phase), "phase")
	if want.lastMinute == noLastEvent {
		Expect(got.LastEventTime).To(BeNil(), "lastEventTime")
	} else {
		Expect(got.LastEventTime).NotTo(BeNil(), "lastEventTime")
		Expect(got.LastEventTime.Time).To(BeTemporally("==", at(want.lastMinute).Time), "lastEventTime")
	}
	if want.history == nil {
		Expect(got.History()).To(BeNil(), "history")
		Expect(got.Steps).To(BeEmpty(), "steps")
	} else {
		Expect(got.History()).To(Equal(want.history), "history")
	}
}

var _ = Describe("Fold", func() {
	DescribeTable("derives phase, last event time and history from the events",
		func(events eventList, want foldWant) {
			expectFold(trackingv1alpha1.Fold(events), want)
		},

		// Nothing happened yet.
		Entry("no events: Not Scanned, no last event time, no history",
			nil, foldWant{notScanned, noLastEvent, nil}),
		Entry("an empty list: same as no events",
			eventList{}, foldWant{notScanned, noLastEvent, nil}),

		// The happy path and every edge of the graph.
		Entry("happy path: Not Scanned -> Received in Depot -> Loaded by Driver -> In Transit -> Delivered",
			happyPath(), foldWant{delivered, 4, happyVerdicts}),
		Entry("reach Not Scanned: a Not Scanned event first is a re-scan (Not Scanned -> Not Scanned Unchanged)",
			eventList{event("n", notScanned, 1)},
			foldWant{notScanned, 1, verdictList{unchanged("n")}}),
		Entry("reach Received in Depot: Not Scanned -> Received in Depot",
			eventList{event("r", receivedInDepot, 1)},
			foldWant{receivedInDepot, 1, verdictList{applied("r")}}),
		Entry("reach Loaded by Driver: Received in Depot -> Loaded by Driver",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2)},
			foldWant{loadedByDriver, 2, verdictList{applied("r"), applied("l")}}),
		Entry("reach In Transit: Loaded by Driver -> In Transit",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t", inTransit, 3)},
			foldWant{inTransit, 3, verdictList{applied("r"), applied("l"), applied("t")}}),
		Entry("reach Failed Delivery: In Transit -> Failed Delivery",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t", inTransit, 3), event("f", failedDelivery, 4)},
			foldWant{failedDelivery, 4, verdictList{applied("r"), applied("l"), applied("t"), applied("f")}}),
		Entry("reach Return to Depot: Failed Delivery -> Return to Depot",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t", inTransit, 3), event("f", failedDelivery, 4), event("b", returnToDepot, 5)},
			foldWant{returnToDepot, 5, verdictList{applied("r"), applied("l"), applied("t"), applied("f"), applied("b")}}),
		Entry("reach Return to Sender from the depot: Received in Depot -> Return to Sender",
			eventList{event("r", receivedInDepot, 1), event("s", returnToSender, 2)},
			foldWant{returnToSender, 2, verdictList{applied("r"), applied("s")}}),
		Entry("reach Return to Sender after a failed delivery: Failed Delivery -> Return to Depot -> Return to Sender",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t", inTransit, 3), event("f", failedDelivery, 4), event("b", returnToDepot, 5), event("s", returnToSender, 6)},
			foldWant{returnToSender, 6, verdictList{applied("r"), applied("l"), applied("t"), applied("f"), applied("b"), applied("s")}}),
		Entry("back to the depot: Loaded by Driver -> Received in Depot",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("r2", receivedInDepot, 3)},
			foldWant{receivedInDepot, 3, verdictList{applied("r"), applied("l"), applied("r2")}}),
		Entry("second attempt: Failed Delivery -> In Transit -> Delivered",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t", inTransit, 3), event("f", failedDelivery, 4), event("t2", inTransit, 5), event("d", delivered, 6)},
			foldWant{delivered, 6, verdictList{applied("r"), applied("l"), applied("t"), applied("f"), applied("t2"), applied("d")}}),
		Entry("reloaded after a return: Return to Depot -> Loaded by Driver -> In Transit -> Delivered",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t", inTransit, 3), event("f", failedDelivery, 4), event("b", returnToDepot, 5), event("l2", loadedByDriver, 6), event("t2", inTransit, 7), event("d", delivered, 8)},
			foldWant{delivered, 8, verdictList{applied("r"), applied("l"), applied("t"), applied("f"), applied("b"), applied("l2"), applied("t2"), applied("d")}}),

		// Out-of-order arrival.
		Entry("late arrival: Loaded by Driver appended after In Transit lands between Received in Depot and In Transit",
			eventList{event("r", receivedInDepot, 1), event("t", inTransit, 3), event("l", loadedByDriver, 2)},
			foldWant{inTransit, 3, verdictList{applied("r"), applied("l"), applied("t")}}),
		Entry("reverse arrival: the happy path appended newest first",
			eventList{event("d1", delivered, 4), event("t1", inTransit, 3), event("l1", loadedByDriver, 2), event("r1", receivedInDepot, 1)},
			foldWant{delivered, 4, happyVerdicts}),

		// Repeated ids.
		Entry("repeated id: a retried Received in Depot is Duplicate",
			eventList{event("r", receivedInDepot, 1), event("r", receivedInDepot, 1)},
			foldWant{receivedInDepot, 1, verdictList{applied("r"), duplicate("r")}}),
		Entry("repeated id: the second arrival is Duplicate although its time sorts first",
			eventList{event("a", receivedInDepot, 1), event("b", loadedByDriver, 2), event("a", inTransit, 0)},
			foldWant{loadedByDriver, 2, verdictList{duplicate("a"), applied("a"), applied("b")}}),
		Entry("repeated id: a Duplicate changes neither phase nor last event time (Received in Depot -> Loaded by Driver under a used id)",
			eventList{event("a", receivedInDepot, 1), event("a", loadedByDriver, 2)},
			foldWant{receivedInDepot, 1, verdictList{applied("a"), duplicate("a")}}),
		Entry("repeated id: a retry cannot replace a rejected event (Received in Depot -> Delivered rejected, then Loaded by Driver under its id)",
			eventList{event("r", receivedInDepot, 1), event("a", delivered, 2), event("a", loadedByDriver, 3)},
			foldWant{receivedInDepot, 1, verdictList{applied("r"), rejected("a", reasonReceivedInDepotToDelivered), duplicate("a")}}),
		Entry("repeated id: a forced event under a used id is still Duplicate",
			eventList{event("a", receivedInDepot, 1), event("a", delivered, 2, forced)},
			foldWant{receivedInDepot, 1, verdictList{applied("a"), duplicate("a")}}),

		// Re-scans.
		Entry("re-scan of Received in Depot: Unchanged, last event time moves to the re-scan",
			eventList{event("r1", receivedInDepot, 1), event("r2", receivedInDepot, 5)},
			foldWant{receivedInDepot, 5, verdictList{applied("r1"), unchanged("r2")}}),
		Entry("re-scan of In Transit between Loaded by Driver and Delivered",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t1", inTransit, 3), event("t2", inTransit, 4), event("d", delivered, 5)},
			foldWant{delivered, 5, verdictList{applied("r"), applied("l"), applied("t1"), unchanged("t2"), applied("d")}}),
		Entry("re-scan of terminal Delivered: Unchanged, not Rejected",
			happyPath(event("d2", delivered, 6)),
			foldWant{delivered, 6, withHappyVerdicts(unchanged("d2"))}),

		// Rejections, and a rejection healed by a late event.
		Entry("In Transit alone: Not Scanned -> In Transit rejected, no last event time",
			eventList{event("t", inTransit, 3)},
			foldWant{notScanned, noLastEvent, verdictList{rejected("t", reasonNotScannedToInTransit)}}),
		Entry("In Transit -> Received in Depot rejected; a rejection does not move the last event time",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t", inTransit, 3), event("r2", receivedInDepot, 4)},
			foldWant{inTransit, 3, verdictList{applied("r"), applied("l"), applied("t"), rejected("r2", reasonInTransitToReceivedInDepot)}}),
		Entry("healed: In Transit first, then the missing earlier Received in Depot and Loaded by Driver arrive",
			eventList{event("t", inTransit, 3), event("r", receivedInDepot, 1), event("l", loadedByDriver, 2)},
			foldWant{inTransit, 3, verdictList{applied("r"), applied("l"), applied("t")}}),
		Entry("an unknown status is rejected: Not Scanned -> Lost",
			eventList{event("x", "Lost", 1)},
			foldWant{notScanned, noLastEvent, verdictList{rejected("x", reasonUnknownLost)}}),

		// Terminal states.
		Entry("terminal Delivered: Delivered -> In Transit rejected",
			happyPath(event("t2", inTransit, 5)),
			foldWant{delivered, 4, withHappyVerdicts(rejected("t2", reasonDeliveredToInTransit))}),
		Entry("terminal Delivered stays terminal: Delivered -> Failed Delivery, -> In Transit, -> Return to Depot all rejected",
			happyPath(event("f", failedDelivery, 5), event("t2", inTransit, 6), event("b", returnToDepot, 7)),
			foldWant{delivered, 4, withHappyVerdicts(
				rejected("f", reasonDeliveredToFailedDelivery),
				rejected("t2", reasonDeliveredToInTransit),
				rejected("b", reasonDeliveredToReturnToDepot),
			)}),
		Entry("terminal Return to Sender: Return to Sender -> Loaded by Driver rejected",
			eventList{event("r", receivedInDepot, 1), event("s", returnToSender, 2), event("l", loadedByDriver, 3)},
			foldWant{returnToSender, 2, verdictList{applied("r"), applied("s"), rejected("l", reasonReturnToSenderToLoaded)}}),

		// Force.
		Entry("force skips the graph: Received in Depot -> Delivered",
			eventList{event("r", receivedInDepot, 1), event("d", delivered, 2, forced)},
			foldWant{delivered, 2, verdictList{applied("r"), applied("d")}}),
		Entry("force from the start: Not Scanned -> Delivered",
			eventList{event("d", delivered, 1, forced)},
			foldWant{delivered, 1, verdictList{applied("d")}}),
		Entry("force out of terminal Delivered: Delivered -> In Transit",
			happyPath(event("t2", inTransit, 5, forced)),
			foldWant{inTransit, 5, withHappyVerdicts(applied("t2"))}),
		Entry("force out of terminal Return to Sender: Return to Sender -> Received in Depot",
			eventList{event("r", receivedInDepot, 1), event("s", returnToSender, 2), event("r2", receivedInDepot, 3, forced)},
			foldWant{receivedInDepot, 3, verdictList{applied("r"), applied("s"), applied("r2")}}),
		Entry("force back to the start: Received in Depot -> Not Scanned",
			eventList{event("r", receivedInDepot, 1), event("n", notScanned, 2, forced)},
			foldWant{notScanned, 2, verdictList{applied("r"), applied("n")}}),
		Entry("without force: Received in Depot -> Not Scanned rejected",
			eventList{event("r", receivedInDepot, 1), event("n", notScanned, 2)},
			foldWant{receivedInDepot, 1, verdictList{applied("r"), rejected("n", reasonReceivedInDepotToNotScanned)}}),
		Entry("force on the current status is Unchanged: Received in Depot -> Received in Depot",
			eventList{event("r", receivedInDepot, 1), event("r2", receivedInDepot, 2, forced)},
			foldWant{receivedInDepot, 2, verdictList{applied("r"), unchanged("r2")}}),
		Entry("after a forced Delivered the graph holds again: Delivered -> In Transit rejected",
			eventList{event("r", receivedInDepot, 1), event("d", delivered, 2, forced), event("t", inTransit, 3)},
			foldWant{delivered, 2, verdictList{applied("r"), applied("d"), rejected("t", reasonDeliveredToInTransit)}}),
		Entry("force cannot apply an unknown status: Received in Depot -> Lost",
			eventList{event("r", receivedInDepot, 1), event("x", "Lost", 2, forced)},
			foldWant{receivedInDepot, 1, verdictList{applied("r"), rejected("x", reasonUnknownLost)}}),

		// Equal timestamps: graph order, then receivedAt (unknown first), then id.
		Entry("same instant: In Transit before Delivered, whatever the arrival order and ids",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("a", delivered, 3), event("z", inTransit, 3)},
			foldWant{delivered, 3, verdictList{applied("r"), applied("l"), applied("z"), applied("a")}}),
		Entry("same instant: Return to Depot before Return to Sender",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("t", inTransit, 3), event("f", failedDelivery, 4), event("a", returnToSender, 5), event("z", returnToDepot, 5)},
			foldWant{returnToSender, 5, verdictList{applied("r"), applied("l"), applied("t"), applied("f"), applied("z"), applied("a")}}),
		Entry("same instant: Received in Depot before Loaded by Driver",
			eventList{event("a", loadedByDriver, 1), event("z", receivedInDepot, 1)},
			foldWant{loadedByDriver, 1, verdictList{applied("z"), applied("a")}}),
		Entry("same instant: In Transit before Failed Delivery",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("a", failedDelivery, 3), event("z", inTransit, 3)},
			foldWant{failedDelivery, 3, verdictList{applied("r"), applied("l"), applied("z"), applied("a")}}),
		Entry("same instant: graph order beats receivedAt (In Transit received later still before Delivered)",
			eventList{event("r", receivedInDepot, 1), event("l", loadedByDriver, 2), event("a", delivered, 3, receivedAt(3)), event("z", inTransit, 3, receivedAt(9))},
			foldWant{delivered, 3, verdictList{applied("r"), applied("l"), applied("z"), applied("a")}}),
		Entry("same instant and status: earlier receivedAt first, although its id sorts later",
			eventList{event("a", receivedInDepot, 1, receivedAt(3)), event("b", receivedInDepot, 1, receivedAt(2))},
			foldWant{receivedInDepot, 1, verdictList{applied("b"), unchanged("a")}}),
		Entry("same instant and status: unknown receivedAt before a known one",
			eventList{event("a", receivedInDepot, 1, receivedAt(2)), event("b", receivedInDepot, 1)},
			foldWant{receivedInDepot, 1, verdictList{applied("b"), unchanged("a")}}),
		Entry("same instant, status and receivedAt: by id",
			eventList{event("b", receivedInDepot, 1, receivedAt(2)), event("a", receivedInDepot, 1, receivedAt(2))},
			foldWant{receivedInDepot, 1, verdictList{applied("a"), unchanged("b")}}),
		Entry("same instant and status, no receivedAt: by id",
			eventList{event("b", receivedInDepot, 1), event("a", receivedInDepot, 1)},
			foldWant{receivedInDepot, 1, verdictList{applied("a"), unchanged("b")}}),
	)

	It("records From, To and the spec position of every event", func() {
		events := eventList{
			event("it", inTransit, 3),              // 0
			event("rid", receivedInDepot, 1),       // 1
			event("lbd", loadedByDriver, 2),        // 2
			event("rid", loadedByDriver, 0),        // 3: a repeated id that sorts first
			event("rid-again", receivedInDepot, 5), // 4
			event("it-again", inTransit, 4),        // 5
		}
		got := trackingv1alpha1.Fold(events)
		Expect(got.Steps).To(Equal([]trackingv1alpha1.FoldStep{
			{Index: 3, Verdict: duplicate("rid"), From: notScanned, To: loadedByDriver},
			{Index: 1, Verdict: applied("rid"), From: notScanned, To: receivedInDepot},
			{Index: 2, Verdict: applied("lbd"), From: receivedInDepot, To: loadedByDriver},
			{Index: 0, Verdict: applied("it"), From: loadedByDriver, To: inTransit},
			{Index: 5, Verdict: unchanged("it-again"), From: inTransit, To: inTransit},
			{Index: 4, Verdict: rejected("rid-again", reasonInTransitToReceivedInDepot), From: inTransit, To: receivedInDepot},
		}))
		expectFold(got, foldWant{inTransit, 4, verdictList{
			duplicate("rid"), applied("rid"), applied("lbd"), applied("it"), unchanged("it-again"),
			rejected("rid-again", reasonInTransitToReceivedInDepot),
		}})
	})

	It("gives the same phase and a time-ordered history whatever order the events arrived in", func() {
		inOrder := eventList{
			event("e1", receivedInDepot, 1),
			event("e2", loadedByDriver, 2),
			event("e3", inTransit, 3),
			event("e4", failedDelivery, 4),
			event("e5", inTransit, 5),
			event("e6", delivered, 6),
		}
		want := foldWant{delivered, 6, verdictList{
			applied("e1"), applied("e2"), applied("e3"), applied("e4"), applied("e5"), applied("e6"),
		}}
		for _, arrival := range [][]int{
			{0, 1, 2, 3, 4, 5},
			{5, 4, 3, 2, 1, 0},
			{3, 0, 5, 2, 4, 1},
			{1, 3, 5, 0, 2, 4},
		} {
			events := make(eventList, len(arrival))
			for pos, k := range arrival {
				events[pos] = inOrder[k]
			}
			got := trackingv1alpha1.Fold(events)
			expectFold(got, want)
			// Step k is event e(k+1); its Index is where that event sits in spec.events.
			Expect(got.Steps).To(HaveLen(len(inOrder)))
			for k, step := range got.Steps {
				Expect(arrival[step.Index]).To(Equal(k), "arrival %v, step %d", arrival, k)
				Expect(events[step.Index].ID).To(Equal(step.Verdict.ID))
			}
		}

		// One arrival order spelt out: e4, e1, e6, e3, e5, e2.
		events := eventList{inOrder[3], inOrder[0], inOrder[5], inOrder[2], inOrder[4], inOrder[1]}
		got := trackingv1alpha1.Fold(events)
		indexes := make([]int, len(got.Steps))
		for k, step := range got.Steps {
			indexes[k] = step.Index
		}
		Expect(indexes).To(Equal([]int{1, 5, 3, 0, 4, 2}))
	})

	It("keeps identical retries in arrival order: the first Applied, every later copy Duplicate", func() {
		// 40 copies of one scan between 40 other events that arrive newest
		// first, enough for the sort to move things around.
		var events eventList
		for i := range 40 {
			events = append(events, event(fmt.Sprintf("t%02d", i), inTransit, 100-i))
			events = append(events, event("r", receivedInDepot, 1))
		}
		got := trackingv1alpha1.Fold(events)
		Expect(got.Phase).To(Equal(receivedInDepot))
		Expect(got.Steps).To(HaveLen(80))
		Expect(got.Steps[0]).To(Equal(trackingv1alpha1.FoldStep{Index: 1, Verdict: applied("r"), From: notScanned, To: receivedInDepot}))
		for k := 1; k < 40; k++ {
			Expect(got.Steps[k]).To(Equal(trackingv1alpha1.FoldStep{
				Index: 2*k + 1, Verdict: duplicate("r"), From: receivedInDepot, To: receivedInDepot,
			}), "retry %d", k)
		}
		for k := 40; k < 80; k++ {
			Expect(got.Steps[k].Verdict.ID).To(Equal(fmt.Sprintf("t%02d", 79-k)), "step %d", k)
			Expect(got.Steps[k].Verdict.Result).To(Equal(trackingv1alpha1.ResultRejected), "step %d", k)
		}
	})

	It("heals a rejection once the missing earlier events arrive", func() {
		events := eventList{event("t", inTransit, 3)}
		expectFold(trackingv1alpha1.Fold(events), foldWant{notScanned, noLastEvent, verdictList{
			rejected("t", reasonNotScannedToInTransit),
		}})

		events = append(events, event("r", receivedInDepot, 1))
		expectFold(trackingv1alpha1.Fold(events), foldWant{receivedInDepot, 1, verdictList{
			applied("r"),
			rejected("t", "transition Received in Depot -> In Transit is not allowed; allowed after Received in Depot: Loaded by Driver, Return to Sender"),
		}})

		events = append(events, event("l", loadedByDriver, 2))
		expectFold(trackingv1alpha1.Fold(events), foldWant{inTransit, 3, verdictList{
			applied("r"), applied("l"), applied("t"),
		}})
	})

	It("is deterministic: every arrival order of events with distinct ids gives the same result", func() {
		// Ties at minutes 1, 2 and 3, a receivedAt tie-break, a re-scan and a rejection.
		events := eventList{
			event("a", receivedInDepot, 1),
			event("b", loadedByDriver, 2, receivedAt(2)),
			event("c", inTransit, 2),
			event("d", delivered, 3),
			event("e", failedDelivery, 3),
			event("f", receivedInDepot, 1, receivedAt(1)),
		}
		want := foldWant{failedDelivery, 3, verdictList{
			applied("a"), unchanged("f"), applied("b"), applied("c"), applied("e"),
			rejected("d", reasonFailedDeliveryToDelivered),
		}}
		reference := trackingv1alpha1.Fold(events)
		expectFold(reference, want)

		permutations := 0
		forEachPermutation(len(events), func(perm []int) {
			permutations++
			shuffled := make(eventList, len(perm))
			for pos, k := range perm {
				shuffled[pos] = events[k]
			}
			got := trackingv1alpha1.Fold(shuffled)
			expectFold(got, want)
			Expect(got.Steps).To(HaveLen(len(reference.Steps)))
			for k, step := range got.Steps {
				Expect(step.From).To(Equal(reference.Steps[k].From), "permutation %v, step %d", perm, k)
				Expect(step.To).To(Equal(reference.Steps[k].To), "permutation %v, step %d", perm, k)
				Expect(shuffled[step.Index].ID).To(Equal(step.Verdict.ID), "permutation %v, step %d", perm, k)
			}
		})
		Expect(permutations).To(Equal(720))
	})

	It("leaves its input untouched and gives the same answer twice", func() {
		events := happyPath(
			event("t2", inTransit, 5),
			event("d1", delivered, 0),
			event("x", "Lost", 6, forced, receivedAt(7)),
		)
		before := make(eventList, len(events))
		for i := range events {
			before[i] = *events[i].DeepCopy()
		}
		first := trackingv1alpha1.Fold(events)
		second := trackingv1alpha1.Fold(events)
		Expect(events).To(Equal(before))
		Expect(second).To(Equal(first))
		// LastEventTime is a copy, not a pointer into the events.
		first.LastEventTime.Time = first.LastEventTime.Add(time.Hour)
		Expect(events).To(Equal(before))
	})

	It("gives the same result through DefaultTransitions.Fold and Fold", func() {
		events := happyPath(event("t2", inTransit, 5))
		Expect(trackingv1alpha1.DefaultTransitions.Fold(events)).To(Equal(trackingv1alpha1.Fold(events)))
	})
})

// forEachPermutation calls visit with every permutation of 0..n-1 (Heap's
// algorithm). visit must not keep the slice.
func forEachPermutation(n int, visit func([]int)) {
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	var generate func(k int)
	generate = func(k int) {
		if k == 1 {
			visit(perm)
			return
		}
		generate(k - 1)
		for i := 0; i < k-1; i++ {
			if k%2 == 0 {
				perm[i], perm[k-1] = perm[k-1], perm[i]
			} else {
				perm[0], perm[k-1] = perm[k-1], perm[0]
			}
			generate(k - 1)
		}
	}
	generate(n)
}
