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
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// procFS is /proc, where the benchmark reads its processes' CPU time and
// memory.
var procFS = os.DirFS("/proc")

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times; 100 on
// every Linux platform Go supports.
const clockTicks = 100

// cpuSample is CPU time used so far, in seconds: by this process and each
// of its children by command name (kube-apiserver, etcd, manager,
// versitygw), and by the whole machine.
type cpuSample struct {
	at      time.Time
	byName  map[string]float64
	machine float64
}

// sampleCPU reads the CPU times of this process, its children and the
// machine from /proc. Where /proc is missing it returns an empty sample.
func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), byName: map[string]float64{}}
	self := os.Getpid()
	dirs, _ := fs.Glob(procFS, "[0-9]*")
	for _, dir := range dirs {
		pid, err := strconv.Atoi(dir)
		if err != nil {
			continue
		}
		raw, err := fs.ReadFile(procFS, dir+"/stat")
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces; the
		// fields after it are numbered from 3 (state).
		stat := string(raw)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(stat[end+1:])
		if len(fields) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		if pid != self && ppid != self {
			continue
		}
		name := stat[open+1 : end]
		if pid == self {
			name = "bench"
		}
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		s.byName[name] += (utime + stime) / clockTicks
	}
	if raw, err := fs.ReadFile(procFS, "stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		fields := strings.Fields(line)
		// cpu user nice system idle iowait irq softirq steal ...: busy is
		// all but idle and iowait.
		for i, f := range fields {
			if i == 0 || i == 4 || i == 5 {
				continue
			}
			v, _ := strconv.ParseFloat(f, 64)
			s.machine += v / clockTicks
		}
	}
	return s
}

// coresSince returns the CPU cores each process used on average since
// before, and the whole machine under "machine".
func (s cpuSample) coresSince(before cpuSample) map[string]float64 {
	secs := s.at.Sub(before.at).Seconds()
	out := map[string]float64{}
	if secs <= 0 {
		return out
	}
	for name, t := range s.byName {
		out[name] = round2((t - before.byName[name]) / secs)
	}
	out["machine"] = round2((s.machine - before.machine) / secs)
	return out
}

func round2(v float64) float64 {
	return float64(int(v*100+0.5)) / 100
}
