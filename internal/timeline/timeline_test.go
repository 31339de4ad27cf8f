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

package timeline_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/timeline"
)

func TestTimeline(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Timeline")
}

const (
	received  = trackingv1alpha1.StatusReceivedInDepot
	loaded    = trackingv1alpha1.StatusLoadedByDriver
	inTransit = trackingv1alpha1.StatusInTransit
	delivered = trackingv1alpha1.StatusDelivered
	toDepot   = trackingv1alpha1.StatusReturnToDepot

	applied   = trackingv1alpha1.ResultApplied
	unchanged = trackingv1alpha1.ResultUnchanged
	rejected  = trackingv1alpha1.ResultRejected
	duplicate = trackingv1alpha1.ResultDuplicate
	pending   = timeline.ResultPending
)

var base = time.Date(2025, 10, 8, 7, 0, 0, 0, time.UTC)

const digestA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const digestB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func ev(id string, s trackingv1alpha1.TrackingStatus, minute int) trackingv1alpha1.TrackingEvent {
	return trackingv1alpha1.TrackingEvent{
		ID: id, Status: s, Time: metav1.NewTime(base.Add(time.Duration(minute) * time.Minute)), Source: "acme",
	}
}

func forced(e trackingv1alpha1.TrackingEvent) trackingv1alpha1.TrackingEvent {
	e.Force, e.Source = true, "ops@example.com"
	return e
}

func withPOD(e trackingv1alpha1.TrackingEvent, digest string) trackingv1alpha1.TrackingEvent {
	e.ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{
		StagingKey: "incoming/ns/" + e.ID + "/0123456789abcdef", SHA256: digest, Size: 10, ContentType: trackingv1alpha1.ContentTypePDF,
	}
	return e
}

func verdict(id string, r trackingv1alpha1.EventResult, reason ...string) trackingv1alpha1.EventVerdict {
	v := trackingv1alpha1.EventVerdict{ID: id, Result: r}
	if len(reason) > 0 {
		v.Reason = reason[0]
	}
	return v
}

func storedPOD(id, digest string) trackingv1alpha1.StoredProofOfDelivery {
	return trackingv1alpha1.StoredProofOfDelivery{EventID: id, URL: "s3://pods/pods/ns/p/" + id + ".pdf", SHA256: digest, Size: 10}
}

func parcel(events []trackingv1alpha1.TrackingEvent, history []trackingv1alpha1.EventVerdict,
	pods ...trackingv1alpha1.StoredProofOfDelivery) *trackingv1alpha1.Parcel {
	return &trackingv1alpha1.Parcel{
		Spec:   trackingv1alpha1.ParcelSpec{ArticleID: "ARP1", Events: events},
		Status: trackingv1alpha1.ParcelStatus{History: history, ProofOfDelivery: pods},
	}
}

// row is what a test expects of one entry.
type row struct {
	index  int
	id     string
	result trackingv1alpha1.EventResult
	reason string
	pod    timeline.PODState
	stored string // the stored URL's event id, "" for none
}

const refusal = "In Transit cannot follow Received in Depot"

