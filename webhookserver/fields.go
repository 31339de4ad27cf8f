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
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// earliestTrackTime is the earliest track_datetime accepted. No parcel this
// operator tracks was scanned before 2000; an earlier time is a courier
// system's zero value or epoch default (0001-01-01, 1970-01-01). Because the
// fold orders events by time, such an event would silently become the
// parcel's first scan, so it is refused instead.
var earliestTrackTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Update is one validated tracking update.
type Update struct {
	// ArticleID is the parcel's article ID, as sent (it passed
	// v1alpha1.ValidateArticleID).
	ArticleID string
	// Status is the update's status in canonical form.
	Status v1alpha1.TrackingStatus
	// ReportedStatus is track_status as the courier spelled it.
	ReportedStatus string
	// AliasedStatus is ReportedStatus when one of the courier's
	// statusAliases named the status (not a built-in spelling), else "".
	AliasedStatus string
	// Time is when the update happened: UTC, truncated to whole seconds
	// (what the API stores).
	Time time.Time
	// TimeReported is false when track_datetime was absent and Time is the
	// receive time.
	TimeReported bool
	// Remarks is the courier's free text, possibly empty.
	Remarks string
	// Location is where the scan happened, possibly empty.
	Location string
	// SignedBy is who signed for a delivery, possibly empty.
	SignedBy string
	// EventID is the courier's eventId, else
	// v1alpha1.DeriveEventID(ArticleID, Status, Time).
	EventID string
	// EventIDReported is true when EventID is the courier's.
	EventIDReported bool
}

// Names of the request's parts, JSON members and headers, as FieldError.Field
// reports them.
const (
	fieldFormData      = "form_data"
	fieldPODFile       = "pod_file"
	fieldArticleID     = "articleId"
	fieldTrackStatus   = "track_status"
	fieldTrackDatetime = "track_datetime"
	fieldRemarks       = "remarks"
	fieldLocation      = "location"
	fieldSignedBy      = "signedBy"
	fieldEventID       = "eventId"
	fieldContentType   = "Content-Type"
	// fieldContentEncoding: a compressed body is refused (415) before
	// anything else is looked at.
	fieldContentEncoding = "Content-Encoding"
	// fieldBatch is a batch's body as a whole: the JSON array.
	fieldBatch = "batch"
)

// updateFields are the members of the update object, in the order problems
// are reported.
var updateFields = []string{fieldArticleID, fieldTrackStatus, fieldTrackDatetime, fieldRemarks, fieldLocation,
	fieldSignedBy, fieldEventID}

// ParseUpdate validates one form_data JSON object. receivedAt is the server's
// receive time. The error is always a *Problem (400, or 413 when data is
// larger than limits.MaxFormDataBytes) and lists every field's problem.
func ParseUpdate(data []byte, receivedAt time.Time, limits Limits) (Update, error) {
	limits = limits.withDefaults()
	if int64(len(data)) > limits.MaxFormDataBytes {
		return Update{}, formDataTooLarge(limits.MaxFormDataBytes)
	}
	obj, rerr := readObject(data)
	if rerr != nil {
		return Update{}, rerr
	}
	p := &fieldParse{obj: obj, receivedAt: receivedAt, limits: limits}
	// One step a member, in updateFields order: the order problems are
	// reported in.
	p.articleID()
	p.trackStatus()
	p.trackDatetime()
	p.remarks()
	p.location()
	p.signedBy()
	p.eventID()

	p.problems = append(p.problems, obj.unknownProblems()...)
	problems := p.problems
	for i := range problems {
		if problems[i].Field == fieldTrackStatus {
			problems[i].Accepted = p.acceptedStatuses()
		}
	}
	if len(problems) > 0 {
		return Update{}, fieldProblems(problems)
	}
	u := p.u
	if !u.EventIDReported {
		u.EventID = v1alpha1.DeriveEventID(u.ArticleID, u.Status, u.Time)
	}
	return u, nil
}

// fieldParse is one ParseUpdate under way: each member's step fills in u or
// records its problems.
type fieldParse struct {
	obj        *updateObject
	receivedAt time.Time
	limits     Limits
	u          Update
	problems   []FieldError
}

