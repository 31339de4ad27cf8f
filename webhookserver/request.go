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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

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

// earliestTrackTime is the earliest track_datetime accepted. No parcel this
// operator tracks was scanned before 2000; an earlier time is a courier
// system's zero value or epoch default (0001-01-01, 1970-01-01). Because the
// fold orders events by time, such an event would silently become the
// parcel's first scan, so it is refused instead.
var earliestTrackTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

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

// Update is one validated tracking update.
type Update struct {
	// ArticleID is the parcel's article ID, as sent (it passed
	// v1alpha1.ValidateArticleID).
	ArticleID string
	// Status is the update's status in canonical form.
	Status v1alpha1.TrackingStatus
	// ReportedStatus is track_status as the courier spelled it.
	ReportedStatus string
	// Time is when the update happened: UTC, truncated to whole seconds
	// (what the API stores).
	Time time.Time
	// TimeReported is false when track_datetime was absent and Time is the
	// receive time.
	TimeReported bool
	// Remarks is the courier's free text, possibly empty.
	Remarks string
	// EventID is the courier's eventId, else
	// v1alpha1.DeriveEventID(ArticleID, Status, Time).
	EventID string
	// EventIDReported is true when EventID is the courier's.
	EventIDReported bool
}

// Names of the request's parts, JSON members and headers, as FieldError.Field
// reports them.
const (
	fieldFormData      = "form_data"
	fieldPODFile       = "pod_file"
	fieldArticleID     = "articleId"
	fieldTrackStatus   = "track_status"
	fieldTrackDatetime = "track_datetime"
	fieldRemarks       = "remarks"
	fieldEventID       = "eventId"
	fieldContentType   = "Content-Type"
	// fieldContentEncoding: a compressed body is refused (415) before
	// anything else is looked at.
	fieldContentEncoding = "Content-Encoding"
)

// updateFields are the members of the update object, in the order problems
// are reported.
var updateFields = []string{fieldArticleID, fieldTrackStatus, fieldTrackDatetime, fieldRemarks, fieldEventID}

// Titles of the problem kinds (RFC 9457 "title": fixed per kind).
const (
	titleInvalid     = "Invalid tracking update"
	titleTooLarge    = "Payload too large"
	titleUnsupported = "Unsupported media type"
)

// The two accepted media types.
const (
	mediaTypeMultipart = "multipart/form-data"
	mediaTypeJSON      = "application/json"
)

const (
	// maxBoundaryLength is RFC 2046's limit on a multipart boundary.
	maxBoundaryLength = 70
	// maxEpilogueBytes is about how much a client may send after the
	// closing boundary (RFC 2046 says to ignore it; clients send a line
	// break at most): Finish reads this much more than the multipart reader
	// has already buffered, and refuses a longer body rather than read it
	// without end.
	maxEpilogueBytes = 4 << 10
	// maxFilenameBytes is the longest filename kept, the CRD's limit.
	maxFilenameBytes = 255
	// maxExtensionBytes is the longest extension kept whole when a long
	// filename is shortened.
	maxExtensionBytes = 16
	// maxUnknownReported bounds how many unknown members are named one by
	// one; the rest are counted.
	maxUnknownReported = 10
	// maxQuotedRunes bounds how much of a client's value an error repeats.
	maxQuotedRunes = 64
)

// RequestError is a problem with the request a client can fix; the handler
// writes it as an RFC 9457 application/problem+json answer.
type RequestError struct {
	// Status is 400, 413 or 415.
	Status int
	// Title is short and fixed per kind: "Invalid tracking update",
	// "Payload too large", "Unsupported media type".
	Title string
	// Detail is one sentence that says what is wrong and what is allowed.
	Detail string
	// Fields are the per-field problems, when the problem is in fields.
	Fields []FieldError
	// cause is what went wrong underneath (a read error, say), for logs
	// and errors.As; never sent.
	cause error
}

