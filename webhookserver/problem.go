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
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parcelops/parcel-operator/internal/ratelimit"
)

// problemTypeBase prefixes the type URI of every problem answer (RFC 9457).
const problemTypeBase = "https://parcelops.io/problems/"

// retryAfter is what a client is told to wait when the API server or the
// object store cannot be reached.
const retryAfter = 5 * time.Second

// Problem is every answer other than success: what the client (or the
// server) got wrong, written as an RFC 9457 application/problem+json body.
// Everything the handlers refuse or fail with is a *Problem, or becomes one
// in problemFor.
type Problem struct {
	// Status is the HTTP status code.
	Status int
	// Type is the problem type's slug ("invalid-request", "too-large",
	// ...); the answer's type URI is problemTypeBase followed by it.
	Type string
	// Title is short and fixed per type: "Invalid tracking update",
	// "Payload too large", "Unsupported media type", ...
	Title string
	// Detail is one sentence that says what is wrong and what is allowed.
	Detail string
	// Fields are the per-field problems, when the problem is in fields.
	Fields []FieldError
	// Parcel and EventID say which parcel and event a problem concerns,
	// once known.
	Parcel  string
	EventID string

	// retryAfter, when set, is sent as the Retry-After header.
	retryAfter time.Duration
	// refusal, when set, names the admission limit that refused the
	// request, for the refusals metric.
	refusal string
	// cause is what went wrong underneath (a read error, say), for logs
	// and errors.Is/As; never sent.
	cause error
}

// Error is the status, title and detail, each field's detail when there
// are several, and the cause.
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %s", p.Status, p.Title, p.Detail)
	if len(p.Fields) > 1 {
		for _, f := range p.Fields {
			b.WriteString("; ")
			b.WriteString(f.Detail)
		}
	}
	if p.cause != nil {
		b.WriteString(": ")
		b.WriteString(p.cause.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any: a *http.MaxBytesError behind
// a 413, io.ErrUnexpectedEOF behind a body cut short.
func (p *Problem) Unwrap() error { return p.cause }

// problemBody is a Problem as sent.
type problemBody struct {
	Type    string       `json:"type"`
	Title   string       `json:"title"`
	Status  int          `json:"status"`
	Detail  string       `json:"detail"`
	Errors  []FieldError `json:"errors,omitempty"`
	Parcel  string       `json:"parcel,omitempty"`
	EventID string       `json:"eventId,omitempty"`
}

// Slugs of the problems a client can fix in its request.
const (
	slugInvalid     = "invalid-request"
	slugTooLarge    = "too-large"
	slugUnsupported = "unsupported-media-type"
)

func newProblem(status int, slug, title, detail string) *Problem {
	return &Problem{Status: status, Type: slug, Title: title, Detail: detail}
}

// unavailable is the answer while a dependency cannot be reached: 503 with
// Retry-After, nothing recorded, safe to retry.
func unavailable(what string, cause error) *Problem {
	p := newProblem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
		what+" cannot be reached right now; retry after the delay given in Retry-After (a retried update is counted once)")
	p.retryAfter = retryAfter
	p.cause = cause
	return p
}

// problemFor decides, in one place, the answer for any error the handler
// meets. Anything not a *Problem is the server's fault: 500, details only
// in the log.
func problemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	p = newProblem(http.StatusInternalServerError, "internal", "Internal error",
		"the server failed to handle the request; retry later (a retried update is counted once)")
	p.cause = err
	return p
}

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *Problem) {
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(p.retryAfter)))
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parcel-operator"`)
	}
	writeJSON(w, p.Status, "application/problem+json", p.body())
}

