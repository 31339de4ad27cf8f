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

package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// stopTimeout is how long a process gets to exit after SIGTERM.
const stopTimeout = 20 * time.Second

// Process is a child process with its output in a log file.
type Process struct {
	Cmd  *exec.Cmd
	Log  string
	done chan struct{}
}

// StartProcess starts bin with args, its output going to logFile.
func StartProcess(logFile, bin string, args ...string) (*Process, error) {
	out, err := os.Create(filepath.Clean(logFile))
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", logFile, err)
	}
	// Not bound to a request's context: the caller stops the process with
	// Stop, after reading what it needs from it.
	cmd := exec.CommandContext(context.WithoutCancel(context.Background()), bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &Process{Cmd: cmd, Log: logFile, done: make(chan struct{})}
	go func() {
		// The exit status of a process we stop is of no interest.
		_ = cmd.Wait()
		_ = out.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Stop sends SIGTERM, then SIGKILL if the process has not exited within
// stopTimeout.
func (p *Process) Stop() {
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.Cmd.Process.Kill()
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// tailBytes is how much of a log Tail returns.
const tailBytes = 4 << 10

// Tail returns the end of the process's log, for an error message.
func (p *Process) Tail() string {
	raw, err := os.ReadFile(filepath.Clean(p.Log))
	if err != nil {
		return err.Error()
	}
	return string(raw[max(0, len(raw)-tailBytes):])
}
