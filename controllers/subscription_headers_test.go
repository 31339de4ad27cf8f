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

package controllers

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseHeaders(t *testing.T) {
	cases := []struct {
		in      string
		want    http.Header
		wantErr string
	}{
		{in: "X-Tenant: north\nx-api-version: \"2\"\n", want: http.Header{"X-Tenant": {"north"}, "X-Api-Version": {"2"}}},
		{in: `{"X-Tenant": "north"}`, want: http.Header{"X-Tenant": {"north"}}},
		{in: "{}", want: http.Header{}},
		{in: "- a\n- b\n", wantErr: "want a YAML map"},
		{in: "X-Tenant: [a, b]\n", wantErr: "want a YAML map"},
		{in: "Bad Header: x\n", wantErr: `header "Bad Header" is not a valid header name and value`},
		{in: "\"X-Evil\": \"a\\r\\nHost: other\"\n", wantErr: `header "X-Evil" is not a valid`},
		{in: "Authorization: Basic abc\n", wantErr: `header "Authorization" is set by the operator`},
		{in: "webhook-signature: v1,forged\n", wantErr: `header "webhook-signature" is set by the operator`},
		{in: "content-type: text/plain\n", wantErr: `header "content-type" is set by the operator`},
		{in: "X-Same: 1\nX-Same: 2\n", wantErr: "want a YAML map"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseHeaders([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseHeaders = %v, %v; want an error saying %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseHeaders: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("parseHeaders = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got.Get(k) != v[0] {
					t.Fatalf("parseHeaders = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"X-Tenant: north\n", "{}", "a: [1]", "\"X\": \"a\\nb\"", "Host: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHeaders([]byte(s))
		if err != nil {
			return
		}
		for name, values := range h {
			if !validHeaderName(name) {
				t.Fatalf("accepted header name %q", name)
			}
			for _, v := range values {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("accepted header value %q", v)
				}
			}
			for _, reserved := range reservedHeaders {
				if strings.EqualFold(name, reserved) {
					t.Fatalf("accepted the operator's header %q", name)
				}
			}
		}
	})
}