// Error is the detail, and each field's detail when there are several.
func (e *RequestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %s", e.Status, e.Title, e.Detail)
	if len(e.Fields) > 1 {
		for _, f := range e.Fields {
			b.WriteString("; ")
			b.WriteString(f.Detail)
		}
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any: a *http.MaxBytesError behind
// a 413, io.ErrUnexpectedEOF behind a body cut short.
func (e *RequestError) Unwrap() error { return e.cause }

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
func fieldProblem(field, detail string) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Title: titleInvalid, Detail: detail,
		Fields: []FieldError{{Field: field, Detail: detail}}}
}

// fieldProblems is a 400 about several fields at once.
func fieldProblems(fields []FieldError) *RequestError {
	if len(fields) == 1 {
		return &RequestError{Status: http.StatusBadRequest, Title: titleInvalid, Detail: fields[0].Detail, Fields: fields}
	}
	var names []string
	for _, f := range fields {
		if len(names) == 0 || names[len(names)-1] != f.Field {
			names = append(names, f.Field)
		}
	}
	return &RequestError{Status: http.StatusBadRequest, Title: titleInvalid,
		Detail: fmt.Sprintf("the tracking update has %d problems (%s); each field's problem is described separately",
			len(fields), strings.Join(names, ", ")),
		Fields: fields}
}

// unsupportedMedia is a 415 about a header.
func unsupportedMedia(field, detail string) *RequestError {
	return &RequestError{Status: http.StatusUnsupportedMediaType, Title: titleUnsupported, Detail: detail,
		Fields: []FieldError{{Field: field, Detail: detail}}}
}

// formDataTooLarge is the 413 for a form_data part (or JSON body) over the
// limit.
func formDataTooLarge(limit int64) *RequestError {
	detail := fmt.Sprintf("form_data is larger than %d bytes, the most one tracking update may be", limit)
	return &RequestError{Status: http.StatusRequestEntityTooLarge, Title: titleTooLarge, Detail: detail,
		Fields: []FieldError{{Field: fieldFormData, Detail: detail}}}
}