// body is the problem as sent.
func (p *Problem) body() *problemBody {
	return &problemBody{
		Type: problemTypeBase + p.Type, Title: p.Title, Status: p.Status, Detail: p.Detail,
		Errors: p.Fields, Parcel: p.Parcel, EventID: p.EventID,
	}
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

// maxQuotedRunes bounds how much of a client's value an answer repeats.
const maxQuotedRunes = 64

// Titles of the problem kinds (RFC 9457 "title": fixed per kind).
const (
	titleInvalid     = "Invalid tracking update"
	titleTooLarge    = "Payload too large"
	titleUnsupported = "Unsupported media type"
)

// FieldError is one problem with one field.
type FieldError struct {
	// Field is form_data, articleId, track_status, track_datetime, remarks,
	// eventId, pod_file, Content-Type or Content-Encoding; for an unknown
	// JSON member or multipart part, its name.
	Field string `json:"field"`
	// Detail says what is wrong, and what is allowed.
	Detail string `json:"detail"`
	// Accepted lists the accepted values, for track_status.
	Accepted []string `json:"accepted,omitempty"`
}

// fieldProblem is a 400 about one field; its detail is the answer's.
func fieldProblem(field, detail string) *Problem {
	return &Problem{Status: http.StatusBadRequest, Type: slugInvalid, Title: titleInvalid, Detail: detail,
		Fields: []FieldError{{Field: field, Detail: detail}}}
}

// fieldProblems is a 400 about several fields at once.
func fieldProblems(fields []FieldError) *Problem {
	if len(fields) == 1 {
		return &Problem{Status: http.StatusBadRequest, Type: slugInvalid, Title: titleInvalid, Detail: fields[0].Detail, Fields: fields}
	}
	var names []string
	for _, f := range fields {
		if len(names) == 0 || names[len(names)-1] != f.Field {
			names = append(names, f.Field)
		}
	}
	return &Problem{Status: http.StatusBadRequest, Type: slugInvalid, Title: titleInvalid,
		Detail: fmt.Sprintf("the tracking update has %d problems (%s); each field's problem is described separately",
			len(fields), strings.Join(names, ", ")),
		Fields: fields}
}

// unsupportedMedia is a 415 about a header.
func unsupportedMedia(field, detail string) *Problem {
	return &Problem{Status: http.StatusUnsupportedMediaType, Type: slugUnsupported, Title: titleUnsupported, Detail: detail,
		Fields: []FieldError{{Field: field, Detail: detail}}}
}

// formDataTooLarge is the 413 for a form_data part (or JSON body) over the
// limit.
func formDataTooLarge(limit int64) *Problem {
	detail := fmt.Sprintf("form_data is larger than %d bytes, the most one tracking update may be", limit)
	return &Problem{Status: http.StatusRequestEntityTooLarge, Type: slugTooLarge, Title: titleTooLarge, Detail: detail,
		Fields: []FieldError{{Field: fieldFormData, Detail: detail}}}
}

// readFailure turns an error met while reading the body into the answer:
// 413 when the body hit the caller's http.MaxBytesReader cap, 400 when it
// ended early or could not be read. field is the part being read.
func readFailure(err error, field, where string) *Problem {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		detail := fmt.Sprintf("the request body is larger than the %d bytes allowed", tooBig.Limit)
		return &Problem{Status: http.StatusRequestEntityTooLarge, Type: slugTooLarge, Title: titleTooLarge, Detail: detail,
			Fields: []FieldError{{Field: field, Detail: detail}}, cause: err}
	}
	if where != "" {
		where = " " + where
	}
	var detail string
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		detail = "the request body ended" + where + " before it was complete; send the whole body"
	case errors.Is(err, multipart.ErrMessageTooLarge):
		detail = "a multipart part's headers are too large; send only Content-Disposition and Content-Type"
	default:
		detail = "the request body could not be read" + where + ": " + shorten(err.Error())
	}
	e := fieldProblem(field, detail)
	e.cause = err
	return e
}

// fieldName is a client's name for an unknown member or part, as
// FieldError.Field reports it: shortened, valid UTF-8, never empty.
func fieldName(name string) string {
	name = strings.ToValidUTF8(truncateRunes(name, maxQuotedRunes), "\uFFFD")
	if name == "" {
		return fieldFormData
	}
	return name
}

// quoteShort quotes a client's value for a message, shortened.
func quoteShort(s string) string {
	if short := truncateRunes(s, maxQuotedRunes); short != s {
		return strconv.Quote(short) + "…"
	}
	return strconv.Quote(s)
}

// truncateRunes keeps the first n runes of s.
func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// shorten bounds a message that may repeat a client's bytes.
func shorten(s string) string {
	return strings.ToValidUTF8(truncateRunes(s, 2*maxQuotedRunes), "\uFFFD")
}

func quoteList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	return strings.Join(quoted, ", ")
}
