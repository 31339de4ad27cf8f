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
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const reqURLEncodedType = "application/x-www-form-urlencoded"

// urlencodedFormData is form_data as Python requests' data= and PHP's
// http_build_query send it.
func urlencodedFormData(formData string) string {
	return url.Values{"form_data": {formData}}.Encode()
}

// urlencodedCases are the urlencoded rows of TestReadURLEncoded, and seeds of
// FuzzReadURLEncoded.
func urlencodedCases() []readCase {
	seed := urlencodedFormData(requestSeed)
	return []readCase{
		{name: "form_data", contentType: reqURLEncodedType, body: seed, want: seedWith(func(*Update) {})},
		{name: "the body Python requests 2.34 sends for data={\"form_data\": json.dumps(update)}", contentType: reqURLEncodedType,
			body: "form_data=%7B%22articleId%22%3A+%22ARP1000052447%22%2C+%22track_status%22%3A+%22Delivered%22%2C+%22track_datetime%22%3A+%222025-10-08T10%3A15%3A00Z%22%2C+%22remarks%22%3A+%22Delivered+successfully%22%7D", want: seedWith(func(*Update) {})},
		{name: "form_data with charset", contentType: reqURLEncodedType + "; charset=UTF-8", body: seed, want: seedWith(func(*Update) {})},
		{name: "spaces sent as %20, as curl --data-urlencode does", contentType: reqURLEncodedType,
			body: "form_data=" + url.PathEscape(requestSeed), want: seedWith(func(*Update) {})},
		{name: "a trailing &", contentType: reqURLEncodedType, body: seed + "&", want: seedWith(func(*Update) {})},
		{name: "form_data twice", contentType: reqURLEncodedType, body: seed + "&" + seed,
			refuse: refused400("form_data", "form_data is sent 2 times")},
		{name: "an extra field", contentType: reqURLEncodedType, body: seed + "&signature=x",
			refuse: refused400("signature", `unexpected form field "signature"; the only field allowed is form_data`)},
		{name: "pod_file as a field", contentType: reqURLEncodedType, body: seed + "&pod_file=%25PDF-1.4",
			refuse: refused400("pod_file", "send a file as multipart/form-data")},
		{name: "no form_data", contentType: reqURLEncodedType, body: "a=b", refuse: refused400("a", "unexpected form field")},
		{name: "an empty body", contentType: reqURLEncodedType, body: "", refuse: refused400("form_data", "form_data is missing")},
		{name: "JSON sent as a form", contentType: reqURLEncodedType, body: requestSeed,
			refuse: refused400(requestSeed[:64], "unexpected form field")},
		{name: "form_data without a value", contentType: reqURLEncodedType, body: "form_data", refuse: refused400("form_data", "empty")},
		{name: "a bad percent escape in form_data", contentType: reqURLEncodedType, body: "form_data=%7B%zz",
			refuse: refused400("form_data", "not valid percent-encoding")},
		{name: "a bad percent escape in a name", contentType: reqURLEncodedType, body: "form%zzdata=x",
			refuse: refused400("form_data", "the name of form field 1 is not valid percent-encoding")},
		{name: "form_data over the limit", contentType: reqURLEncodedType, body: seed, limits: Limits{MaxFormDataBytes: 100},
			refuse: refusedWith(http.StatusRequestEntityTooLarge, "form_data", "larger than 100 bytes")},
		{name: "a body too long to decode within the limit", contentType: reqURLEncodedType,
			body: "form_data=" + strings.Repeat("%20", 40) + requestSeed, limits: Limits{MaxFormDataBytes: 40},
			refuse: refusedWith(http.StatusRequestEntityTooLarge, "form_data", "larger than 40 bytes")},
		{name: "form_data over the MaxBytesReader cap", contentType: reqURLEncodedType, body: seed, maxBody: 100,
			refuse: refusedWith(http.StatusRequestEntityTooLarge, "form_data", "larger than the 100 bytes allowed")},
		{name: "a Latin-1 form", contentType: reqURLEncodedType + "; charset=iso-8859-1", body: seed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", `charset "iso-8859-1" is not supported`)},
		{name: "form parameters that do not parse", contentType: reqURLEncodedType + "; charset", body: seed,
			refuse: refusedWith(http.StatusUnsupportedMediaType, "Content-Type", "parameters that do not parse")},
	}
}

func TestReadURLEncoded(t *testing.T) {
	for _, tc := range urlencodedCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := newParcelStatusRequest(tc.contentType, tc.body)
			if tc.maxBody > 0 {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tc.maxBody)
			}
			in, err := ReadRequest(r, reqReceivedAt, tc.limits)
			if tc.refuse != nil {
				re := checkRefusal(t, err, tc.refuse)
				var tooBig *http.MaxBytesError
				if tc.maxBody > 0 && !errors.As(re, &tooBig) {
					t.Errorf("the 413 does not wrap the *http.MaxBytesError")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Update != *tc.want || in.POD != nil {
				t.Fatalf("got %+v with POD %v\nwant %+v", in.Update, in.POD, *tc.want)
			}
			if err := in.Finish(); err != nil {
				t.Fatalf("Finish: %v", err)
			}
		})
	}
}

