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
	"bytes"
	"os"
	"path/filepath"
	"regexp"

	"github.com/google/pprof/profile"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// stack is one CPU sample: its nanoseconds and its frames, leaf first; a
// frame of several names is one location with inlined functions.
type stack struct {
	ns     int64
	frames [][]string
}

// cpuProfile builds a CPU profile of the given samples.
func cpuProfile(samples ...stack) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	funcs := map[string]*profile.Function{}
	for _, st := range samples {
		s := &profile.Sample{Value: []int64{st.ns / p.Period, st.ns}}
		for _, frame := range st.frames {
			loc := &profile.Location{ID: uint64(len(p.Location) + 1)}
			for _, name := range frame {
				f, ok := funcs[name]
				if !ok {
					f = &profile.Function{ID: uint64(len(p.Function) + 1), Name: name}
					funcs[name] = f
					p.Function = append(p.Function, f)
				}
				loc.Line = append(loc.Line, profile.Line{Function: f})
			}
			p.Location = append(p.Location, loc)
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	return p
}

var _ = Describe("kube-apiserver CPU by stage", func() {
	const (
		patch  = "k8s.io/apiserver/pkg/endpoints/handlers.(*patcher).patchResource"
		decode = "k8s.io/apimachinery/pkg/runtime/serializer/json.(*Serializer).Decode"
		cel    = "github.com/google/cel-go/interpreter.(*evalEq).Eval"
		mark   = "runtime.gcBgMarkWorker"
	)
	testStages := []stage{
		{"patch", regexp.MustCompile(`\(\*patcher\)`)},
		{"decode", regexp.MustCompile(`\.Decode$`)},
		{"CEL", regexp.MustCompile(`^github\.com/google/cel-go/`)},
		{"GC", regexp.MustCompile(`^runtime\.gcBgMarkWorker$`)},
	}

	DescribeTable("shares of the whole, a sample under every stage its stack passes through",
		func(samples []stack, want []float64, wantSeconds float64) {
			shares, total, err := stageShares(cpuProfile(samples...), testStages)
			Expect(err).NotTo(HaveOccurred())
			Expect(total).To(BeNumerically("~", wantSeconds, 1e-9))
			got := make([]float64, len(shares))
			for i, s := range shares {
				Expect(s.Stage).To(Equal(testStages[i].name))
				got[i] = s.Share
			}
			Expect(got).To(Equal(want))
		},
		Entry("a stack under two stages counts in both", []stack{
			{300e6, [][]string{{decode}, {patch}}},
			{100e6, [][]string{{mark}}},
		}, []float64{0.75, 0.75, 0, 0.25}, 0.4),
		Entry("a function inlined into another frame counts", []stack{
			{200e6, [][]string{{"k8s.io/apiserver/pkg/cel.(*Filter).ForInput", cel}, {patch}}},
			{200e6, [][]string{{"main.other"}}},
		}, []float64{0.5, 0, 0.5, 0}, 0.4),
		Entry("a stage twice in one stack counts once", []stack{
			{100e6, [][]string{{decode}, {"k8s.io/apimachinery/pkg/runtime.Decode"}, {patch}}},
		}, []float64{1, 1, 0, 0}, 0.1),
		Entry("no sample: nothing, not a division by zero", []stack{}, []float64{0, 0, 0, 0}, 0.0),
	)

	It("refuses a profile without CPU time", func() {
		heap := &profile.Profile{SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}}}
		_, _, err := stageShares(heap, testStages)
		Expect(err).To(MatchError(ContainSubstring("no cpu/nanoseconds sample type")))
	})

	It("reads a saved profile and prints a column for it", func() {
		var buf bytes.Buffer
		Expect(cpuProfile(stack{2e9, [][]string{{"k8s.io/apimachinery/pkg/runtime/serializer/versioning.(*codec).doEncode"},
			{"k8s.io/apiserver/pkg/endpoints/handlers.(*patcher).applyPatch"}}}).Write(&buf)).To(Succeed())
		file := filepath.Join(GinkgoT().TempDir(), "apiserver-cpu-I03.pprof")
		Expect(os.WriteFile(file, buf.Bytes(), 0o600)).To(Succeed())

		var out bytes.Buffer
		Expect(printProfileStages(&out, []string{file})).To(Succeed())
		Expect(out.String()).To(ContainSubstring("apiserver-cpu-I03 (2 CPU-s)"))
		Expect(out.String()).To(MatchRegexp(`patch apply \(merge patches onto the stored object\)\s+100%`))
		Expect(out.String()).To(MatchRegexp(`encode \(responses, stored values, watch events\)\s+100%`))
		Expect(out.String()).To(MatchRegexp(`CEL rules \(x-kubernetes-validations\)\s+0%`))
	})

	It("names the file it cannot read", func() {
		_, _, err := readStages(filepath.Join(GinkgoT().TempDir(), "missing.pprof"))
		Expect(err).To(MatchError(ContainSubstring("missing.pprof")))
	})
})
