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
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// Results of an update, as answers and metrics name them.
const (
	resultApplied   = "applied"
	resultUnchanged = "unchanged"
	resultDuplicate = "duplicate"
	resultRejected  = "rejected"
)

// Results of an update, as answers and metrics name them (continued):
// resultAttached is the proof of delivery of an update recorded before,
// sent again with its file.
const resultAttached = "attached"

// POD states in an answer.
const (
	podNone   = "none"
	podStaged = "staged"
	podStored = "stored"
)

// discardTimeout bounds the deletion of a refused request's upload.
const discardTimeout = 10 * time.Second

// appendAttempts bounds the retries of an append that raced with another
// writer (a Parcel created, or its first events written, in between).
const appendAttempts = 3

// UpdateAnswer is the answer to a tracking update: 200 for applied,
// unchanged, duplicate and attached, 409 for rejected.
type UpdateAnswer struct {
	// Result is applied, unchanged, duplicate, rejected, or attached: the
	// update was recorded before without a file, and this call's file is
	// now its proof of delivery.
	Result string `json:"result"`
	// Parcel is the Parcel's namespace/name.
	Parcel    string `json:"parcel"`
	ArticleID string `json:"articleId"`
	EventID   string `json:"eventId"`
	// Status is the update's status in canonical form, StatusDisplay the
	// name people read.
	Status        trackingv1alpha1.TrackingStatus `json:"status"`
	StatusDisplay string                          `json:"statusDisplay"`
	// PreviousStatus is the parcel's status just before this update, in
	// event-time order.
	PreviousStatus trackingv1alpha1.TrackingStatus `json:"previousStatus"`
	// Phase is the parcel's status now, with this update counted.
	Phase trackingv1alpha1.TrackingStatus `json:"phase"`
	// ProofOfDelivery is "staged" when this call's file is the event's
	// proof of delivery and waits to be stored; for an update sent again
	// with the file already recorded for its event, "staged" or "stored"
	// as that file is; "none" when no file came.
	ProofOfDelivery string `json:"proofOfDelivery"`
	// Message says what happened in words.
	Message string `json:"message"`
	// Reason says why a rejected transition is not allowed.
	Reason string `json:"reason,omitempty"`
}

// handleUpdate records one tracking update. It answers 2xx only once the
// event is in the API server.
//
// It runs in four steps, so that the signature is checked before any answer
// that tells something about the courier's parcels and before any write
// (docs/architecture.md, "Signatures"): it reads form_data, looks up the
// parcel (facts only, no answer), streams the POD file to staging when the
// update will be written, settles the body (reads it to its end and
// verifies the signature over all of it) in the one place it is settled,
// and only then decides the answer. A staged upload is deleted when the
// answer is a refusal, the 401 of a bad signature included.
func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request, c *caller) (err error) {
	courier := c.Courier
	receivedAt := s.Clock.Now()
	ctx, cancel := context.WithTimeout(r.Context(), APITimeout)
	defer cancel()

	// Its errors are about the request's own bytes: they tell nothing.
	limits := s.Limits
	limits.StatusAliases = courier.Spec.StatusAliases
	in, err := ReadRequest(r, receivedAt, limits)
	if err != nil {
		return err
	}
	u := in.Update
	label := courierLabel(courier)
	key := client.ObjectKey{Namespace: courier.Namespace, Name: trackingv1alpha1.ParcelName(u.ArticleID)}

	found := s.lookUp(ctx, courier, key, u)
	event := u.event(courier, receivedAt)
	var stageErr error
	// kept says the staged upload is its event's proof of delivery.
	kept := false
	if in.POD != nil && found.err == nil {
		var staged podstore.Staged
		staged, stageErr = s.Store.Stage(ctx, courier.Namespace, u.EventID, in.POD.Body, courier.MaxPODBytes())
		if stageErr == nil {
			// err is the handler's result: the upload goes unless it is
			// the event's proof, or may be (a 5xx).
			defer func() { s.discardUnkept(r.Context(), staged.Key, kept, err) }()
			event.ProofOfDelivery = &trackingv1alpha1.ProofOfDeliveryUpload{
				StagingKey:  staged.Key,
				SHA256:      staged.SHA256,
				Size:        staged.Size,
				ContentType: staged.ContentType,
				Filename:    in.POD.Filename,
			}
			podBytesStaged.WithLabelValues(label).Add(float64(staged.Size))
		}
	}

	// Settle the body: read the rest of it (a file not staged is
	// discarded) and check the signature over all of it.
	if err := finishError(in.Finish(), stageErr, courier.MaxPODBytes()); err != nil {
		return err
	}
	if err := c.verifyBody(r.Body); err != nil {
		return err
	}

	switch {
	case found.err != nil:
		return found.err
	case stageErr != nil:
		return stageError(stageErr, courier.MaxPODBytes())
	case found.duplicate && (event.ProofOfDelivery == nil || found.proof != nil):
		// A retry of an update already recorded, with no file or with
		// its event's file already recorded: answer without writing.
		pod, err := podOutcome(found.parcel, key, u.EventID, event.ProofOfDelivery)
		if err != nil {
			return err
		}
		return s.answer(w, courier, found.parcel, u, pod, true)
	}
	// A new event, or the proof of delivery of one recorded before: the
	// update comes again with its file and is appended as a repeat of the
	// event that carries it (trackingv1alpha1.Proofs).
	release, err := s.Guard.acquireWrite(ctx, courier)
	if err != nil {
		return err
	}
	parcel, err := s.record(ctx, courier, key, u.ArticleID, found.parcel, []trackingv1alpha1.TrackingEvent{event})
	release()
	if err != nil {
		return err
	}
	if u.TimeReported && !found.duplicate {
		eventLag.WithLabelValues(label).Observe(receivedAt.Sub(u.Time).Seconds())
	}
	// Racing writers may have recorded another file for the event first.
	pod, err := podOutcome(parcel, key, u.EventID, event.ProofOfDelivery)
	if err != nil {
		return err
	}
	kept = pod.ours
	return s.answer(w, courier, parcel, u, pod, false)
}

