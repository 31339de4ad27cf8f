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

// Package plugin runs the built kubectl-parcel through the real kubectl
// (which finds it on PATH) against a real control plane, where the real
// manager binary reconciles the parcels a courier posts to its API and
// stores their proofs of delivery in a real S3 server.
package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/internal/managerproc"
	"github.com/parcelops/parcel-operator/internal/s3test"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

const (
	podBucket    = "parcel-pods"
	namespace    = "acme"
	courierName  = "acme"
	courierToken = "plugin-token-0123456789abcdef"
	// adminUser is who the kubeconfig authenticates as: the source of
	// corrections.
	adminUser = "parcel-admin"
)

var (
	ctx        context.Context
	cancel     context.CancelFunc
	controlPl  *envtest.Environment
	k8sClient  client.Client
	kubeconfig string
	assets     string
	pluginDir  string
	s3Server   *s3test.Server
	manager    *managerproc.Process
	webhookURL string
)

func TestPlugin(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kubectl parcel")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	root := testenv.RepoRoot()
	var err error
	assets, err = testenv.AssetsDir()
	Expect(err).NotTo(HaveOccurred())

	By("building the plugin and the manager")
	pluginDir = GinkgoT().TempDir()
	bin := filepath.Join(pluginDir, "kubectl-parcel")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kubectl-parcel") //nolint:gosec // a path of the test's own
	build.Dir = root
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build ./cmd/kubectl-parcel: %s", out)
	managerBin, err := managerproc.Build(ctx, root, GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())

	By("starting a control plane with the CRDs, and the S3 server")
	controlPl, _, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	var cfg *rest.Config
	kubeconfig, cfg, err = testenv.Admin(controlPl, adminUser, GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trackingv1alpha1.AddToScheme(scheme))
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	s3Server, err = s3test.Start(ctx)
	Expect(err).NotTo(HaveOccurred())
	Expect(s3Server.SetProcessEnv()).To(Succeed())
	Expect(s3Server.CreateBucket(ctx, podBucket)).To(Succeed())

	By("creating a courier")
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "acme-token", Namespace: namespace,
			Labels: map[string]string{trackingv1alpha1.CourierCredentialsLabel: "true"}},
		StringData: map[string]string{trackingv1alpha1.CourierTokenKey: courierToken},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx, &trackingv1alpha1.Courier{
		ObjectMeta: metav1.ObjectMeta{Name: courierName, Namespace: namespace},
		Spec:       trackingv1alpha1.CourierSpec{DisplayName: "ACME Logistics", SecretRef: trackingv1alpha1.SecretReference{Name: "acme-token"}},
	})).To(Succeed())

	By("starting the manager")
	port, err := managerproc.FreePort(ctx)
	Expect(err).NotTo(HaveOccurred())
	webhookURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	manager, err = managerproc.Start(managerBin, []string{
		fmt.Sprintf("--webhook-bind-address=127.0.0.1:%d", port),
		"--health-probe-bind-address=0",
		"--metrics-bind-address=0",
		"--pod-bucket=" + s3Server.BucketURL(podBucket),
	}, append([]string{"KUBECONFIG=" + kubeconfig}, s3Server.Env()...), GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	readyCtx, readyCancel := context.WithTimeout(ctx, time.Minute)
	defer readyCancel()
	Expect(manager.WaitReady(readyCtx, webhookURL+"/readyz")).To(Succeed())
})

var _ = AfterSuite(func() {
	if manager != nil {
		manager.Stop()
	}
	cancel()
	if s3Server != nil {
		Expect(s3Server.Close()).To(Succeed())
	}
	if controlPl != nil {
		Expect(controlPl.Stop()).To(Succeed())
	}
})

// result is one run of kubectl.
type result struct {
	stdout, stderr string
	err            error
}

