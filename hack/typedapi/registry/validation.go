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

package registry

import (
	"regexp"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
)

// The bounds below are the CRD's OpenAPI schema (config/crd/bases), read
// from the markers on api/v1alpha1's types; the limits that package exports
// are used where it exports them.
const (
	maxSourceLength     = 253
	maxStagingKeyLength = 512
	maxFilenameLength   = 255
	maxPODSize          = 1 << 30
	maxReasonLength     = 512
	maxURLLength        = 2048
	maxConditions       = 16
)

var (
	stagingKeyPattern = regexp.MustCompile(`^incoming/[a-z0-9]([-a-z0-9]*[a-z0-9])?/[A-Za-z0-9][A-Za-z0-9._:-]*(/[a-f0-9]{16})?$`)
	sha256Pattern     = regexp.MustCompile(`^[a-f0-9]{64}$`)

	contentTypes = sets.New(trackingv1alpha1.ContentTypePDF, trackingv1alpha1.ContentTypeJPEG,
		trackingv1alpha1.ContentTypePNG, trackingv1alpha1.ContentTypeWebP, trackingv1alpha1.ContentTypeHEIC)
	results = sets.New(trackingv1alpha1.ResultApplied, trackingv1alpha1.ResultUnchanged,
		trackingv1alpha1.ResultRejected, trackingv1alpha1.ResultDuplicate)
)

// validateParcel is what the CRD's schema checks on every write of the
// whole object: metadata, then spec, then status.
func validateParcel(p *typedv1alpha1.Parcel) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaAccessor(&p.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateSpec(&p.Spec, field.NewPath("spec"))...)
	return append(errs, validateStatus(&p.Status, field.NewPath("status"))...)
}

// validateParcelUpdate adds the CRD's two transition rules to
// validateParcel: the article ID is immutable and events are append-only.
// Like the CEL rule on ParcelSpec, the append-only check compares the old
// list with the same-length prefix of the new one.
func validateParcelUpdate(p, old *typedv1alpha1.Parcel) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaAccessorUpdate(&p.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateParcel(p)...)
	spec := field.NewPath("spec")
	if p.Spec.ArticleID != old.Spec.ArticleID {
		errs = append(errs, field.Invalid(spec.Child("articleId"), p.Spec.ArticleID, "articleId is immutable"))
	}
	if len(p.Spec.Events) < len(old.Spec.Events) ||
		!apiequality.Semantic.DeepEqual(p.Spec.Events[:len(old.Spec.Events)], old.Spec.Events) {
		errs = append(errs, field.Forbidden(spec.Child("events"),
			"events are append-only: recorded events cannot be changed, removed or reordered"))
	}
	return errs
}

func validateSpec(s *trackingv1alpha1.ParcelSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if err := trackingv1alpha1.ValidateArticleID(s.ArticleID); err != nil {
		errs = append(errs, field.Invalid(path.Child("articleId"), s.ArticleID, err.Error()))
	}
	events := path.Child("events")
	if len(s.Events) > trackingv1alpha1.MaxEvents {
		errs = append(errs, field.TooMany(events, len(s.Events), trackingv1alpha1.MaxEvents))
	}
	for i := range s.Events {
		errs = append(errs, validateEvent(&s.Events[i], events.Index(i))...)
	}
	return errs
}

func validateEvent(e *trackingv1alpha1.TrackingEvent, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if err := trackingv1alpha1.ValidateEventID(e.ID); err != nil {
		errs = append(errs, field.Invalid(path.Child("id"), e.ID, err.Error()))
	}
	errs = append(errs, validateStatusValue(e.Status, true, path.Child("status"))...)
	if e.Time.IsZero() {
		errs = append(errs, field.Required(path.Child("time"), "the time the event happened"))
	}
	errs = append(errs, maxLength(e.Remarks, trackingv1alpha1.MaxRemarksLength, path.Child("remarks"))...)
	errs = append(errs, maxLength(e.Source, maxSourceLength, path.Child("source"))...)
	if pod := e.ProofOfDelivery; pod != nil {
		p := path.Child("proofOfDelivery")
		errs = append(errs, maxLength(pod.StagingKey, maxStagingKeyLength, p.Child("stagingKey"))...)
		if !stagingKeyPattern.MatchString(pod.StagingKey) {
			errs = append(errs, field.Invalid(p.Child("stagingKey"), pod.StagingKey,
				"must be incoming/<namespace>/<event id>[/<16 hex digits>]"))
		}
		errs = append(errs, validateDigest(pod.SHA256, p.Child("sha256"))...)
		errs = append(errs, validateSize(pod.Size, p.Child("size"))...)
		if !contentTypes.Has(pod.ContentType) {
			errs = append(errs, field.NotSupported(p.Child("contentType"), pod.ContentType, sets.List(contentTypes)))
		}
		errs = append(errs, maxLength(pod.Filename, maxFilenameLength, p.Child("filename"))...)
	}
	return errs
}

