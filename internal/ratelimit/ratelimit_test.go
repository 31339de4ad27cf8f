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

package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 10, 8, 7, 30, 0, 0, time.UTC)

func TestBucketsAllowBurstThenRate(t *testing.T) {
	b := &Buckets{MaxKeys: 10}
	for i := range 3 {
		if ok, _ := b.Allow("acme", 2, 3, t0); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i)
		}
	}
	ok, wait := b.Allow("acme", 2, 3, t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th request: ok=%v wait=%s, want refused with 500ms (2/s)", ok, wait)
	}
	if ok, _ := b.Allow("other", 2, 3, t0); !ok {
		t.Fatal("another key shares the first one's bucket")
	}
	if ok, _ := b.Allow("acme", 2, 3, t0.Add(499*time.Millisecond)); ok {
		t.Fatal("a token came back before 500ms")
	}
	if ok, _ := b.Allow("acme", 2, 3, t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("no token after 500ms")
	}
}

func TestBucketsRefusalTakesNothing(t *testing.T) {
	b := &Buckets{MaxKeys: 10}
	b.Allow("acme", 1, 1, t0)
	for range 5 {
		b.Allow("acme", 1, 1, t0.Add(500*time.Millisecond))
	}
	if ok, _ := b.Allow("acme", 1, 1, t0.Add(time.Second)); !ok {
		t.Fatal("refused requests were charged: still no token after 1s")
	}
}

func TestBucketsAllowNAllOrNone(t *testing.T) {
	tests := []struct {
		name      string
		taken, n  int
		wantOK    bool
		wantAfter time.Duration
	}{
		{"the whole burst", 0, 10, true, 0},
		{"what is left", 4, 6, true, 0},
		{"one more than is left", 4, 7, false, 500 * time.Millisecond},
		{"more than the burst", 0, 11, false, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &Buckets{MaxKeys: 10}
			if tc.taken > 0 {
				if ok, _ := b.AllowN("acme", 2, 10, t0, tc.taken); !ok {
					t.Fatalf("taking %d of a burst of 10 refused", tc.taken)
				}
			}
			ok, after := b.AllowN("acme", 2, 10, t0, tc.n)
			if ok != tc.wantOK || after != tc.wantAfter {
				t.Fatalf("AllowN(%d) after %d: ok=%v retryAfter=%s, want %v %s", tc.n, tc.taken, ok, after, tc.wantOK, tc.wantAfter)
			}
			// A refusal takes nothing: what was left is still there.
			left := 10 - tc.taken
			if ok {
				left -= tc.n
			}
			if left > 0 {
				if ok, _ := b.AllowN("acme", 2, 10, t0, left); !ok {
					t.Fatalf("the %d tokens left are gone", left)
				}
			}
			if ok, _ := b.Allow("acme", 2, 10, t0); ok {
				t.Fatal("a token more than the burst")
			}
		})
	}
}

func TestBucketsFollowChangedSettings(t *testing.T) {
	b := &Buckets{MaxKeys: 10}
	b.Allow("acme", 1, 1, t0)
	if ok, _ := b.Allow("acme", 1, 1, t0); ok {
		t.Fatal("burst 1 allowed two")
	}
	// The courier's rateLimit is raised to 100/s: from the next request
	// on, tokens come back every 10ms instead of every second.
	b.Allow("acme", 100, 100, t0.Add(10*time.Millisecond))
	if ok, _ := b.Allow("acme", 100, 100, t0.Add(30*time.Millisecond)); !ok {
		t.Fatal("a raised rate is not applied")
	}
}

func TestBucketsEmpty(t *testing.T) {
	b := &Buckets{MaxKeys: 10}
	if empty, _ := b.Empty("never-seen", t0); empty {
		t.Fatal("an unknown key is empty")
	}
	b.Allow("10.0.0.1", 0.5, 1, t0)
	empty, wait := b.Empty("10.0.0.1", t0)
	if !empty || wait != 2*time.Second {
		t.Fatalf("empty=%v wait=%s, want empty for 2s (0.5/s)", empty, wait)
	}
	if empty, _ := b.Empty("10.0.0.1", t0.Add(2*time.Second)); empty {
		t.Fatal("still empty after it refilled")
	}
	if b.Len() != 1 {
		t.Fatalf("Empty created buckets: %d", b.Len())
	}
}

