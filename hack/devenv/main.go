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

// Command devenv is `make dev`: a local control plane (the envtest
// binaries), the CRDs, a namespace with a Courier named dev and a fresh
// token, and the manager running in the foreground against a file-backed
// bucket. It writes what a shell needs to bin/dev/env and stops everything
// on Ctrl-C.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

// devNamespace holds the dev courier and its parcels.
const devNamespace = "dev"

// options are devenv's flags.
type options struct {
	manager, dir, webhookAddr, bucket string
}

func main() {
	var o options
	flag.StringVar(&o.manager, "manager", "bin/manager", "the manager binary to run")
	flag.StringVar(&o.dir, "dir", "bin/dev", "where the kubeconfig, the env file and the file bucket go")
	flag.StringVar(&o.webhookAddr, "webhook-bind-address", "127.0.0.1:8080", "the courier API's address")
	flag.StringVar(&o.bucket, "pod-bucket", "", "bucket URL for POD files (default: file://<dir>/pods)")
	flag.Parse()

	if err := runUntilSignalled(o); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
}

// runUntilSignalled runs devenv until Ctrl-C or SIGTERM. It returns rather
// than exits, so its deferred cleanup always runs.
func runUntilSignalled(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, o)
}

func run(ctx context.Context, o options) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	bucket := o.bucket
	if bucket == "" {
		bucket = "file://" + filepath.Join(dir, "pods")
	}

	fmt.Println("starting the local control plane (kube-apiserver, etcd) …")
	env, _, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping the control plane")
		_ = env.Stop()
	}()
	kubeconfigPath, cfg, err := testenv.Admin(env, "dev", dir)
	if err != nil {
		return err
	}
	token, err := createCourier(ctx, cfg)
	if err != nil {
		return err
	}

	var envFile strings.Builder
	for _, kv := range [][2]string{
		{"KUBECONFIG", kubeconfigPath},
		{"WEBHOOK_URL", "http://" + o.webhookAddr},
		{"COURIER_TOKEN", token},
		{"BUCKET_URL", bucket},
		// The bucket `kubectl parcel pod` downloads from.
		{"PARCEL_POD_BUCKET", bucket},
	} {
		fmt.Fprintf(&envFile, "%s=%s\n", kv[0], kv[1])
	}
	envPath := filepath.Join(dir, "env")
	if err := os.WriteFile(envPath, []byte(envFile.String()), 0o600); err != nil {
		return err
	}
	fmt.Printf(`
%s
In another shell:

  set -a; source %s; set +a
  curl -sS -H "Authorization: Bearer $COURIER_TOKEN" \
    -F 'form_data={"articleId":"ARP1000052447","track_status":"Received in Depo","track_datetime":"2025-10-08T07:30:00Z"}' \
    "$WEBHOOK_URL/api/v1/webhook/parcel-status"
  kubectl -n %s get pcl
  make build-plugin; PATH="$PWD/bin:$PATH" kubectl parcel history ARP1000052447 -n %[3]s

Ctrl-C stops everything.

`, envFile.String(), envPath, devNamespace)

	// Ctrl-C asks the manager to stop gracefully, as a kubelet would.
	cmd := exec.CommandContext(ctx, o.manager, //nolint:gosec // the manager binary is the developer's own --manager flag
		"--webhook-bind-address="+o.webhookAddr,
		"--health-probe-bind-address=0",
		"--metrics-bind-address=0",
		"--pod-bucket="+bucket,
		// The README's notification receiver runs on this machine.
		"--notification-allow-loopback",
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfigPath)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("the manager exited: %w", err)
	}
	return nil
}

// createCourier creates the dev namespace, a Courier named dev and its
// Secret holding a fresh token, and returns the token.
func createCourier(ctx context.Context, cfg *rest.Config) (string, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return "", err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: devNamespace}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: devNamespace, Name: "dev-courier",
				Labels: map[string]string{trackingv1alpha1.CourierCredentialsLabel: "true"}},
			StringData: map[string]string{trackingv1alpha1.CourierTokenKey: token},
		},
		&trackingv1alpha1.Courier{
			ObjectMeta: metav1.ObjectMeta{Namespace: devNamespace, Name: "dev"},
			Spec: trackingv1alpha1.CourierSpec{
				DisplayName: "Local development courier",
				SecretRef:   trackingv1alpha1.SecretReference{Name: "dev-courier"},
			},
		},
	} {
		if err := c.Create(ctx, obj); err != nil {
			return "", fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return token, nil
}
