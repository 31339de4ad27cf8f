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
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// verifyBody is the body of the end-to-end tests.
var verifyBody = []byte(`{"articleId":"ARP1000052447","track_status":"Delivered","track_datetime":"2025-11-26T00:00:00Z"}`)

// verify runs one request through v: Begin at now, the body written a
// byte at a time (the smallest pieces the server's io.TeeReader may pass
// on), Finish at now.
func verify(v *Verifier, h string, keys [][]byte, body []byte, now time.Time) (time.Duration, error) {
	p, err := v.Begin(h, keys, now)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(p, iotest.OneByteReader(bytes.NewReader(body))); err != nil {
		return 0, err
	}
	return p.Finish(now)
}

// newVerifier returns a Verifier with a fresh memory.
func newVerifier() *Verifier { return &Verifier{Memory: NewReplayMemory(64)} }

func TestVerifyAccepts(t *testing.T) {
	chunked := func(sizes ...int) func(*Pending, []byte) {
		return func(p *Pending, body []byte) {
			for i := 0; len(body) > 0; i++ {
				n := min(sizes[i%len(sizes)], len(body))
				_, _ = p.Write(body[:n])
				body = body[n:]
			}
		}
	}
	cases := []struct {
		name  string
		body  []byte
		write func(*Pending, []byte)
		now   time.Time
	}{
		{name: "whole", body: verifyBody, write: chunked(1 << 20), now: testNow},
		{name: "a byte at a time", body: verifyBody, write: chunked(1), now: testNow},
		{name: "uneven chunks", body: verifyBody, write: chunked(3, 17, 1, 40), now: testNow},
		{name: "an empty write among chunks", body: verifyBody, write: func(p *Pending, b []byte) {
			_, _ = p.Write(b[:10])
			_, _ = p.Write(nil)
			_, _ = p.Write(b[10:])
		}, now: testNow},
		{name: "an empty body", body: nil, write: func(*Pending, []byte) {}, now: testNow},
		{name: "a binary body", body: []byte{0, 1, 0xff, '\r', '\n', ',', '='}, write: chunked(2), now: testNow},
		{name: "at the old edge of the window", body: verifyBody, write: chunked(64), now: testNow.Add(DefaultTolerance)},
		{name: "at the future edge of the window", body: verifyBody, write: chunked(64), now: testNow.Add(-DefaultTolerance)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier()
			p, err := v.Begin(Sign(testT, tc.body, testKey), [][]byte{testKey}, tc.now)
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			tc.write(p, tc.body)
			if wait, err := p.Finish(tc.now); err != nil || wait != 0 {
				t.Fatalf("Finish: %s, %v", wait, err)
			}
			if v.Memory.Len() != 1 {
				t.Fatalf("Len = %d, want 1", v.Memory.Len())
			}
		})
	}
}

