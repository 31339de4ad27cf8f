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

package notify

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// What the events of these tests are about.
const (
	testArticle   = "ARP1000052447"
	testNamespace = "shop"
	testName      = "arp1000052447"
	testCourier   = "acme"
	testRemarks   = "left with neighbour"
	evDelivered   = "delivered"
	podFilename   = "pod.pdf"
	scanTime      = "2026-10-08T08:00:00Z"
)

var (
	t0       = time.Date(2026, 10, 8, 7, 30, 0, 0, time.UTC)
	recorded = metav1.NewTime(t0.Add(time.Hour))
)

func scan(id string, s trackingv1alpha1.TrackingStatus, minutes int) trackingv1alpha1.TrackingEvent {
	at := metav1.NewTime(t0.Add(time.Duration(minutes) * time.Minute))
	return trackingv1alpha1.TrackingEvent{ID: id, Status: s, Time: at, Source: testCourier}
}

func verdict(id string, r trackingv1alpha1.EventResult, reason string) trackingv1alpha1.EventVerdict {
	return trackingv1alpha1.EventVerdict{ID: id, Result: r, Reason: reason, RecordedAt: &recorded}
}

func parcel(events []trackingv1alpha1.TrackingEvent, history []trackingv1alpha1.EventVerdict,
	stored ...trackingv1alpha1.StoredProofOfDelivery) *trackingv1alpha1.Parcel {
	return &trackingv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: testName, UID: "uid-1"},
		Spec:       trackingv1alpha1.ParcelSpec{ArticleID: testArticle, Events: events},
		Status:     trackingv1alpha1.ParcelStatus{History: history, ProofOfDelivery: stored},
	}
}

// brief is what a test compares of a Notification.
type brief struct {
	Type     trackingv1alpha1.NotificationType
	Event    string
	Previous trackingv1alpha1.TrackingStatus
	Reason   string
	POD      bool
}