// podResult is what became of an update's file: the state the answer
// reports, and whether the file is its event's proof of delivery (ours),
// which keeps its upload.
type podResult struct {
	state string
	ours  bool
}

// podOutcome judges this call's upload (nil without a file) against the
// file the parcel records for the event: the upload is the event's proof,
// the same file as the proof (the upload is not needed), or a different
// one, which is refused.
func podOutcome(parcel *trackingv1alpha1.Parcel, key client.ObjectKey, eventID string,
	upload *trackingv1alpha1.ProofOfDeliveryUpload) (podResult, error) {
	proof := trackingv1alpha1.ProofOf(parcel.Spec.Events, eventID)
	switch {
	case upload == nil || proof == nil:
		return podResult{state: podNone}, nil
	case proof.StagingKey == upload.StagingKey:
		return podResult{state: podStaged, ours: true}, nil
	case proof.SHA256 != upload.SHA256:
		return podResult{}, proofConflict(key, eventID, proof)
	}
	for _, s := range parcel.Status.ProofOfDelivery {
		if s.EventID == eventID && s.SHA256 == proof.SHA256 {
			return podResult{state: podStored}, nil
		}
	}
	return podResult{state: podStaged}, nil
}

// event is the update as the event it records, without a file.
func (u Update) event(courier *trackingv1alpha1.Courier, receivedAt time.Time) trackingv1alpha1.TrackingEvent {
	return trackingv1alpha1.TrackingEvent{
		ID:         u.EventID,
		Status:     u.Status,
		Time:       metav1.NewTime(u.Time),
		ReceivedAt: &metav1.Time{Time: receivedAt.UTC().Truncate(time.Second)},
		Remarks:    u.Remarks,
		Location:   u.Location,
		SignedBy:   u.SignedBy,
		// Kept only when an alias named the status, to audit the mapping.
		ReportedStatus: u.AliasedStatus,
		Source:         courier.Name,
	}
}

// lookup is what the API server holds under an update's parcel name. It is
// a verdict held back: handleUpdate answers with it only once the body is
// settled.
type lookup struct {
	// parcel is the parcel, nil when there is none.
	parcel *trackingv1alpha1.Parcel
	// duplicate is true when the parcel already holds the update's event.
	duplicate bool
	// proof is the file the parcel records for that event, if any.
	proof *trackingv1alpha1.ProofOfDeliveryUpload
	// err is the refusal (unknown parcel, name taken) or the API server
	// being unavailable.
	err error
}

// lookUp reads the update's parcel (lookUpParcel) and judges it. It writes
// nothing and answers nothing.
func (s *Server) lookUp(ctx context.Context, courier *trackingv1alpha1.Courier, key client.ObjectKey, u Update) lookup {
	p, err := s.lookUpParcel(ctx, courier, key, u.ArticleID)
	switch {
	case err != nil:
		return lookup{err: err}
	case p == nil:
		return lookup{}
	}
	return lookupOf(key, p, u)
}