func TestVerifyWriteNeverFails(t *testing.T) {
	p, err := newVerifier().Begin(Sign(testT, verifyBody, testKey, testKeyPrevious), [][]byte{testKey, testKeyPrevious}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Write(verifyBody); n != len(verifyBody) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

func TestVerifyReplay(t *testing.T) {
	v := newVerifier()
	h := Sign(testT, verifyBody, testKey)
	keys := [][]byte{testKey}
	if _, err := verify(v, h, keys, verifyBody, testNow); err != nil {
		t.Fatalf("first: %v", err)
	}
	// The same header again is refused by Begin, before any body is read,
	// for the whole window.
	for _, now := range []time.Time{testNow, testNow.Add(time.Second), testNow.Add(DefaultTolerance - time.Second)} {
		if p, err := v.Begin(h, keys, now); !errors.Is(err, ErrReplayed) || p != nil {
			t.Fatalf("again at %s: %v, want ErrReplayed and no Pending", now.Sub(testNow), err)
		}
	}
	// Spelled differently, it is still the same signature.
	_, mac, _ := strings.Cut(h, "v1=")
	v1 := "v1=" + mac
	for _, respelled := range []string{
		" " + strings.ReplaceAll(h, ",", " , ") + " ",
		header(v1, tItem(testT)),
		header("t=0"+strconv.Itoa(testT), v1),
		header(tItem(testT), v1Item(strings.ToUpper(v1[3:]))),
		header(tItem(testT), v1, v1Item(testMACs[0])),
	} {
		if _, err := v.Begin(respelled, keys, testNow.Add(time.Second)); !errors.Is(err, ErrReplayed) {
			t.Fatalf("%q: %v, want ErrReplayed", respelled, err)
		}
	}
	// Finish of a second Pending, begun before the first finished, is the
	// one refused: two copies racing.
	h2 := Sign(testT+1, verifyBody, testKey)
	p1, err1 := v.Begin(h2, keys, testNow.Add(2*time.Second))
	p2, err2 := v.Begin(h2, keys, testNow.Add(2*time.Second))
	if err1 != nil || err2 != nil {
		t.Fatalf("Begin: %v, %v", err1, err2)
	}
	_, _ = p1.Write(verifyBody)
	_, _ = p2.Write(verifyBody)
	if _, err := p2.Finish(testNow.Add(3 * time.Second)); err != nil {
		t.Fatalf("the first to finish: %v", err)
	}
	if _, err := p1.Finish(testNow.Add(4 * time.Second)); !errors.Is(err, ErrReplayed) {
		t.Fatalf("the second to finish: %v, want ErrReplayed", err)
	}
	// Finish twice is a replay too.
	if _, err := p2.Finish(testNow.Add(4 * time.Second)); !errors.Is(err, ErrReplayed) {
		t.Fatalf("Finish again: %v, want ErrReplayed", err)
	}
}

func TestVerifyAlteredBody(t *testing.T) {
	v := newVerifier()
	h := Sign(testT, verifyBody, testKey)
	keys := [][]byte{testKey}
	altered := [][]byte{
		bytes.Replace(verifyBody, []byte("Delivered"), []byte("DelivereD"), 1),
		append(bytes.Clone(verifyBody), ' '),
		verifyBody[:len(verifyBody)-1],
		verifyBody[1:],
		nil,
		bytes.ToUpper(verifyBody),
	}
	for _, body := range altered {
		if _, err := verify(v, h, keys, body, testNow); !errors.Is(err, ErrMismatch) {
			t.Fatalf("body %q: %v, want ErrMismatch", body, err)
		}
	}
	// Only accepted signatures are remembered: the right body with the same
	// header still passes, once.
	if v.Memory.Len() != 0 {
		t.Fatalf("refused requests were remembered: Len = %d", v.Memory.Len())
	}
	if _, err := verify(v, h, keys, verifyBody, testNow.Add(time.Second)); err != nil {
		t.Fatalf("the right body after the altered ones: %v", err)
	}
	if _, err := verify(v, h, keys, verifyBody, testNow.Add(2*time.Second)); !errors.Is(err, ErrReplayed) {
		t.Fatalf("and again: %v, want ErrReplayed", err)
	}
}

func TestVerifyWrongTimestamp(t *testing.T) {
	// A signature moved to another t does not verify: t is signed.
	v := newVerifier()
	h := strings.Replace(Sign(testT, verifyBody, testKey), tItem(testT), tItem(testT+1), 1)
	if _, err := verify(v, h, [][]byte{testKey}, verifyBody, testNow); !errors.Is(err, ErrMismatch) {
		t.Fatalf("%v, want ErrMismatch", err)
	}
}

func TestVerifyRotation(t *testing.T) {
	newOnly := [][]byte{testKey}
	rotating := [][]byte{testKey, testKeyPrevious}
	previousOnly := [][]byte{testKeyPrevious}
	cases := []struct {
		name    string
		signers [][]byte
		keys    [][]byte
		err     error
		kept    int
	}{
		{name: "new key, rotating", signers: newOnly, keys: rotating, kept: 1},
		{name: "previous key, rotating", signers: previousOnly, keys: rotating, kept: 1},
		{name: "previous key, rotation over", signers: previousOnly, keys: newOnly, err: ErrMismatch},
		{name: "new key, not yet rotated", signers: newOnly, keys: previousOnly, err: ErrMismatch},
		{name: "both keys, rotating", signers: rotating, keys: rotating, kept: 2},
		{name: "both keys the other way round, rotating", signers: [][]byte{testKeyPrevious, testKey}, keys: rotating, kept: 2},
		{name: "both keys, rotation over", signers: rotating, keys: newOnly, kept: 1},
		{name: "both keys, not yet rotated", signers: rotating, keys: previousOnly, kept: 1},
		{name: "no key", signers: newOnly, keys: nil, err: ErrMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier()
			_, err := verify(v, Sign(testT, verifyBody, tc.signers...), tc.keys, verifyBody, testNow)
			if !errors.Is(err, tc.err) {
				t.Fatalf("%v, want %v", err, tc.err)
			}
			if v.Memory.Len() != tc.kept {
				t.Fatalf("%d signatures remembered, want %d", v.Memory.Len(), tc.kept)
			}
		})
	}
}

func TestVerifyRotationReplayWithOneSignature(t *testing.T) {
	// A request signed with both keys is captured; the attacker replays it
	// with only one of its v1 values. Match returns every matching MAC, so
	// both were remembered and each alone is refused.
	v := newVerifier()
	keys := [][]byte{testKey, testKeyPrevious}
	both := Sign(testT, verifyBody, testKey, testKeyPrevious)
	if _, err := verify(v, both, keys, verifyBody, testNow); err != nil {
		t.Fatalf("both signatures: %v", err)
	}
	s, err := Parse(both)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"only the old key's v1":         Sign(testT, verifyBody, testKeyPrevious),
		"only the new key's v1":         Sign(testT, verifyBody, testKey),
		"the two the other way round":   Sign(testT, verifyBody, testKeyPrevious, testKey),
		"the old one beside a stranger": header(tItem(testT), v1Item(testMACs[0]), strings.Split(both, ",")[2]),
	}
	for name, h := range cases {
		if p, err := v.Begin(h, keys, testNow.Add(time.Minute)); !errors.Is(err, ErrReplayed) || p != nil {
			t.Errorf("%s: %v, want ErrReplayed", name, err)
		}
	}
	for _, m := range s.MACs {
		if !v.Memory.Seen(m, testNow.Add(time.Minute)) {
			t.Errorf("MAC %x not remembered", m)
		}
	}
}