// readFailure turns an error met while reading the body into the answer:
// 413 when the body hit the caller's http.MaxBytesReader cap, 400 when it
// ended early or could not be read. field is the part being read.
func readFailure(err error, field, where string) *RequestError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		detail := fmt.Sprintf("the request body is larger than the %d bytes allowed", tooBig.Limit)
		return &RequestError{Status: http.StatusRequestEntityTooLarge, Title: titleTooLarge, Detail: detail,
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

// ParseUpdate validates one form_data JSON object. receivedAt is the server's
// receive time. The error is always a *RequestError (400, or 413 when data is
// larger than limits.MaxFormDataBytes) and lists every field's problem.
func ParseUpdate(data []byte, receivedAt time.Time, limits Limits) (Update, error) {
	limits = limits.withDefaults()
	if int64(len(data)) > limits.MaxFormDataBytes {
		return Update{}, formDataTooLarge(limits.MaxFormDataBytes)
	}
	obj, rerr := readObject(data)
	if rerr != nil {
		return Update{}, rerr
	}

	var problems []FieldError
	problem := func(field, format string, args ...any) {
		problems = append(problems, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	u := Update{}

	articleID, state := obj.text(fieldArticleID, &problems)
	switch state {
	case memberAbsent:
		problem(fieldArticleID, "articleId is required: send the parcel's article ID as a JSON string")
	case memberPresent:
		if err := v1alpha1.ValidateArticleID(articleID); err != nil {
			problem(fieldArticleID, "articleId %s", err)
		}
		u.ArticleID = articleID
	}

	reported, state := obj.text(fieldTrackStatus, &problems)
	switch state {
	case memberAbsent:
		problem(fieldTrackStatus, "track_status is required; accepted (ignoring case, spaces and punctuation): %s",
			quoteList(v1alpha1.AcceptedSpellings()))
	case memberPresent:
		status, err := v1alpha1.ParseTrackingStatus(reported)
		if err != nil {
			what := "track_status " + quoteShort(reported) + " is not a known status"
			if strings.TrimSpace(reported) == "" {
				what = "track_status is empty"
			}
			problem(fieldTrackStatus, "%s; accepted (ignoring case, spaces and punctuation): %s",
				what, quoteList(v1alpha1.AcceptedSpellings()))
		}
		u.Status, u.ReportedStatus = status, reported
	}

	datetime, state := obj.text(fieldTrackDatetime, &problems)
	switch state {
	case memberAbsent:
		u.Time = receivedAt.UTC().Truncate(time.Second)
	case memberPresent:
		t, err := time.Parse(time.RFC3339, datetime)
		latest := receivedAt.Add(limits.MaxClockSkew)
		switch {
		case err != nil:
			problem(fieldTrackDatetime, "track_datetime %s is not an RFC 3339 time; send e.g. 2025-10-08T10:15:00Z "+
				"or 2025-10-08T12:15:00.5+02:00, or leave it out to use the time the update is received", quoteShort(datetime))
		case t.After(latest):
			problem(fieldTrackDatetime, "track_datetime %s is in the future; the latest allowed now is %s (%s after the server's clock)",
				quoteShort(datetime), latest.UTC().Format(time.RFC3339), limits.MaxClockSkew)
		case t.Before(earliestTrackTime):
			problem(fieldTrackDatetime, "track_datetime %s is before %s, the earliest allowed; send when the scan really happened",
				quoteShort(datetime), earliestTrackTime.Format(time.RFC3339))
		default:
			u.Time, u.TimeReported = t.UTC().Truncate(time.Second), true
		}
	}

	remarks, state := obj.text(fieldRemarks, &problems)
	if state == memberPresent {
		if detail := checkRemarks(remarks); detail != "" {
			problem(fieldRemarks, "%s", detail)
		}
		u.Remarks = remarks
	}

	eventID, state := obj.text(fieldEventID, &problems)
	if state == memberPresent {
		if err := v1alpha1.ValidateEventID(eventID); err != nil {
			problem(fieldEventID, "eventId %s; leave it out to have one derived from the update", err)
		}
		u.EventID, u.EventIDReported = eventID, true
	}

	problems = append(problems, obj.unknownProblems()...)
	for i := range problems {
		if problems[i].Field == fieldTrackStatus {
			problems[i].Accepted = v1alpha1.AcceptedSpellings()
		}
	}
	if len(problems) > 0 {
		return Update{}, fieldProblems(problems)
	}
	if !u.EventIDReported {
		u.EventID = v1alpha1.DeriveEventID(u.ArticleID, u.Status, u.Time)
	}
	return u, nil
}

// checkRemarks says what is wrong with remarks, or "".
func checkRemarks(s string) string {
	if n := utf8.RuneCountInString(s); n > v1alpha1.MaxRemarksLength {
		return fmt.Sprintf("remarks is %d characters long; at most %d are allowed", n, v1alpha1.MaxRemarksLength)
	}
	i := 0
	for _, r := range s {
		i++
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return fmt.Sprintf("remarks contains the control character U+%04X at character %d; "+
				"only tab, line feed and carriage return are allowed", r, i)
		}
	}
	return ""
}

// jsonMemberState says whether a member of the update object is usable.
type jsonMemberState int

const (
	memberAbsent  jsonMemberState = iota // not sent
	memberPresent                        // sent once, a valid JSON string
	memberInvalid                        // sent, but unusable; a problem was recorded
)

// jsonMember is one name of the update object.
type jsonMember struct {
	// raw is the value as sent (of the last occurrence).
	raw json.RawMessage
	// count is how many times the name occurred.
	count int
}

// updateObject is the update object, tokenised: encoding/json alone would take
// the last of two equal names and any type for a string, silently.
type updateObject struct {
	members map[string]*jsonMember
	// unknown are the names not in updateFields, in order of appearance.
	unknown []string
}

// readObject checks that data is exactly one JSON object and splits it into
// its members. Only the structure is judged here; values are judged by
// ParseUpdate.
func readObject(data []byte) (*updateObject, *RequestError) {
	// The whole input is checked first: encoding/json's Decoder reports
	// offsets of syntax errors inside a value relative to the value, while
	// Unmarshal reports them from the start of the input, which is what a
	// client can find.
	if err := json.Unmarshal(data, &json.RawMessage{}); err != nil {
		return nil, syntaxProblem(err, data)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxProblem(err, data)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fieldProblem(fieldFormData, fmt.Sprintf(
			`form_data must be a JSON object like {"articleId":"…","track_status":"…"}, not %s`, jsonKind(tok)))
	}
	obj := &updateObject{members: map[string]*jsonMember{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxProblem(err, data)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxProblem(err, data)
		}
		m := obj.members[name]
		if m == nil {
			m = &jsonMember{}
			obj.members[name] = m
			if !isUpdateField(name) {
				obj.unknown = append(obj.unknown, name)
			}
		}
		m.raw, m.count = raw, m.count+1
	}
	// The closing brace; json.Unmarshal above has ruled out anything after it.
	if _, err := dec.Token(); err != nil {
		return nil, syntaxProblem(err, data)
	}
	return obj, nil
}

// text returns a known member's string value, or records why it has none.
func (o *updateObject) text(name string, problems *[]FieldError) (string, jsonMemberState) {
	m := o.members[name]
	if m == nil {
		return "", memberAbsent
	}
	record := func(format string, args ...any) (string, jsonMemberState) {
		*problems = append(*problems, FieldError{Field: name, Detail: fmt.Sprintf(format, args...)})
		return "", memberInvalid
	}
	if m.count > 1 {
		return record("%s appears %d times in form_data; send it once", name, m.count)
	}
	if kind := jsonKindOf(m.raw); kind != "a string" {
		return record(`%s must be a JSON string like "…", not %s`, name, kind)
	}
	if !validStringLiteral(m.raw) {
		return record("%s is not valid UTF-8 text (an invalid byte or an unpaired \\u surrogate escape); send UTF-8", name)
	}
	var s string
	if err := json.Unmarshal(m.raw, &s); err != nil {
		return record("%s is not a valid JSON string: %s", name, shorten(err.Error()))
	}
	return s, memberPresent
}

// unknownProblems names the unknown members.
func (o *updateObject) unknownProblems() []FieldError {
	var out []FieldError
	allowed := strings.Join(updateFields, ", ")
	for i, name := range o.unknown {
		if i == maxUnknownReported {
			out = append(out, FieldError{Field: fieldFormData, Detail: fmt.Sprintf(
				"form_data has %d more unknown fields; the allowed fields are %s", len(o.unknown)-i, allowed)})
			break
		}
		out = append(out, FieldError{Field: fieldName(name), Detail: fmt.Sprintf(
			"%s is not a known field; the allowed fields are %s", quoteShort(name), allowed)})
	}
	return out
}

func isUpdateField(name string) bool {
	for _, f := range updateFields {
		if f == name {
			return true
		}
	}
	return false
}

// syntaxProblem describes JSON that does not parse.
func syntaxProblem(err error, data []byte) *RequestError {
	var syn *json.SyntaxError
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return fieldProblem(fieldFormData, `form_data is empty; send a JSON object like {"articleId":"…","track_status":"…"}`)
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "after top-level value"):
		return fieldProblem(fieldFormData, fmt.Sprintf(
			"form_data has data after the JSON object, at byte %d; send exactly one JSON object", syn.Offset))
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "unexpected end"):
		return fieldProblem(fieldFormData, fmt.Sprintf(
			"form_data is not valid JSON: it ends after %d bytes, before the object is complete", len(data)))
	case errors.As(err, &syn):
		// Offset counts the bytes read up to and including the offending
		// one: the offending byte's position, counting from 1.
		return fieldProblem(fieldFormData, fmt.Sprintf("form_data is not valid JSON: %s at byte %d; send one JSON object",
			shorten(syn.Error()), syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fieldProblem(fieldFormData, fmt.Sprintf(
			"form_data is not valid JSON: it ends after %d bytes, before the object is complete", len(data)))
	default:
		return fieldProblem(fieldFormData, "form_data is not valid JSON: "+shorten(err.Error()))
	}
}

// jsonKind names the JSON type of a token, for messages.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

// jsonKindOf names the JSON type of a raw value.
func jsonKindOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// validStringLiteral reports whether a JSON string literal (quotes
// included, syntax already checked) holds valid UTF-8 text: no invalid
// byte and no \u escape of an unpaired surrogate. encoding/json would
// quietly turn either into U+FFFD.
func validStringLiteral(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 1; i < len(raw)-1; i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if raw[i] != 'u' || i+4 >= len(raw) {
			continue
		}
		r := hexRune(raw[i+1 : i+5])
		i += 4
		if !utf16.IsSurrogate(r) {
			continue
		}
		// r must be a high surrogate followed by an escaped low one.
		if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
			if utf16.DecodeRune(r, hexRune(raw[i+3:i+7])) != unicode.ReplacementChar {
				i += 6
				continue
			}
		}
		return false
	}
	return true
}

