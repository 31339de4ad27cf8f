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

package eventrecorder

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"

	"github.com/parcelops/parcel-operator/internal/testenv"
)

// countingCoreSink counts the Events a core/v1 sink has sent.
type countingCoreSink struct {
	record.EventSink
	sent *atomic.Int64
}

func (s countingCoreSink) Create(e *corev1.Event) (*corev1.Event, error) {
	defer s.sent.Add(1)
	return s.EventSink.Create(e)
}

// countingEventsSink counts the Events an events.k8s.io sink has sent.
type countingEventsSink struct {
	events.EventSink
	sent *atomic.Int64
}

func (s countingEventsSink) Create(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	defer s.sent.Add(1)
	return s.EventSink.Create(ctx, e)
}

// BenchmarkEventWrite measures what recording one Event costs the control
// plane: through controller-runtime's default (the events.k8s.io
// broadcaster, JSON), and through this package's core/v1 recorder in JSON
// and in protobuf. One op is one Event on its own object.
func BenchmarkEventWrite(b *testing.B) {
	env, cfg, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	protobuf := rest.CopyConfig(cfg)
	protobuf.ContentType = runtime.ContentTypeProtobuf

	for _, variant := range []struct {
		name     string
		recorder func(ctx context.Context, sent *atomic.Int64) events.EventRecorder
	}{
		{"events.k8s.io-json", func(ctx context.Context, sent *atomic.Int64) events.EventRecorder {
			sink := &events.EventSinkImpl{Interface: kubernetes.NewForConfigOrDie(cfg).EventsV1()}
			bc := events.NewBroadcaster(countingEventsSink{sink, sent})
			if err := bc.StartRecordingToSinkWithContext(ctx); err != nil {
				b.Fatal(err)
			}
			return bc.NewRecorder(clientgoscheme.Scheme, "bench")
		}},
		{"core-v1-json", func(ctx context.Context, sent *atomic.Int64) events.EventRecorder {
			sink := &typedcorev1.EventSinkImpl{Interface: kubernetes.NewForConfigOrDie(cfg).CoreV1().Events("")}
			return start(ctx, countingCoreSink{sink, sent}, clientgoscheme.Scheme).Recorder("bench")
		}},
		{"core-v1-protobuf", func(ctx context.Context, sent *atomic.Int64) events.EventRecorder {
			sink := &typedcorev1.EventSinkImpl{Interface: kubernetes.NewForConfigOrDie(protobuf).CoreV1().Events("")}
			return start(ctx, countingCoreSink{sink, sent}, clientgoscheme.Scheme).Recorder("bench")
		}},
	} {
		b.Run(variant.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sent := &atomic.Int64{}
			rec := variant.recorder(ctx, sent)
			apiserver, etcd := testenv.ChildCPU("kube-apiserver"), testenv.ChildCPU("etcd")
			b.ResetTimer()
			for i := range b.N {
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("%s-%d", variant.name, i)}}
				rec.Eventf(pod, nil, corev1.EventTypeNormal, "StatusChanged", "Transition",
					"Received in Depot -> Loaded by Driver -> In Transit (%d)", i)
				// Both broadcasters drop Events while 1,000 are queued.
				for int64(i)-sent.Load() > 500 {
					time.Sleep(time.Millisecond)
				}
			}
			for sent.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64((testenv.ChildCPU("kube-apiserver")-apiserver).Microseconds())/float64(b.N), "apiserver-µs/op")
			b.ReportMetric(float64((testenv.ChildCPU("etcd")-etcd).Microseconds())/float64(b.N), "etcd-µs/op")
		})
	}
}
