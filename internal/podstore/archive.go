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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"gocloud.dev/blob"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// archivePrefix holds archived Parcels, apart from incoming/ and pods/, so
// a lifecycle rule on either never touches an archive.
const archivePrefix = "archive/"

// ArchiveFormat names the archive document's schema. Fields may be added
// within a format; anything a reader of this format relies on stays.
const ArchiveFormat = "tracking.parcelops.io/parcel-archive/v1"

// archiveContentType is the stored content type of an archive document.
const archiveContentType = "application/json"

// uidPattern is the shape of a Kubernetes UID (a UUID); anything else could
// climb out of the archive's prefix.
var uidPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// ArchiveKey returns "archive/<namespace>/<parcel>/<uid>.json", where a
// Parcel is archived before it is deleted. The UID tells apart Parcels
// re-created under the same name, so an archive is only ever overwritten by
// the same Parcel, with a later state of itself.
func ArchiveKey(namespace, parcel string, uid types.UID) string {
	return archivePrefix + namespace + "/" + parcel + "/" + string(uid) + ".json"
}

// ParcelArchive is the archive document of one Parcel: enough to answer any
// question the Parcel answered, and to re-create it (apiVersion, kind,
// metadata and spec make a manifest).
type ParcelArchive struct {
	// Format is ArchiveFormat.
	Format string `json:"format"`
	// ArchivedAt is when the archive was written.
	ArchivedAt metav1.Time `json:"archivedAt"`
	// APIVersion and Kind name the API the spec and status follow.
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Metadata is the Parcel's identity and the labels and annotations it
	// carried.
	Metadata ArchivedMetadata `json:"metadata"`
	// Spec is the Parcel's spec: its article ID and every event.
	Spec v1alpha1.ParcelSpec `json:"spec"`
	// Status is the Parcel's status as the operator last wrote it.
	Status v1alpha1.ParcelStatus `json:"status"`
	// ProofOfDelivery links each stored proof-of-delivery file, from
	// status.proofOfDelivery, with its object key.
	ProofOfDelivery []ArchivedProofOfDelivery `json:"proofOfDelivery,omitempty"`
}

