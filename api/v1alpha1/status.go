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

package v1alpha1

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TrackingStatus is a parcel's tracking status in canonical form.
// +kubebuilder:validation:Enum=NotScanned;ReceivedInDepot;LoadedByDriver;InTransit;Delivered;FailedDelivery;ReturnToSender;ReturnToDepot
type TrackingStatus string

// The tracking statuses, in the order a parcel usually meets them.
const (
	StatusNotScanned      TrackingStatus = "NotScanned"
	StatusReceivedInDepot TrackingStatus = "ReceivedInDepot"
	StatusLoadedByDriver  TrackingStatus = "LoadedByDriver"
	StatusInTransit       TrackingStatus = "InTransit"
	StatusDelivered       TrackingStatus = "Delivered"
	StatusFailedDelivery  TrackingStatus = "FailedDelivery"
	StatusReturnToSender  TrackingStatus = "ReturnToSender"
	StatusReturnToDepot   TrackingStatus = "ReturnToDepot"
)

// statusInfo is everything known about one status's names.
type statusInfo struct {
	status TrackingStatus
	// display is the name people read, in Events and answers.
	display string
	// spellings are what couriers send, besides the canonical and display
	// names; the first is the one listed in error messages.
	spellings []string
}

// statuses is the one table of names; Statuses, DisplayName and
// ParseTrackingStatus all read it.
var statuses = []statusInfo{
	{StatusNotScanned, "Not Scanned", nil},
	{StatusReceivedInDepot, "Received in Depot", []string{"Received in Depo"}},
	{StatusLoadedByDriver, "Loaded by Driver", nil},
	{StatusInTransit, "In Transit", nil},
	{StatusDelivered, "Delivered", nil},
	{StatusFailedDelivery, "Failed Delivery", nil},
	{StatusReturnToSender, "Return to Sender", []string{"RTS- Return to Sender", "RTS"}},
	{StatusReturnToDepot, "Return to Depot", []string{"RD- Return to depo", "RD", "Return to Depo", "RD- Return to Depot"}},
}

// spellingIndex maps a normalised spelling to its status.
var spellingIndex = func() map[string]TrackingStatus {
	index := map[string]TrackingStatus{}
	for _, s := range statuses {
		for _, name := range append([]string{string(s.status), s.display}, s.spellings...) {
			index[normalizeSpelling(name)] = s.status
		}
	}
	return index
}()

// Statuses returns every tracking status in canonical form.
func Statuses() []TrackingStatus {
	out := make([]TrackingStatus, len(statuses))
	for i, s := range statuses {
		out[i] = s.status
	}
	return out
}

// AcceptedSpellings returns one of each way a status may be written, for
// error messages: every display name and every courier spelling.
func AcceptedSpellings() []string {
	var out []string
	for _, s := range statuses {
		out = append(out, s.display)
		out = append(out, s.spellings...)
	}
	return out
}

// DisplayName returns the name people read ("Received in Depot"), or the
// value itself when it is not a known status.
func (s TrackingStatus) DisplayName() string {
	for _, info := range statuses {
		if info.status == s {
			return info.display
		}
	}
	return string(s)
}

// IsValid reports whether s is one of the canonical statuses.
func (s TrackingStatus) IsValid() bool {
	for _, info := range statuses {
		if info.status == s {
			return true
		}
	}
	return false
}

// UnknownStatusError is returned for a status spelling nobody knows.
type UnknownStatusError struct {
	// Value is what was sent.
	Value string
}

func (e *UnknownStatusError) Error() string {
	if strings.TrimSpace(e.Value) == "" {
		return fmt.Sprintf("status is empty; accepted: %s", quoteAll(AcceptedSpellings()))
	}
	return fmt.Sprintf("unknown status %q; accepted: %s", e.Value, quoteAll(AcceptedSpellings()))
}

// ParseTrackingStatus turns what a courier sent into a canonical status.
// Matching ignores case, spaces and punctuation, so "Received in Depo",
// "RECEIVED-IN-DEPOT" and "ReceivedInDepot" all name the same status.
func ParseTrackingStatus(value string) (TrackingStatus, error) {
	if s, ok := spellingIndex[normalizeSpelling(value)]; ok {
		return s, nil
	}
	return "", &UnknownStatusError{Value: value}
}

// MaxReportedStatusLength is the longest track_status the courier API
// reads, in characters.
const MaxReportedStatusLength = 128

// ResolveStatus turns what a courier sent into a canonical status: a
// built-in spelling first (ParseTrackingStatus), then one of the courier's
// aliases (Courier.spec.statusAliases), matched the same way, ignoring case,
// spaces and punctuation, and letters of any script. aliased says an alias
// named the status. The API server refuses an alias that is a built-in
// spelling of another status or that matches another alias naming another
// status, so the order aliases are tried in does not matter.
func ResolveStatus(value string, aliases map[string]TrackingStatus) (status TrackingStatus, aliased bool, err error) {
	if s, err := ParseTrackingStatus(value); err == nil {
		return s, false, nil
	}
	if n := normalizeAlias(value); n != "" {
		for alias, s := range aliases {
			if s.IsValid() && normalizeAlias(alias) == n {
				return s, true, nil
			}
		}
	}
	return "", false, &UnknownStatusError{Value: value}
}

// SortedAliases returns the aliases' codes in order, for error messages.
func SortedAliases(aliases map[string]TrackingStatus) []string {
	return slices.Sorted(maps.Keys(aliases))
}

// normalizeAlias keeps only letters and digits, lower-cased, of any script
// ("Zurückgesendet" is a courier's word); invalid UTF-8 matches nothing.
func normalizeAlias(value string) string {
	var b strings.Builder
	for _, r := range value {
		switch {
		case r == utf8.RuneError:
			return ""
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// normalizeSpelling keeps only ASCII letters (lower-cased) and digits. A
// letter or digit outside ASCII makes the whole value unknown (""), so that
// "Deliveredé" is not quietly read as "Delivered".
func normalizeSpelling(value string) string {
	var b strings.Builder
	for _, r := range value {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		case r > unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)), r == utf8.RuneError:
			return ""
		}
	}
	return b.String()
}

func quoteAll(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(quoted, ", ")
}
