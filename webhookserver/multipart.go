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
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

const (
	// maxBoundaryLength is RFC 2046's limit on a multipart boundary.
	maxBoundaryLength = 70
	// maxEpilogueBytes is about how much a client may send after the
	// closing boundary (RFC 2046 says to ignore it; clients send a line
	// break at most): Finish reads this much more than the multipart reader
	// has already buffered, and refuses a longer body rather than read it
	// without end.
	maxEpilogueBytes = 4 << 10
)

// Incoming is a parsed request; POD is nil when no pod_file came.
type Incoming struct {
	Update Update
	POD    *PODPart

	// body is the request body, read to its end by Finish.
	body io.Reader
	// mr reads the multipart body through closing; nil for a JSON body.
	mr      *multipart.Reader
	closing *closeWatcher
	// pod reads pod_file; nil when none came.
	pod *podReader
	// ended is true once the closing boundary was read.
	ended bool
	// finished and finishErr make Finish idempotent.
	finished  bool
	finishErr error
}

// PODPart is the proof-of-delivery file of a request.
type PODPart struct {
	// Filename is the client's filename reduced to a safe base name (no
	// directories, no "..", no control characters, valid UTF-8, at most 255
	// bytes); "" if none. It is for display only.
	Filename string
	// DeclaredType is the part's Content-Type as sent; informational only,
	// never trusted.
	DeclaredType string
	// Body is the file's bytes, streamed from the request body (never
	// buffered whole). A failure to read it is a *Problem (400, or 413
	// wrapping the *http.MaxBytesError) that wraps the cause.
	Body io.Reader
}

// podReader streams pod_file and remembers the first failure, so that
// Finish reports it too.
type podReader struct {
	part *multipart.Part
	err  error
}

func (p *podReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.part.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		p.err = readFailure(err, fieldPODFile, "inside pod_file")
		return n, p.err
	}
	return n, err
}

// readMultipart reads form_data and opens pod_file, if it follows.
func readMultipart(body io.Reader, boundary string, receivedAt time.Time, limits Limits) (*Incoming, error) {
	in := &Incoming{body: body, closing: newCloseWatcher(body, boundary)}
	in.mr = multipart.NewReader(in.closing, boundary)

	part, err := in.mr.NextRawPart()
	switch {
	case endOfParts(err):
		return nil, fieldProblem(fieldFormData, "form_data is missing: the multipart body has no parts; "+
			"send a form_data part holding the update as JSON")
	case errors.Is(err, io.EOF):
		e := fieldProblem(fieldFormData, fmt.Sprintf("form_data is missing: the body holds no part opened by the line --%s; "+
			"send a form_data part holding the update as JSON", shorten(boundary)))
		e.cause = err
		return nil, e
	case err != nil:
		return nil, multipartFailure(err, fieldFormData, boundary)
	}
	name, _, rerr := partName(part)
	if rerr != nil {
		return nil, rerr
	}
	switch name {
	case fieldFormData:
	case fieldPODFile:
		return nil, fieldProblem(fieldFormData, "form_data must come before pod_file: the server needs the update "+
			"before it can stream the file to storage; send form_data as the first part")
	default:
		return nil, unexpectedPart(name, "form_data is missing: the first part must be form_data")
	}
	if rerr := checkEncoding(part, fieldFormData); rerr != nil {
		return nil, rerr
	}
	data, err := io.ReadAll(io.LimitReader(part, limits.MaxFormDataBytes+1))
	if err != nil {
		return nil, readFailure(err, fieldFormData, "inside form_data")
	}
	if int64(len(data)) > limits.MaxFormDataBytes {
		return nil, formDataTooLarge(limits.MaxFormDataBytes)
	}
	if in.Update, err = ParseUpdate(data, receivedAt, limits); err != nil {
		return nil, err
	}

	part, err = in.mr.NextRawPart()
	switch {
	case endOfParts(err) && !in.closing.seen:
		return nil, unclosedMultipart(fieldFormData, boundary)
	case endOfParts(err):
		in.ended = true
		return in, nil
	case err != nil:
		return nil, multipartFailure(err, fieldFormData, boundary)
	}
	name, filename, rerr := partName(part)
	if rerr != nil {
		return nil, rerr
	}
	switch name {
	case fieldPODFile:
	case fieldFormData:
		return nil, fieldProblem(fieldFormData, "form_data is sent twice; send exactly one form_data part")
	default:
		return nil, unexpectedPart(name, "")
	}
	if rerr := checkEncoding(part, fieldPODFile); rerr != nil {
		return nil, rerr
	}
	in.pod = &podReader{part: part}
	in.POD = &PODPart{
		Filename:     sanitizeFilename(filename),
		DeclaredType: part.Header.Get("Content-Type"),
		Body:         in.pod,
	}
	return in, nil
}

