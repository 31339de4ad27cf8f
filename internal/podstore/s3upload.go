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
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3 upload tuning. s3blob uploads through the AWS transfer manager, whose
// defaults read up to 16 MiB of a stream into memory before the first
// request and then keep up to 6 parts of 8 MiB in flight: every POD below
// 16 MiB would sit in memory whole, and a few concurrent uploads could
// exhaust the manager's memory limit. S3 cannot take a stream of unknown
// length in one request, so some buffering is unavoidable; these settings
// bound it to the smallest part S3 accepts.
const (
	// s3PartSize is S3's minimum multipart part size; smaller files go up in
	// one PutObject.
	s3PartSize = 5 << 20
	// s3PartConcurrency: one part in flight, so at most two part buffers.
	s3PartConcurrency = 1
	// s3AbortTimeout bounds the AbortMultipartUpload call the transfer
	// manager makes when a write is aborted; without it that call inherits
	// the cancelled context and fails, leaving an invisible, billed upload.
	s3AbortTimeout = 30 * time.Second
)

// tuneS3Upload is a blob.WriterOptions.BeforeWrite hook that gives the
// writer's transfer manager the settings above. s3blob exposes the manager
// only through this hook, and its options only at construction, so the
// hook swaps in a newly built one before the first byte is written.
func tuneS3Upload(client *s3.Client) func(as func(any) bool) error {
	return func(as func(any) bool) error {
		var tm *transfermanager.Client
		if !as(&tm) {
			return nil
		}
		checksum := client.Options().RequestChecksumCalculation
		*tm = *transfermanager.New(client, func(o *transfermanager.Options) {
			o.RequestChecksumCalculation = checksum
			o.PartSizeBytes = s3PartSize
			o.MultipartUploadThreshold = s3PartSize
			o.Concurrency = s3PartConcurrency
			o.FailTimeout = s3AbortTimeout
		})
		return nil
	}
}
