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

// ArchivedAnnotation names the archive of a Parcel (its object URL). The
// retention controller sets it only after the archive is written and
// verified, conditioned on the resourceVersion it archived, and deletes the
// Parcel next. It tells the Parcel reconciler that the archive links to the
// parcel's stored proof-of-delivery files, so --pod-files-on-delete=Delete keeps
// them. See docs/archive.md.
const ArchivedAnnotation = "tracking.parcelops.io/archived-to"

// Kubernetes Event reasons of the retention controller
// (--archive-after).
const (
	// EventArchived: a terminal parcel past its retention was archived to
	// the bucket and deleted.
	EventArchived = "Archived"
	// EventArchiveFailed: archiving or deleting a parcel past its retention
	// failed; the message says why. It is retried; the parcel is never
	// deleted without a verified archive.
	EventArchiveFailed = "ArchiveFailed"
)