// Finish must be called after POD.Body has been read to the end (or when POD
// is nil): it reads the rest of the body and refuses anything after pod_file
// (extra parts) with a 400 *Problem. Whatever of pod_file was left unread
// is discarded. The error is always a *Problem; calling Finish again
// returns the same result.
func (in *Incoming) Finish() error {
	if !in.finished {
		in.finished = true
		if err := in.finish(); err != nil {
			in.finishErr = err
		}
	}
	return in.finishErr
}

func (in *Incoming) finish() *Problem {
	if in.mr == nil {
		return nil
	}
	// Problems from here on are reported on the last part sent.
	last := fieldFormData
	if in.pod != nil {
		last = fieldPODFile
	}
	if in.pod != nil {
		if in.pod.err != nil {
			var rerr *Problem
			if errors.As(in.pod.err, &rerr) {
				return rerr
			}
			return readFailure(in.pod.err, fieldPODFile, "inside pod_file")
		}
	}
	if !in.ended {
		part, err := in.mr.NextRawPart()
		switch {
		case endOfParts(err) && !in.closing.seen:
			return unclosedMultipart(last, in.closing.boundary())
		case endOfParts(err):
			in.ended = true
		case err != nil:
			return multipartFailure(err, last, in.closing.boundary())
		default:
			name, _, rerr := partName(part)
			switch {
			case rerr != nil:
				return rerr
			case name == fieldPODFile:
				return fieldProblem(fieldPODFile, "pod_file is sent twice; send at most one pod_file part")
			case name == fieldFormData:
				return fieldProblem(fieldFormData, "form_data is sent twice; send exactly one form_data part, first")
			default:
				return unexpectedPart(name, "pod_file must be the last part")
			}
		}
	}
	// The epilogue after the closing boundary means nothing (RFC 2046);
	// read a little of it so the connection can be reused, refuse more.
	n, err := io.Copy(io.Discard, io.LimitReader(in.body, maxEpilogueBytes+1))
	switch {
	case err != nil:
		return readFailure(err, last, "after the closing boundary")
	case n > maxEpilogueBytes:
		return fieldProblem(last, fmt.Sprintf(
			"the body goes on for more than %d bytes after the multipart closing boundary; end it there", maxEpilogueBytes))
	}
	return nil
}

// endOfParts reports whether NextRawPart found no further part. The
// multipart reader returns io.EOF itself for that, and an error wrapping
// io.EOF when the body ends where a boundary line should be: a different
// problem, which multipartFailure describes.
func endOfParts(err error) bool {
	return err == io.EOF //nolint:errorlint // the sentinel itself, unwrapped, is the reader's "no more parts"
}

// multipartFailure describes a multipart body that could not be split into
// parts.
func multipartFailure(err error, field, boundary string) *Problem {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, multipart.ErrMessageTooLarge):
		return readFailure(err, field, "")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e := fieldProblem(field, "the multipart body ends before its closing boundary; send the whole body, "+
			"each part opened by --<boundary> and the last closed by --<boundary>--")
		e.cause = err
		return e
	}
	detail := "the body is not valid multipart/form-data (" + shorten(err.Error()) + ")"
	if boundary != "" {
		detail += fmt.Sprintf("; its parts must be separated by lines --%s", shorten(boundary))
	}
	e := fieldProblem(field, detail)
	e.cause = err
	return e
}

