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

package notify

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const retryAfterHeader = "Retry-After"

func TestClassify(t *testing.T) {
	now := time.Date(2026, 10, 8, 7, 30, 0, 0, time.UTC)
	cases := []struct {
		name       string
		code       int
		header     http.Header
		body       string
		wantErr    string
		retry      bool
		retryAfter time.Duration
	}{
		{name: "200", code: 200},
		{name: "204", code: 204},
		{name: "202 with a body", code: 202, body: "queued"},
		{name: "500", code: 500, retry: true, wantErr: "answered 500 Internal Server Error"},
		{name: "503 with Retry-After in seconds", code: 503, header: http.Header{retryAfterHeader: {"7"}}, retry: true,
			retryAfter: 7 * time.Second, wantErr: "answered 503"},
		{name: "429 with Retry-After as a date", code: 429, header: http.Header{retryAfterHeader: {"Thu, 08 Oct 2026 07:31:00 GMT"}},
			retry: true, retryAfter: time.Minute, wantErr: "answered 429 Too Many Requests"},
		{name: "408", code: 408, retry: true, wantErr: "answered 408"},
		{name: "400 is refused for good, quoting the body", code: 400, body: " bad signature \n",
			wantErr: "answered 400 Bad Request: bad signature"},
		{name: "404", code: 404, wantErr: "answered 404 Not Found"},
		{name: "410", code: 410, wantErr: "answered 410 Gone"},
		{name: "401", code: 401, wantErr: "answered 401 Unauthorized"},
		{name: "a redirect is not followed", code: 302, header: http.Header{"Location": {"https://elsewhere.example/"}},
			wantErr: `answered 302 Found (redirect to "https://elsewhere.example/" not followed)`},
		{name: "a 1xx final answer", code: 199, wantErr: "answered 199"},
		{name: "Retry-After on a 400 is ignored", code: 400, header: http.Header{retryAfterHeader: {"5"}}, wantErr: "answered 400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			r := classify(tc.code, h, []byte(tc.body), now)
			if r.code != tc.code || r.retry != tc.retry || r.retryAfter != tc.retryAfter {
				t.Fatalf("classify = code %d retry %v after %s; want %d %v %s", r.code, r.retry, r.retryAfter, tc.code, tc.retry, tc.retryAfter)
			}
			switch {
			case tc.wantErr == "" && r.err != nil:
				t.Fatalf("classify err = %v, want none", r.err)
			case tc.wantErr != "" && (r.err == nil || !strings.HasPrefix(r.err.Error(), tc.wantErr)):
				t.Fatalf("classify err = %v, want %q", r.err, tc.wantErr)
			}
		})
	}
}

func TestClassifyQuotesLittleOfTheBody(t *testing.T) {
	r := classify(400, http.Header{}, []byte(strings.Repeat("x", maxErrorBody)), time.Now())
	if len(r.err.Error()) > maxErrorBody+64 {
		t.Fatalf("the error quotes %d bytes", len(r.err.Error()))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 10, 8, 7, 30, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 2 * time.Minute},
		{" 3 ", 3 * time.Second},
		{"99999999999999", maxRetryAfter},
		{"Thu, 08 Oct 2026 07:30:30 GMT", 30 * time.Second},
		{"Thu, 08 Oct 2026 07:29:00 GMT", 0},
		{"Sat, 08 Oct 2050 07:29:00 GMT", maxRetryAfter},
		{"soon", 0},
		{"1.5", 0},
	}
	for _, tc := range cases {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "5", "Thu, 08 Oct 2026 07:30:30 GMT", "-1", "1e9"} {
		f.Add(s)
	}
	now := time.Date(2026, 10, 8, 7, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := retryAfter(s, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("retryAfter(%q) = %s, outside [0, %s]", s, d, maxRetryAfter)
		}
	})
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	lowest := func() float64 { return 0 }
	highest := func() float64 { return 0.999999 }
	cases := []struct {
		n        int
		min, max time.Duration
	}{
		{0, 500 * time.Millisecond, time.Second},
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{6, 16 * time.Second, 32 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{40, 30 * time.Second, time.Minute},
		{1000, 30 * time.Second, time.Minute},
	}
	for _, tc := range cases {
		lo, hi := b.Delay(tc.n, lowest), b.Delay(tc.n, highest)
		if lo != tc.min || hi > tc.max || hi < tc.max-time.Millisecond {
			t.Errorf("Delay(%d) spans [%s, %s], want [%s, %s)", tc.n, lo, hi, tc.min, tc.max)
		}
	}
}
