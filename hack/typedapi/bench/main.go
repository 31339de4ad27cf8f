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

// Command bench measures the typed Parcel API server (hack/typedapi)
// beside the Parcel CRD in one run on one machine: creates and the
// courier API's append at increasing concurrency on three paths (the
// CRD, the typed server directly, the typed server through kube-apiserver's
// aggregator), with each server process's CPU per write and a watch's
// delivery lag; then each server's memory and a full paginated LIST as
// Parcels accumulate. It prints Markdown tables and writes the figures as
// JSON. See docs/scale.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
	"github.com/parcelops/parcel-operator/hack/typedapi/apiserver"
	"github.com/parcelops/parcel-operator/hack/typedapi/harness"
	"github.com/parcelops/parcel-operator/internal/testenv"
)

// The operations a write step runs.
const (
	opCreate = "create"
	opAppend = "append"
)

// The server processes, by the command name (comm) /proc gives them.
const (
	roleKubeAPIServer   = "kube-apiserver"
	roleEtcd            = "etcd"
	roleParcelAPIServer = "parcel-apiserver"
	roleParcelEtcd      = "parcel-etcd"
)

// The paths measured.
const (
	pathCRD        = "crd"
	pathDirect     = "typed-direct"
	pathAggregated = "typed-aggregated"
)

type options struct {
	writers []int
	step    time.Duration
	series  seriesOptions
	out     string
}

type results struct {
	Started      time.Time     `json:"started"`
	Finished     time.Time     `json:"finished"`
	GoVersion    string        `json:"goVersion"`
	CPUs         int           `json:"cpus"`
	LoadAvgStart string        `json:"loadAvgStart"`
	LoadAvgEnd   string        `json:"loadAvgEnd"`
	Step         string        `json:"step"`
	Writes       []writeResult `json:"writes"`
	Series       []scaleSeries `json:"series"`
}

func main() {
	var (
		o               options
		writers, levels string
		rssLimitMB      int
		quick           bool
	)
	flag.StringVar(&writers, "writers", "1,4,16,64", "Comma-separated concurrent writers, one step each.")
	flag.DurationVar(&o.step, "step", 10*time.Second, "How long each write step (creates, then appends) runs.")
	flag.StringVar(&levels, "objects", "25000,75000,150000,300000", "Comma-separated Parcel counts to measure memory and LIST at; empty skips.")
	flag.IntVar(&o.series.loaders, "loaders", 32, "Concurrent writers loading Parcels for the memory series.")
	flag.IntVar(&rssLimitMB, "rss-limit-mb", 8000, "Stop a server's series once its API server's RSS passes this.")
	flag.DurationVar(&o.series.budget, "load-budget", 20*time.Minute, "Stop a server's series once loading it has taken this long.")
	flag.StringVar(&o.out, "out", "bin/typedapi/results.json", "Where the JSON results go.")
	flag.BoolVar(&quick, "quick", false, "A development-sized run: writers 1,4, 3 s steps, 2,000 and 4,000 Parcels.")
	flag.Parse()
	if quick {
		writers, levels, o.step = "1,4", "2000,4000", 3*time.Second
	}
	var err error
	if o.writers, err = parseInts(writers); err != nil || len(o.writers) == 0 {
		fatalf("-writers=%q: want comma-separated positive integers", writers)
	}
	if o.series.levels, err = parseInts(levels); err != nil {
		fatalf("-objects=%q: want comma-separated positive integers", levels)
	}
	slices.Sort(o.series.levels)
	if o.series.loaders < 1 || rssLimitMB < 1 {
		fatalf("-loaders and -rss-limit-mb must be positive")
	}
	o.series.rssLimit = int64(rssLimitMB) << 20

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o)
	if res != nil {
		res.Finished, res.LoadAvgEnd = time.Now().UTC(), loadAverage()
		err = errors.Join(err, printTables(os.Stdout, res))
		if werr := writeJSON(o.out, res); werr != nil {
			err = errors.Join(err, werr)
		} else {
			logf("results written to %s", o.out)
		}
	}
	if err != nil {
		fatalf("%v", err)
	}
}

