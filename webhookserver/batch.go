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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/ratelimit"
)

const (
	// MaxBatchItems is the most updates one batch carries.
	MaxBatchItems = 500
	// maxBatchBytes bounds a batch's body: 500 updates of a few hundred
	// bytes each, with room for long remarks.
	maxBatchBytes = 4 << 20
	// batchTimeout bounds the handling of one batch: up to 500 parcels,
	// each one write.
	batchTimeout = 60 * time.Second
)

// BatchAnswer is the answer to a batch: one result per update, in the
// order sent. It is sent with 200 when every update's outcome is final
// (recorded, or refused for a reason retrying cannot fix), and with 503
// and Retry-After when the Kubernetes API became unavailable on the way:
// then the updates not known to be recorded say so, and the whole batch
// may be sent again (recorded updates come back duplicate).
type BatchAnswer struct {
	// Recorded counts the updates the parcels hold (applied, unchanged,
	// rejected, duplicate, attached never: a batch carries no files).
	Recorded int `json:"recorded"`
	// Refused counts the updates refused for what they carry (4xx).
	Refused int `json:"refused"`
	// Unknown counts the updates whose write failed or was not tried
	// because the Kubernetes API is unavailable: send them again.
	Unknown int `json:"unknown"`
	// Results holds one result per update, in the order sent.
	Results []BatchResult `json:"results"`
}

// BatchResult is the outcome of one update of a batch: its answer, or its
// problem, with the status code a single post would have been answered.
type BatchResult struct {
	// Index is the update's position in the batch, from 0.
	Index int `json:"index"`
	// Code is the HTTP status code the update alone would have got.
	Code int `json:"code"`
	// Answer is the update's answer, for a recorded update (200, 409).
	Answer *UpdateAnswer `json:"answer,omitempty"`
	// Problem says why the update was refused or not recorded.
	Problem *problemBody `json:"problem,omitempty"`
}

// batchItem is one update of a batch on its way.
type batchItem struct {
	index  int
	update Update
	result BatchResult
	// done says result is final.
	done bool
}

func (it *batchItem) refuse(err error) {
	p := problemFor(err)
	it.result = BatchResult{Index: it.index, Code: p.Status, Problem: p.body()}
	it.done = true
}

// handleBatch records a batch of updates (no files), one write per parcel,
// its updates in the order sent. Like handleUpdate, it reads the body and
// verifies the signature over all of it before it answers anything about a
// parcel or writes anything; the courier's rate counts every update.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, c *caller) error {
	courier := c.Courier
	receivedAt := s.Clock.Now()
	ctx, cancel := context.WithTimeout(r.Context(), batchTimeout)
	defer cancel()

	// Its errors are about the request's own bytes: they tell nothing.
	raws, err := readBatch(r)
	if err != nil {
		return err
	}
	if err := c.verifyBody(r.Body); err != nil {
		return err
	}
	if err := s.Guard.admitBatch(courier, len(raws), receivedAt); err != nil {
		return err
	}

	limits := s.Limits
	limits.StatusAliases = courier.Spec.StatusAliases
	items := make([]*batchItem, len(raws))
	// groups holds the items of each parcel, parcels in the order they first
	// appear.
	var order []client.ObjectKey
	groups := map[client.ObjectKey][]*batchItem{}
	for i, raw := range raws {
		it := &batchItem{index: i}
		items[i] = it
		if it.update, err = ParseUpdate(raw, receivedAt, limits); err != nil {
			it.refuse(err)
			continue
		}
		key := client.ObjectKey{Namespace: courier.Namespace, Name: trackingv1alpha1.ParcelName(it.update.ArticleID)}
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], it)
	}

	var outage error
	for _, key := range order {
		if outage != nil {
			for _, it := range groups[key] {
				it.refuse(outage)
			}
			continue
		}
		outage = s.recordGroup(ctx, courier, key, groups[key], receivedAt)
	}

	answer := BatchAnswer{Results: make([]BatchResult, len(items))}
	for i, it := range items {
		answer.Results[i] = it.result
		switch {
		case it.result.Answer != nil:
			answer.Recorded++
		case it.result.Code >= http.StatusInternalServerError:
			answer.Unknown++
		default:
			answer.Refused++
		}
	}
	code := http.StatusOK
	if outage != nil {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(retryAfter)))
	}
	writeJSON(w, code, "application/json", answer)
	return nil
}

