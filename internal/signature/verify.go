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
	"hash"
	"time"
)

// Verifier checks signed requests in two steps: Begin, on the headers,
// refuses a malformed, stale or replayed signature before any of the body
// is read; the Pending it returns hashes the body as it streams, and
// Finish compares and remembers the signature.
type Verifier struct {
	// Tolerance is how far a timestamp may be from now; DefaultTolerance
	// when zero.
	Tolerance time.Duration
	// Memory remembers accepted signatures.
	Memory *ReplayMemory
}

// Pending is a signature whose body is still being read. Write the raw body
// to it, then call Finish.
type Pending struct {
	verifier *Verifier
	signed   Signed
	macs     []hash.Hash
}

// Begin parses header and checks its time and that none of its signatures
// was seen before. keys are the courier's active keys, newest first.
func (v *Verifier) Begin(header string, keys [][]byte, now time.Time) (*Pending, error) {
	signed, err := Parse(header)
	if err != nil {
		return nil, err
	}
	if err := signed.CheckTime(now, v.tolerance()); err != nil {
		return nil, err
	}
	for _, mac := range signed.MACs {
		if v.Memory.Seen(mac, now) {
			return nil, ErrReplayed
		}
	}
	p := &Pending{verifier: v, signed: signed}
	for _, key := range keys {
		p.macs = append(p.macs, NewMAC(key, signed.Timestamp))
	}
	return p, nil
}

// Write feeds raw body bytes to the MACs; it never fails.
func (p *Pending) Write(b []byte) (int, error) {
	for _, m := range p.macs {
		m.Write(b)
	}
	return len(b), nil
}

// Finish checks the signature against the body written, and remembers it
// so it cannot be used again. The time is checked again: a body that took
// the signature past its window (two copies racing at its very end among
// them) is refused, never remembered only to be forgotten at once.
// retryAfter is set with ErrMemoryFull.
func (p *Pending) Finish(now time.Time) (retryAfter time.Duration, err error) {
	if err := p.signed.CheckTime(now, p.verifier.tolerance()); err != nil {
		return 0, err
	}
	sums := make([][]byte, len(p.macs))
	for i, m := range p.macs {
		sums[i] = m.Sum(nil)
	}
	macs, err := p.signed.Match(sums...)
	if err != nil {
		return 0, err
	}
	// Kept a second past the last moment CheckTime accepts it.
	expires := time.Unix(p.signed.Timestamp, 0).Add(p.verifier.tolerance() + time.Second)
	return p.verifier.Memory.Remember(macs, expires, now)
}

func (v *Verifier) tolerance() time.Duration {
	if v.Tolerance <= 0 {
		return DefaultTolerance
	}
	return v.Tolerance
}