func validateStatus(s *trackingv1alpha1.ParcelStatus, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.ObservedGeneration < 0 {
		errs = append(errs, field.Invalid(path.Child("observedGeneration"), s.ObservedGeneration, "must not be negative"))
	}
	errs = append(errs, validateStatusValue(s.Phase, false, path.Child("phase"))...)
	history := path.Child("history")
	if len(s.History) > trackingv1alpha1.MaxEvents {
		errs = append(errs, field.TooMany(history, len(s.History), trackingv1alpha1.MaxEvents))
	}
	for i, h := range s.History {
		p := history.Index(i)
		if h.ID == "" || len(h.ID) > trackingv1alpha1.MaxEventIDLength {
			errs = append(errs, field.Invalid(p.Child("id"), h.ID, "must be 1 to 64 characters"))
		}
		if !results.Has(h.Result) {
			errs = append(errs, field.NotSupported(p.Child("result"), h.Result, sets.List(results)))
		}
		errs = append(errs, maxLength(h.Reason, maxReasonLength, p.Child("reason"))...)
	}
	pods := path.Child("proofOfDelivery")
	if len(s.ProofOfDelivery) > trackingv1alpha1.MaxEvents {
		errs = append(errs, field.TooMany(pods, len(s.ProofOfDelivery), trackingv1alpha1.MaxEvents))
	}
	seen := sets.New[string]()
	for i, pod := range s.ProofOfDelivery {
		p := pods.Index(i)
		switch {
		case pod.EventID == "" || len(pod.EventID) > trackingv1alpha1.MaxEventIDLength:
			errs = append(errs, field.Invalid(p.Child("eventId"), pod.EventID, "must be 1 to 64 characters"))
		case seen.Has(pod.EventID):
			errs = append(errs, field.Duplicate(p.Child("eventId"), pod.EventID))
		}
		seen.Insert(pod.EventID)
		errs = append(errs, maxLength(pod.URL, maxURLLength, p.Child("url"))...)
		if pod.URL == "" {
			errs = append(errs, field.Required(p.Child("url"), "where the file is stored"))
		}
		errs = append(errs, validateDigest(pod.SHA256, p.Child("sha256"))...)
		if pod.Size < 1 {
			errs = append(errs, field.Invalid(p.Child("size"), pod.Size, "must be at least 1"))
		}
		if pod.StoredAt.IsZero() {
			errs = append(errs, field.Required(p.Child("storedAt"), "when the file was stored"))
		}
	}
	if len(s.Conditions) > maxConditions {
		errs = append(errs, field.TooMany(path.Child("conditions"), len(s.Conditions), maxConditions))
	}
	return append(errs, metav1validation.ValidateConditions(s.Conditions, path.Child("conditions"))...)
}

// validateStatusValue checks a tracking status against the CRD's enum; an
// event's is required, the phase may be empty.
func validateStatusValue(s trackingv1alpha1.TrackingStatus, required bool, path *field.Path) field.ErrorList {
	switch {
	case s == "" && !required:
		return nil
	case s == "":
		return field.ErrorList{field.Required(path, "one of "+statusList())}
	case !s.IsValid():
		return field.ErrorList{field.NotSupported(path, s, trackingv1alpha1.Statuses())}
	}
	return nil
}

func statusList() string {
	var out string
	for i, s := range trackingv1alpha1.Statuses() {
		if i > 0 {
			out += ", "
		}
		out += string(s)
	}
	return out
}

func validateDigest(d string, path *field.Path) field.ErrorList {
	if !sha256Pattern.MatchString(d) {
		return field.ErrorList{field.Invalid(path, d, "must be 64 lowercase hex digits")}
	}
	return nil
}

func validateSize(n int64, path *field.Path) field.ErrorList {
	if n < 1 || n > maxPODSize {
		return field.ErrorList{field.Invalid(path, n, "must be between 1 and 1073741824 bytes")}
	}
	return nil
}

func maxLength(s string, limit int, path *field.Path) field.ErrorList {
	if len(s) > limit {
		return field.ErrorList{field.TooLong(path, s, limit)}
	}
	return nil
}