var _ = DescribeTable("Of joins spec.events with status.history by id, in event-time order",
	func(p *trackingv1alpha1.Parcel, want []row) {
		got := timeline.Of(p, trackingv1alpha1.DefaultTransitions)
		rows := make([]row, len(got))
		for i, e := range got {
			rows[i] = row{index: e.Index, id: e.Event.ID, result: e.Result, reason: e.Reason, pod: e.POD}
			if e.Stored != nil {
				rows[i].stored = e.Stored.EventID
			}
			Expect(e.Event).To(Equal(p.Spec.Events[e.Index]), "entry %d carries its event", i)
		}
		Expect(rows).To(Equal(want))
	},
	Entry("no events", parcel(nil, nil), []row{}),
	Entry("in order, every verdict recorded",
		parcel([]trackingv1alpha1.TrackingEvent{ev("r", received, 0), ev("l", loaded, 10), ev("t", inTransit, 20)},
			[]trackingv1alpha1.EventVerdict{verdict("r", applied), verdict("l", applied), verdict("t", applied)}),
		[]row{{0, "r", applied, "", "", ""}, {1, "l", applied, "", "", ""}, {2, "t", applied, "", "", ""}}),
	Entry("out of order: listed by event time, not arrival",
		parcel([]trackingv1alpha1.TrackingEvent{ev("t", inTransit, 20), ev("r", received, 0), ev("l", loaded, 10)},
			[]trackingv1alpha1.EventVerdict{verdict("r", applied), verdict("l", applied), verdict("t", applied)}),
		[]row{{1, "r", applied, "", "", ""}, {2, "l", applied, "", "", ""}, {0, "t", applied, "", "", ""}}),
	Entry("a retry is a duplicate, the first to arrive keeps the verdict",
		parcel([]trackingv1alpha1.TrackingEvent{ev("r", received, 0), ev("l", loaded, 10), ev("r", received, 0)},
			[]trackingv1alpha1.EventVerdict{verdict("r", applied), verdict("r", duplicate), verdict("l", applied)}),
		[]row{{0, "r", applied, "", "", ""}, {2, "r", duplicate, "", "", ""}, {1, "l", applied, "", "", ""}}),
	Entry("a reused id at an earlier time: still the later arrival is the duplicate",
		parcel([]trackingv1alpha1.TrackingEvent{ev("r", received, 30), ev("r", loaded, 0)},
			[]trackingv1alpha1.EventVerdict{verdict("r", duplicate), verdict("r", applied)}),
		[]row{{1, "r", duplicate, "", "", ""}, {0, "r", applied, "", "", ""}}),
	Entry("rejected, status not yet written for the event that heals it: the newcomer is pending",
		parcel([]trackingv1alpha1.TrackingEvent{ev("r", received, 0), ev("t", inTransit, 20), ev("l", loaded, 10)},
			[]trackingv1alpha1.EventVerdict{verdict("r", applied), verdict("t", rejected, refusal)}),
		[]row{{0, "r", applied, "", "", ""}, {2, "l", pending, "", "", ""}, {1, "t", rejected, refusal, "", ""}}),
	Entry("rejected then healed: the status's verdict, Applied, is shown",
		parcel([]trackingv1alpha1.TrackingEvent{ev("r", received, 0), ev("t", inTransit, 20), ev("l", loaded, 10)},
			[]trackingv1alpha1.EventVerdict{verdict("r", applied), verdict("l", applied), verdict("t", applied)}),
		[]row{{0, "r", applied, "", "", ""}, {2, "l", applied, "", "", ""}, {1, "t", applied, "", "", ""}}),
	Entry("a forced correction keeps its place in time and its verdict",
		parcel([]trackingv1alpha1.TrackingEvent{
			ev("r", received, 0), ev("l", loaded, 10), ev("t", inTransit, 20), forced(ev("fix", toDepot, 30)),
		},
			[]trackingv1alpha1.EventVerdict{verdict("r", applied), verdict("l", applied), verdict("t", applied), verdict("fix", applied)}),
		[]row{{0, "r", applied, "", "", ""}, {1, "l", applied, "", "", ""}, {2, "t", applied, "", "", ""}, {3, "fix", applied, "", "", ""}}),
	Entry("a POD on a re-scan belongs to the re-scan",
		parcel([]trackingv1alpha1.TrackingEvent{ev("t", inTransit, 0), ev("d", delivered, 10), withPOD(ev("d2", delivered, 15), digestA)},
			[]trackingv1alpha1.EventVerdict{verdict("t", applied), verdict("d", applied), verdict("d2", unchanged)},
			storedPOD("d2", digestA)),
		[]row{{0, "t", applied, "", "", ""}, {1, "d", applied, "", "", ""}, {2, "d2", unchanged, "", timeline.PODStored, "d2"}}),
	Entry("a POD not stored yet is pending, one stored with another digest too",
		parcel([]trackingv1alpha1.TrackingEvent{withPOD(ev("d", delivered, 10), digestA), withPOD(ev("d2", delivered, 15), digestA)},
			[]trackingv1alpha1.EventVerdict{verdict("d", rejected, "x"), verdict("d2", unchanged)},
			storedPOD("d2", digestB)),
		[]row{{0, "d", rejected, "x", timeline.PODPending, ""}, {1, "d2", unchanged, "", timeline.PODPending, ""}}),
	Entry("the POD of a duplicate is ignored; the original's is stored",
		parcel([]trackingv1alpha1.TrackingEvent{withPOD(ev("d", delivered, 10), digestA), withPOD(ev("d", delivered, 10), digestB)},
			[]trackingv1alpha1.EventVerdict{verdict("d", rejected, "x"), verdict("d", duplicate)},
			storedPOD("d", digestA)),
		[]row{{0, "d", rejected, "x", timeline.PODStored, "d"}, {1, "d", duplicate, "", timeline.PODIgnored, ""}}),
	Entry("a POD sent after its event comes with a repeat of it, and is the event's",
		parcel([]trackingv1alpha1.TrackingEvent{ev("d", delivered, 10), withPOD(ev("d", delivered, 10), digestA)},
			[]trackingv1alpha1.EventVerdict{verdict("d", applied), verdict("d", duplicate)},
			storedPOD("d", digestA)),
		[]row{{0, "d", applied, "", "", ""}, {1, "d", duplicate, "", timeline.PODStored, "d"}}),
	Entry("a late POD not stored yet is pending; a second late file is ignored",
		parcel([]trackingv1alpha1.TrackingEvent{ev("d", delivered, 10), withPOD(ev("d", delivered, 10), digestA), withPOD(ev("d", delivered, 10), digestB)},
			[]trackingv1alpha1.EventVerdict{verdict("d", applied), verdict("d", duplicate), verdict("d", duplicate)}),
		[]row{{0, "d", applied, "", "", ""}, {1, "d", duplicate, "", timeline.PODPending, ""}, {2, "d", duplicate, "", timeline.PODIgnored, ""}}),
	Entry("a verdict for an id no event has is not listed",
		parcel([]trackingv1alpha1.TrackingEvent{ev("r", received, 0)},
			[]trackingv1alpha1.EventVerdict{verdict("gone", applied), verdict("r", applied)}),
		[]row{{0, "r", applied, "", "", ""}}),
)
