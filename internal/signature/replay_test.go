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
	"errors"
	"sync"
	"testing"
	"time"
)

// mac returns a distinct test MAC for i.
func mac(i int) []byte {
	return MAC(testKey, testT, []byte{byte(i), byte(i >> 8)})
}

// at is testNow plus seconds.
func at(seconds float64) time.Time {
	return testNow.Add(time.Duration(seconds * float64(time.Second)))
}

// remember calls m.Remember and fails the test on an error.
func remember(t *testing.T, m *ReplayMemory, expires, now time.Time, macs ...[]byte) {
	t.Helper()
	if wait, err := m.Remember(macs, expires, now); err != nil {
		t.Fatalf("Remember: %v (retry after %s)", err, wait)
	}
}

func TestReplayMemorySeenAndRemember(t *testing.T) {
	m := NewReplayMemory(8)
	if m.Seen(mac(1), at(0)) || m.Len() != 0 {
		t.Fatalf("a new memory has seen a MAC, or holds %d", m.Len())
	}
	remember(t, m, at(300), at(0), mac(1), mac(2))
	for i, want := range map[int]bool{1: true, 2: true, 3: false} {
		if got := m.Seen(mac(i), at(1)); got != want {
			t.Errorf("Seen(mac %d) = %v, want %v", i, got, want)
		}
	}
	if m.Len() != 2 {
		t.Fatalf("Len = %d, want 2", m.Len())
	}

	// Any of the same MACs again is a replay, and the request is refused
	// whole: the new MAC beside the replayed one is not remembered.
	for name, macs := range map[string][][]byte{
		"the first":            {mac(1)},
		"the second":           {mac(2)},
		"both":                 {mac(1), mac(2)},
		"a new one and a seen": {mac(3), mac(2)},
	} {
		wait, err := m.Remember(macs, at(400), at(2))
		if !errors.Is(err, ErrReplayed) || wait != 0 {
			t.Errorf("Remember %s again: %s, %v; want ErrReplayed", name, wait, err)
		}
	}
	if m.Seen(mac(3), at(2)) || m.Len() != 2 {
		t.Fatalf("a refused request left a MAC behind: Seen(mac 3) = %v, Len = %d", m.Seen(mac(3), at(2)), m.Len())
	}
}

func TestReplayMemoryKeepsNoSignature(t *testing.T) {
	// The memory keeps a digest of each MAC: a MAC that is a prefix or a
	// copy with one bit changed is another signature.
	m := NewReplayMemory(8)
	remember(t, m, at(300), at(0), mac(1))
	if m.Seen(flipBit(mac(1), 0), at(1)) || m.Seen(mac(1)[:31], at(1)) {
		t.Fatal("a different MAC is seen")
	}
}

func TestReplayMemoryExpiry(t *testing.T) {
	m := NewReplayMemory(8)
	remember(t, m, at(300), at(0), mac(1))
	remember(t, m, at(100), at(0), mac(2))

	cases := []struct {
		now        float64
		seen1      bool
		seen2      bool
		afterSweep int
	}{
		{now: 99.999, seen1: true, seen2: true, afterSweep: 2},
		{now: 100, seen1: true, seen2: false, afterSweep: 1},
		{now: 299, seen1: true, seen2: false, afterSweep: 1},
		{now: 300, seen1: false, seen2: false, afterSweep: 0},
	}
	for _, tc := range cases {
		if got := m.Seen(mac(1), at(tc.now)); got != tc.seen1 {
			t.Errorf("at +%vs: Seen(mac 1) = %v, want %v", tc.now, got, tc.seen1)
		}
		if got := m.Seen(mac(2), at(tc.now)); got != tc.seen2 {
			t.Errorf("at +%vs: Seen(mac 2) = %v, want %v", tc.now, got, tc.seen2)
		}
	}

	// Len counts what is not yet swept; Remember sweeps.
	if m.Len() != 2 {
		t.Fatalf("Len before a sweep = %d, want 2", m.Len())
	}
	remember(t, m, at(400), at(100), mac(3))
	if m.Len() != 2 { // mac 1 and mac 3
		t.Fatalf("Len after the sweep at +100s = %d, want 2", m.Len())
	}
	// An expired MAC can be remembered again (the time check refuses it
	// long before this, but the memory itself does not).
	remember(t, m, at(500), at(100), mac(2))
	remember(t, m, at(900), at(400), mac(4))
	if m.Len() != 2 { // mac 2 (until 500) and mac 4
		t.Fatalf("Len after the sweep at +400s = %d, want 2", m.Len())
	}
}

