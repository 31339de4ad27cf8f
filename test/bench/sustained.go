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
	"sync"
	"time"
)

// sustainedResult is the manager's memory over the sustained step.
type sustainedResult struct {
	Step        string  `json:"step"`
	PacedPerSec float64 `json:"pacedPerSec"`
	Seconds     float64 `json:"seconds"`
	// Start, Middle and End are taken as the step starts sending, half
	// way through and as it stops, each after a GC.
	Start  memoryMark `json:"start"`
	Middle memoryMark `json:"middle"`
	End    memoryMark `json:"end"`
	// RSSGrowthSecondHalf and LiveHeapGrowthSecondHalf are (End -
	// Middle) / Middle.
	RSSGrowthSecondHalf      float64 `json:"rssGrowthSecondHalf"`
	LiveHeapGrowthSecondHalf float64 `json:"liveHeapGrowthSecondHalf"`
	// Series is sampled without forcing a GC, for the chart.
	Series []memorySample `json:"series"`
}

// memoryMark is the manager's memory at one moment.
type memoryMark struct {
	AtSeconds     float64 `json:"atSeconds"`
	RSSBytes      uint64  `json:"rssBytes"`
	LiveHeapBytes uint64  `json:"liveHeapBytes"`
}

// memorySample is one point of the series.
type memorySample struct {
	AtSeconds         float64 `json:"atSeconds"`
	RSSBytes          uint64  `json:"rssBytes"`
	HeapAllocBytes    float64 `json:"heapAllocBytes"`
	HeapInuseBytes    float64 `json:"heapInuseBytes"`
	APIServerRSSBytes uint64  `json:"apiServerRssBytes"`
	ParcelQueueDepth  float64 `json:"parcelQueueDepth"`
}

// sustainedStep sends the interleaved mix at its peak accepted rate from
// the most clients for o.sustained, watching the manager's memory.
func (b *bench) sustainedStep(ctx context.Context, o options, pool mix, concurrency int, peak float64,
	run func(stepSpec) (stepResult, error)) (*sustainedResult, error) {
	m := b.manager
	res := &sustainedResult{Step: "SUST", PacedPerSec: peak, Seconds: o.sustained.Seconds()}
	var start time.Time
	mark := func() memoryMark {
		live, _, err := m.heapAfterGC(ctx)
		if err != nil {
			logf("  live heap: %v", err)
		}
		rss, _, err := m.memory()
		if err != nil {
			logf("  RSS: %v", err)
		}
		return memoryMark{AtSeconds: round2(time.Since(start).Seconds()), RSSBytes: rss, LiveHeapBytes: live}
	}

	// The series and the middle mark run beside the step; the end mark is
	// taken the moment it stops sending.
	interval := max(time.Second, o.sustained/60)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	start = time.Now()
	res.Start = mark()
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		half := time.NewTimer(o.sustained / 2)
		defer half.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-half.C:
				mk := mark()
				mu.Lock()
				res.Middle = mk
				mu.Unlock()
			case <-tick.C:
				s := memorySample{AtSeconds: round2(time.Since(start).Seconds())}
				s.RSSBytes, _, _ = m.memory()
				s.APIServerRSSBytes, _ = apiServerRSS()
				if ms, err := m.scrape(sampleCtx); err == nil {
					s.HeapAllocBytes, s.HeapInuseBytes = ms.sum(metricHeapAlloc), ms.sum(metricHeapInuse)
					s.ParcelQueueDepth = ms.sum(metricQueueDepth, labelParcelQueue)
				}
				mu.Lock()
				res.Series = append(res.Series, s)
				mu.Unlock()
			}
		}
	})
	_, err := run(stepSpec{name: res.Step, kind: mixInterleaved, mix: pool, concurrency: concurrency, paced: peak,
		dur: o.sustained, afterSend: func() {
			stopSampling()
			wg.Wait()
			res.End = mark()
		}})
	stopSampling()
	wg.Wait()
	if res.Middle.RSSBytes > 0 {
		res.RSSGrowthSecondHalf = round3(float64(res.End.RSSBytes)/float64(res.Middle.RSSBytes) - 1)
	}
	if res.Middle.LiveHeapBytes > 0 {
		res.LiveHeapGrowthSecondHalf = round3(float64(res.End.LiveHeapBytes)/float64(res.Middle.LiveHeapBytes) - 1)
	}
	logf("  manager RSS %.0f / %.0f / %.0f MiB, live heap %.0f / %.0f / %.0f MiB at start / middle / end; "+
		"second half: RSS %+.1f%%, live heap %+.1f%%",
		mib(res.Start.RSSBytes), mib(res.Middle.RSSBytes), mib(res.End.RSSBytes),
		mib(res.Start.LiveHeapBytes), mib(res.Middle.LiveHeapBytes), mib(res.End.LiveHeapBytes),
		100*res.RSSGrowthSecondHalf, 100*res.LiveHeapGrowthSecondHalf)
	return res, err
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