// ArchivedMetadata is the part of a Parcel's metadata an archive keeps.
type ArchivedMetadata struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	UID       types.UID `json:"uid"`
	// ResourceVersion and Generation identify the exact state archived: the
	// Parcel was deleted only while it still had this resourceVersion (or
	// one that differs only by the archive annotation).
	ResourceVersion   string            `json:"resourceVersion"`
	Generation        int64             `json:"generation"`
	CreationTimestamp metav1.Time       `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// ArchivedProofOfDelivery locates one stored proof-of-delivery file.
type ArchivedProofOfDelivery struct {
	EventID string `json:"eventId"`
	// Key is the object key in the bucket, FinalKey(...); absent when the
	// event that names the file is not in the spec.
	Key         string                              `json:"key,omitempty"`
	URL         string                              `json:"url"`
	SHA256      string                              `json:"sha256"`
	Size        int64                               `json:"size"`
	ContentType v1alpha1.ProofOfDeliveryContentType `json:"contentType,omitempty"`
}

// Archived describes an archive document written and read back.
type Archived struct {
	// Key is ArchiveKey(namespace, parcel, uid).
	Key string
	// URL is ObjectURL(Key).
	URL string
	// SHA256 is the lower-case hex SHA-256 digest of the document's bytes.
	SHA256 string
	// Size is the document's length in bytes.
	Size int64
}

// NewParcelArchive builds the archive document of a Parcel. The archive
// annotation is left out: it is bookkeeping about the archive itself.
func NewParcelArchive(parcel *v1alpha1.Parcel, archivedAt time.Time) *ParcelArchive {
	annotations := maps.Clone(parcel.Annotations)
	delete(annotations, v1alpha1.ArchivedAnnotation)
	if len(annotations) == 0 {
		annotations = nil
	}
	doc := &ParcelArchive{
		Format:     ArchiveFormat,
		ArchivedAt: metav1.NewTime(archivedAt.UTC().Truncate(time.Second)),
		APIVersion: v1alpha1.GroupVersion.String(),
		Kind:       "Parcel",
		Metadata: ArchivedMetadata{
			Name:              parcel.Name,
			Namespace:         parcel.Namespace,
			UID:               parcel.UID,
			ResourceVersion:   parcel.ResourceVersion,
			Generation:        parcel.Generation,
			CreationTimestamp: parcel.CreationTimestamp,
			Labels:            maps.Clone(parcel.Labels),
			Annotations:       annotations,
		},
		Spec:   *parcel.Spec.DeepCopy(),
		Status: *parcel.Status.DeepCopy(),
	}
	for _, s := range parcel.Status.ProofOfDelivery {
		link := ArchivedProofOfDelivery{EventID: s.EventID, URL: s.URL, SHA256: s.SHA256, Size: s.Size}
		if up := v1alpha1.ProofOf(parcel.Spec.Events, s.EventID); up != nil {
			link.ContentType = up.ContentType
			link.Key = FinalKey(parcel.Namespace, parcel.Name, s.EventID, up.ContentType)
		}
		doc.ProofOfDelivery = append(doc.ProofOfDelivery, link)
	}
	return doc
}

// Archive writes the archive document of a Parcel to ArchiveKey, then reads
// it back in full and verifies its size and SHA-256, so a caller that gets
// no error may delete the Parcel. Archiving the same Parcel again replaces
// the document with the newer state; every step is safe to repeat. An
// invalid namespace, name or UID is ErrInvalidKey; a read-back that differs
// from what was written is ErrVerificationFailed; anything else (store
// unreachable) is transient and returned wrapped.
func (s *Store) Archive(ctx context.Context, parcel *v1alpha1.Parcel, archivedAt time.Time) (Archived, error) {
	if err := validateArchive(parcel.Namespace, parcel.Name, parcel.UID); err != nil {
		return Archived{}, err
	}
	raw, err := json.MarshalIndent(NewParcelArchive(parcel, archivedAt), "", "  ")
	if err != nil {
		return Archived{}, fmt.Errorf("podstore: encoding the archive of %s/%s: %w", parcel.Namespace, parcel.Name, err)
	}
	raw = append(raw, '\n')
	key := ArchiveKey(parcel.Namespace, parcel.Name, parcel.UID)
	sum := digestOf(raw)

	// Whatever the backend checks on upload (S3 drivers no longer send an
	// MD5), the read-back below is what proves the document.
	if err := s.bucket.WriteAll(ctx, key, raw, &blob.WriterOptions{
		ContentType: archiveContentType,
		Metadata:    map[string]string{MetadataSHA256: sum, MetadataArticleID: parcel.Spec.ArticleID},
	}); err != nil {
		return Archived{}, fmt.Errorf("podstore: writing archive %s: %w", key, err)
	}
	back, err := s.bucket.ReadAll(ctx, key)
	if err != nil {
		return Archived{}, fmt.Errorf("podstore: reading back archive %s: %w", key, err)
	}
	if got := digestOf(back); len(back) != len(raw) || got != sum {
		return Archived{}, fmt.Errorf("%w: archive %s reads back as %d bytes with sha256 %s, %d bytes with sha256 %s were written",
			ErrVerificationFailed, key, len(back), got, len(raw), sum)
	}
	return Archived{Key: key, URL: s.ObjectURL(key), SHA256: sum, Size: int64(len(raw))}, nil
}

// ReadArchive reads the archive document at key (an ArchiveKey). A document
// whose bytes no longer match the SHA-256 recorded when it was written is
// ErrVerificationFailed; a document of another format is an error too.
func (s *Store) ReadArchive(ctx context.Context, key string) (*ParcelArchive, error) {
	if !strings.HasPrefix(key, archivePrefix) || !strings.HasSuffix(key, ".json") {
		return nil, fmt.Errorf("%w: %q is not an archive key (%s<namespace>/<parcel>/<uid>.json)", ErrInvalidKey, key, archivePrefix)
	}
	attrs, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("podstore: reading archive %s: %w", key, err)
	}
	raw, err := s.bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("podstore: reading archive %s: %w", key, err)
	}
	if want, ok := attrs.Metadata[MetadataSHA256]; ok && digestOf(raw) != want {
		return nil, fmt.Errorf("%w: archive %s has sha256 %s, %s was written", ErrVerificationFailed, key, digestOf(raw), want)
	}
	doc := &ParcelArchive{}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(doc); err != nil {
		return nil, fmt.Errorf("podstore: decoding archive %s: %w", key, err)
	}
	if doc.Format != ArchiveFormat {
		return nil, fmt.Errorf("podstore: archive %s has format %q, this version reads %q", key, doc.Format, ArchiveFormat)
	}
	return doc, nil
}

func validateArchive(namespace, parcel string, uid types.UID) error {
	if err := validateNamespace(namespace); err != nil {
		return err
	}
	if err := validateParcel(parcel); err != nil {
		return err
	}
	if !uidPattern.MatchString(string(uid)) {
		return fmt.Errorf("%w: parcel uid %q", ErrInvalidKey, uid)
	}
	return nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