// hexRune reads four hex digits; -1 when they are not.
func hexRune(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 32)
	if err != nil {
		return -1
	}
	return rune(n)
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

// Incoming is a parsed request; POD is nil when no pod_file came.
type Incoming struct {
	Update Update
	POD    *PODPart

	// body is the request body, read to its end by Finish.
	body io.Reader
	// mr reads the multipart body through closing; nil for a JSON body.
	mr      *multipart.Reader
	closing *closeWatcher
	// pod reads pod_file; nil when none came.
	pod *podReader
	// ended is true once the closing boundary was read.
	ended bool
	// finished and finishErr make Finish idempotent.
	finished  bool
	finishErr error
}

// PODPart is the proof-of-delivery file of a request.
type PODPart struct {
	// Filename is the client's filename reduced to a safe base name (no
	// directories, no "..", no control characters, valid UTF-8, at most 255
	// bytes); "" if none. It is for display only.
	Filename string
	// DeclaredType is the part's Content-Type as sent; informational only,
	// never trusted.
	DeclaredType string
	// Body is the file's bytes, streamed from the request body (never
	// buffered whole). A failure to read it is a *RequestError (400, or 413
	// wrapping the *http.MaxBytesError) that wraps the cause.
	Body io.Reader
}

// podReader streams pod_file and remembers the first failure, so that
// Finish reports it too.
type podReader struct {
	part *multipart.Part
	err  error
}

