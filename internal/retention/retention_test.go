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
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// The messages ParseArchiveAfter refuses with.
const (
	errDays     = "a whole number of days"
	errTooShort = "want 0 (off) or at least 1h0m0s"
)

func TestParseArchiveAfter(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        time.Duration
		wantErr     string
	}{
		{name: "0 is off", value: "0"},
		{name: "empty is off", value: ""},
		{name: "days", value: "30d", want: 30 * 24 * time.Hour},
		{name: "hours", value: "720h", want: 720 * time.Hour},
		{name: "days and hours", value: "1d12h", want: 36 * time.Hour},
		{name: "exactly the minimum", value: "1h", want: time.Hour},
		{name: "many days", value: "3650d", want: 3650 * 24 * time.Hour},
		{name: "the most days", value: "65535d", want: 65535 * 24 * time.Hour},
		{name: "too many days", value: "65536d", wantErr: errDays},
		{name: "seconds, a slip for days", value: "30s", wantErr: errTooShort},
		{name: "minutes", value: "59m", wantErr: errTooShort},
		{name: "negative", value: "-1h", wantErr: errTooShort},
		{name: "zero days", value: "0d", wantErr: errTooShort},
		{name: "fractional days", value: "1.5d", wantErr: errDays},
		{name: "a bare d", value: "d", wantErr: errDays},
		{name: "a space", value: "30 d", wantErr: errDays},
		{name: "no unit", value: "30", wantErr: "missing unit"},
		{name: "a word", value: "forever", wantErr: "invalid duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseArchiveAfter(tc.value)
			checkErr(t, err, tc.wantErr)
			if got != tc.want {
				t.Errorf("ParseArchiveAfter(%q) = %s, want %s", tc.value, got, tc.want)
			}
		})
	}
}

func TestParseOnDelete(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    OnDelete
		wantErr string
	}{
		{value: "Retain", want: RetainPODFiles},
		{value: "Delete", want: DeletePODFiles},
		{value: "retain", wantErr: `"retain": want Retain or Delete`},
		{value: "", wantErr: `"": want Retain or Delete`},
		{value: "Keep", wantErr: `"Keep": want Retain or Delete`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			got, err := ParseOnDelete(tc.value)
			checkErr(t, err, tc.wantErr)
			if got != tc.want {
				t.Errorf("ParseOnDelete(%q) = %q, want %q", tc.value, got, tc.want)
			}
		})
	}
}

// bothDeprecated is what Resolve reports when both deprecated flags are set.
var bothDeprecated = []Deprecation{
	{Flag: FlagPODRetentionDeprecated, Use: FlagPODFilesOnDelete},
	{Flag: FlagDeliveredRetentionDeprecated, Use: FlagArchiveAfter},
}

func TestFlags(t *testing.T) {
	const month = 30 * 24 * time.Hour
	for _, tc := range []struct {
		name           string
		args           []string
		want           Settings
		wantDeprecated []Deprecation
		wantErr        string
	}{
		{name: "defaults: files retained, parcels kept", want: Settings{OnDelete: RetainPODFiles}},
		{
			name: "the new names",
			args: []string{"--pod-files-on-delete=Delete", "--archive-after=30d"},
			want: Settings{OnDelete: DeletePODFiles, ArchiveAfter: month},
		},
		{
			name:           "the deprecated names still work, and are reported",
			args:           []string{"--pod-retention=Delete", "--delivered-retention=720h"},
			want:           Settings{OnDelete: DeletePODFiles, ArchiveAfter: month},
			wantDeprecated: bothDeprecated,
		},
		{
			name:           "a deprecated name set to its default still counts as set",
			args:           []string{"--delivered-retention=0"},
			want:           Settings{OnDelete: RetainPODFiles},
			wantDeprecated: []Deprecation{{Flag: FlagDeliveredRetentionDeprecated, Use: FlagArchiveAfter}},
		},
		{
			name:           "old and new agreeing, compared as values",
			args:           []string{"--archive-after=30d", "--delivered-retention=720h", "--pod-retention=Retain", "--pod-files-on-delete=Retain"},
			want:           Settings{OnDelete: RetainPODFiles, ArchiveAfter: month},
			wantDeprecated: bothDeprecated,
		},
		{
			name:    "old and new disagreeing on the files",
			args:    []string{"--pod-files-on-delete=Retain", "--pod-retention=Delete"},
			wantErr: "--pod-files-on-delete=Retain and the deprecated --pod-retention=Delete disagree: set only --pod-files-on-delete",
		},
		{
			name:    "old and new disagreeing on the archive",
			args:    []string{"--archive-after=0", "--delivered-retention=30d"},
			wantErr: "--archive-after=0 and the deprecated --delivered-retention=30d disagree: set only --archive-after",
		},
		{
			name:    "a bad new value names the flag",
			args:    []string{"--pod-files-on-delete=Keep"},
			wantErr: `--pod-files-on-delete="Keep": want Retain or Delete`,
		},
		{
			name:    "a bad archive age names the flag",
			args:    []string{"--archive-after=30s"},
			wantErr: `--archive-after="30s": want 0 (off) or at least 1h0m0s`,
		},
		{
			name:    "a bad deprecated value names the flag it was given as",
			args:    []string{"--delivered-retention=forever"},
			wantErr: `--delivered-retention="forever": time: invalid duration "forever" (a deprecated name of --archive-after)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("manager", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := BindFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatalf("parsing %v: %v", tc.args, err)
			}
			got, deprecated, err := f.Resolve()
			checkErr(t, err, tc.wantErr)
			if got != tc.want {
				t.Errorf("settings = %+v, want %+v", got, tc.want)
			}
			if !slices.Equal(deprecated, tc.wantDeprecated) {
				t.Errorf("deprecations = %+v, want %+v", deprecated, tc.wantDeprecated)
			}
		})
	}
}

func TestDeprecatedFlagsSayWhatToUse(t *testing.T) {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	BindFlags(fs)
	for _, d := range bothDeprecated {
		old, use := d.Flag, d.Use
		if usage := fs.Lookup(old).Usage; !strings.HasPrefix(usage, "Deprecated: use --"+use) {
			t.Errorf("--%s usage = %q, want it to name --%s", old, usage, use)
		}
	}
}

// FuzzParseArchiveAfter checks that any input either parses to off or at
// least the minimum, or is refused with an error quoting it; never a panic.
func FuzzParseArchiveAfter(f *testing.F) {
	for _, seed := range []string{"0", "", "30d", "720h", "1d12h", "1.5d", "65536d", "d", "-1h", "99999999999h"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		d, err := ParseArchiveAfter(value)
		switch {
		case err != nil:
			if d != 0 {
				t.Errorf("ParseArchiveAfter(%q) = %s with error %v", value, d, err)
			}
		case d != 0 && d < MinArchiveAfter:
			t.Errorf("ParseArchiveAfter(%q) = %s, below the minimum", value, d)
		}
	})
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q, want it to contain %q", err, want)
	}
}
