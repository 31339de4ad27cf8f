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
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/notify"
)

// benchSigningKey signs the bench's notifications; nothing verifies them.
const benchSigningKey = notify.KeyPrefix + "YmVuY2gtc2lnbmluZy1rZXktMDEyMzQ1Njc4OWFiY2RlZg=="

// notifyResult compares the peak step without and with a Subscription in
// every courier namespace (so every update is notified), run side by side.
type notifyResult struct {
	Concurrency int `json:"concurrency"`
	// Off and On are the two steps.
	Off, On stepResult
	// Received is the notifications the receiver got during and after the
	// On step, and PerSec their rate over the step and its drain.
	Received int     `json:"received"`
	PerSec   float64 `json:"notificationsPerSec"`
	// APIServerCPUMsPerUpdate is kube-apiserver CPU milliseconds per
	// accepted update net of its idle CPU, off and on, and CostRatio on /
	// off.
	APIServerCPUMsPerUpdateOff float64 `json:"apiServerCpuMsPerUpdateOff"`
	APIServerCPUMsPerUpdateOn  float64 `json:"apiServerCpuMsPerUpdateOn"`
	CostRatio                  float64 `json:"costRatio"`
}

// notifySteps runs the interleaved peak step twice, without and with
// Subscriptions to a receiver in this process, and writes the comparison
// beside the other results (notify.json).
func (b *bench) notifySteps(ctx context.Context, o options, d *driver, tr *tracker, pool mix, all *results) error {
	conc := slices.Max(o.concurrency)
	res := notifyResult{Concurrency: conc}
	step := func(name string) (stepResult, error) {
		return b.webhookStep(ctx, o, d, tr, stepSpec{name: name, kind: mixInterleaved, mix: pool, concurrency: conc, dur: o.step}, all)
	}
	var err error
	logf("notifications: the interleaved peak step without a Subscription")
	if res.Off, err = step("NOTIFY-OFF"); err != nil {
		return err
	}

	var received atomic.Int64
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting the notification receiver: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.Serve(l) }()
	defer func() { _ = srv.Close() }()
	for _, c := range b.couriers {
		if err := b.subscribe(ctx, c.namespace, "http://"+l.Addr().String()+"/"); err != nil {
			return err
		}
	}

	logf("notifications: the interleaved peak step with a Subscription in each courier namespace")
	start := time.Now()
	if res.On, err = step("NOTIFY-ON"); err != nil {
		return err
	}
	// The step waited for the reconciler; give the notifier as long to
	// drain what is left.
	deadline := time.Now().Add(o.drain)
	last, lastAt := received.Load(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Second)
		if n := received.Load(); n != last {
			last, lastAt = n, time.Now()
		} else if time.Since(lastAt) > 5*time.Second {
			break
		}
	}
	res.Received = int(received.Load())
	res.PerSec = float64(res.Received) / lastAt.Sub(start).Seconds()
	res.APIServerCPUMsPerUpdateOff = res.Off.APIServerCPUMsPerUpdate
	res.APIServerCPUMsPerUpdateOn = res.On.APIServerCPUMsPerUpdate
	if res.APIServerCPUMsPerUpdateOff > 0 {
		res.CostRatio = res.APIServerCPUMsPerUpdateOn / res.APIServerCPUMsPerUpdateOff
	}
	logf("  %d notifications, %.0f/s; kube-apiserver CPU per accepted update %.2f ms off, %.2f ms on (x%.2f)",
		res.Received, res.PerSec, res.APIServerCPUMsPerUpdateOff, res.APIServerCPUMsPerUpdateOn, res.CostRatio)

	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(filepath.Dir(o.out), "notify.json"), raw, 0o600)
}

// subscribe creates a Subscription in namespace to url, with its Secret.
func (b *bench) subscribe(ctx context.Context, namespace, url string) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "notify-webhook"},
		StringData: map[string]string{trackingv1alpha1.SubscriptionSigningKey: benchSigningKey},
	}
	if err := b.client.Create(ctx, secret); err != nil {
		return fmt.Errorf("creating the Secret of %s's Subscription: %w", namespace, err)
	}
	sub := &trackingv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "notify"},
		Spec: trackingv1alpha1.SubscriptionSpec{
			URL:            url,
			AllowPlainHTTP: true,
			SecretRef:      trackingv1alpha1.SecretReference{Name: secret.Name},
			Types: []trackingv1alpha1.NotificationType{trackingv1alpha1.NotificationStatusChanged,
				trackingv1alpha1.NotificationProofOfDeliveryStored, trackingv1alpha1.NotificationUpdateRejected},
		},
	}
	if err := b.client.Create(ctx, sub); err != nil {
		return fmt.Errorf("creating the Subscription of %s: %w", namespace, err)
	}
	return nil
}
