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

// Package retention holds the manager's two retention settings and their
// flags: what happens to a Parcel's proof-of-delivery files when the Parcel
// is deleted (--pod-files-on-delete), and how long a terminal Parcel stays
// before it is archived (--archive-after).
package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OnDelete says what happens to a Parcel's stored proof-of-delivery files
// when the Parcel is deleted.
type OnDelete string

const (
	// RetainPODFiles keeps the files: a proof of delivery is a legal record
	// that outlives the tracking object.
	RetainPODFiles OnDelete = "Retain"
	// DeletePODFiles removes the files before the Parcel goes, through a
	// finalizer.
	DeletePODFiles OnDelete = "Delete"
)

// ParseOnDelete reads a --pod-files-on-delete value.
func ParseOnDelete(value string) (OnDelete, error) {
	switch v := OnDelete(value); v {
	case RetainPODFiles, DeletePODFiles:
		return v, nil
	}
	return "", fmt.Errorf("%q: want %s or %s", value, RetainPODFiles, DeletePODFiles)
}

// MinArchiveAfter is the shortest --archive-after accepted: a slip of the
// unit ("30s" or "30m" for "30d") must not empty a cluster of its delivered
// parcels.
const MinArchiveAfter = time.Hour

// day is the length of the "d" unit --archive-after accepts; Go durations
// stop at hours.
const day = 24 * time.Hour

// maxDaysBits bounds the number of days to 65535 (about 179 years), far
// past any retention and far below time.Duration's limit.
const maxDaysBits = 16

// ParseArchiveAfter reads an --archive-after value: "0" or "" (off), a Go
// duration ("720h"), or a number of days with an optional Go duration after
// it ("30d", "1d12h"). Anything other than 0 must be at least
// MinArchiveAfter.
func ParseArchiveAfter(value string) (time.Duration, error) {
	if value == "" || value == "0" {
		return 0, nil
	}
	var d time.Duration
	rest := value
	if days, after, ok := strings.Cut(value, "d"); ok {
		n, err := strconv.ParseUint(days, 10, maxDaysBits)
		if err != nil {
			return 0, fmt.Errorf("%q: want a whole number of days before \"d\"", value)
		}
		d, rest = time.Duration(n)*day, after
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", value, err)
		}
		d += more
	}
	if d < MinArchiveAfter {
		return 0, fmt.Errorf("%q: want 0 (off) or at least %s", value, MinArchiveAfter)
	}
	return d, nil
}
