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

package chart_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// release and namespace are what config/default's namePrefix and namespace
// amount to: `helm install parcel-operator dist/chart -n parcel-operator-system`.
const (
	release   = "parcel-operator"
	namespace = "parcel-operator-system"
)

// setFlag is helm's flag for one value.
const setFlag = "--set"

// everyOptionalPart turns on every part the default values leave off.
var everyOptionalPart = []string{
	setFlag, "serviceMonitor.enabled=true",
	setFlag, "prometheusRule.enabled=true",
	setFlag, "dashboard.enabled=true",
	setFlag, "webhook.tls.enabled=true",
}

// template renders the chart as `helm install` would, CRDs included.
func template(args ...string) (string, error) {
	return run(nil, helm, append([]string{"template", release, chartDir, "--namespace", namespace, "--include-crds"}, args...)...)
}

// objects decodes a multi-document YAML stream, skipping empty documents.
func objects(stream string) []*unstructured.Unstructured {
	GinkgoHelper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		Expect(err).NotTo(HaveOccurred())
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func key(u *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s/%s", u.GroupVersionKind().GroupKind(), u.GetNamespace(), u.GetName())
}

func byKey(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	GinkgoHelper()
	m := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		Expect(m).NotTo(HaveKey(key(u)), "rendered twice")
		m[key(u)] = u
	}
	return m
}

// chartLabels are the labels the chart puts on every templated object in
// place of config/default's app.kubernetes.io/managed-by=kustomize: Helm's
// standard labels, with the values of Chart.yaml and the release.
func chartLabels() map[string]string {
	GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var chart struct{ Name, Version, AppVersion string }
	Expect(yaml.Unmarshal(raw, &chart)).To(Succeed())
	return map[string]string{
		"app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/instance":   release,
		"app.kubernetes.io/version":    chart.AppVersion,
		"helm.sh/chart":                chart.Name + "-" + chart.Version,
	}
}

// normalize applies the equality rule to one pair: the chart's object must
// carry chartLabels, which are then removed, and config/default's
// managed-by=kustomize is removed; where config/default has no
// app.kubernetes.io/name (the ClusterRole controller-gen writes), the
// chart's app.kubernetes.io/name=parcel-operator is removed too. Everything
// else, pod template labels and selectors included, must be equal.
func normalize(fromChart, fromKustomize *unstructured.Unstructured, want map[string]string) {
	GinkgoHelper()
	got := fromChart.GetLabels()
	kz := fromKustomize.GetLabels()
	if fromChart.GetKind() != "CustomResourceDefinition" {
		for k, v := range want {
			Expect(got).To(HaveKeyWithValue(k, v), "%s: a chart label", key(fromChart))
			delete(got, k)
		}
		if _, ok := kz["app.kubernetes.io/name"]; !ok {
			Expect(got).To(HaveKeyWithValue("app.kubernetes.io/name", "parcel-operator"), key(fromChart))
			delete(got, "app.kubernetes.io/name")
		}
	}
	if kz != nil {
		Expect(kz).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "kustomize"), key(fromKustomize))
		delete(kz, "app.kubernetes.io/managed-by")
	}
	for _, p := range []struct {
		u      *unstructured.Unstructured
		labels map[string]string
	}{{fromChart, got}, {fromKustomize, kz}} {
		if len(p.labels) == 0 {
			unstructured.RemoveNestedField(p.u.Object, "metadata", "labels")
		} else {
			p.u.SetLabels(p.labels)
		}
	}
}

// managerArgs returns the manager container's args from a render.
func managerArgs(rendered string) []string {
	GinkgoHelper()
	for _, u := range objects(rendered) {
		if u.GetKind() != "Deployment" {
			continue
		}
		containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		Expect(err).NotTo(HaveOccurred())
		args, _, err := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
		Expect(err).NotTo(HaveOccurred())
		return args
	}
	Fail("no Deployment rendered")
	return nil
}