// lookUpParcel reads the parcel from the cache, and from the API server
// when the cache has none and the courier may not create one (the cache
// may lag; only the API server can say the parcel is new). It returns nil
// for a parcel the courier may create, and an unknown parcel or the API
// server being unavailable as the error.
func (s *Server) lookUpParcel(ctx context.Context, courier *trackingv1alpha1.Courier, key client.ObjectKey,
	articleID string) (*trackingv1alpha1.Parcel, error) {
	cached := &trackingv1alpha1.Parcel{}
	switch err := s.Client.Get(ctx, key, cached); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, unavailable("the Kubernetes API", err)
	default:
		return cached, nil
	}
	if courier.MayCreateParcels() {
		return nil, nil
	}
	fresh := &trackingv1alpha1.Parcel{}
	switch err := s.APIReader.Get(ctx, key, fresh); {
	case apierrors.IsNotFound(err):
		return nil, unknownParcel(key, articleID)
	case err != nil:
		return nil, unavailable("the Kubernetes API", err)
	}
	return fresh, nil
}

// lookupOf judges a parcel found under the update's name.
func lookupOf(key client.ObjectKey, p *trackingv1alpha1.Parcel, u Update) lookup {
	switch {
	case p.Spec.ArticleID != u.ArticleID:
		return lookup{err: nameTaken(key, p.Spec.ArticleID)}
	case hasEvent(p, u.EventID):
		return lookup{parcel: p, duplicate: true, proof: trackingv1alpha1.ProofOf(p.Spec.Events, u.EventID)}
	}
	return lookup{parcel: p}
}

// discardUnkept deletes a staged upload that is not its event's proof of
// delivery: the request was refused (4xx), or its event already had the
// same file. After a 5xx the event may have reached the API server with
// it; the staging sweeper decides later, against what the API server
// holds.
func (s *Server) discardUnkept(ctx context.Context, key string, kept bool, err error) {
	if kept || (err != nil && problemFor(err).Status >= http.StatusInternalServerError) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	if _, err := s.Store.DeleteStaged(ctx, key); err != nil {
		s.Log.Error(err, "discarding the upload of a refused update; the staging sweeper will delete it later", "key", key)
	}
}

// record writes events, in order, into the API server in one request: one
// create for a new parcel, else one JSON-patch append, never a
// read-modify-write. The cached copy decides the first attempt; when
// another writer moved first (created the parcel, or wrote its first
// events), the API server's copy decides the next.
func (s *Server) record(ctx context.Context, courier *trackingv1alpha1.Courier, key client.ObjectKey,
	articleID string, cached *trackingv1alpha1.Parcel, events []trackingv1alpha1.TrackingEvent) (*trackingv1alpha1.Parcel, error) {
	exists, hasEvents := cached != nil, cached != nil && len(cached.Spec.Events) > 0
	var err error
	for range appendAttempts {
		var p *trackingv1alpha1.Parcel
		if !exists {
			if !courier.MayCreateParcels() {
				return nil, unknownParcel(key, articleID)
			}
			p, err = s.create(ctx, key, articleID, events)
			switch {
			case err == nil:
				return p, nil
			case apierrors.IsAlreadyExists(err):
				// Created a moment ago, most likely by this API with its
				// first event (a courier's scans racing): append at once.
				// A Parcel created otherwise, without events, fails the
				// append and is read below.
				exists, hasEvents = true, true
				continue
			}
			return nil, apiError(err)
		}
		p, err = s.appendEvents(ctx, key, articleID, events, hasEvents)
		if err == nil {
			return p, nil
		}
		if !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
			return nil, apiError(err)
		}
		current := &trackingv1alpha1.Parcel{}
		switch getErr := s.APIReader.Get(ctx, key, current); {
		case apierrors.IsNotFound(getErr):
			exists, hasEvents = false, false
		case getErr != nil:
			return nil, apiError(getErr)
		case current.Spec.ArticleID != articleID:
			return nil, nameTaken(key, current.Spec.ArticleID)
		case len(current.Spec.Events)+len(events) > trackingv1alpha1.MaxEvents:
			return nil, parcelFull(key)
		default:
			exists, hasEvents = true, len(current.Spec.Events) > 0
		}
	}
	return nil, apiError(err)
}

// create creates the parcel with its first events.
func (s *Server) create(ctx context.Context, key client.ObjectKey, articleID string,
	events []trackingv1alpha1.TrackingEvent) (*trackingv1alpha1.Parcel, error) {
	p := &trackingv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Spec:       trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: events},
	}
	if len(validation.IsValidLabelValue(articleID)) == 0 {
		p.Labels = map[string]string{trackingv1alpha1.ArticleIDLabel: articleID}
	}
	return p, s.Client.Create(ctx, p)
}