// planes is everything the run starts.
type planes struct {
	tmp        string
	crd        *envtest.Environment
	crdEtcdDir string
	aggregated *harness.Aggregated
	targets    map[string]*target
}

func (p *planes) stopCRD() {
	if p.crd != nil {
		if err := p.crd.Stop(); err != nil {
			logf("stopping the CRD control plane: %v", err)
		}
		p.crd = nil
	}
}

func (p *planes) close() {
	p.stopCRD()
	if p.aggregated != nil {
		p.aggregated.Stop()
	}
	_ = os.RemoveAll(p.tmp)
}

func run(ctx context.Context, o options) (*results, error) {
	res := &results{Started: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		LoadAvgStart: loadAverage(), Step: o.step.String()}
	p, err := start(ctx)
	if p != nil {
		defer p.close()
	}
	if err != nil {
		return nil, err
	}
	order := []string{pathCRD, pathDirect, pathAggregated}
	for _, c := range o.writers {
		ns := fmt.Sprintf("bench-w%d", c)
		if err := p.createNamespace(ctx, ns); err != nil {
			return res, err
		}
		// The three paths one after another at each concurrency, so a
		// change in the machine's load hits all three alike.
		for _, name := range order {
			t := p.targets[name]
			ws := make([]*writer, c)
			for i := range ws {
				ws[i] = &writer{}
			}
			// The typed paths share one store: each gets its own namespace.
			tns := ns
			if name == pathAggregated {
				tns = ns + "-agg"
			}
			for _, op := range []string{opCreate, opAppend} {
				r, err := runWriteStep(ctx, t, tns, ws, op, o.step)
				if err != nil {
					return res, err
				}
				logf("%s, %d writers, %ss: %.0f/s, p99 %.1f ms, CPU %.2f ms/write, watch lag p99 %.1f ms, %d errors",
					name, c, op, r.PerSec, r.P99Millis, r.CPUMillisPerWrite["total"], r.WatchLagP99Millis, r.Errors)
				res.Writes = append(res.Writes, r)
			}
		}
	}
	if len(o.series.levels) == 0 {
		return res, nil
	}
	if err := p.createNamespace(ctx, scaleNamespace); err != nil {
		return res, err
	}
	have := func(path string) int {
		n := 0
		for _, w := range res.Writes {
			if w.Op == opCreate && (w.Target == path || (path == pathDirect && w.Target == pathAggregated)) {
				n += w.Writes
			}
		}
		return n
	}
	crd := p.targets[pathCRD]
	res.Series = append(res.Series, runSeries(ctx, pathCRD, crd, []*target{crd}, roleKubeAPIServer,
		p.crdEtcdDir, have(pathCRD), o.series))
	// The CRD's control plane holds gigabytes by now; the machine is shared.
	p.stopCRD()
	direct := p.targets[pathDirect]
	res.Series = append(res.Series, runSeries(ctx, "typed", direct, []*target{direct, p.targets[pathAggregated]},
		roleParcelAPIServer, p.aggregated.EtcdDataDir, have(pathDirect), o.series))
	return res, nil
}

