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
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The signing example the standard-webhooks project publishes with its
// libraries: key, id, timestamp, payload and the signature they give.
const (
	exampleKey       = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	exampleID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	exampleTimestamp = 1614265330
	examplePayload   = `{"test": 2432232314}`
	exampleSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustKey(t *testing.T, s string) []byte {
	t.Helper()
	k, err := ParseKey(s)
	if err != nil {
		t.Fatalf("ParseKey(%q): %v", s, err)
	}
	return k
}

func TestSignerPublishedExample(t *testing.T) {
	s := NewSigner(mustKey(t, exampleKey))
	if got := s.Signature(exampleID, time.Unix(exampleTimestamp, 0), []byte(examplePayload)); got != exampleSignature {
		t.Fatalf("Signature = %s, want %s", got, exampleSignature)
	}
}

// specSignature is the signature as the Standard Webhooks specification
// defines it, written from the specification rather than from Signer.
func specSignature(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	_, _ = fmt.Fprintf(mac, "%s.%d.%s", id, ts, body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSignerVerifiedIndependently(t *testing.T) {
	current := bytes.Repeat([]byte{0xa5}, 32)
	previous := []byte("a previous key of 24 byte")[:24]
	other := bytes.Repeat([]byte{0x11}, 32)
	at := time.Now()
	cases := []struct {
		name string
		keys [][]byte
		body []byte
	}{
		{"one key", [][]byte{current}, []byte(`{"specversion":"1.0"}`)},
		{"two keys during a rotation", [][]byte{current, previous}, []byte(`{"specversion":"1.0"}`)},
		{"an empty body", [][]byte{current}, nil},
		{"a body with non-ASCII text and newlines", [][]byte{current, previous}, []byte("{\"remarks\":\"Zustellung \u00fcber Nachbarn\\n\"}\n")},
		{"the longest key", [][]byte{bytes.Repeat([]byte{7}, MaxKeyBytes)}, []byte(`{}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			NewSigner(tc.keys...).Sign(h, "a1b2c3", at, tc.body)
			if got := h.Get(HeaderTimestamp); got != fmt.Sprint(at.Unix()) {
				t.Fatalf("webhook-timestamp = %q, want %d", got, at.Unix())
			}
			sigs := strings.Split(h.Get(HeaderSignature), " ")
			if len(sigs) != len(tc.keys) {
				t.Fatalf("%d signatures, want one per key (%d)", len(sigs), len(tc.keys))
			}
			for i, key := range tc.keys {
				if want := specSignature(key, "a1b2c3", at.Unix(), tc.body); sigs[i] != want {
					t.Errorf("signature %d = %s, want %s (from the specification)", i, sigs[i], want)
				}
				wh, err := standardwebhooks.NewWebhookRaw(key)
				if err != nil {
					t.Fatal(err)
				}
				if err := wh.Verify(tc.body, h); err != nil {
					t.Errorf("the standard-webhooks library refuses key %d: %v", i, err)
				}
			}
			wh, _ := standardwebhooks.NewWebhookRaw(other)
			if err := wh.Verify(tc.body, h); err == nil {
				t.Error("the standard-webhooks library accepts a key that did not sign")
			}
			tampered := append(bytes.Clone(tc.body), ' ')
			wh, _ = standardwebhooks.NewWebhookRaw(tc.keys[0])
			if err := wh.Verify(tampered, h); err == nil {
				t.Error("the standard-webhooks library accepts a changed body")
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	cases := []struct {
		in      string
		wantLen int
		wantErr string
	}{
		{in: exampleKey, wantLen: 24},
		{in: " " + exampleKey + "\n", wantLen: 24},
		{in: "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64)), wantLen: 64},
		{in: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantErr: "prefix is missing"},
		{in: "whsec_", wantErr: "holds 0 bytes"},
		{in: "whsec_not base64!", wantErr: "not valid base64"},
		{in: "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), wantErr: "holds 23 bytes"},
		{in: "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), wantErr: "holds 65 bytes"},
		{in: "whsec_" + base64.RawURLEncoding.EncodeToString(make([]byte, 32)), wantErr: "not valid base64"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			k, err := ParseKey(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrKeyFormat) {
					t.Fatalf("ParseKey = %v, want an ErrKeyFormat saying %q", err, tc.wantErr)
				}
				if len(tc.in) > 12 && strings.Contains(err.Error(), strings.TrimPrefix(strings.TrimSpace(tc.in), KeyPrefix)) {
					t.Fatalf("the error repeats the key: %v", err)
				}
				return
			}
			if err != nil || len(k) != tc.wantLen {
				t.Fatalf("ParseKey = %d bytes, %v; want %d bytes", len(k), err, tc.wantLen)
			}
		})
	}
}

func TestSignerKeepsKeysOutOfFormatting(t *testing.T) {
	s := NewSigner([]byte("secret-secret-secret-secret"))
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), s.String()} {
		if strings.Contains(out, "secret") {
			t.Fatalf("formatting a Signer shows its key: %s", out)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{exampleKey, "whsec_", "whsec_====", "", "whsec_" + strings.Repeat("A", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err == nil && (len(k) < MinKeyBytes || len(k) > MaxKeyBytes) {
			t.Fatalf("ParseKey(%q) accepted %d bytes", s, len(k))
		}
		if err != nil && !errors.Is(err, ErrKeyFormat) {
			t.Fatalf("ParseKey(%q) = %v, not an ErrKeyFormat", s, err)
		}
	})
}