// appendEvents appends with one JSON patch, one add op per event. The test
// op refuses a parcel whose name another article ID holds; an empty list is
// created instead of appended to (the CEL append-only rule refuses it if a
// writer got there first, and record retries).
func (s *Server) appendEvents(ctx context.Context, key client.ObjectKey, articleID string,
	events []trackingv1alpha1.TrackingEvent, hasEvents bool) (*trackingv1alpha1.Parcel, error) {
	ops := []jsonPatchOp{{Op: "test", Path: "/spec/articleId", Value: articleID}}
	if hasEvents {
		for _, e := range events {
			ops = append(ops, jsonPatchOp{Op: "add", Path: "/spec/events/-", Value: e})
		}
	} else {
		ops = append(ops, jsonPatchOp{Op: "add", Path: "/spec/events", Value: events})
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	p := &trackingv1alpha1.Parcel{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	return p, s.Client.Patch(ctx, p, client.RawPatch(types.JSONPatchType, patch))
}

type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// answer tells the courier what its update did (verdict).
func (s *Server) answer(w http.ResponseWriter, courier *trackingv1alpha1.Courier, parcel *trackingv1alpha1.Parcel,
	u Update, pod podResult, retried bool) error {
	a, code, err := s.verdict(courier, parcel, s.Transitions.Fold(parcel.Spec.Events), u, pod, retried)
	if err != nil {
		return err
	}
	writeJSON(w, code, "application/json", a)
	return nil
}

// verdict folds the parcel and says what the update did, with the status
// code of its answer, and counts it; retried says the update was found
// already recorded and nothing written.
func (s *Server) verdict(courier *trackingv1alpha1.Courier, parcel *trackingv1alpha1.Parcel, fold trackingv1alpha1.FoldResult,
	u Update, pod podResult, retried bool) (*UpdateAnswer, int, error) {
	step, ok := stepOf(parcel, fold, u.EventID)
	if !ok {
		return nil, 0, fmt.Errorf("event %s not found in parcel %s/%s after recording it", u.EventID, parcel.Namespace, parcel.Name)
	}
	a := &UpdateAnswer{
		Parcel:          parcel.Namespace + "/" + parcel.Name,
		ArticleID:       u.ArticleID,
		EventID:         u.EventID,
		Status:          u.Status,
		StatusDisplay:   u.Status.DisplayName(),
		PreviousStatus:  step.From,
		Phase:           fold.Phase,
		ProofOfDelivery: pod.state,
	}
	code := http.StatusOK
	result := step.Verdict.Result
	if retried {
		result = trackingv1alpha1.ResultDuplicate
	}
	switch {
	case result == trackingv1alpha1.ResultDuplicate && pod.ours:
		// Recorded as a repeat of the event, whose file is its proof.
		a.Result = resultAttached
		a.Message = "proof of delivery attached to event " + u.EventID +
			", recorded before without one; the file is staged and will be stored, and the parcel's status is unchanged"
	case result == trackingv1alpha1.ResultDuplicate && pod.state != podNone:
		a.Result = resultDuplicate
		a.Message = "already recorded: event " + u.EventID + " and this proof of delivery (the same file) were received before; nothing changed"
	default:
		code = a.describe(step, result)
	}
	updatesTotal.WithLabelValues(courierLabel(courier), a.Result).Inc()
	return a, code, nil
}

// describe fills in the result and message of an answer from the fold's
// verdict on its event, and returns the answer's status code.
func (a *UpdateAnswer) describe(step trackingv1alpha1.FoldStep, result trackingv1alpha1.EventResult) int {
	switch result {
	case trackingv1alpha1.ResultApplied:
		a.Result = resultApplied
		a.Message = fmt.Sprintf("recorded: %s -> %s", step.From.DisplayName(), step.To.DisplayName())
	case trackingv1alpha1.ResultUnchanged:
		a.Result = resultUnchanged
		a.Message = fmt.Sprintf("recorded: a re-scan, the parcel was already %s", step.From.DisplayName())
	case trackingv1alpha1.ResultDuplicate:
		a.Result = resultDuplicate
		a.Message = "already recorded: event " + a.EventID + " was received before; nothing changed"
	case trackingv1alpha1.ResultRejected:
		a.Result = resultRejected
		a.Reason = step.Verdict.Reason
		a.Message = "recorded but not applied: " + step.Verdict.Reason +
			"; the event is kept and will apply if the missing earlier events arrive"
		return http.StatusConflict
	}
	return http.StatusOK
}

// stepOf finds the fold's verdict on the update: its first occurrence, or
// the duplicate when the update was recorded twice by racing replicas and
// this answer concerns the second.
func stepOf(parcel *trackingv1alpha1.Parcel, fold trackingv1alpha1.FoldResult, eventID string) (trackingv1alpha1.FoldStep, bool) {
	last := -1
	for i := range parcel.Spec.Events {
		if parcel.Spec.Events[i].ID == eventID {
			last = i
		}
	}
	for _, step := range fold.Steps {
		if step.Index == last {
			return step, true
		}
	}
	return trackingv1alpha1.FoldStep{}, false
}

func hasEvent(p *trackingv1alpha1.Parcel, eventID string) bool {
	for i := range p.Spec.Events {
		if p.Spec.Events[i].ID == eventID {
			return true
		}
	}
	return false
}
