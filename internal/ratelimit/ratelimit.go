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

// Package ratelimit holds the courier API's admission limits: token
// buckets by key (a courier, a client address) and a cap on concurrent
// writes, with a fair share per courier. Every refusal says how long to
// wait, for a Retry-After header.
package ratelimit

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Buckets is a set of token buckets, one per key, each created full on
// first use. Buckets that have refilled are forgotten, so the set stays as
// small as the keys active in the last burst/rate seconds; beyond MaxKeys
// active keys, a new key is refused until some refill.
type Buckets struct {
	// MaxKeys bounds the buckets held at once.
	MaxKeys int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// Allow takes a token from key's bucket, which refills at perSecond and
// holds at most burst. When the bucket is empty it takes nothing and says
// how long until a token is there.
func (b *Buckets) Allow(key string, perSecond float64, burst int, now time.Time) (ok bool, retryAfter time.Duration) {
	return b.AllowN(key, perSecond, burst, now, 1)
}

// AllowN is Allow for n tokens at once, all or none: a request that counts
// as n. More than burst tokens are never allowed (retryAfter is then a
// second, and waiting cannot help: the caller must split the request).
func (b *Buckets) AllowN(key string, perSecond float64, burst int, now time.Time, n int) (ok bool, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.bucket(key, perSecond, burst, now)
	if !ok {
		return false, time.Second
	}
	r := l.ReserveN(now, n)
	if !r.OK() {
		return false, time.Second
	}
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// Empty reports whether key's bucket has no token left, without taking
// one, and how long until it has.
func (b *Buckets) Empty(key string, now time.Time) (empty bool, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.buckets[key]
	if !ok {
		return false, 0
	}
	tokens := l.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / float64(l.Limit()) * float64(time.Second))
}

// Len is the number of buckets held.
func (b *Buckets) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buckets)
}

// bucket returns key's bucket with its settings up to date, creating it if
// there is room.
func (b *Buckets) bucket(key string, perSecond float64, burst int, now time.Time) (*rate.Limiter, bool) {
	if b.buckets == nil {
		b.buckets = make(map[string]*rate.Limiter)
	}
	if l, ok := b.buckets[key]; ok {
		if l.Limit() != rate.Limit(perSecond) {
			l.SetLimitAt(now, rate.Limit(perSecond))
		}
		if l.Burst() != burst {
			l.SetBurstAt(now, burst)
		}
		return l, true
	}
	if len(b.buckets) >= b.MaxKeys {
		b.forgetFull(now)
		if len(b.buckets) >= b.MaxKeys {
			return nil, false
		}
	}
	l := rate.NewLimiter(rate.Limit(perSecond), burst)
	b.buckets[key] = l
	return l, true
}

// forgetFull drops the buckets that have refilled: a new bucket would be
// the same.
func (b *Buckets) forgetFull(now time.Time) {
	for key, l := range b.buckets {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(b.buckets, key)
		}
	}
}

// ErrBusy is returned when no write slot frees up in time.
var ErrBusy = errors.New("too many writes in flight")

// Writes caps the writes in flight: Total at once, and at most a fair
// share of them for one courier, so one courier's storm cannot take every
// slot. The zero value is not usable; use NewWrites.
type Writes struct {
	total    chan struct{}
	perKey   int
	maxWait  time.Duration
	mu       sync.Mutex
	inFlight map[string]int
}

// NewWrites allows total writes at once, at most perKey of them from one
// key; a write waits at most maxWait for a slot.
func NewWrites(total, perKey int, maxWait time.Duration) *Writes {
	return &Writes{
		total:    make(chan struct{}, total),
		perKey:   perKey,
		maxWait:  maxWait,
		inFlight: make(map[string]int),
	}
}

// Acquire takes a slot for key, waiting up to maxWait for one. Call the
// returned release when the write is done. It fails with ErrBusy when key
// already holds its share, or no slot frees up in time, or with ctx's
// error.
func (w *Writes) Acquire(ctx context.Context, key string) (release func(), err error) {
	w.mu.Lock()
	if w.inFlight[key] >= w.perKey {
		w.mu.Unlock()
		return nil, ErrBusy
	}
	w.inFlight[key]++
	w.mu.Unlock()
	unshare := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.inFlight[key]--; w.inFlight[key] == 0 {
			delete(w.inFlight, key)
		}
	}

	timer := time.NewTimer(w.maxWait)
	defer timer.Stop()
	select {
	case w.total <- struct{}{}:
		return func() {
			<-w.total
			unshare()
		}, nil
	case <-timer.C:
		unshare()
		return nil, ErrBusy
	case <-ctx.Done():
		unshare()
		return nil, ctx.Err()
	}
}

// InFlight is the number of writes holding a slot.
func (w *Writes) InFlight() int {
	return len(w.total)
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least one, as
// the Retry-After header counts.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
