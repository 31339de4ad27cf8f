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

// Package podstore keeps proof-of-delivery (POD) files in object storage.
//
// The webhook streams an upload to a staging key (Stage) before the event that
// names it is written to the API server; the reconciler later verifies the
// staged bytes against the size and SHA-256 recorded in the event and moves
// them to their final key (Move). Every step can be repeated after a crash, so
// the reconciler simply calls Move again until it succeeds.
//
// One gocloud.dev bucket URL chooses the backend: s3:// (AWS or any
// S3-compatible store), gs://, azblob://, file:// and mem://.
package podstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"

	// The backends a bucket URL may name; each registers its scheme.
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// Store reads and writes proof-of-delivery files in one bucket. It is safe
// for concurrent use.
type Store struct {
	bucket *blob.Bucket
	// base is the credential-free bucket address ObjectURL builds on:
	// scheme, bucket (host) and, for file://, the directory.
	base url.URL
	// dir is the bucket's directory for file:// URLs, else "".
	dir string
	// s3 is the S3 client of an s3:// bucket, else nil; see tuneS3Upload.
	s3 *s3.Client
}

// schemeFile is the scheme of a bucket in a local directory, which Open
// resolves to an absolute path and ObjectURL spells with that path.
const schemeFile = "file"

// queryParams lists, per scheme, the gocloud.dev v0.47 URL parameters Open
// passes on. Everything else is refused before gocloud sees the URL, because
// gocloud echoes the whole URL in its errors, and an unknown parameter may be
// a secret someone pasted in.
var queryParams = map[string][]string{
	"s3": {
		"region", "endpoint", "use_path_style", "s3ForcePathStyle", "disable_https",
		"hostname_immutable", "profile", "role", "anonymous", "dualstack", "fips",
		"accelerate", "ssetype", "kmskeyid", "rate_limiter_capacity",
		"request_checksum_calculation", "response_checksum_validation", "awssdk",
	},
	"gs":       {"anonymous", "access_id", "private_key_path", "universe_domain", "grpc", "zonal"},
	"azblob":   {"domain", "protocol", "cdn", "localemu", "storage_account"},
	schemeFile: {"create_dir", "dir_file_mode", "no_tmp_dir", "base_url", "secret_key_path", "metadata"},
	"mem":      {},
}

// credentialWords mark a query parameter as a credential (matched after
// lower-casing and dropping "-", "_" and "."), and sasParams are the Azure
// SAS token fields, so the refusal can say what is wrong.
var (
	credentialWords = []string{
		"secret", "password", "passwd", "token", "credential", "signature",
		"accesskey", "accountkey", "sharedkey", "apikey", "privatekey", "xamz",
	}
	sasParams = []string{"sig", "sv", "se", "sp", "st", "spr", "srt", "ss", "sr", "skoid", "sktid", "key"}
)

// Open opens the bucket at a gocloud.dev URL:
//
//	s3://bucket?endpoint=https://minio.example&use_path_style=true&region=eu-west-1
//	gs://bucket
//	azblob://container
//	file:///var/lib/pods   (the directory is created when missing)
//	mem://                 (tests)
//
// Credentials come from the environment or workload identity; a URL with
// credentials in its userinfo or query is refused with ErrCredentialsInURL,
// and the error never repeats the URL.
func Open(ctx context.Context, bucketURL string) (*Store, error) {
	u, err := url.Parse(bucketURL)
	if err != nil {
		// url.Error repeats the URL, credentials and all; keep only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("podstore: the bucket URL does not parse: %w", err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	s := &Store{base: url.URL{Scheme: u.Scheme, Host: u.Host}}
	if u.Scheme == schemeFile {
		if err := s.prepareFileURL(u); err != nil {
			return nil, err
		}
	}
	bucket, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("podstore: opening bucket %s: %w", s.base.String(), err)
	}
	s.bucket = bucket
	if u.Scheme == "s3" && !bucket.As(&s.s3) {
		_ = bucket.Close()
		return nil, errors.New("podstore: the s3 driver did not expose its client")
	}
	return s, nil
}

