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

package registry

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

var at = metav1.NewTime(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))

const (
	articleID    = "ARP1"
	appendOnly   = "events are append-only"
	articleField = typedv1alpha1.FieldArticleID
)

func valid() *typedv1alpha1.Parcel {
	return &typedv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "arp1"},
		Spec: trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: []trackingv1alpha1.TrackingEvent{
			{ID: "e1", Status: trackingv1alpha1.StatusReceivedInDepot, Time: at},
		}},
	}
}

func TestValidateParcel(t *testing.T) {
	digest := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name   string
		change func(*typedv1alpha1.Parcel)
		// field is the path the one error names; empty when valid.
		field string
	}{
		{"valid", func(*typedv1alpha1.Parcel) {}, ""},
		{"a valid proof of delivery", func(p *typedv1alpha1.Parcel) {
			p.Spec.Events[0].ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{
				StagingKey: "incoming/ns/e1/0123456789abcdef", SHA256: digest, Size: 1, ContentType: trackingv1alpha1.ContentTypePNG}
		}, ""},
		{"a bad name", func(p *typedv1alpha1.Parcel) { p.Name = "ARP1" }, "metadata.name"},
		{"no namespace", func(p *typedv1alpha1.Parcel) { p.Namespace = "" }, "metadata.namespace"},
		{"no article ID", func(p *typedv1alpha1.Parcel) { p.Spec.ArticleID = "" }, articleField},
		{"a long article ID", func(p *typedv1alpha1.Parcel) { p.Spec.ArticleID = strings.Repeat("A", 65) }, articleField},
		{"an article ID with a space", func(p *typedv1alpha1.Parcel) { p.Spec.ArticleID = "A 1" }, articleField},
		{"257 events", func(p *typedv1alpha1.Parcel) {
			for len(p.Spec.Events) <= trackingv1alpha1.MaxEvents {
				p.Spec.Events = append(p.Spec.Events, p.Spec.Events[0])
			}
		}, "spec.events"},
		{"an event without id", func(p *typedv1alpha1.Parcel) { p.Spec.Events[0].ID = "" }, "spec.events[0].id"},
		{"an event without status", func(p *typedv1alpha1.Parcel) { p.Spec.Events[0].Status = "" }, "spec.events[0].status"},
		{"an unknown status", func(p *typedv1alpha1.Parcel) { p.Spec.Events[0].Status = "Lost" }, "spec.events[0].status"},
		{"an event without time", func(p *typedv1alpha1.Parcel) { p.Spec.Events[0].Time = metav1.Time{} }, "spec.events[0].time"},
		{"long remarks", func(p *typedv1alpha1.Parcel) {
			p.Spec.Events[0].Remarks = strings.Repeat("r", trackingv1alpha1.MaxRemarksLength+1)
		}, "spec.events[0].remarks"},
		{"a long source", func(p *typedv1alpha1.Parcel) { p.Spec.Events[0].Source = strings.Repeat("s", 254) }, "spec.events[0].source"},
		{"a staging key outside incoming/", func(p *typedv1alpha1.Parcel) {
			p.Spec.Events[0].ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{
				StagingKey: "pods/ns/e1", SHA256: digest, Size: 1, ContentType: trackingv1alpha1.ContentTypePNG}
		}, "spec.events[0].proofOfDelivery.stagingKey"},
		{"an oversized file", func(p *typedv1alpha1.Parcel) {
			p.Spec.Events[0].ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{
				StagingKey: "incoming/ns/e1", SHA256: digest, Size: 1<<30 + 1, ContentType: trackingv1alpha1.ContentTypePNG}
		}, "spec.events[0].proofOfDelivery.size"},
		{"an unknown file type", func(p *typedv1alpha1.Parcel) {
			p.Spec.Events[0].ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{
				StagingKey: "incoming/ns/e1", SHA256: digest, Size: 1, ContentType: "text/html"}
		}, "spec.events[0].proofOfDelivery.contentType"},
		{"an unknown phase", func(p *typedv1alpha1.Parcel) { p.Status.Phase = "Lost" }, "status.phase"},
		{"a negative observed generation", func(p *typedv1alpha1.Parcel) { p.Status.ObservedGeneration = -1 }, "status.observedGeneration"},
		{"an unknown verdict", func(p *typedv1alpha1.Parcel) {
			p.Status.History = []trackingv1alpha1.EventVerdict{{ID: "e1", Result: "Maybe"}}
		}, "status.history[0].result"},
		{"two stored files for one event", func(p *typedv1alpha1.Parcel) {
			pod := trackingv1alpha1.StoredProofOfDelivery{EventID: "e1", URL: "s3://b/k", SHA256: digest, Size: 1, StoredAt: at}
			p.Status.ProofOfDelivery = []trackingv1alpha1.StoredProofOfDelivery{pod, pod}
		}, "status.proofOfDelivery[1].eventId"},
		{"a condition without reason", func(p *typedv1alpha1.Parcel) {
			p.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, LastTransitionTime: at}}
		}, "status.conditions[0].reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.change(p)
			errs := validateParcel(p)
			switch {
			case tc.field == "" && len(errs) > 0:
				t.Fatalf("want no error, got %v", errs)
			case tc.field != "" && (len(errs) != 1 || errs[0].Field != tc.field):
				t.Fatalf("want one error on %s, got %v", tc.field, errs)
			}
		})
	}
}