func readFile(path ...string) []byte {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join(append([]string{root}, path...)...))
	Expect(err).NotTo(HaveOccurred())
	return b
}

var _ = Describe("dist/chart", func() {
	It("passes helm lint --strict, with the default values and with every optional part on", func() {
		Expect(mustRun(nil, helm, "lint", "--strict", chartDir)).To(ContainSubstring("0 chart(s) failed"))
		Expect(mustRun(nil, helm, append([]string{"lint", "--strict", chartDir}, everyOptionalPart...)...)).
			To(ContainSubstring("0 chart(s) failed"))
	})

	It("renders, with default values, the objects of `kustomize build config/default`, modulo the chart's labels", func() {
		rendered, err := template()
		Expect(err).NotTo(HaveOccurred())
		fromChart := byKey(objects(rendered))
		fromKustomize := byKey(objects(mustRun(nil, kustomize, "build", "config/default")))

		// The one object the chart leaves out: Helm installs into a
		// namespace that exists (or --create-namespace) and cannot own it.
		ns := "Namespace /" + namespace
		Expect(fromKustomize).To(HaveKey(ns))
		delete(fromKustomize, ns)

		Expect(slices.Sorted(maps.Keys(fromChart))).To(Equal(slices.Sorted(maps.Keys(fromKustomize))))
		want := chartLabels()
		for k, kz := range fromKustomize {
			normalize(fromChart[k], kz, want)
			Expect(cmp.Diff(kz.Object, fromChart[k].Object)).To(BeEmpty(), "%s: config/default (-) against the chart (+)", k)
		}
	})

	It("holds byte-for-byte copies of the generated and shared files it reads (make manifests writes them)", func() {
		crds, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(crds).NotTo(BeEmpty())
		copies, err := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(copies).To(HaveLen(len(crds)))
		pairs := map[string]string{
			"config/rbac/role.yaml":               "dist/chart/files/role.yaml",
			"config/prometheus/rules.yaml":        "dist/chart/files/rules.yaml",
			"config/grafana/parcel-operator.json": "dist/chart/files/parcel-operator.json",
		}
		for _, crd := range crds {
			pairs[filepath.Join("config", "crd", "bases", filepath.Base(crd))] = filepath.Join("dist", "chart", "crds", filepath.Base(crd))
		}
		for src, cp := range pairs {
			Expect(bytes.Equal(readFile(cp), readFile(src))).To(BeTrue(), "%s differs from %s: run make manifests", cp, src)
		}
	})

	It("renders the ServiceMonitor and the PrometheusRule that config/prometheus has", func() {
		rendered, err := template(setFlag, "serviceMonitor.enabled=true", setFlag, "prometheusRule.enabled=true")
		Expect(err).NotTo(HaveOccurred())
		fromKustomize := map[string]*unstructured.Unstructured{}
		for _, u := range objects(mustRun(nil, kustomize, "build", "config/prometheus")) {
			fromKustomize[u.GetKind()] = u
		}
		Expect(fromKustomize).To(HaveKey("ServiceMonitor"))
		Expect(fromKustomize).To(HaveKey("PrometheusRule"))
		found := 0
		for _, u := range objects(rendered) {
			kz, ok := fromKustomize[u.GetKind()]
			if !ok {
				continue
			}
			found++
			Expect(cmp.Diff(kz.Object["spec"], u.Object["spec"])).To(BeEmpty(), "%s: config/prometheus (-) against the chart (+)", u.GetKind())
		}
		Expect(found).To(Equal(2))

		var rules map[string]any
		Expect(yaml.Unmarshal(readFile("config", "prometheus", "rules.yaml"), &rules)).To(Succeed())
		Expect(cmp.Diff(rules, fromKustomize["PrometheusRule"].Object["spec"])).To(BeEmpty(),
			"config/prometheus/prometheus_rule.yaml is not config/prometheus/rules.yaml: run make manifests")
	})

	It("serves the courier API over HTTPS from a cert-manager Certificate for its own Service, as config/components/webhook-tls does", func() {
		rendered, err := template(setFlag, "webhook.tls.enabled=true")
		Expect(err).NotTo(HaveOccurred())
		objs := byKey(objects(rendered))
		svc := objs["Service "+namespace+"/"+release+"-webhook-service"]
		Expect(svc).NotTo(BeNil())
		ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
		Expect(ports).To(ConsistOf(HaveKeyWithValue("port", BeNumerically("==", 443))))

		cert := objs["Certificate.cert-manager.io "+namespace+"/"+release+"-webhook-serving-cert"]
		Expect(cert).NotTo(BeNil())
		dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		Expect(dnsNames).To(Equal([]string{
			release + "-webhook-service." + namespace + ".svc",
			release + "-webhook-service." + namespace + ".svc.cluster.local",
		}))
		issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
		Expect(objs).To(HaveKey("Issuer.cert-manager.io " + namespace + "/" + issuer))
		secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")

		dep := objs["Deployment.apps "+namespace+"/"+release+"-controller-manager"]
		Expect(managerArgs(rendered)).To(ContainElement("--webhook-cert-dir=/etc/parcel-operator/webhook-tls"))
		volumes, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "volumes")
		Expect(volumes).To(ConsistOf(HaveKeyWithValue("secret", HaveKeyWithValue("secretName", secret))))

		withIssuer, err := template(setFlag, "webhook.tls.enabled=true",
			setFlag, "webhook.tls.issuerRef.kind=ClusterIssuer", setFlag, "webhook.tls.issuerRef.name=corporate-ca")
		Expect(err).NotTo(HaveOccurred())
		Expect(withIssuer).NotTo(ContainSubstring("kind: Issuer\n"))
		Expect(withIssuer).To(ContainSubstring("name: corporate-ca"))
	})

	It("puts the dashboard of config/grafana in a ConfigMap for Grafana's sidecar", func() {
		rendered, err := template(setFlag, "dashboard.enabled=true")
		Expect(err).NotTo(HaveOccurred())
		cm := byKey(objects(rendered))["ConfigMap "+namespace+"/"+release+"-dashboard"]
		Expect(cm).NotTo(BeNil())
		Expect(cm.GetLabels()).To(HaveKeyWithValue("grafana_dashboard", "1"))
		data, _, _ := unstructured.NestedString(cm.Object, "data", "parcel-operator.json")
		Expect(data).To(MatchJSON(readFile("config", "grafana", "parcel-operator.json")))
	})

	It("is accepted object for object by the API server in a server-side dry run, with every optional part it can check", func() {
		rendered, err := template()
		Expect(err).NotTo(HaveOccurred())
		kc := filepath.Join(assets, "kubectl")
		mustRun(nil, kc, "--kubeconfig", kubeconfig, "create", "namespace", namespace)
		// The CRDs first, for real: a dry run cannot create them.
		mustRun(nil, kc, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", filepath.Join(chartDir, "crds"))
		out := mustRun([]byte(rendered), kc, "--kubeconfig", kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", "-")
		Expect(strings.Count(out, "serverside-applied (server dry run)")).To(Equal(len(objects(rendered))), out)
		for _, want := range []string{
			"deployment.apps/" + release + "-controller-manager",
			"clusterrole.rbac.authorization.k8s.io/" + release + "-manager-role",
			"poddisruptionbudget.policy/" + release + "-controller-manager",
			"networkpolicy.networking.k8s.io/" + release + "-allow-metrics-traffic",
		} {
			Expect(out).To(ContainSubstring(want+" serverside-applied (server dry run)"), out)
		}

		// The dashboard is a plain ConfigMap; every non-default flag
		// value the schema lets through must also be valid to the server.
		loaded, err := template(setFlag, "dashboard.enabled=true", setFlag, "podFilesOnDelete=Delete",
			setFlag, "archiveAfter=30d", setFlag, "rollOnConfigChange=true", setFlag, "metrics.secure=false",
			setFlag, "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/pods")
		Expect(err).NotTo(HaveOccurred())
		out = mustRun([]byte(loaded), kc, "--kubeconfig", kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", "-")
		Expect(strings.Count(out, "serverside-applied (server dry run)")).To(Equal(len(objects(loaded))), out)
	})

	// --set-json for the rate: --set leaves a fraction a string.
	DescribeTable("passes each value that maps to a manager flag",
		func(want, flag, value string) {
			rendered, err := template(flag, value)
			Expect(err).NotTo(HaveOccurred())
			Expect(managerArgs(rendered)).To(ContainElement(want))
		},
		Entry("leader election namespace", "--leader-election-namespace=ops", setFlag, "leaderElection.namespace=ops"),
		Entry("max concurrent reconciles", "--max-concurrent-reconciles=8", setFlag, "maxConcurrentReconciles=8"),
		Entry("staging grace", "--staging-grace=2h", setFlag, "stagingGrace=2h"),
		Entry("events", "--events=exceptions", setFlag, "events=exceptions"),
		Entry("private notification receivers", "--notification-allow-private-networks", setFlag,
			"notifications.allowPrivateNetworks=true"),
		Entry("signature tolerance", "--webhook-signature-tolerance=90s", setFlag, "webhook.signatureTolerance=90s"),
		Entry("max concurrent writes", "--webhook-max-concurrent-writes=16", setFlag, "webhook.maxConcurrentWrites=16"),
		Entry("unauthenticated rate", "--webhook-unauthenticated-rate=0.5", "--set-json", "webhook.unauthenticatedRate=0.5"),
		Entry("trusted proxies", "--webhook-trusted-proxies=10.0.0.0/8,fd00::/8", setFlag, "webhook.trustedProxies={10.0.0.0/8,fd00::/8}"),
		Entry("plain HTTP metrics", "--metrics-secure=false", setFlag, "metrics.secure=false"),
		Entry("HTTP/2 on metrics", "--enable-http2", setFlag, "metrics.enableHTTP2=true"),
		Entry("log level", "--zap-log-level=debug", setFlag, "logging.level=debug"),
		Entry("log encoder", "--zap-encoder=json", setFlag, "logging.encoder=json"),
		Entry("TLS", "--webhook-cert-dir=/etc/parcel-operator/webhook-tls", setFlag, "webhook.tls.enabled=true"),
	)

	DescribeTable("refuses a wrong value, naming it and what is allowed",
		func(set string, wants ...string) {
			_, err := template(setFlag, set)
			Expect(err).To(HaveOccurred())
			for _, w := range wants {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		Entry("podFilesOnDelete not Retain or Delete", "podFilesOnDelete=Keep", "podFilesOnDelete", "'Retain'", "'Delete'"),
		Entry("archiveAfter in words", "archiveAfter=30days", "archiveAfter", "does not match pattern"),
		Entry("no replicas", "replicaCount=0", "replicaCount", "minimum"),
		Entry("two replicas without leader election", "leaderElection.enabled=false", "leaderElection", "enabled", "true"),
		Entry("a misspelt key", "podBuckett=s3://x", "podBuckett", "additional properties"),
		Entry("a bucket URL without a scheme", "podBucket=parcel-pods", "podBucket", "does not match pattern"),
		Entry("a proxy that is not a CIDR", "webhook.trustedProxies={ingress}", "trustedProxies", "does not match pattern"),
		Entry("a duration Go cannot parse", "stagingGrace=1 hour", "stagingGrace"),
		Entry("an unknown log encoder", "logging.encoder=xml", "encoder", "'json'"),
		Entry("an unknown events setting", "events=some", "events", "'exceptions'"),
		Entry("an unknown pull policy", "image.pullPolicy=Sometimes", "pullPolicy", "'IfNotPresent'"),
		Entry("an issuer kind cert-manager does not have", "webhook.tls.issuerRef.kind=Vault", "issuerRef", "'ClusterIssuer'"),
	)
})
