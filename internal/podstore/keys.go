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

package podstore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Key prefixes. Staged files live apart from stored ones so that a lifecycle
// rule on incoming/ can expire files whose event never reached the API
// server, without ever touching a stored proof of delivery.
const (
	stagingPrefix = "incoming/"
	finalPrefix   = "pods/"
)

// eventIDPattern is the API's pattern for event ids (TrackingEvent.ID): no
// "/" and no leading ".", so an id can never climb out of its prefix.
var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// uploadIDPattern is what NewUploadID returns.
var uploadIDPattern = regexp.MustCompile(`^[a-f0-9]{16}$`)

// StagingKey returns "incoming/<namespace>/<eventID>/<upload>", where the
// webhook stages one upload of a proof-of-delivery file until the
// reconciler moves it. upload is an UploadID, fresh for every upload: a
// retry, or a forged request, can never overwrite a file already staged for
// a recorded event, and a request that fails can delete its own upload
// without touching anyone else's.
func StagingKey(namespace, eventID, upload string) string {
	return stagingPrefix + namespace + "/" + eventID + "/" + upload
}

// NewUploadID returns a random upload id: 16 hex digits.
func NewUploadID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ParseStagingKey splits a staging key into its namespace, event id and
// upload id, accepting only what StagingKey produces, and the
// "incoming/<namespace>/<eventID>" of releases before upload ids (upload is
// then empty).
func ParseStagingKey(key string) (namespace, eventID, upload string, ok bool) {
	rest, ok := strings.CutPrefix(key, stagingPrefix)
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 3 && uploadIDPattern.MatchString(parts[2]):
		upload = parts[2]
	case len(parts) != 2:
		return "", "", "", false
	}
	namespace, eventID = parts[0], parts[1]
	if validateNamespace(namespace) != nil || validateEventID(eventID) != nil {
		return "", "", "", false
	}
	return namespace, eventID, upload, true
}

// FinalKey returns "pods/<namespace>/<parcel>/<eventID>.<ext>", where a
// verified proof-of-delivery file is stored. The extension comes from the
// sniffed content type so that whoever downloads the object can open it.
func FinalKey(namespace, parcel, eventID string, ct v1alpha1.ProofOfDeliveryContentType) string {
	return parcelPrefix(namespace, parcel) + eventID + "." + Extension(ct)
}

// parcelPrefix ends in "/" so that parcel "a" never matches parcel "ab".
func parcelPrefix(namespace, parcel string) string {
	return finalPrefix + namespace + "/" + parcel + "/"
}

// Extension returns the file extension for a proof-of-delivery content type
// (pdf, jpg, png, webp, heic), or "" for a type that is not accepted.
func Extension(ct v1alpha1.ProofOfDeliveryContentType) string {
	switch ct {
	case v1alpha1.ContentTypePDF:
		return "pdf"
	case v1alpha1.ContentTypeJPEG:
		return "jpg"
	case v1alpha1.ContentTypePNG:
		return "png"
	case v1alpha1.ContentTypeWebP:
		return "webp"
	case v1alpha1.ContentTypeHEIC:
		return "heic"
	default:
		return ""
	}
}

// validateNamespace, validateParcel and validateEventID hold keys to the
// shapes the API server allows, so a value that slipped past it (or a
// caller's bug) cannot address another tenant's objects.
func validateNamespace(namespace string) error {
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return fmt.Errorf("%w: namespace %q: %s", ErrInvalidKey, namespace, errs[0])
	}
	return nil
}

func validateParcel(parcel string) error {
	if errs := validation.IsDNS1123Subdomain(parcel); len(errs) > 0 {
		return fmt.Errorf("%w: parcel name %q: %s", ErrInvalidKey, parcel, errs[0])
	}
	return nil
}

func validateEventID(eventID string) error {
	if len(eventID) > v1alpha1.MaxEventIDLength || !eventIDPattern.MatchString(eventID) {
		return fmt.Errorf("%w: event id %q must match %s and be at most %d characters",
			ErrInvalidKey, eventID, eventIDPattern, v1alpha1.MaxEventIDLength)
	}
	return nil
}