func TestVerifyBeginRefusesBeforeTheBody(t *testing.T) {
	keys := [][]byte{testKey}
	cases := []struct {
		name   string
		header string
		tol    time.Duration
		err    error
	}{
		{name: "no header", header: "", err: ErrMissing},
		{name: "malformed", header: "t=1764115200", err: ErrMalformed},
		{name: "a second too old", header: Sign(testT-301, verifyBody, testKey), err: ErrExpired},
		{name: "an hour too old", header: Sign(testT-3600, verifyBody, testKey), err: ErrExpired},
		{name: "a second too far ahead", header: Sign(testT+301, verifyBody, testKey), err: ErrFuture},
		{name: "custom tolerance: too old", header: Sign(testT-11, verifyBody, testKey), tol: 10 * time.Second, err: ErrExpired},
		{name: "custom tolerance: too far ahead", header: Sign(testT+11, verifyBody, testKey), tol: 10 * time.Second, err: ErrFuture},
		{name: "custom tolerance: at the edge", header: Sign(testT-10, verifyBody, testKey), tol: 10 * time.Second},
		{name: "negative tolerance is the default", header: Sign(testT-300, verifyBody, testKey), tol: -time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{Tolerance: tc.tol, Memory: NewReplayMemory(8)}
			p, err := v.Begin(tc.header, keys, testNow)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Begin: %v, want %v", err, tc.err)
			}
			if tc.err != nil && p != nil {
				t.Fatal("Begin refused, yet returned a Pending to read the body into")
			}
			if v.Memory.Len() != 0 {
				t.Fatalf("Begin remembered %d signatures", v.Memory.Len())
			}
		})
	}
}