// start starts the CRD's control plane and the aggregated one, and
// resolves the three paths and their processes.
func start(ctx context.Context) (*planes, error) {
	tmp, err := os.MkdirTemp("", "typedapi-bench-")
	if err != nil {
		return nil, err
	}
	p := &planes{tmp: tmp, targets: map[string]*target{}}
	assets, err := testenv.AssetsDir()
	if err != nil {
		return p, err
	}
	logf("building parcel-apiserver")
	bin, err := harness.BuildServer(ctx, tmp)
	if err != nil {
		return p, err
	}
	logf("starting kube-apiserver, the typed server and their etcds")
	aggDir := filepath.Join(tmp, "aggregated")
	if err := os.MkdirAll(aggDir, 0o750); err != nil {
		return p, err
	}
	if p.aggregated, err = harness.Start(ctx, aggDir, bin); err != nil {
		return p, err
	}
	logf("starting the CRD's kube-apiserver and etcd")
	p.crdEtcdDir = filepath.Join(tmp, "crd-etcd")
	p.crd = harness.NewEnvironment(assets, p.crdEtcdDir)
	p.crd.CRDDirectoryPaths = []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}
	p.crd.ErrorIfCRDPathMissing = true
	if _, err := p.crd.Start(); err != nil {
		return p, fmt.Errorf("starting the CRD control plane: %w", err)
	}
	_, crdCfg, err := testenv.Admin(p.crd, "bench-admin", tmp)
	if err != nil {
		return p, err
	}

	crdProcs, err := planeProcs(p.crd)
	if err != nil {
		return p, err
	}
	aggProcs, err := planeProcs(p.aggregated.Env)
	if err != nil {
		return p, err
	}
	typed := procSet{roleParcelAPIServer: p.aggregated.Server.Pid(), roleParcelEtcd: p.aggregated.Etcd.Pid()}
	direct := procSet{roleKubeAPIServer: aggProcs[roleKubeAPIServer]}
	for role, pid := range typed {
		direct[role] = pid
	}

	crdScheme := k8sruntime.NewScheme()
	utilruntime.Must(trackingv1alpha1.AddToScheme(crdScheme))
	crdCodecs := serializer.NewCodecFactory(crdScheme)
	newCRDList := func() k8sruntime.Object { return &trackingv1alpha1.ParcelList{} }
	newTypedList := func() k8sruntime.Object { return &v1alpha1.ParcelList{} }
	for _, t := range []struct {
		name    string
		cfg     *rest.Config
		codecs  serializer.CodecFactory
		accept  string
		procs   procSet
		newList func() k8sruntime.Object
	}{
		{pathCRD, crdCfg, crdCodecs, mediaJSON, crdProcs, newCRDList},
		{pathDirect, p.aggregated.Direct, apiserver.Codecs, mediaProtobuf, direct, newTypedList},
		// Through the aggregator, kube-apiserver B is part of every write.
		{pathAggregated, p.aggregated.Config, apiserver.Codecs, mediaProtobuf, direct, newTypedList},
	} {
		if p.targets[t.name], err = newTarget(t.name, t.cfg, t.codecs, t.accept, t.procs, t.newList); err != nil {
			return p, err
		}
	}
	return p, nil
}

// planeProcs finds an envtest control plane's kube-apiserver and etcd
// among this process's children by the etcd address both name.
func planeProcs(env *envtest.Environment) (procSet, error) {
	marker := env.ControlPlane.Etcd.URL.Host
	apiserverPid, err := childPid(roleKubeAPIServer, marker)
	if err != nil {
		return nil, err
	}
	etcdPid, err := childPid(roleEtcd, marker)
	if err != nil {
		return nil, err
	}
	return procSet{roleKubeAPIServer: apiserverPid, roleEtcd: etcdPid}, nil
}

// createNamespace creates ns in both control planes (the CRD's may be
// stopped already) and ns-agg in the aggregated one.
func (p *planes) createNamespace(ctx context.Context, ns string) error {
	var cfgs []*rest.Config
	if p.crd != nil {
		cfgs = append(cfgs, p.crd.Config)
	}
	cfgs = append(cfgs, p.aggregated.Config)
	for _, cfg := range cfgs {
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		for _, name := range []string{ns, ns + "-agg"} {
			if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}},
				metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating namespace %s: %w", name, err)
			}
		}
	}
	return nil
}

func parseInts(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func writeJSON(path string, res *results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("creating the results directory: %w", err)
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o600)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s typedapi-bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	os.Exit(1)
}