func (p *fieldParse) problem(field, format string, args ...any) {
	p.problems = append(p.problems, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// articleID: required, v1alpha1.ValidateArticleID.
func (p *fieldParse) articleID() {
	articleID, state := p.obj.text(fieldArticleID, &p.problems)
	switch state {
	case memberAbsent:
		p.problem(fieldArticleID, "articleId is required: send the parcel's article ID as a JSON string")
	case memberPresent:
		if err := v1alpha1.ValidateArticleID(articleID); err != nil {
			p.problem(fieldArticleID, "articleId %s", err)
		}
		p.u.ArticleID = articleID
	}
}

// trackStatus: required, one of v1alpha1.AcceptedSpellings or of the
// courier's statusAliases, at most v1alpha1.MaxReportedStatusLength
// characters.
func (p *fieldParse) trackStatus() {
	reported, state := p.obj.text(fieldTrackStatus, &p.problems)
	accepted := func() string { return quoteList(p.acceptedStatuses()) }
	switch state {
	case memberAbsent:
		p.problem(fieldTrackStatus, "track_status is required; accepted (ignoring case, spaces and punctuation): %s", accepted())
	case memberPresent:
		if n := utf8.RuneCountInString(reported); n > v1alpha1.MaxReportedStatusLength {
			p.problem(fieldTrackStatus, "track_status is %d characters long; at most %d are accepted", n, v1alpha1.MaxReportedStatusLength)
			return
		}
		status, aliased, err := v1alpha1.ResolveStatus(reported, p.limits.StatusAliases)
		if err != nil {
			what := "track_status " + quoteShort(reported) + " is not a known status"
			if strings.TrimSpace(reported) == "" {
				what = "track_status is empty"
			}
			p.problem(fieldTrackStatus, "%s; accepted (ignoring case, spaces and punctuation): %s", what, accepted())
		}
		p.u.Status, p.u.ReportedStatus = status, reported
		if aliased {
			p.u.AliasedStatus = reported
		}
	}
}

// acceptedStatuses lists every track_status this courier may send: the
// built-in spellings, then its own aliases.
func (p *fieldParse) acceptedStatuses() []string {
	return append(v1alpha1.AcceptedSpellings(), v1alpha1.SortedAliases(p.limits.StatusAliases)...)
}

// trackDatetime: optional (the receive time), RFC 3339, between
// earliestTrackTime and the receive time plus the clock skew allowed.
func (p *fieldParse) trackDatetime() {
	datetime, state := p.obj.text(fieldTrackDatetime, &p.problems)
	switch state {
	case memberAbsent:
		p.u.Time = p.receivedAt.UTC().Truncate(time.Second)
	case memberPresent:
		t, err := time.Parse(time.RFC3339, datetime)
		latest := p.receivedAt.Add(p.limits.MaxClockSkew)
		switch {
		case err != nil:
			p.problem(fieldTrackDatetime, "track_datetime %s is not an RFC 3339 time; send e.g. 2025-10-08T10:15:00Z "+
				"or 2025-10-08T12:15:00.5+02:00, or leave it out to use the time the update is received", quoteShort(datetime))
		case t.After(latest):
			p.problem(fieldTrackDatetime, "track_datetime %s is in the future; the latest allowed now is %s (%s after the server's clock)",
				quoteShort(datetime), latest.UTC().Format(time.RFC3339), p.limits.MaxClockSkew)
		case t.Before(earliestTrackTime):
			p.problem(fieldTrackDatetime, "track_datetime %s is before %s, the earliest allowed; send when the scan really happened",
				quoteShort(datetime), earliestTrackTime.Format(time.RFC3339))
		default:
			p.u.Time, p.u.TimeReported = t.UTC().Truncate(time.Second), true
		}
	}
}

// remarks: optional, free text of at most v1alpha1.MaxRemarksLength
// characters, on several lines.
func (p *fieldParse) remarks() {
	remarks, state := p.obj.text(fieldRemarks, &p.problems)
	if state == memberPresent {
		if detail := checkText(fieldRemarks, remarks, v1alpha1.MaxRemarksLength, true); detail != "" {
			p.problem(fieldRemarks, "%s", detail)
		}
		p.u.Remarks = remarks
	}
}

// location: optional, one line of at most v1alpha1.MaxLocationLength
// characters.
func (p *fieldParse) location() {
	location, state := p.obj.text(fieldLocation, &p.problems)
	if state == memberPresent {
		if detail := checkText(fieldLocation, location, v1alpha1.MaxLocationLength, false); detail != "" {
			p.problem(fieldLocation, "%s", detail)
		}
		p.u.Location = location
	}
}

// signedBy: optional, one line of at most v1alpha1.MaxSignedByLength
// characters, and only with a Delivered status (checked once the status
// is known to be valid).
func (p *fieldParse) signedBy() {
	signedBy, state := p.obj.text(fieldSignedBy, &p.problems)
	if state != memberPresent {
		return
	}
	if detail := checkText(fieldSignedBy, signedBy, v1alpha1.MaxSignedByLength, false); detail != "" {
		p.problem(fieldSignedBy, "%s", detail)
	}
	if p.u.Status.IsValid() && p.u.Status != v1alpha1.StatusDelivered {
		p.problem(fieldSignedBy, "signedBy is only accepted with a Delivered track_status (who signed for the parcel); "+
			"this update's status is %s: leave signedBy out", p.u.Status.DisplayName())
	}
	p.u.SignedBy = signedBy
}

// eventID: optional (derived), v1alpha1.ValidateEventID.
func (p *fieldParse) eventID() {
	eventID, state := p.obj.text(fieldEventID, &p.problems)
	if state == memberPresent {
		if err := v1alpha1.ValidateEventID(eventID); err != nil {
			p.problem(fieldEventID, "eventId %s; leave it out to have one derived from the update", err)
		}
		p.u.EventID, p.u.EventIDReported = eventID, true
	}
}

// checkText says what is wrong with the free text s of field, or "": at
// most max characters, and no control characters but tab, line feed and
// carriage return when multiline, none at all otherwise.
func checkText(field, s string, maxChars int, multiline bool) string {
	if n := utf8.RuneCountInString(s); n > maxChars {
		return fmt.Sprintf("%s is %d characters long; at most %d are allowed", field, n, maxChars)
	}
	i := 0
	for _, r := range s {
		i++
		if !unicode.IsControl(r) || multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		allowed := "only tab, line feed and carriage return are allowed"
		if !multiline {
			allowed = "it is one line of text"
		}
		return fmt.Sprintf("%s contains the control character U+%04X at character %d; %s", field, r, i, allowed)
	}
	return ""
}