func TestNotifications(t *testing.T) {
	received := scan("received", trackingv1alpha1.StatusReceivedInDepot, 0)
	loaded := scan("loaded", trackingv1alpha1.StatusLoadedByDriver, 10)
	transit := scan("transit", trackingv1alpha1.StatusInTransit, 20)
	delivered := scan(evDelivered, trackingv1alpha1.StatusDelivered, 30)
	delivered.ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{ContentType: trackingv1alpha1.ContentTypePDF, Filename: podFilename}
	stored := trackingv1alpha1.StoredProofOfDelivery{EventID: evDelivered, URL: "s3://pods/shop/arp/delivered.pdf",
		SHA256: "ab", Size: 9, StoredAt: metav1.NewTime(t0.Add(2 * time.Hour))}
	applied, unchanged, rejected, duplicate := trackingv1alpha1.ResultApplied, trackingv1alpha1.ResultUnchanged,
		trackingv1alpha1.ResultRejected, trackingv1alpha1.ResultDuplicate
	sc, pod, rej := trackingv1alpha1.NotificationStatusChanged, trackingv1alpha1.NotificationProofOfDeliveryStored,
		trackingv1alpha1.NotificationUpdateRejected

	first := brief{sc, "received", trackingv1alpha1.StatusNotScanned, "", false}
	cases := []struct {
		name   string
		parcel *trackingv1alpha1.Parcel
		want   []brief
	}{
		{"no status yet", parcel([]trackingv1alpha1.TrackingEvent{received}, nil), nil},
		{"the seed flow, with its proof of delivery after its status change",
			parcel([]trackingv1alpha1.TrackingEvent{received, loaded, transit, delivered},
				[]trackingv1alpha1.EventVerdict{verdict("received", applied, ""), verdict("loaded", applied, ""),
					verdict("transit", applied, ""), verdict(evDelivered, applied, "")}, stored),
			[]brief{first, {sc, "loaded", trackingv1alpha1.StatusReceivedInDepot, "", false},
				{sc, "transit", trackingv1alpha1.StatusLoadedByDriver, "", false}, {sc, evDelivered, trackingv1alpha1.StatusInTransit, "", false},
				{pod, evDelivered, trackingv1alpha1.StatusInTransit, "", true}}},
		{"a file not stored yet makes no notification",
			parcel([]trackingv1alpha1.TrackingEvent{delivered}, []trackingv1alpha1.EventVerdict{verdict(evDelivered, applied, "")}),
			[]brief{{sc, evDelivered, trackingv1alpha1.StatusNotScanned, "", false}}},
		{"history order, not arrival order, with the previous status of each",
			parcel([]trackingv1alpha1.TrackingEvent{loaded, received},
				[]trackingv1alpha1.EventVerdict{verdict("received", applied, ""), verdict("loaded", applied, "")}),
			[]brief{first, {sc, "loaded", trackingv1alpha1.StatusReceivedInDepot, "", false}}},
		{"rejected, unchanged and duplicate events",
			parcel([]trackingv1alpha1.TrackingEvent{received, received, transit, scan("again", trackingv1alpha1.StatusReceivedInDepot, 5)},
				[]trackingv1alpha1.EventVerdict{verdict("received", applied, ""), verdict("received", duplicate, ""),
					verdict("again", unchanged, ""), verdict("transit", rejected, "not allowed")}),
			[]brief{first, {rej, "transit", trackingv1alpha1.StatusReceivedInDepot, "not allowed", false}}},
		{"a file stored with a re-scan of the current status",
			parcel([]trackingv1alpha1.TrackingEvent{delivered},
				[]trackingv1alpha1.EventVerdict{verdict(evDelivered, unchanged, "")}, stored),
			[]brief{{pod, evDelivered, trackingv1alpha1.StatusNotScanned, "", true}}},
		{"a file sent after its event, with a repeat of it, is the event's",
			parcel([]trackingv1alpha1.TrackingEvent{scan(evDelivered, trackingv1alpha1.StatusDelivered, 30), delivered},
				[]trackingv1alpha1.EventVerdict{verdict(evDelivered, applied, ""), verdict(evDelivered, duplicate, "")}, stored),
			[]brief{{sc, evDelivered, trackingv1alpha1.StatusNotScanned, "", false},
				{pod, evDelivered, trackingv1alpha1.StatusNotScanned, "", true}}},
		{"a verdict for an event not in spec (never written so) is skipped",
			parcel(nil, []trackingv1alpha1.EventVerdict{verdict("ghost", applied, "")}), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []brief
			for _, n := range Notifications(tc.parcel) {
				got = append(got, brief{n.Type, n.Event.ID, n.Previous, n.Reason, n.Stored != nil})
				want := recorded.Time
				if n.Stored != nil {
					want = n.Stored.StoredAt.Time
				}
				if !n.RecordedAt.Equal(want) {
					t.Errorf("%s %s: RecordedAt = %s, want %s", n.Type, n.Event.ID, n.RecordedAt, want)
				}
				if up := n.Event.ProofOfDelivery; n.Stored != nil && (up == nil || up.Filename != podFilename) {
					t.Errorf("%s %s: the stored file's upload is %+v, want the one named %s", n.Type, n.Event.ID, up, podFilename)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("Notifications (-want +got):\n%s", diff)
			}
		})
	}
}

// wantData is the data of the event TestEncode builds, with extra keys
// set (a nil value removes the key).
func wantData(extra map[string]any) map[string]any {
	d := map[string]any{
		"articleId": testArticle, "eventId": evDelivered,
		"parcel":         map[string]any{"namespace": testNamespace, "name": testName, "uid": "uid-1"},
		"status":         map[string]any{"canonical": "Delivered", "display": "Delivered"},
		"previousStatus": map[string]any{"canonical": "InTransit", "display": "In Transit"},
		"time":           scanTime, "receivedAt": "2026-10-08T08:01:00Z",
		"courier": testCourier, "remarks": testRemarks,
	}
	for k, v := range extra {
		if v == nil {
			delete(d, k)
			continue
		}
		d[k] = v
	}
	return d
}