func (p *podReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.part.Read(b)
	if err != nil && err != io.EOF {
		p.err = readFailure(err, fieldPODFile, "inside pod_file")
		return n, p.err
	}
	return n, err
}

// ReadRequest reads the update (and opens the pod_file part, if any) from r's
// body. The caller has already wrapped r.Body in http.MaxBytesReader; a
// *http.MaxBytesError surfacing while reading form_data becomes a 413. The
// error is always a *RequestError. On success the caller reads POD.Body (if
// any) and then calls Finish.
func ReadRequest(r *http.Request, receivedAt time.Time, limits Limits) (*Incoming, error) {
	limits = limits.withDefaults()
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	if ce := strings.TrimSpace(r.Header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, unsupportedMedia(fieldContentEncoding, fmt.Sprintf(
			"Content-Encoding %s is not supported; send the body uncompressed", quoteShort(ce)))
	}
	accepted := `send Content-Type multipart/form-data (a form_data part, then optionally a pod_file part) or application/json (the update object as the body)`
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
		if err != nil {
			return nil, unsupportedMedia(fieldContentType, fmt.Sprintf("Content-Type %s has parameters that do not parse; %s",
				quoteShort(types[0]), accepted))
		}
		if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			return nil, unsupportedMedia(fieldContentType, fmt.Sprintf("charset %s is not supported; send the JSON body as UTF-8",
				quoteShort(cs)))
		}
		return readJSON(body, receivedAt, limits)
	default:
		return nil, unsupportedMedia(fieldContentType, fmt.Sprintf("Content-Type %s is not supported; %s",
			quoteShort(types[0]), accepted))
	}
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