// TestReadersAgree sends the same hostile form_data as a multipart part, as
// a JSON body and as a urlencoded field: each must be refused with the same
// problem, so a courier's client makes no difference to what it is told.
func TestReadersAgree(t *testing.T) {
	hostile := []struct {
		name, formData string
		limits         Limits
	}{
		{name: "a member sent twice", formData: `{"articleId":"A1","articleId":"A2","track_status":"Delivered"}`},
		{name: "an unknown member", formData: `{"articleId":"A1","track_status":"Delivered","courier":"x"}`},
		{name: "over the limit", formData: requestSeed, limits: Limits{MaxFormDataBytes: 64}},
		{name: "invalid UTF-8", formData: "{\"articleId\":\"A1\",\"track_status\":\"Deliver\xc3ed\"}"},
		{name: "nesting deeper than the decoder allows",
			formData: `{"articleId":"A1","track_status":"Delivered","remarks":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
		{name: "an array", formData: `[{"articleId":"A1","track_status":"Delivered"}]`},
		{name: "data after the object", formData: requestSeed + `{}`},
		{name: "an unknown status", formData: `{"articleId":"A1","track_status":"Zugestellt"}`},
	}
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			bodies := map[string]*http.Request{
				"multipart":  newParcelStatusRequest(reqMultipartType, buildMultipart(t, mpFormData(h.formData))),
				"JSON":       newParcelStatusRequest("application/json", h.formData),
				"urlencoded": newParcelStatusRequest(reqURLEncodedType, urlencodedFormData(h.formData)),
			}
			var first *Problem
			for how, r := range bodies {
				_, err := ReadRequest(r, reqReceivedAt, h.limits)
				var p *Problem
				if !errors.As(err, &p) {
					t.Fatalf("%s: %v is not a *Problem", how, err)
				}
				if p.Status == http.StatusInternalServerError || len(p.Fields) == 0 {
					t.Fatalf("%s: %+v", how, p)
				}
				if first == nil {
					first = p
					continue
				}
				if p.Status != first.Status || p.Detail != first.Detail || !reflect.DeepEqual(p.Fields, first.Fields) {
					t.Errorf("%s answers %d %q %+v, another reader %d %q %+v",
						how, p.Status, p.Detail, p.Fields, first.Status, first.Detail, first.Fields)
				}
			}
		})
	}
}

// FuzzReadURLEncoded checks the urlencoded reader against url.ParseQuery: a
// body that holds exactly one form_data field and nothing else is judged
// exactly as ParseUpdate judges its value; any other body is refused with a
// problem naming a field.
//
//	go test ./webhookserver -run '^$' -fuzz '^FuzzReadURLEncoded$' -fuzztime 3m -parallel 1
func FuzzReadURLEncoded(f *testing.F) {
	for _, tc := range urlencodedCases() {
		f.Add([]byte(tc.body))
	}
	for _, tc := range parseUpdateCases() {
		f.Add([]byte(urlencodedFormData(tc.data)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		limits := Limits{MaxFormDataBytes: 1 << 10}
		in, err := ReadRequest(newParcelStatusRequest(reqURLEncodedType, string(body)), reqReceivedAt, limits)

		values, qerr := url.ParseQuery(string(body))
		if qerr == nil && len(values) == 1 && len(values["form_data"]) == 1 {
			want, wantErr := ParseUpdate([]byte(values["form_data"][0]), reqReceivedAt, limits)
			switch {
			case (err == nil) != (wantErr == nil):
				t.Fatalf("ReadRequest says %v, ParseUpdate of the decoded value %v", err, wantErr)
			case err == nil && in.Update != want:
				t.Fatalf("ReadRequest read %+v, ParseUpdate %+v", in.Update, want)
			case err != nil && err.Error() != wantErr.Error():
				t.Fatalf("ReadRequest refuses with %v, ParseUpdate with %v", err, wantErr)
			}
		}
		if err != nil {
			checkFuzzRefusal(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			return
		}
		checkFuzzUpdate(t, in.Update, limits)
		if in.POD != nil {
			t.Fatal("a urlencoded body has a pod_file")
		}
		if err := in.Finish(); err != nil {
			t.Fatalf("Finish: %v", err)
		}
	})
}
