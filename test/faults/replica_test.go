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

package faults

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// leaseAcquired is what client-go's leader election logs when this process
// becomes the leader, matched ignoring case (its spelling has changed
// between releases).
var leaseAcquired = []byte("successfully acquired lease")

// restartDelay is how long the supervisor waits before starting a replica
// that exited, as a kubelet would (without its growing backoff).
const restartDelay = time.Second

// replica is one manager process kept running the way a Deployment keeps a
// Pod: when it exits, for whatever reason, it is started again on the same
// port. Its output goes to a log file; the suite prints the tail when a
// spec fails.
type replica struct {
	name    string
	port    int
	url     string
	logPath string
	// args are the manager flags this replica adds to the suite's.
	args []string

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	leading  bool
	stopping bool
	// exits counts the times the process ended without being stopped by
	// the suite: kills, and exits of its own (a lost leader lease).
	exits []string
	done  chan struct{}
}

var (
	replicasMu sync.Mutex
	replicas   []*replica
)

// startReplica starts a supervised manager with leader election on and
// waits until its courier API is ready.
func startReplica(name string, args ...string) *replica {
	GinkgoHelper()
	r := &replica{
		name:    name,
		args:    args,
		port:    freePort(),
		logPath: filepath.Join(logDir, name+".log"),
		done:    make(chan struct{}),
	}
	r.url = fmt.Sprintf("http://127.0.0.1:%d", r.port)
	r.mu.Lock()
	err := r.spawnLocked()
	r.mu.Unlock()
	Expect(err).NotTo(HaveOccurred())
	go r.supervise()
	replicasMu.Lock()
	replicas = append(replicas, r)
	replicasMu.Unlock()
	r.waitReady()
	return r
}

// spawnLocked starts one incarnation of the process; r.mu is held, so stop
// cannot slip in between its check and a new start.
func (r *replica) spawnLocked() error {
	logFile, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	args := append([]string{
		fmt.Sprintf("--webhook-bind-address=127.0.0.1:%d", r.port),
		"--health-probe-bind-address=0",
		"--metrics-bind-address=0",
		"--leader-elect",
		"--leader-election-namespace=" + leaseNS,
		"--staging-grace=" + stagingGrace.String(),
		"--pod-bucket=" + s3Server.BucketURL(podBucket),
		// The notification receiver of notify_test.go is on loopback.
		"--notification-allow-loopback",
	}, r.args...)
	cmd := exec.Command(managerBin, args...) //nolint:noctx // a replica outlives any one context: kill and stop end it
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Env = append(cmd.Env, s3Server.Env()...)
	out := &leaseWatcher{file: logFile, onAcquired: func() { r.setLeading(cmd) }}
	cmd.Stdout, cmd.Stderr = out, out
	// The kernel kills the manager if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		// A dead process leads nothing, even before its lease expires.
		r.mu.Lock()
		if r.cmd == cmd {
			r.leading = false
		}
		r.mu.Unlock()
		close(exited)
	}()
	r.cmd, r.exited, r.leading = cmd, exited, false
	return nil
}

func (r *replica) setLeading(cmd *exec.Cmd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == cmd {
		r.leading = true
	}
}

// supervise restarts the process whenever it ends, until stop.
func (r *replica) supervise() {
	defer close(r.done)
	for {
		r.mu.Lock()
		exited := r.exited
		r.mu.Unlock()
		<-exited
		r.mu.Lock()
		if r.stopping {
			r.mu.Unlock()
			return
		}
		r.exits = append(r.exits, r.cmd.ProcessState.String())
		r.mu.Unlock()
		time.Sleep(restartDelay)
		r.mu.Lock()
		var err error
		if !r.stopping {
			err = r.spawnLocked()
		}
		stopping := r.stopping
		r.mu.Unlock()
		if stopping {
			return
		}
		if err != nil {
			GinkgoWriter.Printf("replica %s: restarting: %v\n", r.name, err)
			return
		}
	}
}

// waitReady waits until the courier API answers /readyz.
func (r *replica) waitReady() {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/readyz", nil)
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := http.DefaultClient.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}).WithTimeout(2 * time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// isLeading reports whether the current incarnation holds the lease.
func (r *replica) isLeading() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leading
}

// kill sends SIGKILL to the current incarnation, as an OOM kill or a node
// failure would; the supervisor starts a new one.
func (r *replica) kill() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// exitCount is the number of times the process ended without stop.
func (r *replica) exitCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.exits)
}

// stop ends supervision and shuts the process down gracefully.
func (r *replica) stop() {
	r.mu.Lock()
	r.stopping = true
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
	<-r.done
}

// leader waits until one running replica holds the lease and returns it.
func leader(among ...*replica) *replica {
	GinkgoHelper()
	var found *replica
	Eventually(func() *replica {
		for _, r := range among {
			if r.isLeading() {
				found = r
				return r
			}
		}
		return nil
	}).WithTimeout(2 * time.Minute).WithPolling(100 * time.Millisecond).ShouldNot(BeNil())
	return found
}

// stopReplicas stops every replica the suite started.
func stopReplicas() {
	replicasMu.Lock()
	defer replicasMu.Unlock()
	for _, r := range replicas {
		r.stop()
	}
	replicas = nil
}

// printReplicaLogs prints the end of each replica's log.
func printReplicaLogs() {
	replicasMu.Lock()
	defer replicasMu.Unlock()
	for _, r := range replicas {
		b, _ := os.ReadFile(r.logPath)
		if len(b) > 32<<10 {
			b = b[len(b)-32<<10:]
		}
		GinkgoWriter.Printf("----- replica %s (%s), last lines -----\n%s\n", r.name, r.logPath, b)
	}
}

// printReplicaLines prints every line of each replica's log that holds
// one of words: what the processes did with the items a failure names.
func printReplicaLines(words []string) {
	replicasMu.Lock()
	defer replicasMu.Unlock()
	for _, r := range replicas {
		b, _ := os.ReadFile(r.logPath)
		GinkgoWriter.Printf("----- replica %s: lines naming %s -----\n", r.name, strings.Join(words, ", "))
		for line := range strings.Lines(string(b)) {
			for _, w := range words {
				if strings.Contains(line, w) {
					GinkgoWriter.Print(line)
					break
				}
			}
		}
	}
}

// leaseWatcher writes the process output to its log file and calls
// onAcquired when a line says the lease was acquired.
type leaseWatcher struct {
	mu         sync.Mutex
	file       *os.File
	pending    []byte
	onAcquired func()
}

func (w *leaseWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(bytes.ToLower(w.pending[:i]), leaseAcquired) {
			w.onAcquired()
		}
		w.pending = w.pending[i+1:]
	}
	return w.file.Write(p)
}

func freePort() int {
	GinkgoHelper()
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