func TestBucketsBounded(t *testing.T) {
	b := &Buckets{MaxKeys: 2}
	b.Allow("a", 1, 1, t0)
	b.Allow("b", 1, 1, t0)
	ok, wait := b.Allow("c", 1, 1, t0)
	if ok || wait != time.Second {
		t.Fatalf("a third key while two are live: ok=%v wait=%s, want refused for 1s", ok, wait)
	}
	// Once a and b have refilled they are forgotten and c gets a bucket.
	if ok, _ := b.Allow("c", 1, 1, t0.Add(time.Second)); !ok {
		t.Fatal("refilled buckets were not forgotten")
	}
	if b.Len() != 1 {
		t.Fatalf("%d buckets held, want 1", b.Len())
	}
}

func TestWritesShareAndTotal(t *testing.T) {
	w := NewWrites(3, 2, 20*time.Millisecond)
	r1, err := w.Acquire(context.Background(), "acme")
	must(t, err)
	r2, err := w.Acquire(context.Background(), "acme")
	must(t, err)
	if _, err := w.Acquire(context.Background(), "acme"); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third write of one courier with a share of 2: %v, want ErrBusy", err)
	}
	r3, err := w.Acquire(context.Background(), "other")
	must(t, err)
	start := time.Now()
	if _, err := w.Acquire(context.Background(), "third"); !errors.Is(err, ErrBusy) {
		t.Fatalf("a fourth write with 3 slots: %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("gave up after %s, before maxWait", waited)
	}
	if w.InFlight() != 3 {
		t.Fatalf("InFlight = %d, want 3", w.InFlight())
	}
	r1()
	r4, err := w.Acquire(context.Background(), "third")
	must(t, err)
	for _, release := range []func(){r2, r3, r4} {
		release()
	}
	if w.InFlight() != 0 || len(w.inFlight) != 0 {
		t.Fatalf("after every release: %d slots, %d keys held", w.InFlight(), len(w.inFlight))
	}
}

func TestWritesWaitForASlot(t *testing.T) {
	w := NewWrites(1, 1, time.Minute)
	release, err := w.Acquire(context.Background(), "a")
	must(t, err)
	got := make(chan error, 1)
	go func() {
		r, err := w.Acquire(context.Background(), "b")
		if err == nil {
			r()
		}
		got <- err
	}()
	release()
	must(t, <-got)
}

func TestWritesContextCancelled(t *testing.T) {
	w := NewWrites(1, 1, time.Minute)
	_, err := w.Acquire(context.Background(), "a")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Acquire(ctx, "b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a cancelled context: %v", err)
	}
	if len(w.inFlight) != 1 {
		t.Fatalf("the cancelled write kept its share: %v", w.inFlight)
	}
}

func TestWritesConcurrentNeverOverTotal(t *testing.T) {
	const total = 4
	w := NewWrites(total, total, time.Minute)
	var mu sync.Mutex
	inside, peak := 0, 0
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := w.Acquire(context.Background(), fmt.Sprint(i%7))
			if errors.Is(err, ErrBusy) {
				return
			}
			mu.Lock()
			inside++
			peak = max(peak, inside)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			release()
		}()
	}
	wg.Wait()
	if peak > total {
		t.Fatalf("%d writes at once, cap %d", peak, total)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want int
	}{
		{0, 1}, {time.Nanosecond, 1}, {999 * time.Millisecond, 1}, {time.Second, 1},
		{time.Second + time.Nanosecond, 2}, {90 * time.Second, 90}, {-time.Second, 1},
	} {
		if got := RetryAfterSeconds(tc.in); got != tc.want {
			t.Errorf("RetryAfterSeconds(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