// kubectl runs the control plane's kubectl with the plugin's directory
// first on PATH, so `kubectl parcel` is the binary just built, in dir
// (a temporary directory when ""), with env added to the environment.
func kubectl(dir string, env []string, args ...string) result {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, filepath.Join(assets, "kubectl"), args...) //nolint:gosec // the control plane's own kubectl
	cmd.Env = append(os.Environ(), "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig)
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = GinkgoT().TempDir()
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	_, _ = fmt.Fprintf(GinkgoWriter, "$ kubectl %s\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// parcel runs `kubectl parcel args... -n acme` and expects it to succeed.
func parcel(args ...string) string {
	GinkgoHelper()
	r := kubectl("", nil, append(append([]string{"parcel"}, args...), "-n", namespace)...)
	Expect(r.err).NotTo(HaveOccurred(), "kubectl parcel %s: %s", strings.Join(args, " "), r.stderr)
	return r.stdout
}

// scan is one update the courier posts.
type scan struct {
	articleID, status, datetime, remarks string
	pod                                  []byte
}

// post sends one scan to the courier API as multipart and returns the
// answer's result.
func post(s scan) string {
	GinkgoHelper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	form, err := json.Marshal(map[string]string{
		"articleId": s.articleID, "track_status": s.status, "track_datetime": s.datetime, "remarks": s.remarks,
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(mw.WriteField("form_data", string(form))).To(Succeed())
	if s.pod != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="pod_file"; filename="pod.pdf"`)
		h.Set("Content-Type", "application/pdf")
		part, err := mw.CreatePart(h)
		Expect(err).NotTo(HaveOccurred())
		_, err = part.Write(s.pod)
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(mw.Close()).To(Succeed())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL+"/api/v1/webhook/parcel-status", &buf)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+courierToken)
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	var answer struct {
		Result string `json:"result"`
	}
	Expect(json.Unmarshal(raw, &answer)).To(Succeed(), "answer %d: %s", resp.StatusCode, raw)
	Expect(answer.Result).NotTo(BeEmpty(), "answer %d: %s", resp.StatusCode, raw)
	return answer.Result
}

// settled waits until the manager has reconciled the parcel's latest spec
// and everything in it is done (Ready), and returns the parcel.
func settled(articleID string) *trackingv1alpha1.Parcel {
	GinkgoHelper()
	p := &trackingv1alpha1.Parcel{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: trackingv1alpha1.ParcelName(articleID)}, p)).To(Succeed())
		g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
		ready := findCondition(p, trackingv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
	}).WithTimeout(time.Minute).Should(Succeed())
	return p
}

func findCondition(p *trackingv1alpha1.Parcel, t string) *metav1.Condition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// pdf is a proof-of-delivery file of size bytes past its header.
func pdf(seed byte, size int) []byte {
	b := []byte("%PDF-1.7\n")
	for i := range size {
		b = append(b, seed+byte(i%61))
	}
	return b
}

// table splits a kubectl-style table into its header's column offsets and
// its rows, and checks that every cell starts at its column's offset.
func table(out string) (header []string, rows [][]string) {
	GinkgoHelper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	Expect(lines).NotTo(BeEmpty())
	head := lines[0]
	var offsets []int
	for i := 0; i < len(head); i++ {
		if head[i] != ' ' && (i == 0 || (i >= 2 && head[i-1] == ' ' && head[i-2] == ' ')) {
			offsets = append(offsets, i)
		}
	}
	cut := func(line string) []string {
		cells := make([]string, len(offsets))
		for j, off := range offsets {
			end := len(line)
			if j+1 < len(offsets) {
				end = min(offsets[j+1], len(line))
			}
			Expect(len(line)).To(BeNumerically(">", off), "line %q is shorter than column %d", line, j)
			Expect(off == 0 || line[off-1] == ' ').To(BeTrue(), "line %q: a cell straddles column %d", line, j)
			cells[j] = strings.TrimSpace(line[off:end])
		}
		return cells
	}
	header = cut(head)
	for _, l := range lines[1:] {
		rows = append(rows, cut(l))
	}
	return header, rows
}