func TestEncode(t *testing.T) {
	delivered := scan(evDelivered, trackingv1alpha1.StatusDelivered, 30)
	delivered.Remarks = testRemarks
	received := metav1.NewTime(t0.Add(31 * time.Minute))
	delivered.ReceivedAt = &received
	delivered.ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{ContentType: trackingv1alpha1.ContentTypePDF, Filename: podFilename}
	base := Notification{ParcelUID: "uid-1", Namespace: testNamespace, Name: testName, ArticleID: testArticle,
		Event: delivered, Previous: trackingv1alpha1.StatusInTransit}

	cases := []struct {
		name     string
		mutate   func(n *Notification)
		wantType string
		wantData map[string]any
	}{
		{"a status change", func(*Notification) {}, TypeStatusChanged, wantData(nil)},
		{"a stored proof of delivery", func(n *Notification) {
			n.Type = trackingv1alpha1.NotificationProofOfDeliveryStored
			n.Stored = &trackingv1alpha1.StoredProofOfDelivery{EventID: evDelivered, URL: "s3://pods/x.pdf", SHA256: "ab12", Size: 9,
				StoredAt: metav1.NewTime(t0.Add(time.Hour))}
		}, TypeProofOfDeliveryStored, wantData(map[string]any{
			"proofOfDelivery": map[string]any{"url": "s3://pods/x.pdf", "sha256": "ab12", "size": float64(9),
				"contentType": "application/pdf", "filename": podFilename, "storedAt": "2026-10-08T08:30:00Z"},
		})},
		{"a rejected update, forced flag and no receivedAt", func(n *Notification) {
			n.Type = trackingv1alpha1.NotificationUpdateRejected
			n.Reason = "transition In Transit -> Delivered is not allowed"
			n.Event.ReceivedAt = nil
			n.Event.Remarks = ""
			n.Event.Force = true
		}, TypeUpdateRejected, wantData(map[string]any{
			"receivedAt": nil, "remarks": nil, "force": true,
			"reason": "transition In Transit -> Delivered is not allowed",
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := base
			n.Type = trackingv1alpha1.NotificationStatusChanged
			tc.mutate(&n)
			body, err := Encode("sub-uid", &n)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, body)
			}
			want := map[string]any{
				"specversion": "1.0", "id": EventID("sub-uid", &n), "type": tc.wantType,
				"source":  "/apis/tracking.parcelops.io/v1alpha1/namespaces/" + testNamespace + "/parcels/" + testName,
				"subject": testArticle, "time": scanTime,
				"datacontenttype": "application/json", "data": tc.wantData,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventIDIsStableAndDistinct(t *testing.T) {
	n := Notification{Type: trackingv1alpha1.NotificationStatusChanged, ParcelUID: "p1", Event: trackingv1alpha1.TrackingEvent{ID: "e1"}}
	id := EventID("s1", &n)
	if again := EventID("s1", &n); again != id || len(id) != 32 {
		t.Fatalf("EventID = %q then %q; want the same 32 hex digits", id, again)
	}
	seen := map[string]string{id: "original"}
	variants := map[string]func(n *Notification) (string, *Notification){
		"another subscription": func(n *Notification) (string, *Notification) { return "s2", n },
		"another parcel":       func(n *Notification) (string, *Notification) { m := *n; m.ParcelUID = "p2"; return "s1", &m },
		"another event":        func(n *Notification) (string, *Notification) { m := *n; m.Event.ID = "e2"; return "s1", &m },
		"another type": func(n *Notification) (string, *Notification) {
			m := *n
			m.Type = trackingv1alpha1.NotificationProofOfDeliveryStored
			return "s1", &m
		},
		"fields that run into each other": func(n *Notification) (string, *Notification) {
			m := *n
			m.ParcelUID, m.Event.ID = "p1\x00StatusChanged", ""
			return "s1", &m
		},
	}
	for name, v := range variants {
		sub, m := v(&n)
		got := EventID(k8stypes.UID(sub), m)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s has the id of %s", name, prev)
		}
		seen[got] = name
	}
}

func TestEncodeRefusesAnUnknownType(t *testing.T) {
	if _, err := Encode("s", &Notification{Type: "Other"}); err == nil {
		t.Fatal("Encode accepted an unknown notification type")
	}
}
