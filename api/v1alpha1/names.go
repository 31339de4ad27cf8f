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

package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// nameHashLength is the number of hex digits of SHA-256 in a hashed
	// name: 64 bits, so collisions stay out of reach for any real number of
	// parcels in a namespace.
	nameHashLength = 16
	// maxHashedNamePrefix keeps a hashed name within 63 characters.
	maxHashedNamePrefix = validation.DNS1123LabelMaxLength - 1 - nameHashLength
)

// hashedName matches every name ParcelName builds with a hash suffix. No
// name built without one matches it, so the two kinds never meet.
var hashedName = regexp.MustCompile(`-[0-9a-f]{16}$`)

// ParcelName derives a Parcel's metadata.name from its article ID. The name
// is always a valid DNS-1123 subdomain, depends on nothing but the ID, and
// two different IDs never get the same name:
//
//   - An ID of upper-case letters, digits, '.' and '-' whose lower-cased form
//     is a valid name becomes that name: ARP1000052447 -> arp1000052447.
//   - Any other ID (lower-case letters, other characters, or a form that is
//     not a valid name or could be mistaken for a hashed one) becomes a
//     readable prefix and the first 16 hex digits of the ID's SHA-256:
//     arp_1 -> arp-1-68b8f844955d89b5.
//
// Lower-casing is only lossless for IDs without lower-case letters, which is
// why an ID with any lower-case letter is hashed.
func ParcelName(articleID string) string {
	candidate, lossless := lowerASCII(articleID)
	if lossless && len(validation.IsDNS1123Subdomain(candidate)) == 0 && !hashedName.MatchString(candidate) {
		return candidate
	}
	sum := sha256.Sum256([]byte(articleID))
	suffix := hex.EncodeToString(sum[:])[:nameHashLength]
	prefix := namePrefix(candidate)
	if prefix == "" {
		return "parcel-" + suffix
	}
	return prefix + "-" + suffix
}

// lowerASCII lower-cases s and reports whether that was reversible: every
// byte an upper-case letter, digit, '.' or '-'.
func lowerASCII(s string) (string, bool) {
	lossless := true
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c >= '0' && c <= '9', c == '.', c == '-':
		default:
			lossless = false
		}
	}
	return string(b), lossless
}

// namePrefix makes a readable DNS-1123 label prefix of s: letters and digits
// kept, every other run of bytes one '-', no '-' at either end.
func namePrefix(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			dash = true
			continue
		}
		separate := dash && b.Len() > 0
		if b.Len()+1+btoi(separate) > maxHashedNamePrefix {
			break
		}
		if separate {
			b.WriteByte('-')
		}
		dash = false
		b.WriteByte(c)
	}
	return b.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