// readMultipart reads form_data and opens pod_file, if it follows.
func readMultipart(body io.Reader, boundary string, receivedAt time.Time, limits Limits) (*Incoming, error) {
	in := &Incoming{body: body, closing: newCloseWatcher(body, boundary)}
	in.mr = multipart.NewReader(in.closing, boundary)

	part, err := in.mr.NextRawPart()
	switch {
	case err == io.EOF:
		return nil, fieldProblem(fieldFormData, "form_data is missing: the multipart body has no parts; "+
			"send a form_data part holding the update as JSON")
	case errors.Is(err, io.EOF):
		e := fieldProblem(fieldFormData, fmt.Sprintf("form_data is missing: the body holds no part opened by the line --%s; "+
			"send a form_data part holding the update as JSON", shorten(boundary)))
		e.cause = err
		return nil, e
	case err != nil:
		return nil, multipartFailure(err, fieldFormData, boundary)
	}
	name, _, rerr := partName(part)
	if rerr != nil {
		return nil, rerr
	}
	switch name {
	case fieldFormData:
	case fieldPODFile:
		return nil, fieldProblem(fieldFormData, "form_data must come before pod_file: the server needs the update "+
			"before it can stream the file to storage; send form_data as the first part")
	default:
		return nil, unexpectedPart(name, "form_data is missing: the first part must be form_data")
	}
	if rerr := checkEncoding(part, fieldFormData); rerr != nil {
		return nil, rerr
	}
	data, err := io.ReadAll(io.LimitReader(part, limits.MaxFormDataBytes+1))
	if err != nil {
		return nil, readFailure(err, fieldFormData, "inside form_data")
	}
	if int64(len(data)) > limits.MaxFormDataBytes {
		return nil, formDataTooLarge(limits.MaxFormDataBytes)
	}
	if in.Update, err = ParseUpdate(data, receivedAt, limits); err != nil {
		return nil, err
	}

	part, err = in.mr.NextRawPart()
	switch {
	case err == io.EOF && !in.closing.seen:
		return nil, unclosedMultipart(fieldFormData, boundary)
	case err == io.EOF:
		in.ended = true
		return in, nil
	case err != nil:
		return nil, multipartFailure(err, fieldFormData, boundary)
	}
	name, filename, rerr := partName(part)
	if rerr != nil {
		return nil, rerr
	}
	switch name {
	case fieldPODFile:
	case fieldFormData:
		return nil, fieldProblem(fieldFormData, "form_data is sent twice; send exactly one form_data part")
	default:
		return nil, unexpectedPart(name, "")
	}
	if rerr := checkEncoding(part, fieldPODFile); rerr != nil {
		return nil, rerr
	}
	in.pod = &podReader{part: part}
	in.POD = &PODPart{
		Filename:     sanitizeFilename(filename),
		DeclaredType: part.Header.Get("Content-Type"),
		Body:         in.pod,
	}
	return in, nil
}

// Finish must be called after POD.Body has been read to the end (or when POD
// is nil): it reads the rest of the body and refuses anything after pod_file
// (extra parts) with a 400 RequestError. Whatever of pod_file was left unread
// is discarded. The error is always a *RequestError; calling Finish again
// returns the same result.
func (in *Incoming) Finish() error {
	if !in.finished {
		in.finished = true
		if err := in.finish(); err != nil {
			in.finishErr = err
		}
	}
	return in.finishErr
}

