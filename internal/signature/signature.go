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

// Package signature signs and verifies courier requests with HMAC-SHA256
// over a timestamp and the raw body:
//
//	X-Parcel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<raw body>")>
//
// The timestamp bounds how long a captured request stays usable; a memory
// of the signatures seen inside that window refuses a replay. A header may
// carry several v1 values, so a courier rotating its key can sign with the
// old and the new one at once.
package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// Header is the request header carrying the signature.
const Header = "X-Parcel-Signature"

// Limits of the header and the keys.
const (
	// MaxHeaderLength bounds the header value: a timestamp and up to
	// MaxSignatures signatures fit with room to spare.
	MaxHeaderLength = 512
	// MaxSignatures bounds the v1 values of one header.
	MaxSignatures = 4
	// MinKeyLength is the shortest HMAC key accepted, in bytes: the size of
	// the SHA-256 output, below which the key is weaker than the MAC.
	MinKeyLength = 32
	// DefaultTolerance is how far a signature's timestamp may be from the
	// server's clock, in either direction.
	DefaultTolerance = 5 * time.Minute
)

// Reasons a signature is refused. Each is safe to tell the client: none
// carries key material or the header's value.
var (
	ErrMissing   = errors.New("the request is not signed: send " + Header + ": t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">")
	ErrMalformed = errors.New(Header + " is malformed")
	ErrExpired   = errors.New("the signature's timestamp is too old")
	ErrFuture    = errors.New("the signature's timestamp is in the future")
	ErrMismatch  = errors.New("no signature in " + Header + " matches the body with the courier's key")
	ErrReplayed  = errors.New("this signature was already used; sign each request afresh")
)

// Signed is a parsed signature header.
type Signed struct {
	// Timestamp is the t value, in Unix seconds.
	Timestamp int64
	// MACs are the decoded v1 values, 32 bytes each.
	MACs [][]byte
}

// Parse parses a header value. It is strict: exactly one t, one to
// MaxSignatures distinct v1 values of 64 hex digits, items separated by
// commas with only spaces or tabs around them, and nothing else.
func Parse(value string) (Signed, error) {
	var s Signed
	if value == "" {
		return s, ErrMissing
	}
	if len(value) > MaxHeaderLength {
		return s, fmt.Errorf("%w: it is %d bytes long; at most %d are allowed", ErrMalformed, len(value), MaxHeaderLength)
	}
	seenT := false
	for i, item := range strings.Split(value, ",") {
		name, v, ok := strings.Cut(strings.Trim(item, " \t"), "=")
		if !ok {
			return s, fmt.Errorf("%w: item %d is not of the form name=value", ErrMalformed, i+1)
		}
		switch name {
		case "t":
			if seenT {
				return s, fmt.Errorf("%w: t is given more than once", ErrMalformed)
			}
			seenT = true
			t, err := parseTimestamp(v)
			if err != nil {
				return s, err
			}
			s.Timestamp = t
		case "v1":
			if len(s.MACs) == MaxSignatures {
				return s, fmt.Errorf("%w: more than %d v1 signatures", ErrMalformed, MaxSignatures)
			}
			mac, err := hex.DecodeString(v)
			if err != nil || len(mac) != sha256.Size {
				return s, fmt.Errorf("%w: v1 must be %d hex digits (an HMAC-SHA256)", ErrMalformed, 2*sha256.Size)
			}
			for _, seen := range s.MACs {
				if bytes.Equal(seen, mac) {
					return s, fmt.Errorf("%w: the same v1 is given twice", ErrMalformed)
				}
			}
			s.MACs = append(s.MACs, mac)
		default:
			return s, fmt.Errorf("%w: item %d has an unknown name; only t and v1 are allowed", ErrMalformed, i+1)
		}
	}
	switch {
	case !seenT:
		return s, fmt.Errorf("%w: t=<unix seconds> is missing", ErrMalformed)
	case len(s.MACs) == 0:
		return s, fmt.Errorf("%w: v1=<hex HMAC-SHA256> is missing", ErrMalformed)
	}
	return s, nil
}

// parseTimestamp accepts 1 to 12 decimal digits: Unix seconds up to the
// year 33658, without sign, spaces or exponent.
func parseTimestamp(v string) (int64, error) {
	if len(v) == 0 || len(v) > 12 || strings.Trim(v, "0123456789") != "" {
		return 0, fmt.Errorf("%w: t must be the Unix time in whole seconds, e.g. t=1759908600", ErrMalformed)
	}
	t, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: t must be the Unix time in whole seconds, e.g. t=1759908600", ErrMalformed)
	}
	return t, nil
}

// CheckTime refuses a timestamp more than tolerance away from now.
func (s Signed) CheckTime(now time.Time, tolerance time.Duration) error {
	at := time.Unix(s.Timestamp, 0)
	switch {
	case at.Before(now.Add(-tolerance)):
		return fmt.Errorf("%w: it is more than %s before the server's time; check the courier's clock", ErrExpired, tolerance)
	case at.After(now.Add(tolerance)):
		return fmt.Errorf("%w: it is more than %s after the server's time; check the courier's clock", ErrFuture, tolerance)
	}
	return nil
}

// MAC computes the signature of body at timestamp t with key: the
// HMAC-SHA256 of the decimal t, a dot, and the raw body.
func MAC(key []byte, t int64, body []byte) []byte {
	m := NewMAC(key, t)
	m.Write(body)
	return m.Sum(nil)
}

// NewMAC returns an HMAC-SHA256 with "<t>." already written, ready to be
// fed the body as it streams in.
func NewMAC(key []byte, t int64) hash.Hash {
	m := hmac.New(sha256.New, key)
	m.Write(strconv.AppendInt(nil, t, 10))
	m.Write([]byte{'.'})
	return m
}

// Sign returns the header value signing body at time t with each key.
func Sign(t int64, body []byte, keys ...[]byte) string {
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(t, 10))
	for _, key := range keys {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(MAC(key, t, body)))
	}
	return b.String()
}

// Match returns the values of s.MACs equal to one of sums, comparing every
// pair in constant time, or ErrMismatch when none is.
func (s Signed) Match(sums ...[]byte) ([][]byte, error) {
	var found [][]byte
	for _, mac := range s.MACs {
		equal := 0
		for _, sum := range sums {
			equal |= subtle.ConstantTimeCompare(mac, sum)
		}
		if equal == 1 {
			found = append(found, mac)
		}
	}
	if len(found) == 0 {
		return nil, ErrMismatch
	}
	return found, nil
}
