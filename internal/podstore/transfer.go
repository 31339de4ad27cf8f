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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Metadata keys on a stored object, so that the object alone says what it
// is and whose it is, even without the Parcel.
const (
	MetadataSHA256    = "sha256"
	MetadataArticleID = "article-id"
	MetadataEventID   = "event-id"
)

// sha256Pattern is the API's pattern for a recorded digest.
var sha256Pattern = regexp.MustCompile(`^[a-f0-9]{64}$`)

// Staged describes a file Stage wrote: the values the webhook records in the
// event (ProofOfDeliveryUpload) and Move later verifies against.
type Staged struct {
	// Key is the staging key, StagingKey(namespace, eventID, <a new upload id>).
	Key string
	// SHA256 is the lower-case hex SHA-256 digest of the bytes received.
	SHA256 string
	// Size is the number of bytes received.
	Size int64
	// ContentType is the type sniffed from the file's first bytes.
	ContentType v1alpha1.ProofOfDeliveryContentType
}

// Stage streams r to a new StagingKey for eventID, computing its SHA-256
// and size on the way, so memory stays flat whatever the file's size. It
// reads the first SniffLen bytes before writing anything: an empty upload is
// ErrEmpty and a file that is not an accepted type is ErrUnsupportedType,
// and neither leaves an object. An upload longer than maxBytes is
// ErrTooLarge; its write is aborted, so no partial object is left either.
// Every call stages a new object, never replacing one: DeleteStaged removes
// the upload of a request that failed.
func (s *Store) Stage(ctx context.Context, namespace, eventID string, r io.Reader, maxBytes int64) (Staged, error) {
	if err := validateNamespace(namespace); err != nil {
		return Staged{}, err
	}
	if err := validateEventID(eventID); err != nil {
		return Staged{}, err
	}
	if maxBytes <= 0 {
		return Staged{}, fmt.Errorf("podstore: Stage needs a positive maxBytes, got %d", maxBytes)
	}

	bufp := buffers.Get().(*[]byte)
	defer buffers.Put(bufp)
	buf := *bufp

	// io.ReadFull returns the sentinels themselves for a short or empty
	// reader; anything wrapping one is the reader failing (a request body
	// cut off), which must not pass for a short file.
	n, err := io.ReadFull(r, buf[:SniffLen])
	switch {
	case err == io.EOF: //nolint:errorlint // the sentinel itself, never a wrapped one: see above
		return Staged{}, ErrEmpty
	case err == io.ErrUnexpectedEOF: //nolint:errorlint // likewise
		// A file shorter than SniffLen: all of it is in head.
	case err != nil:
		return Staged{}, fmt.Errorf("podstore: reading the upload: %w", err)
	}
	head := buf[:n]
	ct, ok := DetectContentType(head)
	if !ok {
		return Staged{}, fmt.Errorf("%w: the file is not a PDF, JPEG, PNG, WebP or HEIC image", ErrUnsupportedType)
	}
	if int64(n) > maxBytes {
		return Staged{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
	}

	key := StagingKey(namespace, eventID, NewUploadID())
	w, abort, err := s.newWriter(ctx, key, ct, map[string]string{MetadataEventID: eventID})
	if err != nil {
		return Staged{}, err
	}
	hw := newHashingWriter(w)
	if _, err := hw.Write(head); err != nil {
		abort()
		return Staged{}, fmt.Errorf("podstore: staging %s: %w", key, err)
	}
	// Read at most one byte past the cap: enough to know the upload is too
	// large without reading (or storing) the rest of it.
	rest := io.LimitReader(r, maxBytes-int64(n)+1)
	if _, err := io.CopyBuffer(hw, readerOnly{rest}, buf); err != nil {
		abort()
		return Staged{}, fmt.Errorf("podstore: staging %s: %w", key, err)
	}
	if hw.n > maxBytes {
		abort()
		return Staged{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	if err := w.Close(); err != nil {
		return Staged{}, fmt.Errorf("podstore: staging %s: %w", key, err)
	}
	return Staged{Key: key, SHA256: hw.sum(), Size: hw.n, ContentType: ct}, nil
}

// MoveRequest names a staged proof-of-delivery file and where it belongs.
type MoveRequest struct {
	// Namespace is the Parcel's (and the courier's) namespace.
	Namespace string
	// Parcel is the Parcel's name.
	Parcel string
	// ArticleID is recorded in the stored object's metadata.
	ArticleID string
	// EventID is the id of the event the file came with.
	EventID string
	// Upload is the event's record of the file: the staging key, size,
	// digest and type it must still have.
	Upload v1alpha1.ProofOfDeliveryUpload
}

// Stored describes a proof-of-delivery file in its final place, verified.
type Stored struct {
	// Key is the object key, FinalKey(...).
	Key string
	// URL is ObjectURL(Key), for Parcel status.
	URL string
	// SHA256 is the verified lower-case hex SHA-256 digest.
	SHA256 string
	// Size is the verified size in bytes.
	Size int64
}

// Move makes a staged file durable at its final key. Every step is safe to
// repeat, so a crash between any two is repaired by calling Move again:
//
//  1. When the final object already exists with the recorded size and
//     SHA-256 (read back in full), only the staged object is left to delete.
//  2. Otherwise the staged object is streamed to the final key, hashed on
//     the way. When its size or digest differs from the record, the write is
//     aborted (nothing is stored), the staged object is kept and Move returns
//     ErrVerificationFailed. A missing staged object is ErrStagedMissing.
//  3. The staged object is deleted.
//
// An Upload.StagingKey not under incoming/<Namespace>/<EventID>/, or a
// content type with no extension, is ErrInvalidKey. Every other error
// (store unreachable, timeouts) is transient and returned wrapped; the
// caller retries.
func (s *Store) Move(ctx context.Context, req MoveRequest) (Stored, error) {
	up := req.Upload
	if err := validateMove(req); err != nil {
		return Stored{}, err
	}
	key := FinalKey(req.Namespace, req.Parcel, req.EventID, up.ContentType)
	stored := Stored{Key: key, URL: s.ObjectURL(key), SHA256: up.SHA256, Size: up.Size}

	ok, err := s.verify(ctx, key, up)
	if err != nil {
		return Stored{}, err
	}
	if !ok {
		// Absent, or not the courier's bytes (a torn or tampered write):
		// (re)write it from the staged copy.
		if err := s.copyVerified(ctx, req, key); err != nil {
			return Stored{}, err
		}
	}
	if err := s.bucket.Delete(ctx, up.StagingKey); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return Stored{}, fmt.Errorf("podstore: deleting staged %s: %w", up.StagingKey, err)
	}
	return stored, nil
}

func validateMove(req MoveRequest) error {
	if err := validateNamespace(req.Namespace); err != nil {
		return err
	}
	if err := validateParcel(req.Parcel); err != nil {
		return err
	}
	if err := validateEventID(req.EventID); err != nil {
		return err
	}
	up := req.Upload
	if ns, id, _, ok := ParseStagingKey(up.StagingKey); !ok || ns != req.Namespace || id != req.EventID {
		return fmt.Errorf("%w: staging key %q, want incoming/%s/%s/<upload id>", ErrInvalidKey, up.StagingKey,
			req.Namespace, req.EventID)
	}
	if Extension(up.ContentType) == "" {
		// No final key without an extension; both sentinels match, so a
		// caller that treats either as terminal stops retrying.
		return fmt.Errorf("%w: %w: recorded content type %q", ErrInvalidKey, ErrUnsupportedType, up.ContentType)
	}
	// A record that no file can match is as final as a mismatch.
	if up.Size <= 0 || !sha256Pattern.MatchString(up.SHA256) {
		return fmt.Errorf("%w: the event records size %d and sha256 %q, which no file can match",
			ErrVerificationFailed, up.Size, up.SHA256)
	}
	return nil
}

// verify reports whether key holds exactly the recorded bytes, reading the
// object back in full: the size alone cannot catch a corrupt object, and
// stored metadata would only repeat what we wrote.
func (s *Store) verify(ctx context.Context, key string, up v1alpha1.ProofOfDeliveryUpload) (bool, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("podstore: reading %s: %w", key, err)
	}
	defer func() { _ = r.Close() }()
	if r.Size() != up.Size {
		return false, nil
	}
	h := newHashingWriter(io.Discard)
	if err := copyPooled(h, io.LimitReader(r, up.Size+1)); err != nil {
		return false, fmt.Errorf("podstore: reading %s: %w", key, err)
	}
	return h.n == up.Size && h.sum() == up.SHA256, nil
}

// copyVerified streams the staged object to key, aborting the write unless
// the bytes match the record.
func (s *Store) copyVerified(ctx context.Context, req MoveRequest, key string) error {
	up := req.Upload
	r, err := s.bucket.NewReader(ctx, up.StagingKey, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %s is gone and %s does not hold the file", ErrStagedMissing, up.StagingKey, key)
	}
	if err != nil {
		return fmt.Errorf("podstore: reading staged %s: %w", up.StagingKey, err)
	}
	defer func() { _ = r.Close() }()
	if r.Size() != up.Size {
		return fmt.Errorf("%w: staged %s has %d bytes, the event records %d",
			ErrVerificationFailed, up.StagingKey, r.Size(), up.Size)
	}

	w, abort, err := s.newWriter(ctx, key, up.ContentType, map[string]string{
		MetadataSHA256:    up.SHA256,
		MetadataArticleID: req.ArticleID,
		MetadataEventID:   req.EventID,
	})
	if err != nil {
		return err
	}
	hw := newHashingWriter(w)
	// One byte past the record is enough to see the staged object changed
	// under us.
	if err := copyPooled(hw, io.LimitReader(r, up.Size+1)); err != nil {
		abort()
		return fmt.Errorf("podstore: copying %s to %s: %w", up.StagingKey, key, err)
	}
	if got := hw.sum(); hw.n != up.Size || got != up.SHA256 {
		abort()
		return fmt.Errorf("%w: staged %s has %d bytes with sha256 %s, the event records %d bytes with sha256 %s",
			ErrVerificationFailed, up.StagingKey, hw.n, got, up.Size, up.SHA256)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("podstore: writing %s: %w", key, err)
	}
	return nil
}

// DeleteParcel removes every stored proof-of-delivery file of one parcel
// (pods/<namespace>/<parcel>/), for --pod-retention=Delete. Staged files are
// left alone: they may belong to an event still being written.
func (s *Store) DeleteParcel(ctx context.Context, namespace, parcel string) error {
	if err := validateNamespace(namespace); err != nil {
		return err
	}
	if err := validateParcel(parcel); err != nil {
		return err
	}
	prefix := parcelPrefix(namespace, parcel)
	var errs []error
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("podstore: listing %s: %w", prefix, err))...)
		}
		if obj.IsDir {
			continue
		}
		if err := s.bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			errs = append(errs, fmt.Errorf("podstore: deleting %s: %w", obj.Key, err))
		}
	}
	if len(errs) == 0 && s.dir != "" {
		// fileblob leaves the emptied directory behind; one per parcel
		// would pile up forever. Remove fails harmlessly when not empty.
		_ = os.Remove(filepath.Join(s.dir, filepath.FromSlash(prefix)))
	}
	return errors.Join(errs...)
}

