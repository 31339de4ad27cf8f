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

package v1alpha1_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// nameSeeds are article IDs worth starting a fuzz run from: the table
// entries of names_test.go and their near neighbours.
var nameSeeds = []string{
	"ARP1000052447", "1000052447", "A.B-C", "A", "arp_1", "arp1", "ARP1", "ArP1",
	"ARP_1", "ARP-1", "ARP:1", "ARP.1", "ARP 1", ".ARP1", "ARP1.", "-ARP1", "ARP..1",
	"ARP-1000052447ABCDEF", "ARP-1000052447ABCDEFG", "ARP1-2111470B6871C7E3",
	"ÄRP1", "___", "", "\xff\xfe", longPlainID, longLossyID, strings.Repeat("A", 254),
}

// checkParcelName asserts what every derived name must be and returns it.
func checkParcelName(t *testing.T, id string) string {
	t.Helper()
	name := trackingv1alpha1.ParcelName(id)
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		t.Fatalf("ParcelName(%q) = %q, not a DNS-1123 subdomain: %v", id, name, errs)
	}
	if len(name) > validation.DNS1123SubdomainMaxLength {
		t.Fatalf("ParcelName(%q) = %q, %d characters", id, name, len(name))
	}
	if again := trackingv1alpha1.ParcelName(id); again != name {
		t.Fatalf("ParcelName(%q) gave %q, then %q", id, name, again)
	}
	if hashedNameShape.MatchString(name) {
		if want := "-" + hashSuffix(id); !strings.HasSuffix(name, want) {
			t.Fatalf("ParcelName(%q) = %q, want the hash suffix %q", id, name, want)
		}
	} else if strings.ToUpper(name) != id {
		// A name without a hash must be the ID lower-cased losslessly,
		// which is what keeps it apart from every other ID's name.
		t.Fatalf("ParcelName(%q) = %q: no hash suffix, yet it does not give the ID back", id, name)
	}
	return name
}

// FuzzParcelName: for any string, a valid name, the same every time.
func FuzzParcelName(f *testing.F) {
	for _, id := range nameSeeds {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		checkParcelName(t, id)
	})
}

// FuzzParcelNameCollision: two different IDs never share a name.
func FuzzParcelNameCollision(f *testing.F) {
	for _, pair := range [][2]string{
		{"ARP1", "arp1"},
		{"ARP_1", "ARP-1"},
		{"ARP:1", "ARP_1"},
		{"ARP.1", "ARP-1"},
		{"arp1", "ARP1-2111470B6871C7E3"},
		{"___", ""},
		{"ARP-1000052447ABCDEF", "arp-1000052447abcdef"},
		{longLossyID, longLossyID[:63] + "D"},
	} {
		f.Add(pair[0], pair[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		nameA, nameB := checkParcelName(t, a), checkParcelName(t, b)
		if a != b && nameA == nameB {
			t.Fatalf("ParcelName(%q) == ParcelName(%q) == %q", a, b, nameA)
		}
		// The upper-cased form of a name, taken as an ID, is the closest
		// a plain name can come to a hashed one.
		if upper := strings.ToUpper(nameA); upper != a && checkParcelName(t, upper) == nameA {
			t.Fatalf("ParcelName(%q) == ParcelName(%q) == %q", a, upper, nameA)
		}
	})
}

// FuzzParseTrackingStatus: never panics; a status it returns is canonical and
// round-trips through its display name; anything else is an
// *UnknownStatusError that names the value.
func FuzzParseTrackingStatus(f *testing.F) {
	for _, seed := range append(trackingv1alpha1.AcceptedSpellings(),
		"NotScanned", "received-in-depot", "IN_TRANSIT", "  delivered  ", "ReturnToSender", "R.T.S.",
		"", "   ", "--", "Lost", "Deliverd", "Received", "Délivered", "配達済み", "Ｄｅｌｉｖｅｒｅｄ", "\xffRD",
	) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		status, err := trackingv1alpha1.ParseTrackingStatus(value)
		if err != nil {
			var unknown *trackingv1alpha1.UnknownStatusError
			if !errors.As(err, &unknown) {
				t.Fatalf("ParseTrackingStatus(%q): error %v is a %T, want *UnknownStatusError", value, err, err)
			}
			if unknown.Value != value {
				t.Fatalf("ParseTrackingStatus(%q): error names %q", value, unknown.Value)
			}
			if status != "" {
				t.Fatalf("ParseTrackingStatus(%q) = %q with an error", value, status)
			}
			msg := err.Error()
			if !strings.Contains(msg, `accepted: "Not Scanned", `) {
				t.Fatalf("ParseTrackingStatus(%q): message %q does not list the accepted spellings", value, msg)
			}
			if strings.TrimSpace(value) != "" && !strings.Contains(msg, fmt.Sprintf("%q", value)) {
				t.Fatalf("ParseTrackingStatus(%q): message %q does not name the value", value, msg)
			}
			return
		}
		if !status.IsValid() {
			t.Fatalf("ParseTrackingStatus(%q) = %q, not a canonical status", value, status)
		}
		for _, name := range []string{status.DisplayName(), string(status)} {
			back, err := trackingv1alpha1.ParseTrackingStatus(name)
			if err != nil || back != status {
				t.Fatalf("ParseTrackingStatus(%q) = %q, but ParseTrackingStatus(%q) = %q, %v", value, status, name, back, err)
			}
		}
	})
}

