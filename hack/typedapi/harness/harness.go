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

// Package harness starts the typed Parcel API server the way a cluster
// would run it, on one machine: kube-apiserver (envtest's) with the
// aggregator's front-proxy flags, the typed server with its own etcd,
// and the Service, EndpointSlice and APIService that route
// tracking.parcelops.io/v1alpha1 from kube-apiserver to it. The test and
// the benchmark both use it.
package harness

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/parcelops/parcel-operator/internal/testenv"
)

// Where the typed server is registered in the cluster.
const (
	Namespace   = "parcel-system"
	ServiceName = "parcel-apiserver"
	// APIServiceName is the APIService that routes the group version.
	APIServiceName = "v1alpha1.tracking.parcelops.io"
	// frontProxyUser is the common name of the certificate kube-apiserver
	// proxies with; the typed server trusts only that name.
	frontProxyUser = "front-proxy-client"
	// quotaBackendBytes is both etcds' size limit, well past the 2 GiB
	// default a few hundred thousand Parcels reach.
	quotaBackendBytes = 8 << 30
	startTimeout      = 2 * time.Minute
)

// Aggregated is a running kube-apiserver with the typed server behind it.
type Aggregated struct {
	// Env is kube-apiserver and its etcd.
	Env *envtest.Environment
	// Config and Kubeconfig reach kube-apiserver as a cluster admin; Parcel
	// requests through them take the aggregated path.
	Config     *rest.Config
	Kubeconfig string
	// Direct reaches the typed server itself with the same admin
	// credentials, bypassing kube-apiserver.
	Direct *rest.Config
	// Server and Etcd are the typed server's processes; EtcdDataDir is its
	// etcd's data directory.
	Server, Etcd *Process
	EtcdDataDir  string

	client client.Client
}

// BuildServer builds cmd/parcel-apiserver into dir.
func BuildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "parcel-apiserver")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/parcel-apiserver")
	cmd.Dir = moduleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building parcel-apiserver: %w\n%s", err, out)
	}
	return bin, nil
}

// Start starts everything, writing certificates, data and logs under dir,
// and waits until kube-apiserver reports the APIService available. On
// error, what was started is stopped.
func Start(ctx context.Context, dir, serverBin string) (a *Aggregated, err error) {
	a = &Aggregated{}
	defer func() {
		if err != nil {
			a.Stop()
			a = nil
		}
	}()
	assets, err := testenv.AssetsDir()
	if err != nil {
		return nil, err
	}
	hostIP, err := hostAddress()
	if err != nil {
		return nil, err
	}
	frontProxyCA, err := newCA(dir, "front-proxy-ca")
	if err != nil {
		return nil, err
	}
	proxyClient, err := newLeaf(dir, "front-proxy-client", frontProxyUser, frontProxyCA)
	if err != nil {
		return nil, err
	}
	servingCA, err := newCA(dir, "parcel-apiserver-ca")
	if err != nil {
		return nil, err
	}
	serving, err := newLeaf(dir, "parcel-apiserver", ServiceName, servingCA,
		ServiceName+"."+Namespace+".svc", "localhost", "127.0.0.1", hostIP)
	if err != nil {
		return nil, err
	}

	a.Env = NewEnvironment(assets, filepath.Join(dir, "etcd"))
	// The aggregator's flags: kube-apiserver proxies with proxyClient and
	// vouches for the user in X-Remote-* headers, which the typed server
	// trusts because kube-apiserver publishes the CA and the allowed name
	// in kube-system/extension-apiserver-authentication. Routing goes to
	// the EndpointSlice's address: there is no kube-proxy for a Service IP.
	a.Env.ControlPlane.GetAPIServer().Configure().
		Set("requestheader-client-ca-file", frontProxyCA.certFile).
		Set("requestheader-allowed-names", frontProxyUser).
		Set("requestheader-username-headers", "X-Remote-User").
		Set("requestheader-group-headers", "X-Remote-Group").
		Set("requestheader-extra-headers-prefix", "X-Remote-Extra-").
		Set("proxy-client-cert-file", proxyClient.certFile).
		Set("proxy-client-key-file", proxyClient.keyFile).
		Set("enable-aggregator-routing", "true")
	if _, err := a.Env.Start(); err != nil {
		return a, fmt.Errorf("starting kube-apiserver: %w", err)
	}
	if a.Kubeconfig, a.Config, err = testenv.Admin(a.Env, "typedapi-admin", dir); err != nil {
		return a, err
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(apiregistrationv1.AddToScheme(scheme))
	if a.client, err = client.New(a.Config, client.Options{Scheme: scheme}); err != nil {
		return a, fmt.Errorf("creating the client: %w", err)
	}

	etcdURL, err := a.startEtcd(assets, dir)
	if err != nil {
		return a, err
	}
	port, err := freePort()
	if err != nil {
		return a, err
	}
	a.Server, err = StartProcess(filepath.Join(dir, "parcel-apiserver.log"), serverBin,
		"--secure-port="+itoa(port), "--bind-address=0.0.0.0",
		"--tls-cert-file="+serving.certFile, "--tls-private-key-file="+serving.keyFile,
		"--authentication-kubeconfig="+a.Kubeconfig, "--authorization-kubeconfig="+a.Kubeconfig,
		"--etcd-servers="+etcdURL)
	if err != nil {
		return a, err
	}
	a.Direct = rest.CopyConfig(a.Config)
	a.Direct.Host = "https://127.0.0.1:" + itoa(port)
	a.Direct.CAData, a.Direct.CAFile = servingCA.cert, ""
	if err := a.register(ctx, hostIP, port, servingCA.cert); err != nil {
		return a, err
	}
	return a, nil
}

// NewEnvironment is envtest's control plane with its etcd's data in
// etcdDir and the same size limit as the typed server's etcd, so both
// hold what the benchmark loads.
func NewEnvironment(assets, etcdDir string) *envtest.Environment {
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDir}
	env.ControlPlane.Etcd.Configure().Set("quota-backend-bytes", strconv.Itoa(quotaBackendBytes))
	return env
}