func TestVerifyRememberedForTheWindow(t *testing.T) {
	v := &Verifier{Tolerance: time.Minute, Memory: NewReplayMemory(8)}
	h := Sign(testT, verifyBody, testKey)
	// Accepted at the future edge: the courier's clock a minute ahead.
	if _, err := verify(v, h, [][]byte{testKey}, verifyBody, testNow.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Refused as a replay from then until the time check refuses it.
	for now := testNow.Add(-time.Minute); now.Before(testNow.Add(time.Minute)); now = now.Add(time.Second) {
		if _, err := v.Begin(h, [][]byte{testKey}, now); !errors.Is(err, ErrReplayed) {
			t.Fatalf("at %s: %v, want ErrReplayed", now.Sub(testNow), err)
		}
	}
	if _, err := v.Begin(h, [][]byte{testKey}, testNow.Add(time.Minute+time.Nanosecond)); !errors.Is(err, ErrExpired) {
		t.Fatalf("after the window: %v, want ErrExpired", err)
	}
}

func TestVerifyReplayAtTheEdgeOfTheWindow(t *testing.T) {
	v := newVerifier()
	h := Sign(testT, verifyBody, testKey)
	keys := [][]byte{testKey}
	if _, err := verify(v, h, keys, verifyBody, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(v, h, keys, verifyBody, testNow.Add(DefaultTolerance)); err == nil {
		t.Fatal("a replay at exactly t+tolerance was accepted")
	}
}

func TestVerifyReplayWithAFractionalTolerance(t *testing.T) {
	for _, tc := range []struct {
		tolerance time.Duration
		replayAt  time.Duration
	}{
		{tolerance: 90*time.Second + 500*time.Millisecond, replayAt: 90*time.Second + 250*time.Millisecond},
		{tolerance: 500 * time.Millisecond, replayAt: 0},
		{tolerance: 500 * time.Millisecond, replayAt: 400 * time.Millisecond},
	} {
		v := &Verifier{Tolerance: tc.tolerance, Memory: NewReplayMemory(8)}
		h := Sign(testT, verifyBody, testKey)
		keys := [][]byte{testKey}
		if _, err := verify(v, h, keys, verifyBody, testNow.Add(-tc.tolerance)); err != nil {
			t.Fatal(err)
		}
		if _, err := verify(v, h, keys, verifyBody, testNow.Add(tc.replayAt)); err == nil {
			t.Errorf("tolerance %s: a replay at t+%s was accepted", tc.tolerance, tc.replayAt)
		}
	}
}

func TestVerifyRacingCopyFinishingAfterTheWindow(t *testing.T) {
	v := newVerifier()
	h := Sign(testT, verifyBody, testKey)
	keys := [][]byte{testKey}
	// Both copies arrive near the end of the window; the first finishes
	// in time, the second a second later, after the window.
	began := testNow.Add(DefaultTolerance - time.Second)
	first, err1 := v.Begin(h, keys, began)
	second, err2 := v.Begin(h, keys, began)
	if err1 != nil || err2 != nil {
		t.Fatalf("Begin: %v, %v", err1, err2)
	}
	_, _ = first.Write(verifyBody)
	_, _ = second.Write(verifyBody)
	if _, err := first.Finish(began.Add(500 * time.Millisecond)); err != nil {
		t.Fatalf("the first copy: %v", err)
	}
	if _, err := second.Finish(began.Add(1500 * time.Millisecond)); err == nil {
		t.Fatal("the second copy of one signed request was accepted too")
	}
}

func TestVerifyMemoryFull(t *testing.T) {
	v := &Verifier{Memory: NewReplayMemory(2)}
	keys := [][]byte{testKey}
	for i := range 2 {
		if _, err := verify(v, Sign(testT+int64(i), verifyBody, testKey), keys, verifyBody, testNow); err != nil {
			t.Fatal(err)
		}
	}
	// The first signature (t) is remembered until a second past
	// t+tolerance: retry a second after that.
	want := DefaultTolerance - time.Minute + 2*time.Second
	wait, err := verify(v, Sign(testT+2, verifyBody, testKey), keys, verifyBody, testNow.Add(time.Minute))
	if !errors.Is(err, ErrMemoryFull) || wait != want {
		t.Fatalf("%s, %v; want %s, ErrMemoryFull", wait, err, want)
	}
	// Retried after that wait, it passes.
	if _, err := verify(v, Sign(testT+2, verifyBody, testKey), keys, verifyBody, testNow.Add(time.Minute+wait)); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
}