// unclosedMultipart refuses a multipart body that ends (after a boundary
// line, or in a part's headers) without the closing boundary: the multipart
// reader takes such an end for a proper one.
func unclosedMultipart(field, boundary string) *Problem {
	return fieldProblem(field, fmt.Sprintf("the multipart body ends without its closing boundary line --%s--; "+
		"send the whole body", shorten(boundary)))
}

// closeWatcher passes the multipart body through and notes whether its close
// delimiter ("--boundary--" at the start of a line) went by.
type closeWatcher struct {
	r     io.Reader
	delim []byte // "\n--boundary--"
	// tail holds the last len(delim)-1 bytes read, to find a delimiter
	// split between two reads; it starts as "\n", for a delimiter at the
	// very start.
	tail    []byte
	scratch []byte
	seen    bool
}

func newCloseWatcher(r io.Reader, boundary string) *closeWatcher {
	return &closeWatcher{r: r, delim: []byte("\n--" + boundary + "--"), tail: []byte{'\n'}}
}

func (w *closeWatcher) boundary() string {
	return string(w.delim[3 : len(w.delim)-2])
}

func (w *closeWatcher) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 && !w.seen {
		w.scan(p[:n])
	}
	return n, err
}

func (w *closeWatcher) scan(b []byte) {
	k := len(w.delim) - 1
	head := b[:min(len(b), k)]
	w.scratch = append(append(w.scratch[:0], w.tail...), head...)
	if bytes.Contains(w.scratch, w.delim) || bytes.Contains(b, w.delim) {
		w.seen = true
		return
	}
	if len(b) >= k {
		w.tail = append(w.tail[:0], b[len(b)-k:]...)
		return
	}
	w.tail = append(w.tail, b...)
	w.tail = w.tail[max(0, len(w.tail)-k):]
}

// partName reads a part's form field name and filename from its
// Content-Disposition.
func partName(part *multipart.Part) (name, filename string, rerr *Problem) {
	const need = `each part needs Content-Disposition: form-data; name="form_data" (or name="pod_file")`
	cd := part.Header.Get("Content-Disposition")
	if cd == "" {
		return "", "", fieldProblem(fieldFormData, "a multipart part has no Content-Disposition header; "+need)
	}
	disposition, params, err := mime.ParseMediaType(cd)
	switch {
	case err != nil:
		return "", "", fieldProblem(fieldFormData, fmt.Sprintf("a multipart part's Content-Disposition %s does not parse; %s",
			quoteShort(cd), need))
	case disposition != "form-data":
		return "", "", fieldProblem(fieldFormData, fmt.Sprintf("a multipart part's disposition is %s; %s",
			quoteShort(disposition), need))
	case params["name"] == "":
		return "", "", fieldProblem(fieldFormData, "a multipart part has no name; "+need)
	}
	return params["name"], params["filename"], nil
}

// unexpectedPart refuses a part that is neither form_data nor pod_file.
func unexpectedPart(name, context string) *Problem {
	detail := fmt.Sprintf("unexpected multipart part %s; the allowed parts are form_data (required, first) "+
		"and pod_file (optional, after form_data)", quoteShort(name))
	if context != "" {
		detail = context + "; " + detail
	}
	return fieldProblem(fieldName(name), detail)
}

// checkEncoding refuses a part whose bytes are transfer-encoded: RFC 7578
// deprecates Content-Transfer-Encoding in form data, and decoding it would
// put a decoder's failures between the client and the file.
func checkEncoding(part *multipart.Part, field string) *Problem {
	cte := strings.TrimSpace(part.Header.Get("Content-Transfer-Encoding"))
	switch strings.ToLower(cte) {
	case "", "binary", "8bit", "7bit":
		return nil
	}
	return fieldProblem(field, fmt.Sprintf("%s has Content-Transfer-Encoding %s, which is not supported; "+
		"send the bytes as they are (binary)", field, quoteShort(cte)))
}