func (in *Incoming) finish() *RequestError {
	if in.mr == nil {
		return nil
	}
	// Problems from here on are reported on the last part sent.
	last := fieldFormData
	if in.pod != nil {
		last = fieldPODFile
	}
	if in.pod != nil {
		if in.pod.err != nil {
			var rerr *RequestError
			if errors.As(in.pod.err, &rerr) {
				return rerr
			}
			return readFailure(in.pod.err, fieldPODFile, "inside pod_file")
		}
	}
	if !in.ended {
		part, err := in.mr.NextRawPart()
		switch {
		case err == io.EOF && !in.closing.seen:
			return unclosedMultipart(last, in.closing.boundary())
		case err == io.EOF:
			in.ended = true
		case err != nil:
			return multipartFailure(err, last, in.closing.boundary())
		default:
			name, _, rerr := partName(part)
			switch {
			case rerr != nil:
				return rerr
			case name == fieldPODFile:
				return fieldProblem(fieldPODFile, "pod_file is sent twice; send at most one pod_file part")
			case name == fieldFormData:
				return fieldProblem(fieldFormData, "form_data is sent twice; send exactly one form_data part, first")
			default:
				return unexpectedPart(name, "pod_file must be the last part")
			}
		}
	}
	// The epilogue after the closing boundary means nothing (RFC 2046);
	// read a little of it so the connection can be reused, refuse more.
	n, err := io.Copy(io.Discard, io.LimitReader(in.body, maxEpilogueBytes+1))
	switch {
	case err != nil:
		return readFailure(err, last, "after the closing boundary")
	case n > maxEpilogueBytes:
		return fieldProblem(last, fmt.Sprintf(
			"the body goes on for more than %d bytes after the multipart closing boundary; end it there", maxEpilogueBytes))
	}
	return nil
}

// multipartFailure describes a multipart body that could not be split into
// parts.
func multipartFailure(err error, field, boundary string) *RequestError {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, multipart.ErrMessageTooLarge):
		return readFailure(err, field, "")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e := fieldProblem(field, "the multipart body ends before its closing boundary; send the whole body, "+
			"each part opened by --<boundary> and the last closed by --<boundary>--")
		e.cause = err
		return e
	}
	detail := "the body is not valid multipart/form-data (" + shorten(err.Error()) + ")"
	if boundary != "" {
		detail += fmt.Sprintf("; its parts must be separated by lines --%s", shorten(boundary))
	}
	e := fieldProblem(field, detail)
	e.cause = err
	return e
}

// unclosedMultipart refuses a multipart body that ends (after a boundary
// line, or in a part's headers) without the closing boundary: the multipart
// reader takes such an end for a proper one.
func unclosedMultipart(field, boundary string) *RequestError {
	return fieldProblem(field, fmt.Sprintf("the multipart body ends without its closing boundary line --%s--; "+
		"send the whole body", shorten(boundary)))
}

// closeWatcher passes the multipart body through and notes whether its close
// delimiter ("--boundary--" at the start of a line) went by.
type closeWatcher struct {
	r     io.Reader
	delim []byte // "\n--boundary--"
	// tail holds the last len(delim)-1 bytes read, to find a delimiter
	// split between two reads; it starts as "\n", for a delimiter at the
	// very start.
	tail    []byte
	scratch []byte
	seen    bool
}

func newCloseWatcher(r io.Reader, boundary string) *closeWatcher {
	return &closeWatcher{r: r, delim: []byte("\n--" + boundary + "--"), tail: []byte{'\n'}}
}

func (w *closeWatcher) boundary() string {
	return string(w.delim[3 : len(w.delim)-2])
}

func (w *closeWatcher) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 && !w.seen {
		w.scan(p[:n])
	}
	return n, err
}

