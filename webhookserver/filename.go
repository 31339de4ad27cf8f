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
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxFilenameBytes is the longest filename kept, the CRD's limit.
	maxFilenameBytes = 255
	// maxExtensionBytes is the longest extension kept whole when a long
	// filename is shortened.
	maxExtensionBytes = 16
)

// sanitizeFilename reduces a client's filename to a base name that is safe
// to show and store: the last element of either kind of path (so
// "C:\x\pod.pdf" and "../../pod.pdf" are "pod.pdf"), without control or
// invisible formatting characters (which can disguise an extension) or
// invalid UTF-8, runs of dots collapsed to one (so never ".."), at most 255
// bytes with the extension kept. "" when nothing is left.
func sanitizeFilename(raw string) string {
	if i := strings.LastIndexAny(raw, `/\`); i >= 0 {
		raw = raw[i+1:]
	}
	var b strings.Builder
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRuneInString(raw[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
		case r == '.' && strings.HasSuffix(b.String(), "."):
		default:
			b.WriteRune(r)
		}
	}
	name := strings.TrimSpace(b.String())
	if strings.Trim(name, ".") == "" {
		return ""
	}
	if len(name) <= maxFilenameBytes {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtensionBytes {
		ext = name[i:]
	}
	stem := name[:len(name)-len(ext)]
	cut := maxFilenameBytes - len(ext)
	for cut > 0 && !utf8.RuneStart(stem[cut]) {
		cut--
	}
	return strings.TrimRight(strings.TrimSpace(stem[:cut]), ".") + ext
}
