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

package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times.
const clockTicks = 100

// ChildCPU returns the CPU time used so far by this process's children
// named command (kube-apiserver, etcd), from /proc; zero where /proc is
// missing. Benchmarks divide its growth by their operations to report what
// each cost the control plane.
func ChildCPU(command string) time.Duration {
	self := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks float64
	for _, path := range dirs {
		raw, err := os.ReadFile(path) //nolint:gosec // a path under /proc, from the Glob above
		if err != nil {
			continue
		}
		// The command is in parentheses and may hold spaces; the fields
		// after it are numbered from 3 (state).
		stat := string(raw)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || end < open || stat[open+1:end] != command {
			continue
		}
		fields := strings.Fields(stat[end+1:])
		if len(fields) < 13 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != self {
			continue
		}
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		ticks += utime + stime
	}
	return time.Duration(ticks / clockTicks * float64(time.Second))
}
