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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// KeyPrefix starts every Standard Webhooks signing key.
const KeyPrefix = "whsec_"

// Bounds of a signing key's length in bytes, as the specification asks.
const (
	MinKeyBytes = 24
	MaxKeyBytes = 64
)

// ErrKeyFormat is wrapped by every ParseKey error.
var ErrKeyFormat = errors.New("signing key must be whsec_ followed by the base64 of 24 to 64 bytes")

// ParseKey decodes a "whsec_<base64>" signing key. The error never repeats
// the key.
func ParseKey(s string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(strings.TrimSpace(s), KeyPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: the whsec_ prefix is missing", ErrKeyFormat)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: not valid base64", ErrKeyFormat)
	}
	if len(key) < MinKeyBytes || len(key) > MaxKeyBytes {
		return nil, fmt.Errorf("%w: it holds %d bytes", ErrKeyFormat, len(key))
	}
	return key, nil
}

// Signer signs messages the Standard Webhooks way with one key, or two
// during a rotation. Written here rather than taken from the
// standard-webhooks Go library because that signs with one key only and
// holds it unexported; the library verifies our signatures in the tests.
type Signer struct {
	keys [][]byte
}

// NewSigner signs with keys, the current one first.
func NewSigner(keys ...[]byte) Signer {
	return Signer{keys: keys}
}

// String keeps keys out of logs and fmt output.
func (s Signer) String() string { return fmt.Sprintf("Signer(%d keys)", len(s.keys)) }

// Signature returns the webhook-signature value of a message: "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" for each key, separated by spaces.
func (s Signer) Signature(id string, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	sigs := make([]string, len(s.keys))
	for i, k := range s.keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// Sign sets the three Standard Webhooks headers on h.
func (s Signer) Sign(h http.Header, id string, at time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, s.Signature(id, at, body))
}
