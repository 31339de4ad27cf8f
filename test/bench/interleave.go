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

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// interleavedMix is traffic as a carrier sends it: many parcels in flight
// at once, each client taking its next scan from a random one of them, so
// consecutive scans of one parcel are about the pool's size apart and
// every update is its own reconcile. A parcel whose last scan was sent is
// replaced by a new one. The pool lives across the interleaved steps, so
// each starts where the one before left off.
type interleavedMix struct {
	couriers []courier
	mu       sync.Mutex
	slots    []poolSlot
	seq      int
}

// poolSlot is one parcel in flight: its plan, the next scan to send, and
// whether a client is sending one of its scans now (a parcel's scans are
// never in flight together, as a courier's are not).
type poolSlot struct {
	courier courier
	plan    []scan
	pos     int
	busy    bool
}

// newInterleavedMix fills a pool of size parcels in its steady state:
// each parcel part-way through its plan, uniformly, with the scans before
// that point already in the API server (created here, straight through
// the API server, not timed). A pool started empty would send nothing but
// creates for its first size scans.
func (b *bench) newInterleavedMix(ctx context.Context, size int) (*interleavedMix, error) {
	m := &interleavedMix{couriers: b.couriers, slots: make([]poolSlot, size)}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano()))) //nolint:gosec // G404: traffic's shape, not a secret

	sent := make([][]scan, size)
	for i := range m.slots {
		m.slots[i] = m.newSlot(i, rng)
		m.slots[i].pos = rng.IntN(len(m.slots[i].plan))
		sent[i] = m.slots[i].plan[:m.slots[i].pos]
	}
	const writers = 16
	var (
		next   atomic.Int64
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= size {
					return
				}
				if len(sent[i]) == 0 {
					continue
				}
				if err := b.createSent(ctx, m.slots[i].courier.namespace, sent[i]); err != nil {
					logf("  pool parcel %s: %v", sent[i][0].articleID, err)
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filling the interleaved pool: %w", err)
	}
	if n := failed.Load(); n > 0 {
		return nil, fmt.Errorf("filling the interleaved pool: %d creates failed", n)
	}
	return m, nil
}

// newSlot starts a new parcel in slot i; the caller holds mu or owns m.
func (m *interleavedMix) newSlot(i int, rng *rand.Rand) poolSlot {
	articleID := fmt.Sprintf("I%09d", m.seq)
	m.seq++
	// Scan times two days back, so none is in the future however long
	// the parcel stays in the pool.
	return poolSlot{courier: m.couriers[i%len(m.couriers)],
		plan: plan(articleID, time.Now().Add(-48*time.Hour), rng)}
}

// createSent creates the Parcel the scans would have made through the
// courier API: every scan an event, in the order sent.
func (b *bench) createSent(ctx context.Context, namespace string, sent []scan) error {
	articleID := sent[0].articleID
	events := make([]trackingv1alpha1.TrackingEvent, 0, len(sent))
	for _, s := range sent {
		status, err := trackingv1alpha1.ParseTrackingStatus(s.status)
		if err != nil {
			return err
		}
		t := s.time.UTC().Truncate(time.Second)
		events = append(events, trackingv1alpha1.TrackingEvent{
			ID: trackingv1alpha1.DeriveEventID(articleID, status, t), Status: status, Time: metav1.NewTime(t),
			ReceivedAt: &metav1.Time{Time: t}, Remarks: scanRemarks, Source: scanSource,
		})
	}
	return b.client.Create(ctx, &trackingv1alpha1.Parcel{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: trackingv1alpha1.ParcelName(articleID),
			Labels: map[string]string{trackingv1alpha1.ArticleIDLabel: articleID}},
		Spec: trackingv1alpha1.ParcelSpec{ArticleID: articleID, Events: events},
	})
}

func (m *interleavedMix) next(_ int, rng *rand.Rand) (courier, scan, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Clients are few and the pool large: a random slot is almost always
	// free; after a few tries, take the first free one.
	i := -1
	for range 8 {
		if j := rng.IntN(len(m.slots)); !m.slots[j].busy {
			i = j
			break
		}
	}
	for j := 0; i < 0 && j < len(m.slots); j++ {
		if !m.slots[j].busy {
			i = j
		}
	}
	sl := &m.slots[i]
	sl.busy = true
	s := sl.plan[sl.pos]
	sl.pos++
	return sl.courier, s, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		sl.busy = false
		if sl.pos == len(sl.plan) {
			*sl = m.newSlot(i, rng)
		}
	}
}
