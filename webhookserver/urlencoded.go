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
	"fmt"
	"io"
	"net/url"
	"time"
)

// maxFormFieldsReported bounds how many unexpected fields of a urlencoded
// body are named one by one.
const maxFormFieldsReported = maxUnknownReported

// readURLEncoded reads an application/x-www-form-urlencoded body: what
// Python requests' data=, PHP's http_build_query and curl --data-urlencode
// send. It holds exactly one field, form_data, whose decoded value is
// judged like the multipart form_data part: the same size cap, the same
// ParseUpdate. No file can come this way.
//
// The pairs are split here rather than by url.ParseQuery: that keeps the
// last of two equal names only in order, drops the distinction between an
// absent and an empty value, and names no position in its errors.
func readURLEncoded(body io.Reader, receivedAt time.Time, limits Limits) (*Incoming, error) {
	// Percent-encoding makes a byte at most three: a body that cannot
	// decode to a form_data within the cap is refused unread.
	maxEncoded := int64(len(fieldFormData)+1) + 3*limits.MaxFormDataBytes
	data, err := io.ReadAll(io.LimitReader(body, maxEncoded+1))
	if err != nil {
		return nil, readFailure(err, fieldFormData, "inside the form body")
	}
	if int64(len(data)) > maxEncoded {
		return nil, formDataTooLarge(limits.MaxFormDataBytes)
	}
	value, rerr := formDataValue(data)
	if rerr != nil {
		return nil, rerr
	}
	if int64(len(value)) > limits.MaxFormDataBytes {
		return nil, formDataTooLarge(limits.MaxFormDataBytes)
	}
	u, err := ParseUpdate(value, receivedAt, limits)
	if err != nil {
		return nil, err
	}
	// The body has been read to its end: Finish has nothing left to do.
	return &Incoming{Update: u, body: body, ended: true}, nil
}

// formDataValue finds the one form_data field of a urlencoded body and
// decodes its value.
func formDataValue(data []byte) ([]byte, *Problem) {
	const allowed = "the only field allowed is form_data, holding the update as JSON " +
		"(send a file as multipart/form-data)"
	var (
		value    []byte
		count    int
		unknown  []FieldError
		position int
	)
	for pair := range bytes.SplitSeq(data, []byte("&")) {
		position++
		if len(pair) == 0 {
			// "a=1&&b=2" and a trailing "&": empty pairs carry nothing
			// (the WHATWG urlencoded parser skips them too).
			continue
		}
		rawName, rawValue, _ := bytes.Cut(pair, []byte("="))
		name, err := url.QueryUnescape(string(rawName))
		if err != nil {
			return nil, fieldProblem(fieldFormData, fmt.Sprintf(
				"the name of form field %d is not valid percent-encoding (%s); encode the body as application/x-www-form-urlencoded",
				position, shorten(err.Error())))
		}
		if name != fieldFormData {
			if len(unknown) < maxFormFieldsReported {
				unknown = append(unknown, FieldError{Field: fieldName(name),
					Detail: fmt.Sprintf("unexpected form field %s; %s", quoteShort(name), allowed)})
			}
			continue
		}
		count++
		decoded, err := url.QueryUnescape(string(rawValue))
		if err != nil {
			return nil, fieldProblem(fieldFormData, fmt.Sprintf(
				"form_data is not valid percent-encoding (%s); encode the update as application/x-www-form-urlencoded",
				shorten(err.Error())))
		}
		value = []byte(decoded)
	}
	switch {
	case len(unknown) > 0:
		return nil, fieldProblems(unknown)
	case count == 0:
		return nil, fieldProblem(fieldFormData, "form_data is missing: the form body has no form_data field; "+
			"send form_data=<the update as JSON>, percent-encoded")
	case count > 1:
		return nil, fieldProblem(fieldFormData, fmt.Sprintf("form_data is sent %d times; send exactly one form_data field", count))
	}
	return value, nil
}
