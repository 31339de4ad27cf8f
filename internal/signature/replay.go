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
	"container/heap"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// DefaultReplayCapacity bounds the signatures remembered at once: at about
// 100 bytes each, 8 MiB. At 200 signed requests per second a 5-minute
// window on either side holds 120,000.
const DefaultReplayCapacity = 1 << 17

// ErrMemoryFull means more signatures are live in the window than the
// memory holds; the request is refused rather than a replay risked.
var ErrMemoryFull = errors.New("too many signed requests inside the replay window")

// ReplayMemory remembers the signatures accepted until their timestamps
// leave the window, when the time check refuses them anyway. It is bounded:
// when full of live signatures it refuses new ones (fail closed) and says
// when room frees up. The zero value is not usable; use NewReplayMemory.
type ReplayMemory struct {
	mu       sync.Mutex
	capacity int
	expiry   map[[sha256.Size]byte]int64
	queue    expiryQueue
}

// NewReplayMemory returns a memory holding at most capacity signatures.
func NewReplayMemory(capacity int) *ReplayMemory {
	return &ReplayMemory{capacity: capacity, expiry: make(map[[sha256.Size]byte]int64)}
}

// Seen reports whether mac is remembered and still live at now: a cheap
// check before the body is read.
func (m *ReplayMemory) Seen(mac []byte, now time.Time) bool {
	key := keyOf(mac)
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.expiry[key]
	return ok && exp > now.Unix()
}

// Remember records macs, the signatures of one accepted request (one per
// matching key), until expires, rounded up to a whole second. It returns ErrReplayed when any is already
// remembered (two copies of one request racing: only the first wins), and
// ErrMemoryFull, with the wait until the oldest signature expires, when no
// room is left.
func (m *ReplayMemory) Remember(macs [][]byte, expires, now time.Time) (retryAfter time.Duration, err error) {
	keys := make([][sha256.Size]byte, len(macs))
	for i, mac := range macs {
		keys[i] = keyOf(mac)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetExpired(now.Unix())
	for _, key := range keys {
		if _, ok := m.expiry[key]; ok {
			return 0, ErrReplayed
		}
	}
	if len(m.expiry)+len(keys) > m.capacity {
		wait := time.Second
		if len(m.queue) > 0 {
			wait += time.Unix(m.queue[0].expires, 0).Sub(now)
		}
		return wait, ErrMemoryFull
	}
	until := expires.Add(time.Second - 1).Unix()
	for _, key := range keys {
		m.expiry[key] = until
		heap.Push(&m.queue, entry{key: key, expires: until})
	}
	return 0, nil
}

// Len is the number of signatures remembered, live or not yet swept.
func (m *ReplayMemory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.expiry)
}

// forgetExpired drops the signatures whose window has closed by now.
func (m *ReplayMemory) forgetExpired(now int64) {
	for len(m.queue) > 0 && m.queue[0].expires <= now {
		e := heap.Pop(&m.queue).(entry)
		delete(m.expiry, e.key)
	}
}

// keyOf is the memory's key for a MAC: its SHA-256, so what is kept has a
// fixed size and is not the signature itself.
func keyOf(mac []byte) [sha256.Size]byte {
	return sha256.Sum256(mac)
}

type entry struct {
	key     [sha256.Size]byte
	expires int64
}

// expiryQueue is a min-heap of entries by expiry.
type expiryQueue []entry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].expires < q[j].expires }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(entry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
