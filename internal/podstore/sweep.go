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
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// StagedObject is a file in the staging area, as ListStaged finds it.
type StagedObject struct {
	// Key is the staging key, StagingKey(Namespace, EventID, <upload id>).
	Key string
	// Namespace and EventID are parsed from the key.
	Namespace string
	EventID   string
	// ModTime is when the object was last written.
	ModTime time.Time
}

// ListStaged lists the staged objects last written before cutoff: the
// candidates for a sweep of uploads whose event never reached the API
// server. Keys outside the incoming/<namespace>/<event id> layout are
// skipped; no event can name them, and they are not this package's to
// delete.
func (s *Store) ListStaged(ctx context.Context, cutoff time.Time) ([]StagedObject, error) {
	var found []StagedObject
	it := s.bucket.List(&blob.ListOptions{Prefix: stagingPrefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return found, nil
		}
		if err != nil {
			return nil, fmt.Errorf("podstore: listing %s: %w", stagingPrefix, err)
		}
		if obj.IsDir || !obj.ModTime.Before(cutoff) {
			continue
		}
		namespace, eventID, _, ok := ParseStagingKey(obj.Key)
		if !ok {
			continue
		}
		found = append(found, StagedObject{Key: obj.Key, Namespace: namespace, EventID: eventID, ModTime: obj.ModTime})
	}
}

// DeleteStaged deletes a staged upload, and reports whether it was there.
// Every upload has a key of its own (an upload id), written once: nothing
// can have replaced it since it was listed. A key outside the staging
// layout is ErrInvalidKey.
func (s *Store) DeleteStaged(ctx context.Context, key string) (bool, error) {
	if _, _, _, ok := ParseStagingKey(key); !ok {
		return false, fmt.Errorf("%w: %q is not a staging key", ErrInvalidKey, key)
	}
	if err := s.bucket.Delete(ctx, key); err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return false, nil
		}
		return false, fmt.Errorf("podstore: deleting staged %s: %w", key, err)
	}
	return true, nil
}

// AbortStaleUploads aborts the unfinished multipart uploads under this
// package's prefixes (incoming/, pods/) started before cutoff, and returns
// how many it aborted. A writer killed mid-upload (a manager killed while
// moving a large file) leaves one behind: invisible to listings, yet stored
// and billed. Only s3:// buckets have them; elsewhere this does nothing. An
// upload still in progress that old is a stuck one, and aborting it fails
// that write, which its owner retries.
func (s *Store) AbortStaleUploads(ctx context.Context, cutoff time.Time) (int, error) {
	if s.s3 == nil {
		return 0, nil
	}
	bucket := aws.String(s.base.Host)
	aborted := 0
	for _, prefix := range []string{stagingPrefix, finalPrefix} {
		in := &s3.ListMultipartUploadsInput{Bucket: bucket, Prefix: aws.String(prefix)}
		for {
			out, err := s.s3.ListMultipartUploads(ctx, in)
			if err != nil {
				return aborted, fmt.Errorf("podstore: listing the unfinished uploads under %s: %w", prefix, err)
			}
			for _, u := range out.Uploads {
				if u.Initiated == nil || !u.Initiated.Before(cutoff) {
					continue
				}
				if _, err := s.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
					Bucket: bucket, Key: u.Key, UploadId: u.UploadId,
				}); err != nil {
					return aborted, fmt.Errorf("podstore: aborting the unfinished upload of %s: %w", aws.ToString(u.Key), err)
				}
				aborted++
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
		}
	}
	return aborted, nil
}
