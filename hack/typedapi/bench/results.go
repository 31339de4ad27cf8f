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
	"strings"
)

// printTables prints the results as the Markdown tables docs/scale.md
// carries.
func printTables(out io.Writer, res *results) error {
	w := &strings.Builder{}
	fmt.Fprintf(w, "\n%d CPUs, %s, load average %s at the start, %s at the end; %s steps.\n\n",
		res.CPUs, res.GoVersion, res.LoadAvgStart, res.LoadAvgEnd, res.Step)
	fmt.Fprintln(w, "| path | writers | op | writes/s | p50 ms | p99 ms | server CPU ms/write (by process) | watch lag p50 / p99 ms | errors |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range res.Writes {
		fmt.Fprintf(w, "| %s | %d | %s | %.0f | %.1f | %.1f | %.2f (%s) | %.1f / %.1f | %d |\n",
			r.Target, r.Writers, r.Op, r.PerSec, r.P50Millis, r.P99Millis, r.CPUMillisPerWrite["total"],
			byProcess(r.CPUMillisPerWrite), r.WatchLagP50Millis, r.WatchLagP99Millis, r.Errors)
	}
	for _, s := range res.Series {
		main := roleKubeAPIServer
		if s.Target != pathCRD {
			main = roleParcelAPIServer
		}
		fmt.Fprintf(w, "\n%s (RSS of %s; marginal memory from the previous row):\n\n", s.Target, main)
		fmt.Fprintf(w, "| Parcels of %d events loaded (all Parcels) | load writes/s | RSS MB (by process) | marginal KB/Parcel | etcd data MB | full LIST s (by path) |\n", eventsPerParcel)
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		for i, p := range s.Points {
			marginal := "–"
			if i > 0 {
				prev := s.Points[i-1]
				if d := p.Loaded - prev.Loaded; d > 0 {
					marginal = fmt.Sprintf("%.1f", float64(p.RSSBytes[main]-prev.RSSBytes[main])/1024/float64(d))
				}
			}
			rss := make([]string, 0, len(p.RSSBytes))
			for _, role := range sortedKeys(p.RSSBytes) {
				rss = append(rss, fmt.Sprintf("%s %d", role, p.RSSBytes[role]>>20))
			}
			lists := make([]string, 0, len(p.ListSeconds))
			for _, path := range sortedKeys(p.ListSeconds) {
				lists = append(lists, fmt.Sprintf("%s %.1f", path, p.ListSeconds[path]))
			}
			fmt.Fprintf(w, "| %d (%d) | %.0f | %d (%s) | %s | %d | %s |\n", p.Loaded, p.Objects, p.LoadWritesPerSec,
				p.RSSBytes[main]>>20, strings.Join(rss, ", "), marginal, p.EtcdDataBytes>>20, strings.Join(lists, ", "))
		}
		if s.Stopped != "" {
			fmt.Fprintf(w, "\n%s\n", s.Stopped)
		}
	}
	_, err := io.WriteString(out, w.String())
	return err
}

func byProcess(m map[string]float64) string {
	var out []string
	for _, role := range sortedKeys(m) {
		if role != "total" {
			out = append(out, fmt.Sprintf("%s %.2f", role, m[role]))
		}
	}
	return strings.Join(out, ", ")
}
