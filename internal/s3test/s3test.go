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

// Package s3test runs versitygw, a real S3 server backed by a temporary
// directory, for tests that store proof-of-delivery files over S3. `make
// s3server` builds the binary (hack/s3server.sh) and `make test` passes its
// path in VERSITYGW.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Test credentials and region. The server runs on loopback only, for one
// test process, so fixed values are fine and make failures reproducible.
const (
	AccessKey = "parcel-test-access"
	SecretKey = "parcel-test-secret-key"
	Region    = "us-east-1"
)

// healthPath is versitygw's health endpoint (--health). It is not a valid
// bucket name, so it can never hide one.
const healthPath = "/_health"

// Timeouts for starting the server and its health checks.
const (
	startTimeout  = 30 * time.Second
	probeInterval = 25 * time.Millisecond
	probeTimeout  = time.Second
	// startAttempts: a free port found by the kernel can be taken by someone
	// else before versitygw binds it; try a new one a few times.
	startAttempts = 3
	// maxOutput caps the server output kept for error messages.
	maxOutput = 64 << 10
)

// errNoBinary is what a test run without the server binary reports.
var errNoBinary = errors.New("the versitygw S3 test server is not built: run `make s3server` " +
	"(`make test` does it for you) and set VERSITYGW to the path it prints")

// Binary returns the versitygw binary named by $VERSITYGW, or an error that
// tells the developer how to build it.
func Binary() (string, error) {
	bin := os.Getenv("VERSITYGW")
	if bin == "" {
		return "", errNoBinary
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return "", fmt.Errorf("%w (%w)", errNoBinary, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w (%s is not an executable file)", errNoBinary, bin)
	}
	return bin, nil
}

// Server is a running (or stopped) versitygw with the posix backend. The
// port and the data directory survive Stop, so Restart brings back the same
// endpoint with the same buckets and objects: a store that was down and
// came back.
type Server struct {
	bin     string
	dataDir string
	port    int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	output *cappedBuffer
}

// Start starts versitygw on a free loopback port with a fresh data
// directory and waits until it serves requests. Close it when done.
func Start(ctx context.Context) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "parcel-s3test-")
	if err != nil {
		return nil, fmt.Errorf("s3test: creating the data directory: %w", err)
	}
	// versitygw keeps buckets directly under the directory it serves; give
	// it a subdirectory so nothing else (logs) is mistaken for a bucket.
	root := filepath.Join(dataDir, "buckets")
	if err := os.Mkdir(root, 0o755); err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, fmt.Errorf("s3test: creating the data directory: %w", err)
	}
	s := &Server{bin: bin, dataDir: dataDir}
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.start(ctx); err == nil {
			return s, nil
		}
		if attempt == startAttempts || ctx.Err() != nil {
			break
		}
	}
	_ = os.RemoveAll(dataDir)
	return nil, err
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("s3test: finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Endpoint is the server's base URL, http://127.0.0.1:<port>.
func (s *Server) Endpoint() string {
	return "http://" + s.addr()
}

func (s *Server) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// BucketURL returns the gocloud.dev URL of a bucket on this server. Path
// style is needed because 127.0.0.1 has no per-bucket host names, and the
// region because the SDK refuses to sign without one. Credentials are not
// in it: they come from Env.
func (s *Server) BucketURL(bucket string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint())
	q.Set("use_path_style", "true")
	q.Set("region", Region)
	return (&url.URL{Scheme: "s3", Host: bucket, RawQuery: q.Encode()}).String()
}

// Env returns the environment the AWS SDK (and so gocloud's s3blob) needs to
// reach this server as its root user. It also blanks what a developer's own
// AWS setup could add (a profile, a session token, shared config files), so
// tests never pick up real credentials.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region,
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_DEFAULT_PROFILE=",
		"AWS_CONFIG_FILE=" + filepath.Join(s.dataDir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s.dataDir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=",
		"AWS_ENDPOINT_URL_S3=",
	}
}

// SetProcessEnv applies Env to this process, for code under test that opens
// s3:// URLs through the SDK's default credential chain.
func (s *Server) SetProcessEnv() error {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("s3test: setting %s: %w", k, err)
		}
	}
	return nil
}

// client is an S3 client for the server's root user that reads nothing
// from the environment.
func (s *Server) client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: AccessKey, SecretAccessKey: SecretKey, Source: "s3test"}, nil
		}),
	})
}

// CreateBucket creates a bucket on the server.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	if _, err := s.client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("s3test: creating bucket %s: %w", name, err)
	}
	return nil
}

// MultipartUploads lists the keys of a bucket's unfinished multipart
// uploads: data an aborted write may leave behind, invisible to List but
// stored (and, on AWS, billed).
func (s *Server) MultipartUploads(ctx context.Context, bucket string) ([]string, error) {
	out, err := s.client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		return nil, fmt.Errorf("s3test: listing multipart uploads in %s: %w", bucket, err)
	}
	keys := make([]string, 0, len(out.Uploads))
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys, nil
}

// Stop kills the server (its whole process group) and waits until it is
// gone, like a crash: nothing is flushed on its way out, and what it had
// committed stays in the data directory. Stopping a stopped server is a
// no-op.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	killTree(s.cmd)
	<-s.exited
	s.cmd = nil
	return nil
}

// Restart stops the server (if running) and starts it again on the same
// port with the same data, waiting up to a fixed timeout until it serves.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start(context.Background())
}

// Close stops the server and deletes its data directory.
func (s *Server) Close() error {
	err := s.Stop()
	return errors.Join(err, os.RemoveAll(s.dataDir))
}

// start runs versitygw and waits until its health endpoint answers.
func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("s3test: the server is already running")
	}
	// Flags rather than versitygw's many VGW_* environment variables, and a
	// clean environment so none of those (or $LOGFILE, $WEBHOOK, which it
	// also reads) leak in from the developer's shell. The root credentials
	// go by environment so they do not show in ps.
	cmd := exec.Command(s.bin, //nolint:noctx // the server outlives any one context: Stop ends it
		"--port", s.addr(),
		"--region", Region,
		"--health", healthPath,
		"--quiet",
		"posix", filepath.Join(s.dataDir, "buckets"))
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.dataDir,
		"TMPDIR=" + os.TempDir(),
		"ROOT_ACCESS_KEY=" + AccessKey,
		"ROOT_SECRET_KEY=" + SecretKey,
	}
	out := &cappedBuffer{max: maxOutput}
	cmd.Stdout = out
	cmd.Stderr = out
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("s3test: starting %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.output = cmd, exited, out

	if err := s.waitHealthy(ctx); err != nil {
		killTree(cmd)
		<-exited
		s.cmd = nil
		return fmt.Errorf("%w\nversitygw output:\n%s", err, out.String())
	}
	return nil
}

func (s *Server) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: probeTimeout}
	health := s.Endpoint() + healthPath
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("s3test: versitygw exited before it served on %s", s.addr())
		case <-ctx.Done():
			return fmt.Errorf("s3test: versitygw did not answer on %s: %w", health, ctx.Err())
		case <-tick.C:
		}
	}
}

// cappedBuffer keeps the first max bytes of the server's output for error
// messages and drops the rest.
type cappedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