// recordGroup records the updates of one parcel in one write and sets each
// one's result. It returns the error when the Kubernetes API is
// unavailable (5xx): then the updates not known to be recorded say so,
// and the batch goes no further.
func (s *Server) recordGroup(ctx context.Context, courier *trackingv1alpha1.Courier, key client.ObjectKey,
	group []*batchItem, receivedAt time.Time) error {
	articleID := group[0].update.ArticleID
	parcel, err := s.lookUpParcel(ctx, courier, key, articleID)
	if err == nil && parcel != nil && parcel.Spec.ArticleID != articleID {
		err = nameTaken(key, parcel.Spec.ArticleID)
	}
	if err != nil {
		for _, it := range group {
			it.refuse(err)
		}
		return outageOf(err)
	}

	// New events, in order; an update the parcel holds, or an earlier one
	// of this batch, is a duplicate.
	held := 0
	recorded := map[string]bool{}
	if parcel != nil {
		held = len(parcel.Spec.Events)
		for i := range parcel.Spec.Events {
			recorded[parcel.Spec.Events[i].ID] = true
		}
	}
	seen := maps.Clone(recorded)
	var (
		events  []trackingv1alpha1.TrackingEvent
		written []*batchItem
		retried = map[*batchItem]bool{}
	)
	for _, it := range group {
		u := it.update
		switch {
		case seen[u.EventID]:
			retried[it] = true
		case held+len(events) >= trackingv1alpha1.MaxEvents:
			it.refuse(parcelFull(key))
		default:
			seen[u.EventID] = true
			events = append(events, u.event(courier, receivedAt))
			written = append(written, it)
		}
	}

	if len(events) > 0 {
		release, err := s.Guard.acquireWrite(ctx, courier)
		var after *trackingv1alpha1.Parcel
		if err == nil {
			after, err = s.record(ctx, courier, key, articleID, parcel, events)
			release()
		}
		if err != nil {
			// What the parcel held before is recorded whatever this write
			// did; the rest shares its fate.
			for _, it := range group {
				if !it.done && !recorded[it.update.EventID] {
					it.refuse(err)
				}
			}
			if parcel != nil {
				s.answerAll(courier, parcel, group, retried)
			}
			return outageOf(err)
		}
		parcel = after
		for _, it := range written {
			if it.update.TimeReported {
				eventLag.WithLabelValues(courierLabel(courier)).Observe(receivedAt.Sub(it.update.Time).Seconds())
			}
		}
	}
	s.answerAll(courier, parcel, group, retried)
	return nil
}

// answerAll sets the answer of every update of the group that has no
// result yet, from the parcel as written.
func (s *Server) answerAll(courier *trackingv1alpha1.Courier, parcel *trackingv1alpha1.Parcel, group []*batchItem,
	retried map[*batchItem]bool) {
	fold := s.Transitions.Fold(parcel.Spec.Events)
	for _, it := range group {
		if it.done {
			continue
		}
		a, code, err := s.verdict(courier, parcel, fold, it.update, podResult{state: podNone}, retried[it])
		if err != nil {
			it.refuse(err)
			continue
		}
		it.result = BatchResult{Index: it.index, Code: code, Answer: a}
		it.done = true
	}
}

// outageOf returns err when it means the Kubernetes API is unavailable or
// failing (a 5xx answer), nil for a refusal of the updates themselves.
func outageOf(err error) error {
	if err != nil && problemFor(err).Status >= http.StatusInternalServerError {
		return err
	}
	return nil
}

// readBatch reads a batch's body: Content-Type application/json, a JSON
// array of 1 to MaxBatchItems values. Each value is checked later as an
// update on its own (ParseUpdate), so one bad update refuses only itself.
func readBatch(r *http.Request) ([]json.RawMessage, error) {
	accepted := "send Content-Type application/json with a JSON array of update objects"
	types := r.Header.Values("Content-Type")
	if len(types) != 1 {
		return nil, unsupportedMedia(fieldContentType, "Content-Type must be sent once; "+accepted)
	}
	mediaType, params, err := mime.ParseMediaType(types[0])
	if mediaType != mediaTypeJSON {
		return nil, unsupportedMedia(fieldContentType, fmt.Sprintf("Content-Type %s is not supported; %s",
			quoteShort(types[0]), accepted))
	}
	if p := utf8Params(types[0], params, err, accepted, "send the JSON body as UTF-8"); p != nil {
		return nil, p
	}
	if p := compressed(r); p != nil {
		return nil, p
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, readFailure(err, fieldBatch, "")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, fieldProblem(fieldBatch, "the body must be a JSON array of update objects, [{...}, {...}]")
	}
	var raws []json.RawMessage
	for dec.More() {
		if len(raws) == MaxBatchItems {
			return nil, batchTooLarge()
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fieldProblem(fieldBatch, fmt.Sprintf("element %d of the array is not valid JSON: %s",
				len(raws), shorten(jsonError(err))))
		}
		raws = append(raws, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fieldProblem(fieldBatch, "the JSON array is not closed: "+shorten(jsonError(err)))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fieldProblem(fieldBatch, "the body holds more than one JSON array; send one")
	}
	if len(raws) == 0 {
		return nil, fieldProblem(fieldBatch, fmt.Sprintf("the batch is empty; send 1 to %d updates", MaxBatchItems))
	}
	return raws, nil
}

// jsonError words a decoding error without Go's type names.
func jsonError(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("%s (at byte %d)", syntax.Error(), syntax.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the body ended before the array was complete"
	}
	return err.Error()
}

// batchTooLarge: more updates than a batch may carry.
func batchTooLarge() *Problem {
	detail := fmt.Sprintf("a batch carries at most %d updates; send the rest in another batch", MaxBatchItems)
	return &Problem{Status: http.StatusRequestEntityTooLarge, Type: slugTooLarge, Title: titleTooLarge, Detail: detail,
		Fields: []FieldError{{Field: fieldBatch, Detail: detail}}}
}

// maxBatchBody is the body bound of a batch.
func maxBatchBody(*trackingv1alpha1.Courier) int64 { return maxBatchBytes }