func (w *closeWatcher) scan(b []byte) {
	k := len(w.delim) - 1
	head := b[:min(len(b), k)]
	w.scratch = append(append(w.scratch[:0], w.tail...), head...)
	if bytes.Contains(w.scratch, w.delim) || bytes.Contains(b, w.delim) {
		w.seen = true
		return
	}
	if len(b) >= k {
		w.tail = append(w.tail[:0], b[len(b)-k:]...)
		return
	}
	w.tail = append(w.tail, b...)
	w.tail = w.tail[max(0, len(w.tail)-k):]
}

// partName reads a part's form field name and filename from its
// Content-Disposition.
func partName(part *multipart.Part) (name, filename string, rerr *RequestError) {
	const need = `each part needs Content-Disposition: form-data; name="form_data" (or name="pod_file")`
	cd := part.Header.Get("Content-Disposition")
	if cd == "" {
		return "", "", fieldProblem(fieldFormData, "a multipart part has no Content-Disposition header; "+need)
	}
	disposition, params, err := mime.ParseMediaType(cd)
	switch {
	case err != nil:
		return "", "", fieldProblem(fieldFormData, fmt.Sprintf("a multipart part's Content-Disposition %s does not parse; %s",
			quoteShort(cd), need))
	case disposition != "form-data":
		return "", "", fieldProblem(fieldFormData, fmt.Sprintf("a multipart part's disposition is %s; %s",
			quoteShort(disposition), need))
	case params["name"] == "":
		return "", "", fieldProblem(fieldFormData, "a multipart part has no name; "+need)
	}
	return params["name"], params["filename"], nil
}

// unexpectedPart refuses a part that is neither form_data nor pod_file.
func unexpectedPart(name, context string) *RequestError {
	detail := fmt.Sprintf("unexpected multipart part %s; the allowed parts are form_data (required, first) "+
		"and pod_file (optional, after form_data)", quoteShort(name))
	if context != "" {
		detail = context + "; " + detail
	}
	return fieldProblem(fieldName(name), detail)
}

// checkEncoding refuses a part whose bytes are transfer-encoded: RFC 7578
// deprecates Content-Transfer-Encoding in form data, and decoding it would
// put a decoder's failures between the client and the file.
func checkEncoding(part *multipart.Part, field string) *RequestError {
	cte := strings.TrimSpace(part.Header.Get("Content-Transfer-Encoding"))
	switch strings.ToLower(cte) {
	case "", "binary", "8bit", "7bit":
		return nil
	}
	return fieldProblem(field, fmt.Sprintf("%s has Content-Transfer-Encoding %s, which is not supported; "+
		"send the bytes as they are (binary)", field, quoteShort(cte)))
}

// sanitizeFilename reduces a client's filename to a base name that is safe
// to show and store: the last element of either kind of path (so
// "C:\x\pod.pdf" and "../../pod.pdf" are "pod.pdf"), without control or
// invisible formatting characters (which can disguise an extension) or
// invalid UTF-8, runs of dots collapsed to one (so never ".."), at most 255
// bytes with the extension kept. "" when nothing is left.
func sanitizeFilename(raw string) string {
	if i := strings.LastIndexAny(raw, `/\`); i >= 0 {
		raw = raw[i+1:]
	}
	var b strings.Builder
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRuneInString(raw[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
		case r == '.' && strings.HasSuffix(b.String(), "."):
		default:
			b.WriteRune(r)
		}
	}
	name := strings.TrimSpace(b.String())
	if strings.Trim(name, ".") == "" {
		return ""
	}
	if len(name) <= maxFilenameBytes {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtensionBytes {
		ext = name[i:]
	}
	stem := name[:len(name)-len(ext)]
	cut := maxFilenameBytes - len(ext)
	for cut > 0 && !utf8.RuneStart(stem[cut]) {
		cut--
	}
	return strings.TrimRight(strings.TrimSpace(stem[:cut]), ".") + ext
}