// TestParcelNameNoCollisions derives names for a large set of article IDs,
// rich in near-duplicates (differing only in case, or in '_' vs '-' vs '.' vs
// ':'), and finds no two different IDs with the same name.
func TestParcelNameNoCollisions(t *testing.T) {
	const (
		alnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		idChars   = alnum + "._:-"
		hexDigits = "0123456789ABCDEF"
	)
	r := rand.New(rand.NewPCG(20251008, 1015))
	ids := map[string]struct{}{}
	add := func(id string) { ids[id] = struct{}{} }
	flipCase := func(id string) string {
		b := []byte(id)
		for _, i := range r.Perm(len(b)) {
			switch c := b[i]; {
			case c >= 'a' && c <= 'z':
				b[i] = c - ('a' - 'A')
				return string(b)
			case c >= 'A' && c <= 'Z':
				b[i] = c + ('a' - 'A')
				return string(b)
			}
		}
		return id
	}
	for range 6000 {
		// Courier-style IDs: a prefix and a number, in every separator and case.
		n := r.Int64N(1e10)
		for _, format := range []string{"ARP%010d", "arp%010d", "Arp%010d", "ARP-%010d", "ARP_%010d", "ARP.%010d", "ARP:%010d"} {
			add(fmt.Sprintf(format, n))
		}

		// A random ID of the allowed characters and its near-duplicates.
		b := make([]byte, 1+r.IntN(24))
		b[0] = alnum[r.IntN(len(alnum))]
		for i := 1; i < len(b); i++ {
			b[i] = idChars[r.IntN(len(idChars))]
		}
		id := string(b)
		add(id)
		add(strings.ToUpper(id))
		add(strings.ToLower(id))
		add(flipCase(id))
		add(strings.ReplaceAll(id, "_", "-"))
		add(strings.ReplaceAll(id, "-", "_"))
		add(strings.ReplaceAll(id, ".", "-"))
		add(strings.ReplaceAll(id, ":", "_"))

		// IDs that look like hashed names once lower-cased.
		h := make([]byte, 16)
		for i := range h {
			h[i] = hexDigits[r.IntN(len(hexDigits))]
		}
		add("ARP-" + string(h))
		add("arp-" + strings.ToLower(string(h)))
	}

	// The upper-cased form of each hashed name: lower-cased, it is that name.
	var lookalikes []string
	for id := range ids {
		if name := trackingv1alpha1.ParcelName(id); hashedNameShape.MatchString(name) {
			lookalikes = append(lookalikes, strings.ToUpper(name))
		}
	}
	for _, id := range lookalikes {
		add(id)
	}

	if len(ids) < 100_000 {
		t.Fatalf("generated %d distinct IDs, want at least 100000", len(ids))
	}
	owner := make(map[string]string, len(ids))
	hashed := 0
	for id := range ids {
		name := checkParcelName(t, id)
		if other, taken := owner[name]; taken {
			t.Fatalf("ParcelName(%q) == ParcelName(%q) == %q", id, other, name)
		}
		owner[name] = id
		if hashedNameShape.MatchString(name) {
			hashed++
		}
	}
	if plain := len(ids) - hashed; plain < 10_000 || hashed < 10_000 {
		t.Fatalf("%d plain and %d hashed names: the set does not exercise both kinds", plain, hashed)
	}
	t.Logf("%d distinct IDs, %d plain names, %d hashed names, no collision", len(ids), len(ids)-hashed, hashed)
}