func TestReplayMemoryFull(t *testing.T) {
	m := NewReplayMemory(3)
	remember(t, m, at(60), at(0), mac(1))
	remember(t, m, at(30), at(0), mac(2))
	remember(t, m, at(90), at(0), mac(3))

	cases := []struct {
		name string
		now  time.Time
		macs [][]byte
		wait time.Duration
		err  error
	}{
		// The earliest expiry is mac 2's, at +30s.
		{name: "full", now: at(10), macs: [][]byte{mac(4)}, wait: 21 * time.Second, err: ErrMemoryFull},
		{name: "full, now with a fraction", now: at(10.25), macs: [][]byte{mac(4)}, wait: 20750 * time.Millisecond, err: ErrMemoryFull},
		{name: "full, a second before the expiry", now: at(29), macs: [][]byte{mac(4)}, wait: 2 * time.Second, err: ErrMemoryFull},
		{name: "full, two MACs", now: at(10), macs: [][]byte{mac(4), mac(5)}, wait: 21 * time.Second, err: ErrMemoryFull},
		{name: "a replay is told as a replay, not as full", now: at(10), macs: [][]byte{mac(1)}, err: ErrReplayed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wait, err := m.Remember(tc.macs, at(400), tc.now)
			if !errors.Is(err, tc.err) || wait != tc.wait {
				t.Fatalf("Remember = %s, %v; want %s, %v", wait, err, tc.wait, tc.err)
			}
			if m.Len() != 3 || m.Seen(mac(4), tc.now) {
				t.Fatalf("a refused request changed the memory: Len = %d", m.Len())
			}
		})
	}

	// After mac 2 expires there is room for one MAC, not two.
	if wait, err := m.Remember([][]byte{mac(4), mac(5)}, at(400), at(30)); !errors.Is(err, ErrMemoryFull) || wait != 31*time.Second {
		t.Fatalf("two MACs with room for one: %s, %v; want 31s (mac 1 expires at +60s), ErrMemoryFull", wait, err)
	}
	remember(t, m, at(400), at(30), mac(4))
	if m.Len() != 3 || !m.Seen(mac(4), at(30)) || m.Seen(mac(2), at(30)) {
		t.Fatalf("after mac 2 expired: Len = %d", m.Len())
	}
	// Each expiry frees room in turn.
	remember(t, m, at(400), at(60), mac(5))
	remember(t, m, at(400), at(90), mac(6))
	if wait, err := m.Remember([][]byte{mac(7)}, at(400), at(90)); !errors.Is(err, ErrMemoryFull) || wait != 311*time.Second {
		t.Fatalf("full again: %s, %v; want 311s, ErrMemoryFull", wait, err)
	}
}

func TestReplayMemorySameMACTwiceInOneRequest(t *testing.T) {
	// Parse refuses one v1 twice in a header; the memory does not rely on
	// that.
	m := NewReplayMemory(2)
	remember(t, m, at(60), at(0), mac(1), mac(1))
	if m.Len() != 1 {
		t.Fatalf("Len = %d, want 1", m.Len())
	}
	remember(t, m, at(60), at(0), mac(2))
	// Both queue entries of mac 1 expire together and leave nothing behind.
	remember(t, m, at(200), at(60), mac(3))
	if m.Len() != 1 || m.Seen(mac(1), at(60)) {
		t.Fatalf("after the expiry: Len = %d, want 1", m.Len())
	}
	remember(t, m, at(200), at(60), mac(1))
}

func TestReplayMemoryConcurrentSameMAC(t *testing.T) {
	const goroutines = 50
	m := NewReplayMemory(DefaultReplayCapacity)
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		errs     = make([]error, goroutines)
		accepted int
	)
	for i := range goroutines {
		wg.Go(func() {
			<-start
			_, errs[i] = m.Remember([][]byte{mac(1)}, at(300), at(0))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, ErrReplayed):
			t.Errorf("goroutine %d: %v, want nil or ErrReplayed", i, err)
		}
	}
	if accepted != 1 || m.Len() != 1 {
		t.Fatalf("%d of %d accepted, Len = %d; want exactly 1", accepted, goroutines, m.Len())
	}
}

func TestReplayMemoryConcurrentDistinctMACs(t *testing.T) {
	const goroutines, each = 8, 200
	m := NewReplayMemory(goroutines * each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				n := g*each + i
				if _, err := m.Remember([][]byte{mac(n)}, at(300), at(0)); err != nil {
					t.Errorf("MAC %d: %v", n, err)
				}
				if !m.Seen(mac(n), at(1)) {
					t.Errorf("MAC %d not seen after Remember", n)
				}
			}
		})
	}
	wg.Wait()
	if m.Len() != goroutines*each {
		t.Fatalf("Len = %d, want %d", m.Len(), goroutines*each)
	}
	if _, err := m.Remember([][]byte{mac(goroutines * each)}, at(300), at(1)); !errors.Is(err, ErrMemoryFull) {
		t.Fatalf("one more: %v, want ErrMemoryFull", err)
	}
}
