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

package webhookserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// unknownParcel: the courier may not create parcels and this one does not
// exist.
func unknownParcel(key client.ObjectKey, articleID string) *problemError {
	p := newProblem(http.StatusNotFound, "unknown-parcel", "Unknown parcel",
		fmt.Sprintf("no parcel with article ID %q exists, and this courier may not create parcels", articleID))
	p.problem.Parcel = key.String()
	return p
}

// nameTaken: another article ID holds the name this one derives to. By
// construction of ParcelName this needs a 64-bit hash collision.
func nameTaken(key client.ObjectKey, holder string) *problemError {
	p := newProblem(http.StatusConflict, "name-taken", "Parcel name taken",
		fmt.Sprintf("parcel %s belongs to another article ID; ask the operator to resolve it", key.Name))
	p.problem.Parcel = key.String()
	p.cause = fmt.Errorf("parcel %s holds article ID %q", key, holder)
	return p
}

// parcelFull: the parcel holds the most events a Parcel may.
func parcelFull(key client.ObjectKey) *problemError {
	p := newProblem(http.StatusConflict, "parcel-full", "Parcel full",
		fmt.Sprintf("parcel %s already holds %d events, the most a parcel may; the update was not recorded",
			key.Name, trackingv1alpha1.MaxEvents))
	p.problem.Parcel = key.String()
	return p
}

// apiError answers a failed API server write. The server's refusal of the
// data is the client's to fix (422); a refusal of the operator itself
// (RBAC, a terminating namespace, admission) is the platform's to fix and
// retrying cannot help (500); anything else is the API server being
// unavailable, overloaded or slow (503, retry).
func apiError(err error) *problemError {
	switch {
	case apierrors.IsInvalid(err):
		p := newProblem(http.StatusUnprocessableEntity, "refused", "Update refused",
			"the Kubernetes API refused the update: "+apiMessage(err))
		p.cause = err
		return p
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err), apierrors.IsBadRequest(err):
		return problemFor(err)
	}
	return unavailable("the Kubernetes API", err)
}

func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return "invalid"
}

// stageError answers a failure to stage a POD file: the request's own
// problems first (what the multipart reader found while streaming the
// file), then the store's verdict on the file, then the store itself.
func stageError(err error, maxBytes int64) *problemError {
	var re *RequestError
	if errors.As(err, &re) {
		return problemFor(re)
	}
	switch {
	case errors.Is(err, podstore.ErrTooLarge):
		return &problemError{problem: Problem{Type: problemTypeBase + "too-large", Title: "Payload too large",
			Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("pod_file is larger than this courier's limit of %d bytes", maxBytes),
			Errors: []FieldError{{Field: "pod_file", Detail: fmt.Sprintf("at most %d bytes", maxBytes)}},
		}, cause: err}
	case errors.Is(err, podstore.ErrUnsupportedType):
		return &problemError{problem: Problem{Type: problemTypeBase + "unsupported-media-type", Title: "Unsupported media type",
			Status: http.StatusUnsupportedMediaType,
			Detail: "pod_file is not a PDF, JPEG, PNG, WebP or HEIC file (judged by its content, not its name or declared type)",
			Errors: []FieldError{{Field: "pod_file", Detail: "accepted: PDF, JPEG, PNG, WebP, HEIC"}},
		}, cause: err}
	case errors.Is(err, podstore.ErrEmpty):
		return &problemError{problem: Problem{Type: problemTypeBase + "invalid-request", Title: "Invalid tracking update",
			Status: http.StatusBadRequest, Detail: "pod_file is empty",
			Errors: []FieldError{{Field: "pod_file", Detail: "must not be empty"}},
		}, cause: err}
	}
	if pe := bodyError(err); pe != nil {
		return pe
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return readError(err)
	}
	return unavailable("the object store", err)
}

// readError answers a request body that could not be read to its end.
func readError(err error) *problemError {
	var re *RequestError
	if errors.As(err, &re) {
		return problemFor(re)
	}
	if pe := bodyError(err); pe != nil {
		return pe
	}
	p := newProblem(http.StatusBadRequest, "invalid-request", "Invalid tracking update",
		"the request body ended early or could not be read; nothing was recorded")
	p.cause = err
	return p
}

// bodyError recognises a request body cut off by its size cap or by the
// client; nil for anything else.
func bodyError(err error) *problemError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		p := newProblem(http.StatusRequestEntityTooLarge, "too-large", "Payload too large",
			fmt.Sprintf("the request body is larger than the %d bytes allowed", tooBig.Limit))
		p.cause = err
		return p
	}
	return nil
}