// newWriter opens a writer whose abort cancels it before closing: gocloud
// drivers then discard what was written instead of committing it.
func (s *Store) newWriter(ctx context.Context, key string, ct v1alpha1.ProofOfDeliveryContentType,
	metadata map[string]string) (*blob.Writer, func(), error) {
	opts := &blob.WriterOptions{ContentType: string(ct), Metadata: metadata}
	if s.s3 != nil {
		opts.BeforeWrite = tuneS3Upload(s.s3)
	}
	wctx, cancel := context.WithCancel(ctx)
	w, err := s.bucket.NewWriter(wctx, key, opts)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("podstore: writing %s: %w", key, err)
	}
	abort := func() {
		cancel()
		_ = w.Close()
	}
	return w, abort, nil
}

// hashingWriter passes bytes on while counting and hashing them. It has no
// ReadFrom, so io.CopyBuffer uses the pooled buffer.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newHashingWriter(w io.Writer) *hashingWriter {
	return &hashingWriter{w: w, h: sha256.New()}
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

func (hw *hashingWriter) sum() string {
	var b [sha256.Size]byte
	return hex.EncodeToString(hw.h.Sum(b[:0]))
}

// readerOnly hides a reader's WriteTo, for the same reason.
type readerOnly struct{ io.Reader }

func copyPooled(dst io.Writer, src io.Reader) error {
	bufp := buffers.Get().(*[]byte)
	defer buffers.Put(bufp)
	_, err := io.CopyBuffer(dst, readerOnly{src}, *bufp)
	return err
}
