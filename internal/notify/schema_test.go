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
	"os"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// The JSON Schema in docs/ names every field the data can hold, and marks
// as required those every event has.
func TestDataMatchesItsSchema(t *testing.T) {
	raw, err := os.ReadFile("../../docs/notifications.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	e := scan(evDelivered, trackingv1alpha1.StatusDelivered, 0)
	at := metav1.NewTime(t0)
	e.ReceivedAt, e.Remarks, e.Location, e.SignedBy, e.Force = &at, "x", "l", "s", true
	full := Notification{Type: trackingv1alpha1.NotificationProofOfDeliveryStored, ParcelUID: "u", Namespace: "n", Name: "p",
		ArticleID: "A", Event: e, Reason: "r",
		Stored: &trackingv1alpha1.StoredProofOfDelivery{URL: "u", SHA256: "s", Size: 1, StoredAt: metav1.NewTime(t0.Add(time.Hour))}}
	minimal := Notification{Type: trackingv1alpha1.NotificationStatusChanged, ParcelUID: "u", Namespace: "n", Name: "p",
		ArticleID: "A", Event: trackingv1alpha1.TrackingEvent{ID: "e", Status: trackingv1alpha1.StatusInTransit, Time: at}}
	for name, n := range map[string]*Notification{"every field": &full, "the fewest fields": &minimal} {
		body, err := Encode("s", n)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Data map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatal(err)
		}
		for k := range ev.Data {
			if _, ok := schema.Properties[k]; !ok {
				t.Errorf("%s: data.%s is not in the schema", name, k)
			}
		}
		for _, k := range schema.Required {
			if _, ok := ev.Data[k]; !ok {
				t.Errorf("%s: data.%s is required by the schema but missing", name, k)
			}
		}
		if name == "every field" && len(ev.Data) != len(schema.Properties) {
			t.Errorf("every field set gives %d fields, the schema has %d", len(ev.Data), len(schema.Properties))
		}
	}
	if !slices.Contains(schema.Required, "articleId") {
		t.Error("the schema does not require articleId")
	}
}
