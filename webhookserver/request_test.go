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

// Plain table tests of the request-parsing layer: it is pure (no control
// plane, no object store), so it does not run under the package's Ginkgo
// suite.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// requestSeed is the courier's seed example, verbatim.
const requestSeed = `{"articleId":"ARP1000052447","track_status":"Delivered","track_datetime":"2025-10-08T10:15:00Z","remarks":"Delivered successfully"}`

// reqReceivedAt is the receive time of every test update: after the seed
// example, with a fraction of a second to be truncated.
var reqReceivedAt = time.Date(2025, 10, 8, 10, 20, 30, 500_000_000, time.UTC)

// seedExampleTime is the seed example's track_datetime.
var seedExampleTime = time.Date(2025, 10, 8, 10, 15, 0, 0, time.UTC)

// wantProblem is what a refused request must answer: the status, and for
// each field in order a fragment of its detail.
type wantProblem struct {
	status int
	fields []string
	detail []string
}

func refusedWith(status int, fieldAndDetail ...string) *wantProblem {
	w := &wantProblem{status: status}
	for i := 0; i+1 < len(fieldAndDetail); i += 2 {
		w.fields = append(w.fields, fieldAndDetail[i])
		w.detail = append(w.detail, fieldAndDetail[i+1])
	}
	return w
}

func refused400(fieldAndDetail ...string) *wantProblem {
	return refusedWith(http.StatusBadRequest, fieldAndDetail...)
}

// checkRefusal asserts err is the refusal want describes.
func checkRefusal(t *testing.T, err error, want *wantProblem) *Problem {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %d %v", want.status, want.fields)
	}
	var re *Problem
	if !errors.As(err, &re) {
		t.Fatalf("error %T %v is not a *Problem", err, err)
	}
	if re.Status != want.status {
		t.Errorf("status %d, want %d (%v)", re.Status, want.status, re)
	}
	wantTitle := map[int]string{400: titleInvalid, 413: titleTooLarge, 415: titleUnsupported}[want.status]
	if re.Title != wantTitle {
		t.Errorf("title %q, want %q", re.Title, wantTitle)
	}
	if re.Detail == "" {
		t.Errorf("empty detail")
	}
	var fields []string
	for _, f := range re.Fields {
		fields = append(fields, f.Field)
	}
	if !reflect.DeepEqual(fields, want.fields) {
		t.Fatalf("fields %q, want %q (%v)", fields, want.fields, re)
	}
	for i, fragment := range want.detail {
		if !strings.Contains(re.Fields[i].Detail, fragment) {
			t.Errorf("field %s: detail %q does not contain %q", re.Fields[i].Field, re.Fields[i].Detail, fragment)
		}
	}
	if len(re.Fields) == 1 && re.Detail != re.Fields[0].Detail {
		t.Errorf("detail %q differs from the one field's %q", re.Detail, re.Fields[0].Detail)
	}
	if !strings.Contains(re.Error(), re.Detail) {
		t.Errorf("Error() %q does not contain the detail", re.Error())
	}
	return re
}

// seedExampleUpdate is what the seed example parses to.
func seedExampleUpdate() Update {
	return Update{
		ArticleID:      "ARP1000052447",
		Status:         v1alpha1.StatusDelivered,
		ReportedStatus: "Delivered",
		Time:           seedExampleTime,
		TimeReported:   true,
		Remarks:        "Delivered successfully",
		EventID:        v1alpha1.DeriveEventID("ARP1000052447", v1alpha1.StatusDelivered, seedExampleTime),
	}
}

// seedWith returns the seed update changed by mutate, with its derived event id
// recomputed unless the courier gave one.
func seedWith(mutate func(u *Update)) *Update {
	u := seedExampleUpdate()
	mutate(&u)
	if !u.EventIDReported {
		u.EventID = v1alpha1.DeriveEventID(u.ArticleID, u.Status, u.Time)
	}
	return &u
}

