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

package retention

import (
	"flag"
	"fmt"
	"time"
)

// The flags' names. The deprecated ones are the names before the two
// settings were told apart; clusters may still pass them.
const (
	FlagPODFilesOnDelete = "pod-files-on-delete"
	FlagArchiveAfter     = "archive-after"

	FlagPODRetentionDeprecated       = "pod-retention"
	FlagDeliveredRetentionDeprecated = "delivered-retention"
)

// Settings are what the retention flags decide.
type Settings struct {
	// OnDelete is the fate of a Parcel's stored files when it is deleted.
	OnDelete OnDelete
	// ArchiveAfter is how long a terminal Parcel stays; 0 keeps it.
	ArchiveAfter time.Duration
}

// Deprecation is a deprecated flag that was set, and the flag to use
// instead.
type Deprecation struct {
	Flag, Use string
}

// Flags are the retention flags registered on one FlagSet.
type Flags struct {
	fs                                                       *flag.FlagSet
	onDelete, archiveAfter, podRetention, deliveredRetention string
}

// BindFlags registers the retention flags, and their deprecated names, on
// fs. Call Resolve after fs.Parse.
func BindFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.onDelete, FlagPODFilesOnDelete, string(RetainPODFiles),
		"What happens to stored proof-of-delivery files when their Parcel is deleted: Retain, or Delete (through a finalizer).")
	fs.StringVar(&f.archiveAfter, FlagArchiveAfter, "0",
		"How long a Delivered or Returned-to-Sender Parcel stays before it is archived to the bucket as JSON and deleted: "+
			"e.g. 30d, 720h; 0 keeps every Parcel. See docs/archive.md.")
	fs.StringVar(&f.podRetention, FlagPODRetentionDeprecated, "",
		"Deprecated: use --"+FlagPODFilesOnDelete+".")
	fs.StringVar(&f.deliveredRetention, FlagDeliveredRetentionDeprecated, "",
		"Deprecated: use --"+FlagArchiveAfter+".")
	return f
}

// Resolve reads the parsed flags. A deprecated flag still works, and is
// returned as a Deprecation for the caller to warn about; set together
// with its new name, the two must agree.
func (f *Flags) Resolve() (Settings, []Deprecation, error) {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	var deprecated []Deprecation
	onDelete, old, err := resolve(set, FlagPODFilesOnDelete, f.onDelete, FlagPODRetentionDeprecated, f.podRetention, ParseOnDelete)
	if err != nil {
		return Settings{}, nil, err
	}
	if old {
		deprecated = append(deprecated, Deprecation{Flag: FlagPODRetentionDeprecated, Use: FlagPODFilesOnDelete})
	}
	archiveAfter, old, err := resolve(set, FlagArchiveAfter, f.archiveAfter, FlagDeliveredRetentionDeprecated, f.deliveredRetention,
		ParseArchiveAfter)
	if err != nil {
		return Settings{}, nil, err
	}
	if old {
		deprecated = append(deprecated, Deprecation{Flag: FlagDeliveredRetentionDeprecated, Use: FlagArchiveAfter})
	}
	return Settings{OnDelete: onDelete, ArchiveAfter: archiveAfter}, deprecated, nil
}

// resolve parses one setting from its flag and its deprecated name, and
// reports whether the deprecated name was set. Values are compared parsed,
// so --archive-after=30d agrees with --delivered-retention=720h.
func resolve[T comparable](set map[string]bool, name, value, oldName, oldValue string, parse func(string) (T, error)) (T, bool, error) {
	var zero T
	v, err := parse(value)
	if err != nil {
		return zero, false, fmt.Errorf("--%s=%w", name, err)
	}
	if !set[oldName] {
		return v, false, nil
	}
	old, err := parse(oldValue)
	if err != nil {
		return zero, true, fmt.Errorf("--%s=%w (a deprecated name of --%s)", oldName, err, name)
	}
	if set[name] && old != v {
		return zero, true, fmt.Errorf("--%s=%s and the deprecated --%s=%s disagree: set only --%s", name, value, oldName, oldValue, name)
	}
	return old, true, nil
}
