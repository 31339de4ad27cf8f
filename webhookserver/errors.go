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
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// unknownParcel: the courier may not create parcels and this one does not
// exist.
func unknownParcel(key client.ObjectKey, articleID string) *Problem {
	p := newProblem(http.StatusNotFound, "unknown-parcel", "Unknown parcel",
		fmt.Sprintf("no parcel with article ID %q exists, and this courier may not create parcels", articleID))
	p.Parcel = key.String()
	return p
}

// nameTaken: another article ID holds the name this one derives to. By
// construction of ParcelName this needs a 64-bit hash collision.
func nameTaken(key client.ObjectKey, holder string) *Problem {
	p := newProblem(http.StatusConflict, "name-taken", "Parcel name taken",
		fmt.Sprintf("parcel %s belongs to another article ID; ask the operator to resolve it", key.Name))
	p.Parcel = key.String()
	p.cause = fmt.Errorf("parcel %s holds article ID %q", key, holder)
	return p
}

// parcelFull: the parcel holds the most events a Parcel may.
func parcelFull(key client.ObjectKey) *Problem {
	p := newProblem(http.StatusConflict, "parcel-full", "Parcel full",
		fmt.Sprintf("parcel %s already holds %d events, the most a parcel may; the update was not recorded",
			key.Name, trackingv1alpha1.MaxEvents))
	p.Parcel = key.String()
	return p
}

// proofConflict: the event already has a proof of delivery, and the update
// came again with a different file. A proof, once recorded, is never
// replaced: which file a recipient signed must not depend on which call
// came last.
func proofConflict(key client.ObjectKey, eventID string, recorded *trackingv1alpha1.ProofOfDeliveryUpload) *Problem {
	p := newProblem(http.StatusConflict, "proof-of-delivery-conflict", "Proof of delivery already recorded",
		fmt.Sprintf("event %s already has a proof of delivery (%d bytes, SHA-256 %s) and a different file cannot replace it; "+
			"send the same file again, or no file", eventID, recorded.Size, recorded.SHA256))
	p.Parcel = key.String()
	p.EventID = eventID
	return p
}

// apiError answers a failed API server write. The server's refusal of the
// data is the client's to fix (422); a refusal of the operator itself
// (RBAC, a terminating namespace, admission) is the platform's to fix and
// retrying cannot help (500); anything else is the API server being
// unavailable, overloaded or slow (503, retry).
func apiError(err error) *Problem {
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
// problem first (what the multipart reader met while the file streamed),
// then the store's verdict on the file, else the store is unreachable.
func stageError(err error, maxBytes int64) error {
	var re *Problem
	switch {
	case errors.As(err, &re):
		return re
	case errors.Is(err, podstore.ErrTooLarge):
		return podTooLarge(maxBytes, err)
	case errors.Is(err, podstore.ErrUnsupportedType):
		return &Problem{Status: http.StatusUnsupportedMediaType, Type: slugUnsupported, Title: titleUnsupported,
			Detail: "pod_file is not a PDF, JPEG, PNG, WebP or HEIC file (judged by its content, not its name or declared type)",
			Fields: []FieldError{{Field: fieldPODFile, Detail: "accepted: PDF, JPEG, PNG, WebP, HEIC"}},
			cause:  err}
	case errors.Is(err, podstore.ErrEmpty):
		e := fieldProblem(fieldPODFile, "pod_file is empty")
		e.cause = err
		return e
	}
	return unavailable("the object store", err)
}

// podTooLarge is the 413 for a pod_file over the courier's limit.
func podTooLarge(maxBytes int64, cause error) *Problem {
	return &Problem{Status: http.StatusRequestEntityTooLarge, Type: slugTooLarge, Title: titleTooLarge,
		Detail: fmt.Sprintf("pod_file is larger than this courier's limit of %d bytes", maxBytes),
		Fields: []FieldError{{Field: fieldPODFile, Detail: fmt.Sprintf("at most %d bytes", maxBytes)}},
		cause:  cause}
}

// finishError answers a body that could not be settled. When the store had
// already found pod_file over the courier's limit, that is the answer, as it
// was before the rest of the body was read: reading on past the file is what
// hit the body's cap.
func finishError(err, stageErr error, maxPODBytes int64) error {
	if err != nil && errors.Is(stageErr, podstore.ErrTooLarge) {
		return podTooLarge(maxPODBytes, stageErr)
	}
	return err
}
