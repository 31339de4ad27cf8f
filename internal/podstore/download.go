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
	"fmt"
	"io"
	"strings"

	"gocloud.dev/gcerrors"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// ErrOtherBucket: an object URL names a bucket other than the store's.
var ErrOtherBucket = fmt.Errorf("podstore: the object is in another bucket")

// KeyOf returns the key of the stored file a Parcel's status locates
// (StoredProofOfDelivery.URL, built by ObjectURL), or ErrOtherBucket when
// the URL is not in this store's bucket.
func (s *Store) KeyOf(objectURL string) (string, error) {
	key, ok := strings.CutPrefix(objectURL, s.ObjectURL(""))
	if !ok || !strings.HasPrefix(key, finalPrefix) {
		return "", fmt.Errorf("%w: %s is not under %s", ErrOtherBucket, objectURL, s.ObjectURL(finalPrefix))
	}
	return key, nil
}

// Download copies a stored proof-of-delivery file to w, hashing it on the
// way, and returns ErrVerificationFailed unless it has exactly the size and
// SHA-256 the Parcel's status records. The bytes reach w before they are
// verified: a caller writing a file writes it aside and keeps it only when
// Download returns nil.
func (s *Store) Download(ctx context.Context, pod v1alpha1.StoredProofOfDelivery, w io.Writer) error {
	key, err := s.KeyOf(pod.URL)
	if err != nil {
		return err
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("podstore: %s does not exist", pod.URL)
	}
	if err != nil {
		return fmt.Errorf("podstore: reading %s: %w", key, err)
	}
	defer func() { _ = r.Close() }()
	hw := newHashingWriter(w)
	// One byte past the record is enough to see that the object differs.
	if err := copyPooled(hw, io.LimitReader(r, pod.Size+1)); err != nil {
		return fmt.Errorf("podstore: reading %s: %w", key, err)
	}
	if got := hw.sum(); hw.n != pod.Size || got != pod.SHA256 {
		return fmt.Errorf("%w: %s has %d bytes with sha256 %s, the parcel records %d bytes with sha256 %s",
			ErrVerificationFailed, pod.URL, hw.n, got, pod.Size, pod.SHA256)
	}
	return nil
}