// startEtcd starts the typed server's own etcd from envtest's binary.
func (a *Aggregated) startEtcd(assets, dir string) (string, error) {
	clientPort, err := freePort()
	if err != nil {
		return "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return "", err
	}
	a.EtcdDataDir = filepath.Join(dir, "parcel-etcd")
	url := "http://127.0.0.1:" + itoa(clientPort)
	a.Etcd, err = StartProcess(filepath.Join(dir, "parcel-etcd.log"), filepath.Join(assets, "etcd"),
		"--name=parcel-etcd", "--data-dir="+a.EtcdDataDir,
		"--listen-client-urls="+url, "--advertise-client-urls="+url,
		"--listen-peer-urls=http://127.0.0.1:"+itoa(peerPort),
		"--initial-advertise-peer-urls=http://127.0.0.1:"+itoa(peerPort),
		"--initial-cluster=parcel-etcd=http://127.0.0.1:"+itoa(peerPort),
		"--quota-backend-bytes="+strconv.Itoa(quotaBackendBytes),
		"--unsafe-no-fsync")
	if err != nil {
		return "", err
	}
	return url, nil
}

// register creates the Service, EndpointSlice and APIService, and waits
// for kube-apiserver to find the typed server available.
func (a *Aggregated) register(ctx context.Context, hostIP string, port int32, caBundle []byte) error {
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: ServiceName},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromInt32(port)}}},
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: ServiceName,
				Labels: map[string]string{discoveryv1.LabelServiceName: ServiceName}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{hostIP},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
			Ports: []discoveryv1.EndpointPort{{Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP), Name: ptr.To("")}},
		},
		&apiregistrationv1.APIService{
			ObjectMeta: metav1.ObjectMeta{Name: APIServiceName},
			Spec: apiregistrationv1.APIServiceSpec{
				Service:              &apiregistrationv1.ServiceReference{Namespace: Namespace, Name: ServiceName, Port: ptr.To[int32](443)},
				Group:                "tracking.parcelops.io",
				Version:              "v1alpha1",
				CABundle:             caBundle,
				GroupPriorityMinimum: 1000,
				VersionPriority:      15,
			},
		},
	}
	for _, o := range objs {
		if err := a.client.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		var svc apiregistrationv1.APIService
		if err := a.client.Get(ctx, client.ObjectKey{Name: APIServiceName}, &svc); err != nil {
			return false, err
		}
		for _, c := range svc.Status.Conditions {
			if c.Type == apiregistrationv1.Available {
				last = c.Reason + ": " + c.Message
				return c.Status == apiregistrationv1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for APIService %s to be available (last: %s): %w; the end of %s:\n%s",
			APIServiceName, last, err, a.Server.Log, a.Server.Tail())
	}
	return nil
}

// Stop stops the typed server, its etcd and the control plane.
func (a *Aggregated) Stop() {
	if a.Server != nil {
		a.Server.Stop()
	}
	if a.Etcd != nil {
		a.Etcd.Stop()
	}
	if a.Env != nil {
		_ = a.Env.Stop()
	}
}

// hostAddress is this machine's first non-loopback IPv4 address: an
// EndpointSlice may not point at 127.0.0.0/8.
func hostAddress() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("listing the network addresses: %w", err)
	}
	for _, addr := range addrs {
		if n, ok := addr.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("no non-loopback IPv4 address to put in the EndpointSlice")
}

// freePort asks the kernel for a free TCP port.
func freePort() (int32, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	if port <= 0 || port > math.MaxUint16 {
		return 0, fmt.Errorf("the kernel gave port %d", port)
	}
	return int32(port), nil
}

func itoa(port int32) string { return strconv.Itoa(int(port)) }

// moduleRoot is hack/typedapi.
func moduleRoot() string {
	return filepath.Join(testenv.RepoRoot(), "hack", "typedapi")
}
