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
	"errors"
)

// The errors Stage, Move and Open return for conditions a retry cannot fix.
// Callers tell them apart with errors.Is: these are terminal (mark the
// Parcel, answer the courier with 4xx), anything else is transient (requeue,
// answer 503).
var (
	// ErrTooLarge: the upload is longer than the cap the caller set.
	ErrTooLarge = errors.New("podstore: file too large")
	// ErrUnsupportedType: the file's bytes are not one of the accepted
	// proof-of-delivery types (PDF, JPEG, PNG, WebP, HEIC).
	ErrUnsupportedType = errors.New("podstore: unsupported file type")
	// ErrEmpty: the upload has no bytes.
	ErrEmpty = errors.New("podstore: empty file")
	// ErrStagedMissing: Move found neither a verified final object nor the
	// staged one to copy it from; the file is gone and only a new upload can
	// bring it back.
	ErrStagedMissing = errors.New("podstore: staged object missing")
	// ErrVerificationFailed: the staged file's size or SHA-256 differs from
	// what was recorded when it was received, so it is not the courier's
	// file. Nothing was stored and the staged object is kept for inspection.
	ErrVerificationFailed = errors.New("podstore: verification failed")
	// ErrInvalidKey: a namespace, parcel name, event id or staging key that
	// would not yield the object key this package derives; refused so no
	// caller can address objects outside the layout (or traverse paths).
	ErrInvalidKey = errors.New("podstore: invalid object key")
	// ErrCredentialsInURL: Open refuses a bucket URL with credentials in it,
	// because that URL ends up in flags, logs and Deployment specs.
	// Credentials come from the environment or workload identity.
	ErrCredentialsInURL = errors.New("podstore: the bucket URL carries credentials; " +
		"supply them through the environment or workload identity instead")
)
