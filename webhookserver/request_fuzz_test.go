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
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Run one target at a time, e.g.
//
//	go test ./webhookserver -run '^$' -fuzz '^FuzzParseUpdate$' -fuzztime 3m -parallel 1
//	go test ./webhookserver -run '^$' -fuzz '^FuzzReadRequest$' -fuzztime 3m -parallel 1
//
// Inputs that failed once are kept under testdata/fuzz and run by plain
// go test.

func FuzzParseUpdate(f *testing.F) {
	for _, tc := range parseUpdateCases() {
		f.Add([]byte(tc.data))
	}
	f.Add([]byte(`{"articleId":"A1","track_status":"zurück-gesendet"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		limits := Limits{StatusAliases: fuzzAliases}
		u, err := ParseUpdate(data, reqReceivedAt, limits)
		if err != nil {
			checkFuzzRefusal(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			return
		}
		checkFuzzUpdate(t, u, limits)
	})
}

// checkFuzzStatus holds an accepted update's status to what was sent.
func checkFuzzStatus(t *testing.T, u Update, limits Limits) {
	t.Helper()
	switch {
	case !utf8.ValidString(u.ReportedStatus), utf8.RuneCountInString(u.ReportedStatus) > v1alpha1.MaxReportedStatusLength:
		t.Fatalf("reported status %q is not valid UTF-8 or too long", u.ReportedStatus)
	case u.AliasedStatus != "" && u.AliasedStatus != u.ReportedStatus:
		t.Fatalf("aliased status %q is not the reported %q", u.AliasedStatus, u.ReportedStatus)
	}
	if s, aliased, _ := v1alpha1.ResolveStatus(u.ReportedStatus, limits.StatusAliases); s != u.Status || aliased != (u.AliasedStatus != "") {
		t.Fatalf("reported status %q does not resolve to %q (aliased %q)", u.ReportedStatus, u.Status, u.AliasedStatus)
	}
}

// fuzzAliases are a courier's own codes, so fuzzing reaches the aliases too.
var fuzzAliases = map[string]v1alpha1.TrackingStatus{
	"DL": v1alpha1.StatusDelivered, "Zurückgesendet": v1alpha1.StatusReturnToSender, "配達済み": v1alpha1.StatusDelivered,
}

// Fuzz modes of FuzzReadRequest: which content type the body is sent with,
// and whether it goes through http.MaxBytesReader or small limits.
const (
	fuzzJSON        = 1 << iota // application/json, else multipart with reqBoundary
	fuzzMaxBytes                // the body capped by http.MaxBytesReader at half its length
	fuzzSmallLimits             // MaxFormDataBytes of 256
)

func FuzzReadRequest(f *testing.F) {
	for _, tc := range readRequestCases(f, 2<<10) {
		var mode uint8
		switch {
		case tc.contentType == reqMultipartType:
		case strings.HasPrefix(tc.contentType, "application/json"):
			mode = fuzzJSON
		default:
			continue
		}
		f.Add(mode, []byte(tc.body))
		f.Add(mode|fuzzMaxBytes, []byte(tc.body))
		f.Add(mode|fuzzSmallLimits, []byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/api/v1/webhook/parcel-status", bytes.NewReader(body))
		r.Header.Set("Content-Type", reqMultipartType)
		if mode&fuzzJSON != 0 {
			r.Header.Set("Content-Type", "application/json")
		}
		if mode&fuzzMaxBytes != 0 {
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, int64(len(body)/2))
		}
		limits := Limits{}
		if mode&fuzzSmallLimits != 0 {
			limits.MaxFormDataBytes = 256
		}

		in, err := ReadRequest(r, reqReceivedAt, limits)
		if err != nil {
			checkFuzzRefusal(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			return
		}
		checkFuzzUpdate(t, in.Update, limits)
		if in.POD != nil {
			if mode&fuzzJSON != 0 {
				t.Fatal("a JSON body has a pod_file")
			}
			checkSafeFilename(t, in.POD.Filename)
			n, err := io.Copy(io.Discard, in.POD.Body)
			if err != nil {
				checkFuzzRefusal(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			}
			if n > int64(len(body)) {
				t.Fatalf("pod_file is %d bytes, more than the %d-byte body", n, len(body))
			}
		}
		if err := in.Finish(); err != nil {
			checkFuzzRefusal(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		}
	})
}

// checkFuzzRefusal asserts err is a *Problem of one of the statuses,
// that names a field and says something readable.
func checkFuzzRefusal(t *testing.T, err error, statuses ...int) {
	t.Helper()
	var re *Problem
	if !errors.As(err, &re) {
		t.Fatalf("error %T %v is not a *Problem", err, err)
	}
	ok := false
	for _, s := range statuses {
		ok = ok || re.Status == s
	}
	if !ok {
		t.Fatalf("status %d, want one of %v: %v", re.Status, statuses, re)
	}
	if re.Title == "" || re.Detail == "" || len(re.Fields) == 0 {
		t.Fatalf("refusal without title, detail or field: %+v", re)
	}
	if !utf8.ValidString(re.Detail) {
		t.Fatalf("detail is not valid UTF-8: %q", re.Detail)
	}
	for _, fe := range re.Fields {
		if fe.Field == "" || fe.Detail == "" || !utf8.ValidString(fe.Field) || !utf8.ValidString(fe.Detail) {
			t.Fatalf("field error without a valid field or detail: %+v", fe)
		}
	}
	_ = re.Error()
}

// checkFuzzUpdate asserts the promises of an accepted Update.
func checkFuzzUpdate(t *testing.T, u Update, limits Limits) {
	t.Helper()
	limits = limits.withDefaults()
	switch {
	case v1alpha1.ValidateArticleID(u.ArticleID) != nil:
		t.Fatalf("accepted article ID %q: %v", u.ArticleID, v1alpha1.ValidateArticleID(u.ArticleID))
	case !u.Status.IsValid():
		t.Fatalf("accepted status %q", u.Status)
	case u.Time.IsZero(), u.Time.Location() != time.UTC, !u.Time.Equal(u.Time.Truncate(time.Second)):
		t.Fatalf("time %v is zero, not UTC or not whole seconds", u.Time)
	case u.Time.Before(earliestTrackTime), u.Time.After(reqReceivedAt.Add(limits.MaxClockSkew)):
		t.Fatalf("time %v is out of range", u.Time)
	case !u.TimeReported && !u.Time.Equal(reqReceivedAt.Truncate(time.Second)):
		t.Fatalf("time %v not reported, but not the receive time", u.Time)
	case v1alpha1.ValidateEventID(u.EventID) != nil:
		t.Fatalf("event id %q: %v", u.EventID, v1alpha1.ValidateEventID(u.EventID))
	case !u.EventIDReported && u.EventID != v1alpha1.DeriveEventID(u.ArticleID, u.Status, u.Time):
		t.Fatalf("event id %q is not the derived one", u.EventID)
	case !utf8.ValidString(u.Remarks), utf8.RuneCountInString(u.Remarks) > v1alpha1.MaxRemarksLength:
		t.Fatalf("remarks %q are not valid UTF-8 or too long", u.Remarks)
	}
	checkFuzzStatus(t, u, limits)
	for _, r := range u.Remarks {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7f && r <= 0x9f {
			t.Fatalf("remarks hold control character %U", r)
		}
	}
}
