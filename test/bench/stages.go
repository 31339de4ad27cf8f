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
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/pprof/profile"
)

// stage is one part of kube-apiserver's request path, named by the
// functions a CPU sample's stack passes through in it.
type stage struct {
	name  string
	funcs *regexp.Regexp
}

// apiServerStages are what a kube-apiserver CPU profile is read by. A
// sample counts under every stage its stack passes through, so the shares
// overlap (a decode inside a patch is in both) and do not add up to 100%.
var apiServerStages = []stage{
	{"GC marking (background workers and allocation assists)", regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcAssistAlloc)$`)},
	{"allocation (mallocgc, its assists included)", regexp.MustCompile(`^runtime\.mallocgc$`)},
	{"decode (request bodies, stored objects, schema coercion)", regexp.MustCompile(
		`^k8s\.io/apimachinery/pkg/runtime/serializer/versioning\.\(\*codec\)\.Decode$|^k8s\.io/apimachinery/pkg/runtime\.Decode(Into)?$|` +
			`^sigs\.k8s\.io/json/`)},
	{"patch apply (merge patches onto the stored object)", regexp.MustCompile(
		`^k8s\.io/apiserver/pkg/endpoints/handlers\.\(\*patcher\)\.applyPatch$`)},
	{"CEL rules (x-kubernetes-validations)", regexp.MustCompile(
		`^github\.com/google/cel-go/|^k8s\.io/apiextensions-apiserver/pkg/apiserver/schema/cel\.`)},
	{"OpenAPI schema validation", regexp.MustCompile(`^k8s\.io/kube-openapi/pkg/validation/`)},
	{"managedFields (fieldmanager, structured-merge-diff)", regexp.MustCompile(
		`^k8s\.io/apimachinery/pkg/util/managedfields/|^sigs\.k8s\.io/structured-merge-diff/`)},
	{"deep copies of unstructured objects", regexp.MustCompile(
		`^k8s\.io/apimachinery/pkg/runtime\.DeepCopyJSON$|^k8s\.io/apimachinery/pkg/apis/meta/v1/unstructured\.\(\*Unstructured\)\.DeepCopy$`)},
	{"encode (responses, stored values, watch events)", regexp.MustCompile(`^k8s\.io/apimachinery/pkg/.*\.doEncode$`)},
	{"etcd round trips (gRPC client)", regexp.MustCompile(`^go\.etcd\.io/etcd/client/|^google\.golang\.org/grpc\.`)},
	{"watch (etcd watch decode, watch cache, fan-out)", regexp.MustCompile(
		`^k8s\.io/apiserver/pkg/storage/etcd3\.\(\*watchChan\)\.|` +
			`^k8s\.io/apiserver/pkg/storage/cacher\.\(\*(Cacher|cacheWatcher|watchCache|cachingObject)\)\.`)},
	{"admission", regexp.MustCompile(`^k8s\.io/apiserver/pkg/admission\.`)},
	{"priority and fairness", regexp.MustCompile(`^k8s\.io/apiserver/pkg/util/flowcontrol\.`)},
	{"authentication and authorization", regexp.MustCompile(`^k8s\.io/apiserver/pkg/(authentication|authorization)/`)},
	{"audit (the benchmark's policy and log)", regexp.MustCompile(`^k8s\.io/apiserver/pkg/audit\.|^k8s\.io/apiserver/plugin/pkg/audit/`)},
	{"HTTP/2 and TLS", regexp.MustCompile(`^crypto/tls\.|^net/http/internal/http2\.|^golang\.org/x/net/http2\.`)},
}

// stageShare is the share of a profile's CPU samples whose stacks pass
// through one stage.
type stageShare struct {
	Stage string  `json:"stage"`
	Share float64 `json:"share"`
}

// readStages reads a CPU profile and returns the share of its CPU time
// under each of apiServerStages, in their order, and the time it sampled.
func readStages(file string) ([]stageShare, float64, error) {
	data, err := os.ReadFile(file) //nolint:gosec // a profile this run or its user named
	if err != nil {
		return nil, 0, fmt.Errorf("reading a CPU profile: %w", err)
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, 0, fmt.Errorf("parsing the CPU profile %s: %w", file, err)
	}
	shares, total, err := stageShares(p, apiServerStages)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	return shares, total, nil
}

// stageShares sums p's CPU time by the stages its samples' stacks pass
// through and returns each as a share of the whole, and the whole in
// seconds.
func stageShares(p *profile.Profile, stages []stage) ([]stageShare, float64, error) {
	value := -1
	for i, t := range p.SampleType {
		if t.Type == "cpu" && t.Unit == "nanoseconds" {
			value = i
		}
	}
	if value < 0 {
		return nil, 0, fmt.Errorf("not a CPU profile: no cpu/nanoseconds sample type")
	}
	sums := make([]int64, len(stages))
	var total int64
	for _, s := range p.Sample {
		v := s.Value[value]
		total += v
		for i, st := range stages {
			if passesThrough(s, st.funcs) {
				sums[i] += v
			}
		}
	}
	out := make([]stageShare, len(stages))
	for i, st := range stages {
		out[i] = stageShare{Stage: st.name}
		if total > 0 {
			out[i].Share = round3(float64(sums[i]) / float64(total))
		}
	}
	return out, float64(total) / 1e9, nil
}

// passesThrough reports whether any frame of the sample's stack, inlined
// ones included, is a function funcs matches.
func passesThrough(s *profile.Sample, funcs *regexp.Regexp) bool {
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function != nil && funcs.MatchString(line.Function.Name) {
				return true
			}
		}
	}
	return false
}

// printProfileStages prints where the CPU of saved kube-apiserver
// profiles went, a column per profile, as a run prints its own.
func printProfileStages(w io.Writer, files []string) error {
	steps := make([]stepResult, 0, len(files))
	for _, file := range files {
		st := stepResult{Name: strings.TrimSuffix(filepath.Base(file), ".pprof")}
		var err error
		if st.APIServerStages, st.APIServerProfileSeconds, err = readStages(file); err != nil {
			return err
		}
		steps = append(steps, st)
	}
	p := &printer{out: w, w: w}
	printStages(p, steps)
	return p.err
}
