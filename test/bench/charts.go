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
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Chart size: a page's width.
const (
	chartWidth  = 7 * vg.Inch
	chartHeight = 4 * vg.Inch
)

// drawCharts draws the run's figures as SVG files in dir: throughput
// against concurrency, answer and lag percentiles per step, and the
// manager's memory over the sustained step.
func drawCharts(dir string, r *results) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating the chart directory: %w", err)
	}
	return errors.Join(
		throughputChart(filepath.Join(dir, "throughput.svg"), r),
		percentileChart(filepath.Join(dir, "answer.svg"), "Answer latency per step",
			"answer latency (ms)", r.Steps, func(s stepResult) quantiles { return s.LatencyMs }),
		percentileChart(filepath.Join(dir, "lag.svg"), "Lag from answer to reconciled status per step",
			"lag (ms)", r.Steps, func(s stepResult) quantiles { return s.LagMs }),
		sustainedChart(filepath.Join(dir, "sustained.svg"), r.Sustained),
	)
}

// throughputChart draws R_raw and the accepted rate of each mix's
// unpaced steps against concurrency.
func throughputChart(file string, r *results) error {
	p := plot.New()
	p.Title.Text = "Writes per second against concurrency"
	p.X.Label.Text = "concurrent clients (writers for R_raw)"
	p.Y.Label.Text = "per second"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true

	raw, appends := make(plotter.XYs, 0, len(r.Raw)), make(plotter.XYs, 0, len(r.Raw))
	for _, x := range r.Raw {
		raw = append(raw, plotter.XY{X: float64(x.Concurrency), Y: x.MixPerSec})
		appends = append(appends, plotter.XY{X: float64(x.Concurrency), Y: x.AppendsPerSec})
	}
	lines := []any{"R_raw (1 create : 7 appends)", raw, "raw appends", appends}
	for _, kind := range []string{mixBurst, mixInterleaved} {
		var xys plotter.XYs
		for _, s := range r.Steps {
			if s.Mix == kind && s.PacedPerSec == 0 {
				xys = append(xys, plotter.XY{X: float64(s.Concurrency), Y: s.AcceptedPerSec})
			}
		}
		if len(xys) > 0 {
			lines = append(lines, "accepted/s, "+kind+" mix", xys)
		}
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return fmt.Errorf("drawing %s: %w", file, err)
	}
	return save(p, file)
}

// percentileChart draws p50, p95 and p99 of each step as grouped bars.
func percentileChart(file, title, ylabel string, steps []stepResult, q func(stepResult) quantiles) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	names := make([]string, len(steps))
	sets := [3]plotter.Values{}
	for i, s := range steps {
		names[i] = fmt.Sprintf("%s\n%s %d", s.Name, s.Mix, s.Concurrency)
		v := q(s)
		sets[0], sets[1], sets[2] = append(sets[0], v.P50), append(sets[1], v.P95), append(sets[2], v.P99)
	}
	width := vg.Points(8)
	for i, label := range []string{"p50", "p95", "p99"} {
		bars, err := plotter.NewBarChart(sets[i], width)
		if err != nil {
			return fmt.Errorf("drawing %s: %w", file, err)
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = vg.Length(i-1) * width
		p.Add(bars)
		p.Legend.Add(label, bars)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Font.Size = vg.Points(7)
	return save(p, file)
}

// sustainedChart draws the manager's RSS and heap over the sustained
// step; with no sustained step there is no chart.
func sustainedChart(file string, sus *sustainedResult) error {
	if sus == nil || len(sus.Series) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Manager memory, interleaved mix at %.0f/s", sus.PacedPerSec)
	p.X.Label.Text = "seconds into the sustained step"
	p.Y.Label.Text = "MiB"
	p.Legend.Top, p.Legend.Left = true, true
	var rss, alloc, inuse plotter.XYs
	for _, s := range sus.Series {
		rss = append(rss, plotter.XY{X: s.AtSeconds, Y: mib(s.RSSBytes)})
		alloc = append(alloc, plotter.XY{X: s.AtSeconds, Y: s.HeapAllocBytes / (1 << 20)})
		inuse = append(inuse, plotter.XY{X: s.AtSeconds, Y: s.HeapInuseBytes / (1 << 20)})
	}
	var live plotter.XYs
	for _, m := range []memoryMark{sus.Start, sus.Middle, sus.End} {
		live = append(live, plotter.XY{X: m.AtSeconds, Y: mib(m.LiveHeapBytes)})
	}
	if err := plotutil.AddLinePoints(p, "RSS", rss, "heap in use", inuse, "heap allocated", alloc,
		"live heap after GC", live); err != nil {
		return fmt.Errorf("drawing %s: %w", file, err)
	}
	p.Y.Min = 0
	return save(p, file)
}

func save(p *plot.Plot, file string) error {
	if err := p.Save(chartWidth, chartHeight, file); err != nil {
		return fmt.Errorf("saving %s: %w", file, err)
	}
	return nil
}
