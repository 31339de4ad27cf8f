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
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Limits bound what one request may carry. A zero (or negative) field means
// its default.
type Limits struct {
	// MaxFormDataBytes bounds the form_data part, or the whole JSON body.
	MaxFormDataBytes int64
	// MaxClockSkew is how far in the future track_datetime may be, for
	// couriers whose clocks run ahead of ours.
	MaxClockSkew time.Duration
	// StatusAliases are the calling courier's own status codes
	// (Courier.spec.statusAliases), accepted as track_status after the
	// built-in spellings; none when nil.
	StatusAliases map[string]v1alpha1.TrackingStatus
}

const (
	// DefaultMaxFormDataBytes is the default cap on form_data: an update is
	// a few hundred bytes, so 64 KiB leaves room for the longest remarks
	// without letting a client make us buffer much.
	DefaultMaxFormDataBytes = 64 << 10
	// DefaultMaxClockSkew is the default for how far ahead of our clock a
	// courier's may be.
	DefaultMaxClockSkew = 5 * time.Minute
)

// withDefaults fills in the fields left zero.
func (l Limits) withDefaults() Limits {
	if l.MaxFormDataBytes <= 0 {
		l.MaxFormDataBytes = DefaultMaxFormDataBytes
	}
	if l.MaxClockSkew <= 0 {
		l.MaxClockSkew = DefaultMaxClockSkew
	}
	return l
}

// The accepted media types.
const (
	mediaTypeMultipart  = "multipart/form-data"
	mediaTypeJSON       = "application/json"
	mediaTypeURLEncoded = "application/x-www-form-urlencoded"
)

// ReadRequest reads the update (and opens the pod_file part, if any) from r's
// body. The caller has already wrapped r.Body in http.MaxBytesReader; a
// *http.MaxBytesError surfacing while reading form_data becomes a 413. The
// error is always a *Problem. On success the caller reads POD.Body (if
// any) and then calls Finish.
func ReadRequest(r *http.Request, receivedAt time.Time, limits Limits) (*Incoming, error) {
	limits = limits.withDefaults()
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	if p := compressed(r); p != nil {
		return nil, p
	}
	accepted := "send Content-Type multipart/form-data (a form_data part, then optionally a pod_file part), " +
		"application/x-www-form-urlencoded (one form_data field) or application/json (the update object as the body)"
	types := r.Header.Values("Content-Type")
	switch {
	case len(types) == 0 || strings.TrimSpace(types[0]) == "":
		return nil, unsupportedMedia(fieldContentType, "Content-Type is missing; "+accepted)
	case len(types) > 1:
		return nil, unsupportedMedia(fieldContentType, "Content-Type is sent more than once; "+accepted)
	}
	mediaType, params, err := mime.ParseMediaType(types[0])
	switch mediaType {
	case mediaTypeMultipart:
		boundary := params["boundary"]
		switch {
		case err != nil || boundary == "":
			return nil, fieldProblem(fieldFormData, "the Content-Type multipart/form-data has no valid boundary parameter, "+
				"so form_data cannot be found; send e.g. multipart/form-data; boundary=x7f3a9")
		case len(boundary) > maxBoundaryLength:
			return nil, fieldProblem(fieldFormData, fmt.Sprintf(
				"the multipart boundary is %d bytes long; at most %d are allowed (RFC 2046)", len(boundary), maxBoundaryLength))
		}
		return readMultipart(body, boundary, receivedAt, limits)
	case mediaTypeJSON:
		if p := utf8Params(types[0], params, err, accepted, "send the JSON body as UTF-8"); p != nil {
			return nil, p
		}
		return readJSON(body, receivedAt, limits)
	case mediaTypeURLEncoded:
		if p := utf8Params(types[0], params, err, accepted, "percent-encode the form's UTF-8 bytes"); p != nil {
			return nil, p
		}
		return readURLEncoded(body, receivedAt, limits)
	default:
		return nil, unsupportedMedia(fieldContentType, fmt.Sprintf("Content-Type %s is not supported; %s",
			quoteShort(types[0]), accepted))
	}
}

// compressed refuses a body sent with a Content-Encoding other than
// identity: both routes read bodies as sent.
func compressed(r *http.Request) *Problem {
	if ce := strings.TrimSpace(r.Header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		return unsupportedMedia(fieldContentEncoding, fmt.Sprintf(
			"Content-Encoding %s is not supported; send the body uncompressed", quoteShort(ce)))
	}
	return nil
}

// utf8Params refuses the parameters of a text media type that do not parse,
// or that name a charset other than UTF-8 (advice says how to send UTF-8).
func utf8Params(contentType string, params map[string]string, parseErr error, accepted, advice string) *Problem {
	if parseErr != nil {
		return unsupportedMedia(fieldContentType, fmt.Sprintf("Content-Type %s has parameters that do not parse; %s",
			quoteShort(contentType), accepted))
	}
	if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return unsupportedMedia(fieldContentType, fmt.Sprintf("charset %s is not supported; %s", quoteShort(cs), advice))
	}
	return nil
}

// readJSON reads a JSON body: at most one byte more than the limit.
func readJSON(body io.Reader, receivedAt time.Time, limits Limits) (*Incoming, error) {
	data, err := io.ReadAll(io.LimitReader(body, limits.MaxFormDataBytes+1))
	if err != nil {
		return nil, readFailure(err, fieldFormData, "inside the JSON body")
	}
	if int64(len(data)) > limits.MaxFormDataBytes {
		return nil, formDataTooLarge(limits.MaxFormDataBytes)
	}
	u, err := ParseUpdate(data, receivedAt, limits)
	if err != nil {
		return nil, err
	}
	// The body has been read to its end: Finish has nothing left to do.
	return &Incoming{Update: u, body: body, ended: true}, nil
}
