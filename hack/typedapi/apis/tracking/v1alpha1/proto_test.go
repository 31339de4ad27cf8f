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

package v1alpha1

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// full is a Parcel with every field set, so a field the codec drops fails
// the round trip.
func full() *Parcel {
	at := metav1.NewTime(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	later := metav1.NewTime(at.Add(time.Hour))
	return &Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "arp1", ResourceVersion: "12", Generation: 3,
			Labels: map[string]string{trackingv1alpha1.ArticleIDLabel: "ARP1"}, CreationTimestamp: at},
		Spec: trackingv1alpha1.ParcelSpec{ArticleID: "ARP1", Events: []trackingv1alpha1.TrackingEvent{
			{ID: "e1", Status: trackingv1alpha1.StatusReceivedInDepot, Time: at, Source: "courier"},
			{ID: "e2", Status: trackingv1alpha1.StatusDelivered, Time: later, ReceivedAt: &later,
				Remarks: "left at the door", Source: "person", Force: true,
				ProofOfDelivery: &trackingv1alpha1.ProofOfDeliveryUpload{StagingKey: "incoming/ns/e2/0123456789abcdef",
					SHA256: "ab", Size: 1 << 20, ContentType: trackingv1alpha1.ContentTypePDF, Filename: "pod.pdf"}},
		}},
		Status: trackingv1alpha1.ParcelStatus{
			ObservedGeneration: 3, Phase: trackingv1alpha1.StatusDelivered, LastEventTime: &later,
			History: []trackingv1alpha1.EventVerdict{{ID: "e1", Result: trackingv1alpha1.ResultApplied},
				{ID: "e2", Result: trackingv1alpha1.ResultRejected, Reason: "not allowed"}},
			ProofOfDelivery: []trackingv1alpha1.StoredProofOfDelivery{{EventID: "e2", URL: "s3://pods/ns/arp1/e2.pdf",
				SHA256: "cd", Size: 7, StoredAt: later}},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Reconciled",
				Message: "ok", ObservedGeneration: 3, LastTransitionTime: at}},
		},
	}
}

func TestProtobufRoundTrip(t *testing.T) {
	for name, in := range map[string]*Parcel{
		"every field": full(),
		"empty":       {},
		"no status":   {Spec: trackingv1alpha1.ParcelSpec{ArticleID: "A"}},
		"zero-valued nested pointers": {Spec: trackingv1alpha1.ParcelSpec{ArticleID: "A",
			Events: []trackingv1alpha1.TrackingEvent{{ID: "e", ReceivedAt: ptr.To(metav1.Time{})}}}},
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := in.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			var out Parcel
			if err := out.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(in, &out) {
				t.Fatalf("round trip changed the Parcel:\n in: %+v\nout: %+v", in, &out)
			}
		})
	}
}

func TestProtobufListRoundTrip(t *testing.T) {
	in := &ParcelList{ListMeta: metav1.ListMeta{ResourceVersion: "9", Continue: "next"},
		Items: []Parcel{*full(), {Spec: trackingv1alpha1.ParcelSpec{ArticleID: "B"}}}}
	raw, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var out ParcelList
	if err := out.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(in, &out) {
		t.Fatalf("round trip changed the list:\n in: %+v\nout: %+v", in, &out)
	}
}

func TestProtobufRefusesMalformedInput(t *testing.T) {
	raw, err := full().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"truncated":              raw[:len(raw)-3],
		"a length past the end":  {0x12, 0x7f, 0x0a},
		"a bad tag":              {0x80},
		"a varint never ending":  {0x1a, 0x02, 0x08, 0xff},
		"field zero":             {0x02, 0x00},
		"a bad nested timestamp": {0x12, 0x06, 0x12, 0x04, 0x1a, 0x02, 0x08, 0xff},
	} {
		t.Run(name, func(t *testing.T) {
			var p Parcel
			if err := p.Unmarshal(data); err == nil {
				t.Fatalf("Unmarshal(%x) = nil, want an error", data)
			}
		})
	}
}

// FuzzUnmarshal feeds arbitrary bytes to the decoder the server runs on
// every object read from etcd: it must return an error or a Parcel that
// encodes again, never panic.
func FuzzUnmarshal(f *testing.F) {
	raw, err := full().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x7f, 0x0a})
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Parcel
		if err := p.Unmarshal(data); err != nil {
			return
		}
		if _, err := p.Marshal(); err != nil {
			t.Fatalf("a decoded Parcel does not encode: %v", err)
		}
	})
}
