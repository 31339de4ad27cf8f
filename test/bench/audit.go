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
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// auditLog reads the API server's audit log of Parcel status writes.
type auditLog struct {
	path   string
	offset int64
	// statusWrites counts successful status writes per namespace, over
	// everything read so far.
	statusWrites map[string]int
}

// auditEvent is the part of an audit.k8s.io/v1 Event the count needs.
type auditEvent struct {
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// read takes in what the API server logged since the last read.
func (a *auditLog) read() error {
	if a.statusWrites == nil {
		a.statusWrites = map[string]int{}
	}
	f, err := os.Open(a.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(a.offset, io.SeekStart); err != nil {
		return fmt.Errorf("seeking in the audit log: %w", err)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			// A partial last line is read again next time.
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the audit log: %w", err)
		}
		a.offset += int64(len(line))
		var e auditEvent
		if json.Unmarshal(line, &e) != nil || e.Stage != "ResponseComplete" || e.ObjectRef == nil ||
			e.ObjectRef.Resource != "parcels" || e.ObjectRef.Subresource != "status" ||
			e.ResponseStatus == nil || e.ResponseStatus.Code != 200 {
			continue
		}
		a.statusWrites[e.ObjectRef.Namespace]++
	}
}

// total counts the status writes read so far in the namespaces for which
// include is true.
func (a *auditLog) total(include func(namespace string) bool) int {
	n := 0
	for ns, c := range a.statusWrites {
		if include(ns) {
			n += c
		}
	}
	return n
}