// checkURL refuses schemes, parameters and credentials Open does not accept.
func checkURL(u *url.URL) error {
	allowed, ok := queryParams[u.Scheme]
	if !ok {
		return fmt.Errorf("podstore: unsupported bucket URL scheme %q (use s3, gs, azblob, file or mem)", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w (user information before the host)", ErrCredentialsInURL)
	}
	q := u.Query()
	for name, values := range q {
		if !slices.Contains(allowed, name) {
			if looksLikeCredential(name) {
				return fmt.Errorf("%w (query parameter %q)", ErrCredentialsInURL, name)
			}
			return fmt.Errorf("podstore: unsupported query parameter %q in a %s:// bucket URL", name, u.Scheme)
		}
		// URLs nested in parameters (s3 endpoint, file base_url) must be
		// credential-free too.
		if name == "endpoint" || name == "base_url" {
			for _, v := range values {
				if err := checkNestedURL(name, v); err != nil {
					return err
				}
			}
		}
	}
	switch u.Scheme {
	case "s3", "gs", "azblob":
		if u.Host == "" {
			return fmt.Errorf("podstore: the bucket URL names no bucket: want %s://<bucket>", u.Scheme)
		}
	case schemeFile:
		if u.Path == "" || u.Path == "/" {
			return errors.New("podstore: the file:// bucket URL names no directory: want file:///<dir>")
		}
	}
	return nil
}

func checkNestedURL(param, value string) error {
	nested, err := url.Parse(value)
	if err != nil {
		return fmt.Errorf("podstore: query parameter %q is not a URL", param)
	}
	if nested.User != nil {
		return fmt.Errorf("%w (user information in query parameter %q)", ErrCredentialsInURL, param)
	}
	for name := range nested.Query() {
		if looksLikeCredential(name) {
			return fmt.Errorf("%w (query parameter %q inside %q)", ErrCredentialsInURL, name, param)
		}
	}
	return nil
}

func looksLikeCredential(name string) bool {
	n := strings.NewReplacer("-", "", "_", "", ".", "").Replace(strings.ToLower(name))
	if slices.Contains(sasParams, n) {
		return true
	}
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// prepareFileURL makes a file:// URL absolute (so ObjectURL is stable) and
// sets two fileblob options unless the URL does: create_dir, so a fresh
// volume works, and no_tmp_dir, because fileblob otherwise writes to
// os.TempDir and renames, which fails with EXDEV when the bucket directory is
// a mounted volume, as it is in a Pod.
func (s *Store) prepareFileURL(u *url.URL) error {
	dir := filepath.FromSlash(u.Path)
	if u.Host == "." {
		dir = strings.TrimPrefix(u.Path, "/")
	} else if u.Host != "" && u.Host != "localhost" {
		return fmt.Errorf("podstore: file:// bucket URLs name a local directory, not host %q", u.Host)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("podstore: resolving the bucket directory: %w", err)
	}
	s.dir = abs
	s.base = url.URL{Scheme: schemeFile, Path: filepath.ToSlash(abs)}
	u.Host = ""
	u.Path = filepath.ToSlash(abs)
	q := u.Query()
	for _, p := range []string{"create_dir", "no_tmp_dir"} {
		if !q.Has(p) {
			q.Set(p, "true")
		}
	}
	u.RawQuery = q.Encode()
	return nil
}

// Close releases the bucket.
func (s *Store) Close() error {
	return s.bucket.Close()
}

// Ping reports whether the bucket is reachable, for the manager's /readyz: it
// lists at most one object, the cheapest call that fails both when the store
// is down and when the bucket is missing (a HEAD of a key cannot tell a
// missing bucket from a missing key).
func (s *Store) Ping(ctx context.Context) error {
	if s.dir != "" {
		// fileblob lists a missing directory as empty; stat it instead.
		fi, err := os.Stat(s.dir)
		if err != nil {
			return fmt.Errorf("podstore: bucket directory: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("podstore: bucket directory %s is not a directory", s.dir)
		}
		return nil
	}
	_, _, err := s.bucket.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Prefix: finalPrefix})
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("podstore: bucket %s does not exist: %w", s.base.String(), err)
	}
	if err != nil {
		return fmt.Errorf("podstore: bucket %s is unreachable: %w", s.base.String(), err)
	}
	return nil
}

// ObjectURL is the stable, credential-free address of an object, shown in
// Parcel status: "<scheme>://<bucket>/<key>", or "file:///<dir>/<key>" for
// file://. It carries no query parameters, so endpoint and region settings
// stay out of the API server.
func (s *Store) ObjectURL(key string) string {
	u := s.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + key
	return u.String()
}

// ReadURL returns a signed URL that grants read access to key for expiry
// (where the backend can sign: S3, GCS, Azure), else ObjectURL(key).
func (s *Store) ReadURL(ctx context.Context, key string, expiry time.Duration) (string, error) {
	signed, err := s.bucket.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: expiry})
	if gcerrors.Code(err) == gcerrors.Unimplemented {
		return s.ObjectURL(key), nil
	}
	if err != nil {
		return "", fmt.Errorf("podstore: signing a URL for %s: %w", key, err)
	}
	return signed, nil
}

// Exists reports whether an object exists at key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("podstore: checking %s: %w", key, err)
	}
	return ok, nil
}

// copyBufferSize is the chunk Stage and Move stream in: big enough for few
// calls per file, small enough that many concurrent uploads stay cheap.
const copyBufferSize = 32 << 10

// buffers recycles copy buffers; gocloud's own ReadFrom/WriteTo would
// allocate 1 MiB per copy, so the copies here never hand it a chance.
var buffers = sync.Pool{New: func() any {
	b := make([]byte, copyBufferSize)
	return &b
}}
