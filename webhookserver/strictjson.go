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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxUnknownReported bounds how many unknown members are named one by one;
// the rest are counted.
const maxUnknownReported = 10

// kindString is how messages name a JSON string, the only type an update
// member may have.
const kindString = "a string"

// jsonMemberState says whether a member of the update object is usable.
type jsonMemberState int

const (
	memberAbsent  jsonMemberState = iota // not sent
	memberPresent                        // sent once, a valid JSON string
	memberInvalid                        // sent, but unusable; a problem was recorded
)

// jsonMember is one name of the update object.
type jsonMember struct {
	// raw is the value as sent (of the last occurrence).
	raw json.RawMessage
	// count is how many times the name occurred.
	count int
}

// updateObject is the update object, tokenised: encoding/json alone would take
// the last of two equal names and any type for a string, silently.
type updateObject struct {
	members map[string]*jsonMember
	// unknown are the names not in updateFields, in order of appearance.
	unknown []string
}

// readObject checks that data is exactly one JSON object and splits it into
// its members. Only the structure is judged here; values are judged by
// ParseUpdate.
func readObject(data []byte) (*updateObject, *Problem) {
	// The whole input is checked first: encoding/json's Decoder reports
	// offsets of syntax errors inside a value relative to the value, while
	// Unmarshal reports them from the start of the input, which is what a
	// client can find.
	if err := json.Unmarshal(data, &json.RawMessage{}); err != nil {
		return nil, syntaxProblem(err, data)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxProblem(err, data)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fieldProblem(fieldFormData, fmt.Sprintf(
			`form_data must be a JSON object like {"articleId":"…","track_status":"…"}, not %s`, jsonKind(tok)))
	}
	obj := &updateObject{members: map[string]*jsonMember{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxProblem(err, data)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxProblem(err, data)
		}
		m := obj.members[name]
		if m == nil {
			m = &jsonMember{}
			obj.members[name] = m
			if !isUpdateField(name) {
				obj.unknown = append(obj.unknown, name)
			}
		}
		m.raw, m.count = raw, m.count+1
	}
	// The closing brace; json.Unmarshal above has ruled out anything after it.
	if _, err := dec.Token(); err != nil {
		return nil, syntaxProblem(err, data)
	}
	return obj, nil
}

// text returns a known member's string value, or records why it has none.
func (o *updateObject) text(name string, problems *[]FieldError) (string, jsonMemberState) {
	m := o.members[name]
	if m == nil {
		return "", memberAbsent
	}
	record := func(format string, args ...any) (string, jsonMemberState) {
		*problems = append(*problems, FieldError{Field: name, Detail: fmt.Sprintf(format, args...)})
		return "", memberInvalid
	}
	if m.count > 1 {
		return record("%s appears %d times in form_data; send it once", name, m.count)
	}
	if kind := jsonKindOf(m.raw); kind != kindString {
		return record(`%s must be a JSON string like "…", not %s`, name, kind)
	}
	if !validStringLiteral(m.raw) {
		return record("%s is not valid UTF-8 text (an invalid byte or an unpaired \\u surrogate escape); send UTF-8", name)
	}
	var s string
	if err := json.Unmarshal(m.raw, &s); err != nil {
		return record("%s is not a valid JSON string: %s", name, shorten(err.Error()))
	}
	return s, memberPresent
}

// unknownProblems names the unknown members.
func (o *updateObject) unknownProblems() []FieldError {
	var out []FieldError
	allowed := strings.Join(updateFields, ", ")
	for i, name := range o.unknown {
		if i == maxUnknownReported {
			out = append(out, FieldError{Field: fieldFormData, Detail: fmt.Sprintf(
				"form_data has %d more unknown fields; the allowed fields are %s", len(o.unknown)-i, allowed)})
			break
		}
		out = append(out, FieldError{Field: fieldName(name), Detail: fmt.Sprintf(
			"%s is not a known field; the allowed fields are %s", quoteShort(name), allowed)})
	}
	return out
}

func isUpdateField(name string) bool {
	for _, f := range updateFields {
		if f == name {
			return true
		}
	}
	return false
}

// syntaxProblem describes JSON that does not parse.
func syntaxProblem(err error, data []byte) *Problem {
	var syn *json.SyntaxError
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return fieldProblem(fieldFormData, `form_data is empty; send a JSON object like {"articleId":"…","track_status":"…"}`)
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "after top-level value"):
		return fieldProblem(fieldFormData, fmt.Sprintf(
			"form_data has data after the JSON object, at byte %d; send exactly one JSON object", syn.Offset))
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "unexpected end"):
		return fieldProblem(fieldFormData, fmt.Sprintf(
			"form_data is not valid JSON: it ends after %d bytes, before the object is complete", len(data)))
	case errors.As(err, &syn):
		// Offset counts the bytes read up to and including the offending
		// one: the offending byte's position, counting from 1.
		return fieldProblem(fieldFormData, fmt.Sprintf("form_data is not valid JSON: %s at byte %d; send one JSON object",
			shorten(syn.Error()), syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fieldProblem(fieldFormData, fmt.Sprintf(
			"form_data is not valid JSON: it ends after %d bytes, before the object is complete", len(data)))
	default:
		return fieldProblem(fieldFormData, "form_data is not valid JSON: "+shorten(err.Error()))
	}
}

// jsonKind names the JSON type of a token, for messages.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "an array"
		}
		return "an object"
	case string:
		return kindString
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

// jsonKindOf names the JSON type of a raw value.
func jsonKindOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return kindString
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// validStringLiteral reports whether a JSON string literal (quotes
// included, syntax already checked) holds valid UTF-8 text: no invalid
// byte and no \u escape of an unpaired surrogate. encoding/json would
// quietly turn either into U+FFFD.
func validStringLiteral(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 1; i < len(raw)-1; i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if raw[i] != 'u' || i+4 >= len(raw) {
			continue
		}
		r := hexRune(raw[i+1 : i+5])
		i += 4
		if !utf16.IsSurrogate(r) {
			continue
		}
		// r must be a high surrogate followed by an escaped low one.
		if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
			if utf16.DecodeRune(r, hexRune(raw[i+3:i+7])) != unicode.ReplacementChar {
				i += 6
				continue
			}
		}
		return false
	}
	return true
}

// hexRune reads four hex digits; -1 when they are not.
func hexRune(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n) //nolint:gosec // ParseUint's bit size 16 bounds n to 0xFFFF
}
