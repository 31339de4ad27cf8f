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

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/spf13/cobra"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/podstore"
	"github.com/parcelops/parcel-operator/internal/timeline"
)

// bucketEnv names the bucket when --bucket does not.
const bucketEnv = "PARCEL_POD_BUCKET"

type podOptions struct {
	output  string
	bucket  string
	eventID string
}

func newPODCommand(o *options) *cobra.Command {
	po := &podOptions{}
	cmd := &cobra.Command{
		Use:   "pod ARTICLE_ID|NAME [-o FILE] [--bucket URL] [--event ID]",
		Short: "Show where a parcel's proof of delivery is, and download it verified",
		Long: `Show each proof-of-delivery file of a parcel: the event it came with, where
it is stored, its SHA-256 and size, or that it is still pending.

With a bucket (--bucket, else $` + bucketEnv + `), the file is downloaded and its
size and SHA-256 checked against the parcel's status before it is kept:
a file that does not verify is never written. The bucket URL is the one
the manager runs with (--pod-bucket), e.g.
s3://pods?endpoint=https://minio.example:9000&use_path_style=true&region=us-east-1,
gs://pods, azblob://pods or file:///var/lib/parcel-operator/pods, and the
credentials come from your environment (AWS_ACCESS_KEY_ID, ...) as the
manager's do. Without --event, the latest stored file is downloaded.`,
		Example: `  # Where the proof of delivery is, and its digest
  kubectl parcel pod ARP1000052447

  # Download it, verified, to pod.pdf
  kubectl parcel pod ARP1000052447 --bucket "$BUCKET_URL" -o pod.pdf

  # Write it to standard output
  PARCEL_POD_BUCKET="$BUCKET_URL" kubectl parcel pod ARP1000052447 -o - > pod.pdf`,
		Args: exactArgs(1, "ARTICLE_ID|NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.pod(cmd, args[0], po)
		},
	}
	cmd.Flags().StringVarP(&po.output, "output", "o", "",
		`File to download to ("-" for standard output); default the stored file's name in the current directory.`)
	cmd.Flags().StringVar(&po.bucket, "bucket", "", "Bucket URL to download from, as the manager's --pod-bucket; default $"+bucketEnv+".")
	cmd.Flags().StringVar(&po.eventID, "event", "", "Download the file of this event (default: the latest stored).")
	return cmd
}

func (o *options) pod(cmd *cobra.Command, ref string, po *podOptions) error {
	ctx, cancel := o.context(cmd)
	defer cancel()
	c, err := o.client()
	if err != nil {
		return err
	}
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	p, err := getParcel(ctx, c, ns, ref)
	if err != nil {
		return err
	}
	var files []timeline.Entry
	for _, e := range timeline.Of(p, trackingv1alpha1.DefaultTransitions) {
		if e.POD == timeline.PODStored || e.POD == timeline.PODPending {
			files = append(files, e)
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("parcel %s/%s (%s) has no proof of delivery", p.Namespace, p.Name, p.Spec.ArticleID)
	}

	// Info goes to stderr when the file itself goes to stdout.
	info := o.streams.Out
	if po.output == "-" {
		info = o.streams.ErrOut
	}
	w := newTable(info)
	w.println("EVENT\tSTATUS\tSTATE\tSIZE\tSHA256\tURL")
	var latest *trackingv1alpha1.StoredProofOfDelivery
	var chosen *trackingv1alpha1.StoredProofOfDelivery
	for _, e := range files {
		if e.POD == timeline.PODPending {
			up := e.Event.ProofOfDelivery
			w.printf("%s\t%s\tpending\t%d\t%s\t-\n", e.Event.ID, e.Event.Status.DisplayName(), up.Size, up.SHA256)
			continue
		}
		s := e.Stored
		w.printf("%s\t%s\tstored %s\t%d\t%s\t%s\n", e.Event.ID, e.Event.Status.DisplayName(), timestamp(s.StoredAt.Time),
			s.Size, s.SHA256, s.URL)
		latest = s
		if e.Event.ID == po.eventID {
			chosen = s
		}
	}
	if err := w.flush(); err != nil {
		return err
	}

	bucket := po.bucket
	if bucket == "" {
		bucket = os.Getenv(bucketEnv)
	}
	switch {
	case po.eventID != "" && chosen == nil:
		return fmt.Errorf("event %s of parcel %s/%s has no stored proof of delivery", po.eventID, p.Namespace, p.Name)
	case chosen == nil:
		chosen = latest
	}
	if bucket == "" {
		if po.output != "" {
			return fmt.Errorf("-o %s needs the bucket: pass --bucket URL (the manager's --pod-bucket) or set %s", po.output, bucketEnv)
		}
		_, err := fmt.Fprintf(info, "\nTo download it verified, pass --bucket URL (the manager's --pod-bucket) or set %s.\n", bucketEnv)
		return err
	}
	if chosen == nil {
		return fmt.Errorf("parcel %s/%s has no stored proof of delivery yet; its file is pending", p.Namespace, p.Name)
	}
	return download(ctx, bucket, *chosen, po.output, o.streams.Out, info)
}

// download fetches the file into dest ("-": out) through a temporary file
// beside it, renamed into place only once its size and SHA-256 verify.
func download(ctx context.Context, bucketURL string, pod trackingv1alpha1.StoredProofOfDelivery, dest string, out, info io.Writer) error {
	store, err := podstore.Open(ctx, bucketURL)
	if err != nil {
		return fmt.Errorf("--bucket: %w", err)
	}
	defer func() { _ = store.Close() }()
	key, err := store.KeyOf(pod.URL)
	if err != nil {
		return fmt.Errorf("--bucket names %s, but the file is stored at %s: %w", store.ObjectURL(""), pod.URL, err)
	}
	if dest == "-" {
		// Standard output cannot be taken back: the check is reported, and
		// a mismatch exits non-zero.
		if err := store.Download(ctx, pod, out); err != nil {
			return err
		}
		_, err := fmt.Fprintf(info, "%d bytes written, sha256 %s verified\n", pod.Size, pod.SHA256)
		return err
	}
	if dest == "" {
		dest = path.Base(key)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", dest, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	err = store.Download(ctx, pod, tmp)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		if errors.Is(err, podstore.ErrVerificationFailed) {
			return fmt.Errorf("%w; nothing was written to %s", err, dest)
		}
		return err
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	_, err = fmt.Fprintf(info, "downloaded to %s: %d bytes, sha256 %s verified\n", dest, pod.Size, pod.SHA256)
	return err
}
