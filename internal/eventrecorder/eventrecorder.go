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

// Package eventrecorder records Kubernetes Events with memory bounded
// whatever their rate.
//
// controller-runtime's mgr.GetEventRecorder uses client-go's events.k8s.io
// broadcaster (tools/events), which keeps every Event it sent in a map for
// six to twelve minutes so it can merge repeats into a series: its memory
// grows with the Event rate. client-go's core/v1 broadcaster (tools/record)
// merges repeats through an EventCorrelator whose caches are LRUs of a
// fixed size, so this package records through it, in protobuf, and adapts
// it to the events.EventRecorder interface the controllers take. Events
// land in the same API (events.k8s.io/v1 serves core/v1 Events too), with
// the reason, type, note and regarding object; the action is dropped.
// Its metrics count what was recorded and what was written, so the Events
// merged or dropped under load show (metrics.go).
package eventrecorder

import (
	"context"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
)

// CacheSize is how many distinct Events (by involved object, reason and
// message) the correlator remembers, in each of its three LRU caches; the
// default of client-go and of kube-controller-manager.
const CacheSize = 4096

// Broadcaster sends the Events of its recorders to the API server until
// its context ends.
type Broadcaster struct {
	broadcaster record.EventBroadcaster
	scheme      *runtime.Scheme
}

// New starts a Broadcaster on the API server of cfg, sending in protobuf
// (Events are a built-in type); it stops, dropping what it has not sent,
// when ctx ends.
func New(ctx context.Context, cfg *rest.Config, httpClient *http.Client, scheme *runtime.Scheme) (*Broadcaster, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	core, err := typedcorev1.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("creating the Event client: %w", err)
	}
	return start(ctx, &typedcorev1.EventSinkImpl{Interface: core.Events("")}, scheme), nil
}

// start runs a Broadcaster on sink.
func start(ctx context.Context, sink record.EventSink, scheme *runtime.Scheme) *Broadcaster {
	b := record.NewBroadcaster(record.WithContext(ctx), record.WithCorrelatorOptions(record.CorrelatorOptions{LRUCacheSize: CacheSize}))
	b.StartRecordingToSink(countingSink{sink: sink})
	return &Broadcaster{broadcaster: b, scheme: scheme}
}

// Recorder returns a recorder whose Events name component as their source.
func (b *Broadcaster) Recorder(component string) events.EventRecorder {
	return countingRecorder{record.NewEventRecorderAdapter(b.broadcaster.NewRecorder(b.scheme, corev1.EventSource{Component: component}))}
}
