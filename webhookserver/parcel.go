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

package webhookserver

import (
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// ParcelView is what a courier reads back about one of its parcels.
type ParcelView struct {
	ArticleID     string                          `json:"articleId"`
	Parcel        string                          `json:"parcel"`
	Status        trackingv1alpha1.TrackingStatus `json:"status"`
	StatusDisplay string                          `json:"statusDisplay"`
	LastEventTime *time.Time                      `json:"lastEventTime,omitempty"`
	// Events are every update recorded, in event-time order, each with the
	// verdict on it.
	Events []EventView `json:"events"`
	// ProofOfDelivery lists the files stored and verified.
	ProofOfDelivery []StoredPODView `json:"proofOfDelivery"`
}

// EventView is one recorded update and the verdict on it.
type EventView struct {
	EventID       string                          `json:"eventId"`
	Status        trackingv1alpha1.TrackingStatus `json:"status"`
	StatusDisplay string                          `json:"statusDisplay"`
	Time          time.Time                       `json:"time"`
	Remarks       string                          `json:"remarks,omitempty"`
	Location      string                          `json:"location,omitempty"`
	SignedBy      string                          `json:"signedBy,omitempty"`
	// ReportedStatus is the status as sent, when one of the courier's
	// statusAliases named it.
	ReportedStatus string `json:"reportedStatus,omitempty"`
	Result         string `json:"result"`
	Reason         string `json:"reason,omitempty"`
}

// StoredPODView is a stored proof-of-delivery file; where it is stored is
// the platform's business, not the courier's.
type StoredPODView struct {
	EventID  string    `json:"eventId"`
	SHA256   string    `json:"sha256"`
	Size     int64     `json:"size"`
	StoredAt time.Time `json:"storedAt"`
}

// handleParcel answers GET /api/v1/parcels/{articleId} from the cache, for
// the courier's own namespace only.
func (s *Server) handleParcel(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := c.verifyBody(r.Body); err != nil {
		return err
	}
	courier := c.Courier
	articleID := r.PathValue("articleId")
	if err := trackingv1alpha1.ValidateArticleID(articleID); err != nil {
		return &Problem{Status: http.StatusBadRequest, Type: slugInvalid, Title: "Invalid article ID",
			Detail: "articleId " + err.Error(), Fields: []FieldError{{Field: "articleId", Detail: err.Error()}}}
	}
	key := client.ObjectKey{Namespace: courier.Namespace, Name: trackingv1alpha1.ParcelName(articleID)}
	parcel := &trackingv1alpha1.Parcel{}
	switch err := s.Client.Get(r.Context(), key, parcel); {
	case apierrors.IsNotFound(err):
		return newProblem(http.StatusNotFound, "unknown-parcel", "Unknown parcel",
			fmt.Sprintf("no parcel with article ID %q", articleID))
	case err != nil:
		return unavailable("the Kubernetes API", err)
	case parcel.Spec.ArticleID != articleID:
		return newProblem(http.StatusNotFound, "unknown-parcel", "Unknown parcel",
			fmt.Sprintf("no parcel with article ID %q", articleID))
	}

	fold := s.Transitions.Fold(parcel.Spec.Events)
	view := ParcelView{
		ArticleID:       parcel.Spec.ArticleID,
		Parcel:          key.String(),
		Status:          fold.Phase,
		StatusDisplay:   fold.Phase.DisplayName(),
		Events:          make([]EventView, 0, len(fold.Steps)),
		ProofOfDelivery: make([]StoredPODView, 0, len(parcel.Status.ProofOfDelivery)),
	}
	if fold.LastEventTime != nil {
		t := fold.LastEventTime.UTC()
		view.LastEventTime = &t
	}
	for _, step := range fold.Steps {
		e := parcel.Spec.Events[step.Index]
		view.Events = append(view.Events, EventView{
			EventID:        e.ID,
			Status:         e.Status,
			StatusDisplay:  e.Status.DisplayName(),
			Time:           e.Time.UTC(),
			Remarks:        e.Remarks,
			Location:       e.Location,
			SignedBy:       e.SignedBy,
			ReportedStatus: e.ReportedStatus,
			Result:         resultName(step.Verdict.Result),
			Reason:         step.Verdict.Reason,
		})
	}
	for _, p := range parcel.Status.ProofOfDelivery {
		view.ProofOfDelivery = append(view.ProofOfDelivery, StoredPODView{
			EventID: p.EventID, SHA256: p.SHA256, Size: p.Size, StoredAt: p.StoredAt.UTC(),
		})
	}
	writeJSON(w, http.StatusOK, "application/json", view)
	return nil
}

// resultName is a verdict as answers spell it.
func resultName(r trackingv1alpha1.EventResult) string {
	switch r {
	case trackingv1alpha1.ResultApplied:
		return resultApplied
	case trackingv1alpha1.ResultUnchanged:
		return resultUnchanged
	case trackingv1alpha1.ResultDuplicate:
		return resultDuplicate
	}
	return resultRejected
}
