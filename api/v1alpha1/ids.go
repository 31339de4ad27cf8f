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
	"fmt"
	"regexp"
	"time"
)

// idPattern is the character set of article IDs and event IDs, the same
// the CRD's patterns enforce.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// ValidateArticleID reports, in words a courier can act on, why an article
// ID would be refused by the API server; nil when it would be accepted.
func ValidateArticleID(id string) error {
	return validateID(id, MaxArticleIDLength)
}

// ValidateEventID does the same for a courier-given event id.
func ValidateEventID(id string) error {
	return validateID(id, MaxEventIDLength)
}

func validateID(id string, maxLength int) error {
	switch {
	case id == "":
		return fmt.Errorf("must not be empty")
	case len(id) > maxLength:
		return fmt.Errorf("is %d characters long; at most %d are allowed", len(id), maxLength)
	case !idPattern.MatchString(id):
		return fmt.Errorf("may contain only letters, digits and . _ : - and must start with a letter or digit")
	}
	return nil
}

// DeriveEventID is the id of an update that came without one: the first
// 16 hex digits of SHA-256 over the article ID, canonical status and time
// (UTC, whole seconds, as the API stores it). A retry of the same update
// gets the same id, so it is counted once.
func DeriveEventID(articleID string, status TrackingStatus, t time.Time) string {
	h := sha256.New()
	h.Write([]byte(articleID))
	h.Write([]byte{0})
	h.Write([]byte(status))
	h.Write([]byte{0})
	h.Write([]byte(t.UTC().Truncate(time.Second).Format(time.RFC3339)))
	return hex.EncodeToString(h.Sum(nil))[:16]
}
