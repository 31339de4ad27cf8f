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
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/parcelops/parcel-operator/internal/ratelimit"
)

// problemTypeBase prefixes the type URI of every problem answer (RFC 9457).
const problemTypeBase = "https://parcelops.io/problems/"

// retryAfter is what a client is told to wait when the API server or the
// object store cannot be reached.
const retryAfter = 5 * time.Second

// Problem is an RFC 9457 problem details answer.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
	// Parcel and EventID say which parcel and event a problem concerns, once
	// known.
	Parcel  string `json:"parcel,omitempty"`
	EventID string `json:"eventId,omitempty"`
}

// problemError is a failure the handler answers with a given problem.
type problemError struct {
	problem Problem
	// retryAfter, when set, is sent as the Retry-After header.
	retryAfter time.Duration
	// cause is logged, never sent.
	cause error
	// refusal, when set, names the admission limit that refused the
	// request, for the refusals metric.
	refusal string
}

func (e *problemError) Error() string {
	if e.cause != nil {
		return e.problem.Detail + ": " + e.cause.Error()
	}
	return e.problem.Detail
}

func (e *problemError) Unwrap() error { return e.cause }

func newProblem(status int, slug, title, detail string) *problemError {
	return &problemError{problem: Problem{Type: problemTypeBase + slug, Title: title, Status: status, Detail: detail}}
}

// unavailable is the answer while a dependency cannot be reached: 503 with
// Retry-After, nothing recorded, safe to retry.
func unavailable(what string, cause error) *problemError {
	p := newProblem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
		what+" cannot be reached right now; retry after the delay given in Retry-After (a retried update is counted once)")
	p.retryAfter = retryAfter
	p.cause = cause
	return p
}

// problemFor decides, in one place, the answer for any error the handler
// meets. Anything not recognised is the server's fault: 500, details only
// in the log.
func problemFor(err error) *problemError {
	var pe *problemError
	if errors.As(err, &pe) {
		return pe
	}
	var re *RequestError
	if errors.As(err, &re) {
		slug := map[int]string{
			http.StatusBadRequest:            "invalid-request",
			http.StatusRequestEntityTooLarge: "too-large",
			http.StatusUnsupportedMediaType:  "unsupported-media-type",
		}[re.Status]
		if slug == "" {
			slug = "invalid-request"
		}
		p := newProblem(re.Status, slug, re.Title, re.Detail)
		p.problem.Errors = re.Fields
		p.cause = re.cause
		return p
	}
	p := newProblem(http.StatusInternalServerError, "internal", "Internal error",
		"the server failed to handle the request; retry later (a retried update is counted once)")
	p.cause = err
	return p
}

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *problemError) {
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(p.retryAfter)))
	}
	if p.problem.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parcel-operator"`)
	}
	writeJSON(w, p.problem.Status, "application/problem+json", p.problem)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, body any) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}