func TestParseUpdateSeedExample(t *testing.T) {
	u, err := ParseUpdate([]byte(requestSeed), reqReceivedAt, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := seedExampleUpdate(); u != want {
		t.Fatalf("got  %+v\nwant %+v", u, want)
	}
	if ok, _ := regexp.MatchString(`^[0-9a-f]{16}$`, u.EventID); !ok {
		t.Fatalf("event id %q is not 16 hex digits", u.EventID)
	}
}

func TestParseUpdateSeedSpellings(t *testing.T) {
	spellings := []struct {
		spelling string
		want     v1alpha1.TrackingStatus
	}{
		{"Not Scanned", v1alpha1.StatusNotScanned},
		{"Received in Depo", v1alpha1.StatusReceivedInDepot},
		{"Received in Depot", v1alpha1.StatusReceivedInDepot},
		{"Loaded by Driver", v1alpha1.StatusLoadedByDriver},
		{"In Transit", v1alpha1.StatusInTransit},
		{"Delivered", v1alpha1.StatusDelivered},
		{"Failed Delivery", v1alpha1.StatusFailedDelivery},
		{"RTS- Return to Sender", v1alpha1.StatusReturnToSender},
		{"RTS", v1alpha1.StatusReturnToSender},
		{"Return to Sender", v1alpha1.StatusReturnToSender},
		{"RD- Return to depo", v1alpha1.StatusReturnToDepot},
		{"RD", v1alpha1.StatusReturnToDepot},
		{"Return to Depot", v1alpha1.StatusReturnToDepot},
		{"RECEIVED-IN-DEPOT", v1alpha1.StatusReceivedInDepot},
		{"InTransit", v1alpha1.StatusInTransit},
	}
	for _, tc := range spellings {
		t.Run(tc.spelling, func(t *testing.T) {
			data := fmt.Sprintf(`{"articleId":"ARP1","track_status":%q,"track_datetime":"2025-10-08T07:00:00Z"}`, tc.spelling)
			u, err := ParseUpdate([]byte(data), reqReceivedAt, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if u.Status != tc.want || u.ReportedStatus != tc.spelling {
				t.Fatalf("status %q reported %q, want %q reported %q", u.Status, u.ReportedStatus, tc.want, tc.spelling)
			}
		})
	}
}

// jsonObject builds an update object from name/value pairs; values are raw JSON.
func jsonObject(pairs ...string) string {
	var members []string
	for i := 0; i+1 < len(pairs); i += 2 {
		members = append(members, fmt.Sprintf("%q:%s", pairs[i], pairs[i+1]))
	}
	return "{" + strings.Join(members, ",") + "}"
}

// minimalObject is an object with the two required members and extra ones.
func minimalObject(extra ...string) string {
	return jsonObject(append([]string{"articleId", `"ARP1000052447"`, "track_status", `"Delivered"`}, extra...)...)
}

// parseCase is one form_data object and what ParseUpdate makes of it.
type parseCase struct {
	name   string
	data   string
	limits Limits
	want   *Update
	refuse *wantProblem
}

// parseUpdateCases are TestParseUpdate's table, and seeds of FuzzParseUpdate.
func parseUpdateCases() []parseCase {
	receivedTruncated := time.Date(2025, 10, 8, 10, 20, 30, 0, time.UTC)
	long := strings.Repeat
	manyUnknown := []string{"articleId", `"A1"`, "track_status", `"RTS"`}
	for i := range 12 {
		manyUnknown = append(manyUnknown, fmt.Sprintf("x%d", i), `"y"`)
	}
	return []parseCase{
		// Accepted.
		{name: "seed example", data: requestSeed, want: seedWith(func(*Update) {})},
		{name: "time absent is the receive time, truncated to seconds", data: minimalObject(),
			want: seedWith(func(u *Update) { u.Time, u.TimeReported, u.Remarks = receivedTruncated, false, "" })},
		{name: "fractional seconds are truncated", data: minimalObject("track_datetime", `"2025-10-08T10:15:00.987654321Z"`),
			want: seedWith(func(u *Update) { u.Remarks = "" })},
		{name: "a positive offset is normalised to UTC", data: minimalObject("track_datetime", `"2025-10-08T12:15:00.5+02:00"`),
			want: seedWith(func(u *Update) { u.Remarks = "" })},
		{name: "a negative offset is normalised to UTC", data: minimalObject("track_datetime", `"2025-10-08T05:15:00-05:00"`),
			want: seedWith(func(u *Update) { u.Remarks = "" })},
		{name: "the latest time the clock skew allows", data: minimalObject("track_datetime", `"2025-10-08T10:25:30Z"`),
			want: seedWith(func(u *Update) { u.Remarks, u.Time = "", time.Date(2025, 10, 8, 10, 25, 30, 0, time.UTC) })},
		{name: "a larger clock skew", data: minimalObject("track_datetime", `"2025-10-08T10:50:00Z"`), limits: Limits{MaxClockSkew: time.Hour},
			want: seedWith(func(u *Update) { u.Remarks, u.Time = "", time.Date(2025, 10, 8, 10, 50, 0, 0, time.UTC) })},
		{name: "the earliest time", data: minimalObject("track_datetime", `"2000-01-01T00:00:00Z"`),
			want: seedWith(func(u *Update) { u.Remarks, u.Time = "", earliestTrackTime })},
		{name: "a courier event id", data: minimalObject("track_datetime", `"2025-10-08T10:15:00Z"`, "eventId", `"scan-42:a.b_c"`),
			want: seedWith(func(u *Update) { u.Remarks, u.EventID, u.EventIDReported = "", "scan-42:a.b_c", true })},
		{name: "remarks with tab, newlines and 1024 two-byte characters",
			data: minimalObject("track_datetime", `"2025-10-08T10:15:00Z"`, "remarks", `"`+long("é", 1020)+`\t\r\n."`),
			want: seedWith(func(u *Update) { u.Remarks = long("é", 1020) + "\t\r\n." })},
		{name: "remarks with an escaped surrogate pair", data: minimalObject("track_datetime", `"2025-10-08T10:15:00Z"`, "remarks", `"box \ud83d\udce6"`),
			want: seedWith(func(u *Update) { u.Remarks = "box 📦" })},
		{name: "empty remarks", data: minimalObject("track_datetime", `"2025-10-08T10:15:00Z"`, "remarks", `""`),
			want: seedWith(func(u *Update) { u.Remarks = "" })},
		{name: "a location and who signed for a delivery",
			data: minimalObject("track_datetime", `"2025-10-08T10:15:00Z"`, "location", `"Colombo 03, Galle Rd"`, "signedBy", `"R. Perera"`),
			want: seedWith(func(u *Update) { u.Remarks, u.Location, u.SignedBy = "", "Colombo 03, Galle Rd", "R. Perera" })},
		{name: "a location of 256 two-byte characters", data: minimalObject("track_datetime", `"2025-10-08T10:15:00Z"`,
			"location", `"`+long("é", 256)+`"`),
			want: seedWith(func(u *Update) { u.Remarks, u.Location = "", long("é", 256) })},
		{name: "a location on a first scan", data: jsonObject("articleId", `"ARP1000052447"`, "track_status", `"Received in Depo"`,
			"track_datetime", `"2025-10-08T10:15:00Z"`, "location", `"Kandy depot"`),
			want: seedWith(func(u *Update) {
				u.Remarks, u.Location, u.Status, u.ReportedStatus = "", "Kandy depot", v1alpha1.StatusReceivedInDepot, "Received in Depo"
			})},
		{name: "signedBy with the Delivered spelling couriers use", data: jsonObject("articleId", `"ARP1000052447"`,
			"track_status", `"delivered"`, "track_datetime", `"2025-10-08T10:15:00Z"`, "signedBy", `"Neighbour, no. 12"`),
			want: seedWith(func(u *Update) { u.Remarks, u.ReportedStatus, u.SignedBy = "", "delivered", "Neighbour, no. 12" })},
		{name: "escaped member names", data: `{"art\u0069cleId":"ARP1000052447","track_status":"Delivered","track_datetime":"2025-10-08T10:15:00Z"}`,
			want: seedWith(func(u *Update) { u.Remarks = "" })},
		{name: "whitespace around everything", data: " \n{ \"articleId\" : \"ARP1000052447\" ,\t\"track_status\":\"Delivered\", \"track_datetime\":\"2025-10-08T10:15:00Z\" }\r\n",
			want: seedWith(func(u *Update) { u.Remarks = "" })},

		// Refused: structure.
		{name: "empty", data: "", refuse: refused400("form_data", "empty")},
		{name: "only whitespace", data: " \n\t", refuse: refused400("form_data", "empty")},
		{name: "an array", data: `[` + requestSeed + `]`, refuse: refused400("form_data", "must be a JSON object")},
		{name: "a number", data: `42`, refuse: refused400("form_data", "not a number")},
		{name: "null", data: `null`, refuse: refused400("form_data", "not null")},
		{name: "a string", data: `"ARP1"`, refuse: refused400("form_data", "not a string")},
		{name: "a boolean", data: `true`, refuse: refused400("form_data", "not a boolean")},
		{name: "cut short", data: `{"articleId":`, refuse: refused400("form_data", "ends after 13 bytes")},
		{name: "bad syntax names the byte", data: `{"articleId":"A1" "track_status":"RTS"}`, refuse: refused400("form_data", "at byte 19")},
		{name: "a trailing comma", data: `{"articleId":"A1",}`, refuse: refused400("form_data", "not valid JSON")},
		{name: "a second object", data: requestSeed + `{}`, refuse: refused400("form_data", "data after the JSON object")},
		{name: "trailing garbage", data: requestSeed + ` x`, refuse: refused400("form_data", "send exactly one JSON object")},
		{name: "a raw control character in a string", data: minimalObject("remarks", "\"a\x01b\""), refuse: refused400("form_data", "not valid JSON")},
		{name: "nesting deeper than the decoder allows", data: minimalObject("remarks", long("[", 10001)+long("]", 10001)),
			refuse: refused400("form_data", "not valid JSON")},
		{name: "larger than the limit", data: requestSeed, limits: Limits{MaxFormDataBytes: 64},
			refuse: refusedWith(http.StatusRequestEntityTooLarge, "form_data", "larger than 64 bytes")},

		// Refused: members.
		{name: "an unknown field", data: minimalObject("courier", `"acme"`),
			refuse: refused400("courier", `"courier" is not a known field; the allowed fields are articleId, track_status, track_datetime, remarks, location, signedBy, eventId`)},
		{name: "a field in the wrong case", data: jsonObject("ArticleId", `"A1"`, "track_status", `"RTS"`),
			refuse: refused400("articleId", "is required", "ArticleId", "not a known field")},
		{name: "an empty field name", data: minimalObject("", `"x"`), refuse: refused400("form_data", `"" is not a known field`)},
		{name: "many unknown fields are counted", data: jsonObject(manyUnknown...),
			refuse: refused400("x0", "", "x1", "", "x2", "", "x3", "", "x4", "", "x5", "", "x6", "", "x7", "", "x8", "", "x9", "", "form_data", "2 more unknown fields")},
		{name: "a duplicate articleId", data: `{"articleId":"A1","track_status":"RTS","articleId":"A2"}`,
			refuse: refused400("articleId", "appears 2 times")},
		{name: "a duplicate track_status", data: minimalObject("track_status", `"In Transit"`), refuse: refused400("track_status", "appears 2 times")},
		{name: "a duplicate unknown field is reported once", data: minimalObject("x", `"1"`, "x", `"2"`), refuse: refused400("x", "not a known field")},
		{name: "articleId a number", data: jsonObject("articleId", `1000052447`, "track_status", `"RTS"`),
			refuse: refused400("articleId", "must be a JSON string", "")},
		{name: "track_status null", data: jsonObject("articleId", `"A1"`, "track_status", `null`), refuse: refused400("track_status", "not null")},
		{name: "track_datetime a number", data: minimalObject("track_datetime", `1759918500`), refuse: refused400("track_datetime", "not a number")},
		{name: "remarks an object", data: minimalObject("remarks", `{"text":{"deep":["x"]}}`), refuse: refused400("remarks", "not an object")},
		{name: "remarks an array", data: minimalObject("remarks", `["x"]`), refuse: refused400("remarks", "not an array")},
		{name: "eventId a boolean", data: minimalObject("eventId", `true`), refuse: refused400("eventId", "not a boolean")},
		{name: "eventId null", data: minimalObject("eventId", `null`), refuse: refused400("eventId", "not null")},
		{name: "articleId missing", data: jsonObject("track_status", `"RTS"`), refuse: refused400("articleId", "articleId is required")},
		{name: "articleId empty", data: jsonObject("articleId", `""`, "track_status", `"RTS"`), refuse: refused400("articleId", "must not be empty")},
		{name: "articleId with a space and a slash", data: jsonObject("articleId", `"ARP 9/x"`, "track_status", `"RTS"`),
			refuse: refused400("articleId", "may contain only letters, digits and . _ : -")},
		{name: "articleId too long", data: jsonObject("articleId", `"`+long("A", 65)+`"`, "track_status", `"RTS"`),
			refuse: refused400("articleId", "at most 64")},
		{name: "articleId with invalid UTF-8", data: jsonObject("articleId", "\"ARP\xff1\"", "track_status", `"RTS"`),
			refuse: refused400("articleId", "not valid UTF-8")},
		{name: "track_status missing", data: jsonObject("articleId", `"A1"`), refuse: refused400("track_status", `required; accepted (ignoring case, spaces and punctuation): "Not Scanned"`)},
		{name: "track_status unknown", data: jsonObject("articleId", `"A1"`, "track_status", `"Lost"`),
			refuse: refused400("track_status", `"Lost" is not a known status; accepted (ignoring case, spaces and punctuation): "Not Scanned", "Received in Depot", "Received in Depo"`)},
		{name: "track_status empty", data: jsonObject("articleId", `"A1"`, "track_status", `""`), refuse: refused400("track_status", "track_status is empty")},
		{name: "track_status with a non-ASCII letter", data: jsonObject("articleId", `"A1"`, "track_status", `"Deliveredé"`),
			refuse: refused400("track_status", "is not a known status")},
		{name: "track_status with invalid UTF-8", data: jsonObject("articleId", `"A1"`, "track_status", "\"Deliver\xc3ed\""),
			refuse: refused400("track_status", "not valid UTF-8")},
		{name: "track_datetime empty", data: minimalObject("track_datetime", `""`), refuse: refused400("track_datetime", "leave it out")},
		{name: "track_datetime with a space", data: minimalObject("track_datetime", `"2025-10-08 10:15:00Z"`),
			refuse: refused400("track_datetime", "is not an RFC 3339 time")},
		{name: "track_datetime without an offset", data: minimalObject("track_datetime", `"2025-10-08T10:15:00"`),
			refuse: refused400("track_datetime", "is not an RFC 3339 time")},
		{name: "track_datetime a date only", data: minimalObject("track_datetime", `"2025-10-08"`), refuse: refused400("track_datetime", "RFC 3339")},
		{name: "track_datetime out of range", data: minimalObject("track_datetime", `"2025-10-08T24:00:00Z"`), refuse: refused400("track_datetime", "RFC 3339")},
		{name: "track_datetime beyond the clock skew", data: minimalObject("track_datetime", `"2025-10-08T10:25:31Z"`),
			refuse: refused400("track_datetime", "the latest allowed now is 2025-10-08T10:25:30Z")},
		{name: "track_datetime far in the future", data: minimalObject("track_datetime", `"2099-01-01T00:00:00Z"`),
			refuse: refused400("track_datetime", "is in the future")},
		{name: "track_datetime an offset away in the future", data: minimalObject("track_datetime", `"2025-10-08T12:25:31+02:00"`),
			refuse: refused400("track_datetime", "is in the future")},
		{name: "track_datetime before 2000", data: minimalObject("track_datetime", `"1999-12-31T23:59:59Z"`),
			refuse: refused400("track_datetime", "is before 2000-01-01T00:00:00Z, the earliest allowed")},
		{name: "track_datetime the Unix epoch", data: minimalObject("track_datetime", `"1970-01-01T00:00:00Z"`), refuse: refused400("track_datetime", "earliest")},
		{name: "track_datetime year zero", data: minimalObject("track_datetime", `"0000-01-01T00:00:00Z"`), refuse: refused400("track_datetime", "earliest")},
		{name: "track_datetime with invalid UTF-8", data: minimalObject("track_datetime", "\"2025-10-08T10:15:00Z\xff\""),
			refuse: refused400("track_datetime", "not valid UTF-8")},
		{name: "remarks 1025 characters", data: minimalObject("remarks", `"`+long("x", 1025)+`"`),
			refuse: refused400("remarks", "remarks is 1025 characters long; at most 1024 are allowed")},
		{name: "remarks 1025 characters counted as characters, not bytes", data: minimalObject("remarks", `"`+long("é", 1025)+`"`),
			refuse: refused400("remarks", "1025 characters")},
		{name: "remarks with an escaped NUL", data: minimalObject("remarks", `"a\u0000b"`), refuse: refused400("remarks", "U+0000 at character 2")},
		{name: "remarks with an escape character", data: minimalObject("remarks", `"\u001b[31mred"`), refuse: refused400("remarks", "U+001B")},
		{name: "remarks with DEL", data: minimalObject("remarks", `"\u007f"`), refuse: refused400("remarks", "U+007F")},
		{name: "remarks with a C1 control", data: minimalObject("remarks", `"a\u0085"`), refuse: refused400("remarks", "U+0085")},
		{name: "remarks with a vertical tab", data: minimalObject("remarks", `"\u000b"`), refuse: refused400("remarks", "only tab, line feed and carriage return")},
		{name: "remarks with invalid UTF-8", data: minimalObject("remarks", "\"Delivered \xe9\""), refuse: refused400("remarks", "not valid UTF-8")},
		{name: "location 257 characters", data: minimalObject("location", `"`+long("é", 257)+`"`),
			refuse: refused400("location", "location is 257 characters long; at most 256 are allowed")},
		{name: "location on two lines", data: minimalObject("location", `"Colombo\nhub"`),
			refuse: refused400("location", "location contains the control character U+000A at character 8; it is one line of text")},
		{name: "location with a tab", data: minimalObject("location", `"a\tb"`), refuse: refused400("location", "U+0009")},
		{name: "location a number", data: minimalObject("location", `7`), refuse: refused400("location", "not a number")},
		{name: "signedBy 129 characters", data: minimalObject("signedBy", `"`+long("x", 129)+`"`),
			refuse: refused400("signedBy", "signedBy is 129 characters long; at most 128 are allowed")},
		{name: "signedBy with a C1 control", data: minimalObject("signedBy", `"a\u0085"`), refuse: refused400("signedBy", "U+0085")},
		{name: "signedBy on a status other than Delivered", data: jsonObject("articleId", `"ARP1000052447"`, "track_status", `"In Transit"`,
			"signedBy", `"R. Perera"`),
			refuse: refused400("signedBy", "signedBy is only accepted with a Delivered track_status (who signed for the parcel); "+
				"this update's status is In Transit: leave signedBy out")},
		{name: "signedBy null", data: minimalObject("signedBy", `null`), refuse: refused400("signedBy", "not null")},
		{name: "remarks with a lone high surrogate", data: minimalObject("remarks", `"a\ud800b"`), refuse: refused400("remarks", "unpaired")},
		{name: "remarks with a lone low surrogate", data: minimalObject("remarks", `"\udc00"`), refuse: refused400("remarks", "unpaired")},
		{name: "remarks with two high surrogates", data: minimalObject("remarks", `"\ud83d\ud83d"`), refuse: refused400("remarks", "unpaired")},
		{name: "remarks with a surrogate at the end", data: minimalObject("remarks", `"\ud83d"`), refuse: refused400("remarks", "unpaired")},
		{name: "eventId empty", data: minimalObject("eventId", `""`), refuse: refused400("eventId", "must not be empty; leave it out")},
		{name: "eventId with a space", data: minimalObject("eventId", `"evt 1"`), refuse: refused400("eventId", "may contain only")},
		{name: "eventId too long", data: minimalObject("eventId", `"`+long("e", 65)+`"`), refuse: refused400("eventId", "at most 64")},
		{name: "eventId with invalid UTF-8", data: minimalObject("eventId", "\"e\x80\""), refuse: refused400("eventId", "not valid UTF-8")},

		// Refused: everything at once, every problem reported.
		{name: "every field wrong at once",
			data: jsonObject("articleId", `"ARP 1"`, "track_status", `"Lost"`, "track_datetime", `"2099-01-01T00:00:00Z"`,
				"remarks", `"a\u0007"`, "eventId", `7`, "colour", `"red"`),
			refuse: refused400("articleId", "may contain only", "track_status", `"Lost"`, "track_datetime", "in the future",
				"remarks", "U+0007", "eventId", "must be a JSON string", "colour", "not a known field")},
		{name: "two required fields missing", data: `{}`, refuse: refused400("articleId", "required", "track_status", "required")},
	}
}

func TestParseUpdate(t *testing.T) {
	for _, tc := range parseUpdateCases() {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUpdate([]byte(tc.data), reqReceivedAt, tc.limits)
			if tc.refuse != nil {
				re := checkRefusal(t, err, tc.refuse)
				if len(re.Fields) > 1 && !strings.Contains(re.Detail, fmt.Sprintf("%d problems", len(re.Fields))) {
					t.Errorf("detail %q does not count the problems", re.Detail)
				}
				for _, f := range re.Fields {
					if f.Field == fieldTrackStatus && !reflect.DeepEqual(f.Accepted, v1alpha1.AcceptedSpellings()) {
						t.Errorf("track_status accepted %q, want AcceptedSpellings()", f.Accepted)
					}
					if f.Field != fieldTrackStatus && f.Accepted != nil {
						t.Errorf("%s has an accepted list", f.Field)
					}
				}
				if u != (Update{}) {
					t.Errorf("a refused update is not zero: %+v", u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u != *tc.want {
				t.Fatalf("got  %+v\nwant %+v", u, *tc.want)
			}
			if u.Time.Location() != time.UTC {
				t.Fatalf("time %v is not UTC", u.Time)
			}
		})
	}
}

// ReportedStatus keeps the spelling exactly as sent.
func TestParseUpdateLooseSpelling(t *testing.T) {
	u, err := ParseUpdate([]byte(jsonObject("articleId", `"A1"`, "track_status", `"  delivered!! "`)), reqReceivedAt, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != v1alpha1.StatusDelivered || u.ReportedStatus != "  delivered!! " {
		t.Fatalf("got %q reported %q", u.Status, u.ReportedStatus)
	}
}

func TestParseUpdateLongValuesAreShortenedInMessages(t *testing.T) {
	long := strings.Repeat("z", v1alpha1.MaxReportedStatusLength)
	_, err := ParseUpdate([]byte(jsonObject("articleId", `"A1"`, "track_status", `"`+long+`"`)), reqReceivedAt, Limits{})
	re := checkRefusal(t, err, refused400("track_status", "…"))
	if strings.Contains(re.Detail, long) {
		t.Fatalf("detail %q repeats the value whole", re.Detail)
	}
}

func TestParseUpdateRefusesAnOverlongStatus(t *testing.T) {
	_, err := ParseUpdate([]byte(jsonObject("articleId", `"A1"`, "track_status", `"`+strings.Repeat("z", 5000)+`"`)), reqReceivedAt, Limits{})
	re := checkRefusal(t, err, refused400("track_status", "track_status is 5000 characters long; at most 128 are accepted"))
	if len(re.Detail) > 200 {
		t.Fatalf("detail is %d bytes: the value is repeated", len(re.Detail))
	}
}

func TestParseUpdateReadsTheCouriersAliases(t *testing.T) {
	limits := Limits{StatusAliases: map[string]v1alpha1.TrackingStatus{"DL": v1alpha1.StatusDelivered, "Zurückgesendet": v1alpha1.StatusReturnToSender}}
	tests := []struct {
		sent        string
		want        v1alpha1.TrackingStatus
		wantAliased string
	}{
		{"dl", v1alpha1.StatusDelivered, "dl"},
		{"ZURÜCKGESENDET", v1alpha1.StatusReturnToSender, "ZURÜCKGESENDET"},
		{"Delivered", v1alpha1.StatusDelivered, ""},
	}
	for _, tc := range tests {
		u, err := ParseUpdate([]byte(jsonObject("articleId", `"A1"`, "track_status", `"`+tc.sent+`"`)), reqReceivedAt, limits)
		if err != nil {
			t.Fatalf("%q: %v", tc.sent, err)
		}
		if u.Status != tc.want || u.AliasedStatus != tc.wantAliased || u.ReportedStatus != tc.sent {
			t.Errorf("%q: status %s, aliased %q, reported %q; want %s, %q, %q", tc.sent, u.Status, u.AliasedStatus, u.ReportedStatus,
				tc.want, tc.wantAliased, tc.sent)
		}
	}

	_, err := ParseUpdate([]byte(jsonObject("articleId", `"A1"`, "track_status", `"Retour"`)), reqReceivedAt, limits)
	re := checkRefusal(t, err, refused400("track_status", `"DL", "Zurückgesendet"`))
	if got := re.Fields[0].Accepted; !slices.Contains(got, "DL") || !slices.Contains(got, "Received in Depo") {
		t.Errorf("accepted = %q, want the built-in spellings and the courier's aliases", got)
	}
}

func TestReadRequestSanitizesFilename(t *testing.T) {
	long296 := strings.Repeat("a", 296) + ".pdf"
	longRunes := strings.Repeat("é", 300) + ".jpeg"
	tests := []struct {
		raw, want string
	}{
		{"pod.pdf", "pod.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\x\pod.pdf`, "pod.pdf"},
		{`\\server\share\pod.pdf`, "pod.pdf"},
		{"pod\x00.pdf", "pod.pdf"},
		{"pod\r\n.pdf", "pod.pdf"},
		{"pod\x7f\u0085.pdf", "pod.pdf"},
		{"invoice\u202efdp.exe", "invoicefdp.exe"},
		{"zero\u200bwidth.png", "zerowidth.png"},
		{"pod\xff\xfe.pdf", "pod.pdf"},
		{"  pod.pdf  ", "pod.pdf"},
		{"report..pdf", "report.pdf"},
		{"a/..", ""},
		{"..", ""},
		{".", ""},
		{"...", ""},
		{". .", ". ."},
		{".\x00.", ""},
		{"dir/", ""},
		{"", ""},
		{"\x00\x01", ""},
		{".hidden", ".hidden"},
		{"Zustellnachweis für Müller.pdf", "Zustellnachweis für Müller.pdf"},
		{long296, strings.Repeat("a", 251) + ".pdf"},
		{strings.Repeat("b", 300), strings.Repeat("b", 255)},
		{strings.Repeat("c", 250) + "." + strings.Repeat("x", 40), strings.Repeat("c", 250) + "." + strings.Repeat("x", 4)},
		{longRunes, strings.Repeat("é", 125) + ".jpeg"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%.40q", tc.raw), func(t *testing.T) {
			got := sanitizeFilename(tc.raw)
			if got != tc.want {
				t.Fatalf("sanitizeFilename(%q) = %q, want %q", tc.raw, got, tc.want)
			}
			checkSafeFilename(t, got)
		})
	}
}

// checkSafeFilename asserts the promises of PODPart.Filename.
func checkSafeFilename(t testing.TB, name string) {
	t.Helper()
	switch {
	case len(name) > 255:
		t.Fatalf("filename is %d bytes", len(name))
	case !utf8.ValidString(name):
		t.Fatalf("filename %q is not valid UTF-8", name)
	case strings.ContainsAny(name, `/\`):
		t.Fatalf("filename %q has a path separator", name)
	case strings.Contains(name, ".."):
		t.Fatalf("filename %q contains ..", name)
	case name == ".":
		t.Fatalf("filename is .")
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			t.Fatalf("filename %q has control character %U", name, r)
		}
	}
}

// reqBoundary is the boundary of every multipart body the tests build.
const reqBoundary = "parcel-boundary-7f3a9"

const reqMultipartType = "multipart/form-data; boundary=" + reqBoundary

// mpPart is one part of a multipart body.
type mpPart struct {
	header textproto.MIMEHeader
	body   string
}

func mpField(name, body string) mpPart {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, name))
	return mpPart{header: h, body: body}
}

func mpFormData(body string) mpPart { return mpField("form_data", body) }

// mpFile is a part as browsers and curl send a file.
func mpFile(name, filename, contentType, body string) mpPart {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, name,
		strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(filename)))
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return mpPart{header: h, body: body}
}

func mpRaw(body string, headerLines ...string) mpPart {
	h := textproto.MIMEHeader{}
	for _, line := range headerLines {
		k, v, _ := strings.Cut(line, ": ")
		h.Add(k, v)
	}
	return mpPart{header: h, body: body}
}

// buildMultipart encodes parts with reqBoundary.
func buildMultipart(t testing.TB, parts ...mpPart) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(reqBoundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		w, err := mw.CreatePart(p.header)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, p.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// podBytes is a proof-of-delivery file, the same every run, whose bytes
// look like boundaries in places, to prove the body is passed through
// exactly.
func podBytes(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.NewChaCha8([32]byte{'p', 'o', 'd'}).Read(b); err != nil {
		t.Fatal(err)
	}
	s := "%PDF-1.7\n\r\n--" + reqBoundary[:10] + "\r\n--" + string(b) + "\r\n-" + "\r\n--" + reqBoundary + "x"
	return s
}

func newParcelStatusRequest(contentType, body string, headers ...string) *http.Request {
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/api/v1/webhook/parcel-status", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// readCase is one request and what ReadRequest, POD.Body and Finish make of
// it.
type readCase struct {
	name        string
	contentType string
	headers     []string
	body        string
	// maxBody, when set, wraps the body in http.MaxBytesReader.
	maxBody int64
	limits  Limits
	want    *Update
	// wantPOD is the file expected, nil when none.
	wantPOD      *string
	wantFilename string
	wantDeclared string
	// refuse is the refusal, from ReadRequest, from reading POD.Body
	// (readRefuse) or from Finish (finishRefuse).
	refuse, readRefuse, finishRefuse *wantProblem
}

// readRequestCases are TestReadRequest's table, and seeds of
// FuzzReadRequest; podSize is the size of the big proof-of-delivery file.
func readRequestCases(t testing.TB, podSize int) []readCase {
	pod := podBytes(t, podSize)
	return []readCase{
		{name: "form_data only", contentType: reqMultipartType, body: buildMultipart(t, mpFormData(requestSeed)),
			want: seedWith(func(*Update) {})},
		{name: "form_data and pod_file", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "pod.pdf", "application/pdf", pod)),
			want: seedWith(func(*Update) {}), wantPOD: &pod, wantFilename: "pod.pdf", wantDeclared: "application/pdf"},
		{name: "an empty pod_file", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "pod.pdf", "", "")),
			want: seedWith(func(*Update) {}), wantPOD: new(string), wantFilename: "pod.pdf"},
		{name: "pod_file without a filename", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpField("pod_file", "%PDF-1.4")),
			want: seedWith(func(*Update) {}), wantPOD: podString("%PDF-1.4"), wantFilename: ""},
		{name: "form_data sent as a file, as curl -F form_data=@update.json does", contentType: reqMultipartType,
			body: buildMultipart(t, mpFile("form_data", "update.json", "application/json", requestSeed)),
			want: seedWith(func(*Update) {})},
		{name: "a quoted boundary and other parameters", contentType: `multipart/form-data; charset=utf-8; boundary="` + reqBoundary + `"`,
			body: buildMultipart(t, mpFormData(requestSeed)), want: seedWith(func(*Update) {})},
		{name: "a preamble, binary transfer encoding and an epilogue", contentType: reqMultipartType,
			body: "This is a preamble.\r\n" + buildMultipart(t, mpRaw(requestSeed,
				`Content-Disposition: form-data; name="form_data"`, "Content-Transfer-Encoding: binary")) + "\r\nthe end\r\n",
			want: seedWith(func(*Update) {})},
		{name: "bare LF line endings", contentType: reqMultipartType,
			body: "--" + reqBoundary + "\nContent-Disposition: form-data; name=\"form_data\"\n\n" + requestSeed + "\n--" + reqBoundary + "--\n",
			want: seedWith(func(*Update) {})},
		{name: "no closing line break", contentType: reqMultipartType,
			body: strings.TrimSuffix(buildMultipart(t, mpFormData(requestSeed)), "\r\n"), want: seedWith(func(*Update) {})},

		// Filenames.
		{name: "a path in the filename", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "../../etc/passwd", "", "x")),
			want: seedWith(func(*Update) {}), wantPOD: podString("x"), wantFilename: "passwd"},
		{name: "a Windows path in the filename", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", `C:\x\pod.pdf`, "", "x")),
			want: seedWith(func(*Update) {}), wantPOD: podString("x"), wantFilename: "pod.pdf"},
		{name: "a NUL in an RFC 2231 filename", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpRaw("x",
				`Content-Disposition: form-data; name="pod_file"; filename*=UTF-8''..%2F..%2Fpod%00.pdf`)),
			want: seedWith(func(*Update) {}), wantPOD: podString("x"), wantFilename: "pod.pdf"},
		{name: "a UTF-8 RFC 2231 filename", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpRaw("x",
				`Content-Disposition: form-data; name="pod_file"; filename*=UTF-8''Nachweis%20M%C3%BCller.pdf`)),
			want: seedWith(func(*Update) {}), wantPOD: podString("x"), wantFilename: "Nachweis Müller.pdf"},
		{name: "a 300-character filename", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", strings.Repeat("p", 296)+".pdf", "", "x")),
			want: seedWith(func(*Update) {}), wantPOD: podString("x"), wantFilename: strings.Repeat("p", 251) + ".pdf"},
		{name: "a filename that is only dots", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "..", "", "x")),
			want: seedWith(func(*Update) {}), wantPOD: podString("x"), wantFilename: ""},
		{name: "a raw NUL in a part header", contentType: reqMultipartType,
			body:   buildMultipart(t, mpFormData(requestSeed), mpRaw("x", "Content-Disposition: form-data; name=\"pod_file\"; filename=\"pod\x00.pdf\"")),
			refuse: refused400("form_data", "not valid multipart/form-data")},

		// JSON bodies.
		{name: "a JSON body", contentType: "application/json", body: requestSeed, want: seedWith(func(*Update) {})},
		{name: "a JSON body with charset", contentType: "application/json; charset=utf-8", body: requestSeed, want: seedWith(func(*Update) {})},
		{name: "a JSON body, media type in capitals", contentType: "Application/JSON; Charset=UTF-8", body: requestSeed, want: seedWith(func(*Update) {})},
		{name: "a JSON body with an identity encoding", contentType: "application/json", headers: []string{"Content-Encoding", "identity"},
			body: requestSeed, want: seedWith(func(*Update) {})},
		{name: "an invalid JSON body", contentType: "application/json", body: `{"articleId":"A1","track_status":"Lost"}`,
			refuse: refused400("track_status", "Lost")},
		{name: "a JSON body larger than the limit", contentType: "application/json", body: requestSeed, limits: Limits{MaxFormDataBytes: 100},
			refuse: refusedWith(http.StatusRequestEntityTooLarge, "form_data", "larger than 100 bytes")},
		{name: "a JSON body over the MaxBytesReader cap", contentType: "application/json", body: requestSeed, maxBody: 50,
			refuse: refusedWith(http.StatusRequestEntityTooLarge, "form_data", "larger than the 50 bytes allowed")},
		{name: "an empty JSON body", contentType: "application/json", body: "", refuse: refused400("form_data", "empty")},

		// Content types.
		{name: "no Content-Type", body: requestSeed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", "Content-Type is missing; send Content-Type multipart/form-data")},
		{name: "a form-urlencoded body without form_data", contentType: "application/x-www-form-urlencoded", body: "a=b",
			refuse: refused400("a", "the only field allowed is form_data")},
		{name: "text/plain", contentType: "text/plain", body: requestSeed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", `"text/plain" is not supported`)},
		{name: "text/json", contentType: "text/json", body: requestSeed, refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", "not supported")},
		{name: "multipart/mixed", contentType: "multipart/mixed; boundary=" + reqBoundary, body: buildMultipart(t, mpFormData(requestSeed)),
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", "multipart/form-data")},
		{name: "a Content-Type that does not parse", contentType: "application/json; a=b; a=c", body: requestSeed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", "not supported")},
		{name: "JSON with a broken parameter", contentType: "application/json; charset", body: requestSeed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", "parameters that do not parse")},
		{name: "JSON in Latin-1", contentType: "application/json; charset=iso-8859-1", body: requestSeed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", `charset "iso-8859-1" is not supported`)},
		{name: "two Content-Types", contentType: "application/json", headers: []string{"Content-Type", "text/plain"}, body: requestSeed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", "more than once")},
		{name: "a gzip body", contentType: "application/json", headers: []string{"Content-Encoding", "gzip"}, body: requestSeed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Encoding", "uncompressed")},

		// Multipart refusals.
		{name: "multipart without a boundary", contentType: "multipart/form-data", body: buildMultipart(t, mpFormData(requestSeed)),
			refuse: refused400("form_data", "no valid boundary parameter")},
		{name: "multipart with an empty boundary", contentType: `multipart/form-data; boundary=""`, body: requestSeed,
			refuse: refused400("form_data", "no valid boundary parameter")},
		{name: "multipart with a broken boundary parameter", contentType: "multipart/form-data; boundary", body: requestSeed,
			refuse: refused400("form_data", "boundary")},
		{name: "a boundary over 70 bytes", contentType: "multipart/form-data; boundary=" + strings.Repeat("b", 71), body: requestSeed,
			refuse: refused400("form_data", "at most 70")},
		{name: "an empty multipart body", contentType: reqMultipartType, body: "", refuse: refused400("form_data", "form_data is missing")},
		{name: "JSON sent as multipart", contentType: reqMultipartType, body: requestSeed, refuse: refused400("form_data", "form_data is missing")},
		{name: "only the closing boundary", contentType: reqMultipartType, body: "--" + reqBoundary + "--\r\n",
			refuse: refused400("form_data", "form_data is missing")},
		{name: "a missing form_data part", contentType: reqMultipartType, body: buildMultipart(t, mpField("something", "else")),
			refuse: refused400("something", `form_data is missing: the first part must be form_data; unexpected multipart part "something"; the allowed parts are form_data (required, first) and pod_file (optional, after form_data)`)},
		{name: "pod_file before form_data", contentType: reqMultipartType,
			body:   buildMultipart(t, mpFile("pod_file", "pod.pdf", "application/pdf", pod), mpFormData(requestSeed)),
			refuse: refused400("form_data", "form_data must come before pod_file: the server needs the update before it can stream the file")},
		{name: "form_data twice", contentType: reqMultipartType, body: buildMultipart(t, mpFormData(requestSeed), mpFormData(requestSeed)),
			refuse: refused400("form_data", "form_data is sent twice")},
		{name: "an unknown part after form_data", contentType: reqMultipartType,
			body:   buildMultipart(t, mpFormData(requestSeed), mpField("signature", "x")),
			refuse: refused400("signature", `unexpected multipart part "signature"; the allowed parts are form_data`)},
		{name: "a part without Content-Disposition", contentType: reqMultipartType, body: buildMultipart(t, mpRaw(requestSeed, "Content-Type: application/json")),
			refuse: refused400("form_data", "no Content-Disposition header")},
		{name: "an attachment part", contentType: reqMultipartType, body: buildMultipart(t, mpRaw(requestSeed, `Content-Disposition: attachment; name="form_data"`)),
			refuse: refused400("form_data", `disposition is "attachment"`)},
		{name: "a part without a name", contentType: reqMultipartType, body: buildMultipart(t, mpRaw(requestSeed, `Content-Disposition: form-data; filename="a.json"`)),
			refuse: refused400("form_data", "no name")},
		{name: "a Content-Disposition that does not parse", contentType: reqMultipartType, body: buildMultipart(t, mpRaw(requestSeed, `Content-Disposition: form-data; name=`)),
			refuse: refused400("form_data", "does not parse")},
		{name: "base64 form_data", contentType: reqMultipartType,
			body:   buildMultipart(t, mpRaw("eyJ9", `Content-Disposition: form-data; name="form_data"`, "Content-Transfer-Encoding: base64")),
			refuse: refused400("form_data", `form_data has Content-Transfer-Encoding "base64", which is not supported`)},
		{name: "quoted-printable pod_file", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed),
				mpRaw("=ZZ", `Content-Disposition: form-data; name="pod_file"`, "Content-Transfer-Encoding: quoted-printable")),
			refuse: refused400("pod_file", "not supported")},
		{name: "invalid form_data", contentType: reqMultipartType, body: buildMultipart(t, mpFormData(`{"articleId":`)),
			refuse: refused400("form_data", "not valid JSON")},
		{name: "form_data over the limit", contentType: reqMultipartType, body: buildMultipart(t, mpFormData(requestSeed)), limits: Limits{MaxFormDataBytes: 100},
			refuse: refusedWith(http.StatusRequestEntityTooLarge, "form_data", "larger than 100 bytes")},
		{name: "form_data over the MaxBytesReader cap", contentType: reqMultipartType, body: buildMultipart(t, mpFormData(requestSeed)), maxBody: 100,
			refuse: refusedWith(http.StatusRequestEntityTooLarge, "form_data", "larger than the 100 bytes allowed")},
		{name: "the body cut inside form_data", contentType: reqMultipartType,
			body:   buildMultipart(t, mpFormData(requestSeed))[:120],
			refuse: refused400("form_data", "ended inside form_data")},
		{name: "the body cut inside part headers", contentType: reqMultipartType,
			body:   "--" + reqBoundary + "\r\nContent-Disposition: form-da",
			refuse: refused400("form_data", "")},
		{name: "a second part without headers", contentType: reqMultipartType,
			body: "--" + reqBoundary + "\r\nContent-Disposition: form-data; name=\"form_data\"\r\n\r\n" + requestSeed +
				"\r\n--" + reqBoundary + "\r\n\r\nx\r\n--" + reqBoundary + "--\r\n",
			refuse: refused400("form_data", "no Content-Disposition")},
		{name: "a line longer than the reader's buffer before the first boundary", contentType: reqMultipartType,
			body: strings.Repeat("x", 5000) + "\r\n" + buildMultipart(t, mpFormData(requestSeed)), refuse: refused400("form_data", "not valid multipart")},

		// Refusals met while reading pod_file, or by Finish.
		{name: "the body cut inside pod_file", contentType: reqMultipartType,
			body: strings.TrimSuffix(buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "pod.pdf", "", pod)), "\r\n--"+reqBoundary+"--\r\n"),
			want: seedWith(func(*Update) {}), wantFilename: "pod.pdf",
			readRefuse: refused400("pod_file", "ended inside pod_file"), finishRefuse: refused400("pod_file", "ended inside pod_file")},
		{name: "pod_file over the MaxBytesReader cap", contentType: reqMultipartType,
			body:    buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "pod.pdf", "", pod)),
			maxBody: 64 << 10, want: seedWith(func(*Update) {}), wantFilename: "pod.pdf",
			readRefuse:   refusedWith(http.StatusRequestEntityTooLarge, "pod_file", "larger than the 65536 bytes allowed"),
			finishRefuse: refusedWith(http.StatusRequestEntityTooLarge, "pod_file", "65536")},
		{name: "two pod_files", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "a.pdf", "", "a"), mpFile("pod_file", "b.pdf", "", "b")),
			want: seedWith(func(*Update) {}), wantPOD: podString("a"), wantFilename: "a.pdf",
			finishRefuse: refused400("pod_file", "pod_file is sent twice")},
		{name: "form_data after pod_file", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "a.pdf", "", "a"), mpFormData(requestSeed)),
			want: seedWith(func(*Update) {}), wantPOD: podString("a"), wantFilename: "a.pdf",
			finishRefuse: refused400("form_data", "form_data is sent twice")},
		{name: "an unknown part after pod_file", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "a.pdf", "", "a"), mpField("note", "b")),
			want: seedWith(func(*Update) {}), wantPOD: podString("a"), wantFilename: "a.pdf",
			finishRefuse: refused400("note", `pod_file must be the last part; unexpected multipart part "note"`)},
		{name: "a body with no closing boundary after pod_file", contentType: reqMultipartType,
			body: strings.TrimSuffix(buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "a.pdf", "", "a")), "--"+reqBoundary+"--\r\n") +
				"--" + reqBoundary + "\r\n",
			want: seedWith(func(*Update) {}), wantPOD: podString("a"), wantFilename: "a.pdf",
			finishRefuse: refused400("pod_file", "ends without its closing boundary line --"+reqBoundary+"--")},
		{name: "a body cut in the headers of a part after pod_file", contentType: reqMultipartType,
			body: strings.TrimSuffix(buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "a.pdf", "", "a")), "--"+reqBoundary+"--\r\n") +
				"--" + reqBoundary + "\r\nContent-Disposition: form-data; name=\"x",
			want: seedWith(func(*Update) {}), wantPOD: podString("a"), wantFilename: "a.pdf",
			finishRefuse: refused400("pod_file", "")},
		{name: "a body with no closing boundary after form_data", contentType: reqMultipartType,
			body:   strings.TrimSuffix(buildMultipart(t, mpFormData(requestSeed)), "--"+reqBoundary+"--\r\n") + "--" + reqBoundary + "\r\n",
			refuse: refused400("form_data", "ends without its closing boundary line")},
		{name: "a long epilogue", contentType: reqMultipartType,
			body: buildMultipart(t, mpFormData(requestSeed)) + strings.Repeat("e", 20000),
			want: seedWith(func(*Update) {}), finishRefuse: refused400("form_data", "after the multipart closing boundary")},
	}
}

//nolint:gocyclo // one table walks every reader state (parse, read the file, finish, again); split, the cases would scatter
func TestReadRequest(t *testing.T) {
	for _, tc := range readRequestCases(t, 256<<10) {
		t.Run(tc.name, func(t *testing.T) {
			r := newParcelStatusRequest(tc.contentType, tc.body, tc.headers...)
			if tc.maxBody > 0 {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tc.maxBody)
			}
			in, err := ReadRequest(r, reqReceivedAt, tc.limits)
			if tc.refuse != nil {
				re := checkRefusal(t, err, tc.refuse)
				if tc.maxBody > 0 {
					var tooBig *http.MaxBytesError
					if !errors.As(re, &tooBig) {
						t.Errorf("the 413 does not wrap the *http.MaxBytesError")
					}
				}
				if in != nil {
					t.Errorf("a refused request returned %+v", in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Update != *tc.want {
				t.Fatalf("got  %+v\nwant %+v", in.Update, *tc.want)
			}
			if in.POD != nil {
				got, err := io.ReadAll(in.POD.Body)
				if tc.readRefuse != nil {
					_ = checkRefusal(t, err, tc.readRefuse)
					if _, again := in.POD.Body.Read(make([]byte, 1)); again != err { //nolint:errorlint // the very same error value, not one wrapping it
						t.Errorf("a second read returned %v, not the same error", again)
					}
				} else {
					if err != nil {
						t.Fatalf("reading pod_file: %v", err)
					}
					if tc.wantPOD == nil {
						t.Fatalf("pod_file came, none expected")
					}
					if !bytes.Equal(got, []byte(*tc.wantPOD)) {
						t.Fatalf("pod_file is %d bytes, want the %d sent", len(got), len(*tc.wantPOD))
					}
				}
				if in.POD.Filename != tc.wantFilename || in.POD.DeclaredType != tc.wantDeclared {
					t.Errorf("filename %q type %q, want %q %q", in.POD.Filename, in.POD.DeclaredType, tc.wantFilename, tc.wantDeclared)
				}
				checkSafeFilename(t, in.POD.Filename)
			} else if tc.wantPOD != nil || tc.readRefuse != nil {
				t.Fatalf("no pod_file, one expected")
			}
			err = in.Finish()
			if tc.finishRefuse != nil {
				_ = checkRefusal(t, err, tc.finishRefuse)
			} else if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if again := in.Finish(); again != err { //nolint:errorlint // the very same error value, not one wrapping it
				t.Errorf("a second Finish returned %v, the first %v", again, err)
			}
		})
	}
}

func podString(s string) *string { return &s }

// TestReadRequestStreamsPOD proves pod_file is not buffered: ReadRequest
// returns while the client is still sending the file, and the file arrives
// through POD.Body as it is sent.
func TestReadRequestStreamsPOD(t *testing.T) {
	pr, pw := io.Pipe()
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/api/v1/webhook/parcel-status", pr)
	r.Header.Set("Content-Type", reqMultipartType)
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 64<<20)

	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	const chunks = 64                                       // 4 MiB in all
	head := strings.TrimSuffix(buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "pod.pdf", "application/pdf", "%PDF-")),
		"\r\n--"+reqBoundary+"--\r\n")
	sent := make(chan int, chunks+1)
	writeErr := make(chan error, 1)
	go func() {
		_, err := io.WriteString(pw, head)
		for i := 0; err == nil && i < chunks; i++ {
			_, err = pw.Write(chunk)
			sent <- i
		}
		if err == nil {
			_, err = io.WriteString(pw, "\r\n--"+reqBoundary+"--\r\n")
		}
		writeErr <- err
		_ = pw.CloseWithError(err)
	}()

	in, err := ReadRequest(r, reqReceivedAt, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if in.POD == nil {
		t.Fatal("no pod_file")
	}
	if len(sent) == chunks {
		t.Fatalf("ReadRequest returned only after the whole file was sent")
	}
	n, err := io.Copy(io.Discard, in.POD.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len("%PDF-") + chunks*len(chunk)); n != want {
		t.Fatalf("pod_file is %d bytes, want %d", n, want)
	}
	if err := in.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
}

// TestReadRequestChunking reads the same bodies in reads of every size: the
// closing boundary is found even when split between two reads.
func TestReadRequestChunking(t *testing.T) {
	pod := podBytes(t, 10<<10)
	body := buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "pod.pdf", "application/pdf", pod))
	unclosed := strings.TrimSuffix(body, "--"+reqBoundary+"--\r\n") + "--" + reqBoundary + "\r\n"
	readers := map[string]func(io.Reader) io.Reader{
		"one byte":        iotest.OneByteReader,
		"half":            iotest.HalfReader,
		"EOF with data":   iotest.DataErrReader,
		"whole":           func(r io.Reader) io.Reader { return r },
		"7 bytes at most": func(r io.Reader) io.Reader { return &chunkReader{r: r, n: 7} },
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			r := newParcelStatusRequest(reqMultipartType, "")
			r.Body = io.NopCloser(wrap(strings.NewReader(body)))
			in, err := ReadRequest(r, reqReceivedAt, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(in.POD.Body)
			if err != nil || string(got) != pod {
				t.Fatalf("pod_file: %d bytes, %v", len(got), err)
			}
			if err := in.Finish(); err != nil {
				t.Fatal(err)
			}

			r = newParcelStatusRequest(reqMultipartType, "")
			r.Body = io.NopCloser(wrap(strings.NewReader(unclosed)))
			if in, err = ReadRequest(r, reqReceivedAt, Limits{}); err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, in.POD.Body); err != nil {
				t.Fatal(err)
			}
			_ = checkRefusal(t, in.Finish(), refused400("pod_file", "closing boundary"))
		})
	}
}

// chunkReader returns at most n bytes a read.
type chunkReader struct {
	r io.Reader
	n int
}

func (s *chunkReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// TestReadRequestFinishDiscardsUnreadPOD: a caller that does not need the file (a
// retry already recorded) may call Finish without reading it.
func TestReadRequestFinishDiscardsUnreadPOD(t *testing.T) {
	body := buildMultipart(t, mpFormData(requestSeed), mpFile("pod_file", "pod.pdf", "", podBytes(t, 100<<10)))
	in, err := ReadRequest(newParcelStatusRequest(reqMultipartType, body), reqReceivedAt, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestParseUpdateErrorMessage(t *testing.T) {
	_, err := ParseUpdate([]byte(`{"articleId":"","track_status":"Lost"}`), reqReceivedAt, Limits{})
	msg := err.Error()
	for _, want := range []string{"400 Invalid tracking update", "2 problems (articleId, track_status)", "articleId must not be empty", `"Lost"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() %q does not contain %q", msg, want)
		}
	}
}

func TestParseUpdateLimitsDefaults(t *testing.T) {
	got := Limits{}.withDefaults()
	if got.MaxFormDataBytes != 64<<10 || got.MaxClockSkew != 5*time.Minute {
		t.Fatalf("defaults %+v", got)
	}
	if set := (Limits{MaxFormDataBytes: 10, MaxClockSkew: time.Second}).withDefaults(); set.MaxFormDataBytes != 10 || set.MaxClockSkew != time.Second {
		t.Fatalf("explicit limits replaced: %+v", set)
	}
}
