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
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times; 100 on
// every Linux platform Go supports (test/bench/cpu.go reads them the same way).
const clockTicks = 100

// procSet names the server processes one path's writes cost CPU in, by
// role: kube-apiserver, etcd, parcel-apiserver, parcel-etcd.
type procSet map[string]int

// cpuSeconds is the CPU time (user + system) each process has used so
// far, by role, and the machine's busy time under "machine".
func (ps procSet) cpuSeconds() map[string]float64 {
	out := map[string]float64{"machine": machineBusySeconds()}
	for role, pid := range ps {
		raw, err := os.ReadFile(filepath.Clean(filepath.Join("/proc", strconv.Itoa(pid), "stat")))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces; utime
		// and stime are the 12th and 13th fields after it.
		stat := string(raw)
		fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		out[role] = (utime + stime) / clockTicks
	}
	return out
}

// rssBytes is each process's resident set size, by role.
func (ps procSet) rssBytes() map[string]int64 {
	out := map[string]int64{}
	for role, pid := range ps {
		if v, ok := vmRSS(pid); ok {
			out[role] = v
		}
	}
	return out
}

func vmRSS(pid int) (int64, bool) {
	raw, err := os.ReadFile(filepath.Clean(filepath.Join("/proc", strconv.Itoa(pid), "status")))
	if err != nil {
		return 0, false
	}
	s := bufio.NewScanner(bytes.NewReader(raw))
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// machineBusySeconds is the whole machine's busy CPU time: all of
// /proc/stat's first line but idle and iowait.
func machineBusySeconds() float64 {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	var busy float64
	for i, f := range strings.Fields(line) {
		if i == 0 || i == 4 || i == 5 {
			continue
		}
		v, _ := strconv.ParseFloat(f, 64)
		busy += v / clockTicks
	}
	return busy
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// childPid finds the child of this process named comm whose command line
// contains marker (the control plane's processes are envtest's children,
// and two planes run the same binaries).
func childPid(comm, marker string) (int, error) {
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Clean(filepath.Join(dir, "stat")))
		if err != nil {
			continue
		}
		stat := string(raw)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		fields := strings.Fields(stat[end+1:])
		if open < 0 || len(fields) < 2 || stat[open+1:end] != comm || fields[1] != self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Clean(filepath.Join(dir, "cmdline")))
		if err == nil && bytes.Contains(cmdline, []byte(marker)) {
			return strconv.Atoi(filepath.Base(dir))
		}
	}
	return 0, fmt.Errorf("no child process %s with %q in its command line", comm, marker)
}

// dirBytes is the total size of the files under dir.
func dirBytes(dir string) int64 {
	var total int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	return total
}

// since is the seconds from t to now, rounded to milliseconds.
func since(t time.Time) float64 {
	return float64(time.Since(t).Milliseconds()) / 1000
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