func TestValidateParcelUpdate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(*typedv1alpha1.Parcel)
		message string
	}{
		{"an appended event", func(p *typedv1alpha1.Parcel) {
			p.Spec.Events = append(p.Spec.Events, trackingv1alpha1.TrackingEvent{ID: "e2", Status: trackingv1alpha1.StatusInTransit, Time: at})
		}, ""},
		{"a changed article ID", func(p *typedv1alpha1.Parcel) { p.Spec.ArticleID = "ARP2" }, "articleId is immutable"},
		{"a removed event", func(p *typedv1alpha1.Parcel) { p.Spec.Events = nil }, appendOnly},
		{"an edited event", func(p *typedv1alpha1.Parcel) { p.Spec.Events[0].Remarks = "edited" }, appendOnly},
		{"a reordered list", func(p *typedv1alpha1.Parcel) {
			p.Spec.Events = append([]trackingv1alpha1.TrackingEvent{{ID: "e0", Status: trackingv1alpha1.StatusInTransit, Time: at}},
				p.Spec.Events...)
		}, appendOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := valid()
			old.ResourceVersion = "1"
			p := old.DeepCopy()
			tc.change(p)
			errs := validateParcelUpdate(p, old)
			switch {
			case tc.message == "" && len(errs) > 0:
				t.Fatalf("want no error, got %v", errs)
			case tc.message != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.message)):
				t.Fatalf("want one error saying %q, got %v", tc.message, errs)
			}
		})
	}
}

func TestStrategiesKeepTheOtherHalf(t *testing.T) {
	ctx := context.Background()
	s := newStrategy(nil)
	old := valid()
	old.Generation = 1
	old.Status.Phase = trackingv1alpha1.StatusInTransit

	created := valid()
	created.Status.Phase = trackingv1alpha1.StatusDelivered
	s.PrepareForCreate(ctx, created)
	if created.Status.Phase != "" || created.Generation != 1 {
		t.Fatalf("a create keeps no status and starts at generation 1, got %q, %d", created.Status.Phase, created.Generation)
	}

	specWrite := old.DeepCopy()
	specWrite.Status.Phase = trackingv1alpha1.StatusDelivered
	specWrite.Spec.Events = append(specWrite.Spec.Events, specWrite.Spec.Events[0])
	s.PrepareForUpdate(ctx, specWrite, old)
	if specWrite.Status.Phase != trackingv1alpha1.StatusInTransit || specWrite.Generation != 2 {
		t.Fatalf("a spec write keeps the status and moves the generation, got %q, %d", specWrite.Status.Phase, specWrite.Generation)
	}

	statusWrite := old.DeepCopy()
	statusWrite.Status.Phase = trackingv1alpha1.StatusDelivered
	statusWrite.Spec.Events = nil
	statusStrategy{s}.PrepareForUpdate(ctx, statusWrite, old)
	if len(statusWrite.Spec.Events) != 1 || statusWrite.Status.Phase != trackingv1alpha1.StatusDelivered || statusWrite.Generation != 1 {
		t.Fatalf("a status write keeps the spec and the generation, got %+v", statusWrite)
	}
}

func TestSelectableFields(t *testing.T) {
	p := valid()
	p.Status.Phase = trackingv1alpha1.StatusDelivered
	for sel, want := range map[string]bool{
		articleField + "=" + articleID:                             true,
		articleField + "=arp1":                                     false,
		"status.phase=Delivered":                                   true,
		"status.phase!=Delivered":                                  false,
		"metadata.name=arp1":                                       true,
		"metadata.namespace=other":                                 false,
		articleField + "=" + articleID + ",status.phase=Delivered": true,
	} {
		s, err := fields.ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		pred := matchParcel(labels.Everything(), s)
		if got, err := pred.Matches(p); err != nil || got != want {
			t.Errorf("%s matches = %v, %v; want %v", sel, got, err, want)
		}
	}
}
