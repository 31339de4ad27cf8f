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

package signature

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Run one target at a time, e.g.
//
//	go test ./internal/signature -run '^$' -fuzz '^FuzzParse$' -fuzztime 5m -parallel 1
//	go test ./internal/signature -run '^$' -fuzz '^FuzzVerify$' -fuzztime 5m -parallel 1
//
// Inputs that failed once are kept under testdata/fuzz and run by plain
// go test.

// maxTimestamp is the largest t Parse accepts: 12 decimal digits.
const maxTimestamp = 999_999_999_999

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases() {
		f.Add(tc.value)
	}
	f.Add(exampleHeader)
	f.Add(Sign(testT, nil, testKey, testKeyPrevious, testKey, testKeyPrevious))
	f.Fuzz(func(t *testing.T, value string) {
		s, err := Parse(value)
		if err != nil {
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is neither ErrMissing nor ErrMalformed", err)
			}
			if errors.Is(err, ErrMissing) != (value == "") {
				t.Fatalf("ErrMissing is for the empty header only: %q gave %v", value, err)
			}
			checkFuzzNoLeak(t, err, value)
			return
		}
		switch {
		case len(value) > MaxHeaderLength:
			t.Fatalf("accepted a header of %d bytes", len(value))
		case s.Timestamp < 0 || s.Timestamp > maxTimestamp:
			t.Fatalf("accepted timestamp %d", s.Timestamp)
		case len(s.MACs) < 1 || len(s.MACs) > MaxSignatures:
			t.Fatalf("accepted %d MACs", len(s.MACs))
		}
		for _, m := range s.MACs {
			if len(m) != sha256.Size {
				t.Fatalf("accepted a MAC of %d bytes", len(m))
			}
		}
		// Written out again the way Sign writes, it parses to the same value.
		again := serialize(s)
		s2, err := Parse(again)
		if err != nil {
			t.Fatalf("%q parsed to %+v, written out as %q, which does not parse: %v", value, s, again, err)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("%q parsed to %+v, written out as %q, which parses to %+v", value, s, again, s2)
		}
	})
}

// serialize writes s out as Sign does.
func serialize(s Signed) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t=%d", s.Timestamp)
	for _, m := range s.MACs {
		b.WriteString(",v1=" + hex.EncodeToString(m))
	}
	return b.String()
}

// checkFuzzNoLeak asserts a refusal repeats nothing of value: its text is
// printable ASCII, and holds no run of 16 or more hex digits of the value
// (a MAC, or a part of one).
func checkFuzzNoLeak(t *testing.T, err error, value string) {
	t.Helper()
	text := err.Error()
	for i := 0; i < len(text); i++ {
		if text[i] < 0x20 || text[i] > 0x7e {
			t.Fatalf("error text holds byte %#x: %q", text[i], text)
		}
	}
	isHex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
	for i := 0; i < len(value); {
		j := i
		for j < len(value) && isHex(value[j]) {
			j++
		}
		if j-i >= 16 && strings.Contains(text, value[i:i+16]) {
			t.Fatalf("error text %q repeats hex digits %q of the value", text, value[i:j])
		}
		i = max(j, i+1)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(exampleKey), int64(exampleT), []byte(exampleBody), uint16(0))
	f.Add(testKey, int64(testT), verifyBody, uint16(0x0107))
	f.Add(testKey, int64(0), []byte{}, uint16(0))
	f.Add([]byte{}, int64(maxTimestamp), []byte{0}, uint16(0xff00))
	f.Add(bytes.Repeat([]byte{0x36}, 65), int64(-1), []byte("t=1,v1=00"), uint16(3))
	f.Add(testKeyPrevious, int64(1<<62), bytes.Repeat([]byte("parcel "), 1000), uint16(0xffff))
	f.Fuzz(func(t *testing.T, key []byte, ts int64, body []byte, flip uint16) {
		// Any timestamp Parse accepts.
		ts %= maxTimestamp + 1
		if ts < 0 {
			ts = -ts
		}
		now := time.Unix(ts, 0)
		keys := [][]byte{key}
		h := Sign(ts, body, key)

		// One byte of the body changed: refused, and nothing remembered.
		if len(body) > 0 {
			altered := bytes.Clone(body)
			x := byte(flip >> 8)
			if x == 0 {
				x = 1
			}
			altered[int(flip)%len(altered)] ^= x
			v := &Verifier{Memory: NewReplayMemory(4)}
			if _, err := verify(v, h, keys, altered, now); !errors.Is(err, ErrMismatch) {
				t.Fatalf("body with byte %d changed: %v, want ErrMismatch", int(flip)%len(altered), err)
			}
			if v.Memory.Len() != 0 {
				t.Fatalf("a refused request was remembered")
			}
		}
		// One byte more: refused.
		v := &Verifier{Memory: NewReplayMemory(4)}
		if _, err := verify(v, h, keys, append(bytes.Clone(body), byte(flip)), now); !errors.Is(err, ErrMismatch) {
			t.Fatalf("body with a byte appended: %v, want ErrMismatch", err)
		}

		// The body as signed, written in two pieces: accepted, once.
		p, err := v.Begin(h, keys, now)
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		cut := 0
		if len(body) > 0 {
			cut = int(flip) % (len(body) + 1)
		}
		_, _ = p.Write(body[:cut])
		_, _ = p.Write(body[cut:])
		if _, err := p.Finish(now); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		if _, err := v.Begin(h, keys, now); !errors.Is(err, ErrReplayed) {
			t.Fatalf("the same header again: %v, want ErrReplayed", err)
		}
	})
}
