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

// Package webhookserver is the courier-facing HTTP server: couriers post
// tracking updates (and proof-of-delivery files) and read back their
// parcels. It runs on every replica as a manager Runnable; the Parcel
// reconciler, on the leader, does the rest.
package webhookserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
	"github.com/parcelops/parcel-operator/docs"
	"github.com/parcelops/parcel-operator/internal/courierauth"
	"github.com/parcelops/parcel-operator/internal/podstore"
)

// Routes of the courier API.
const (
	UpdatePath   = "/api/v1/webhook/parcel-status"
	BatchPath    = "/api/v1/webhook/parcel-status:batch"
	ParcelPath   = "/api/v1/parcels/{articleId}"
	OpenAPIPath  = "/api/v1/openapi.yaml"
	HealthzPath  = "/healthz"
	ReadyzPath   = "/readyz"
	parcelPrefix = "/api/v1/parcels/"
)

// Files in CertDir: the certificate (chain) and its private key, as
// cert-manager and kubernetes.io/tls Secrets name them.
const (
	CertName = "tls.crt"
	KeyName  = "tls.key"
)

// Limits and timeouts of the HTTP server. A client that sends headers
// slowly, or a body slower than ReadTimeout allows, is cut off.
const (
	// ReadHeaderTimeout bounds the request line and headers.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds the whole request, body included: 10 MiB at a slow
	// 2 Mbit/s still fits.
	ReadTimeout = 60 * time.Second
	// WriteTimeout bounds the whole exchange up to the end of the answer.
	WriteTimeout = 90 * time.Second
	// IdleTimeout closes idle keep-alive connections.
	IdleTimeout = 120 * time.Second
	// MaxHeaderBytes bounds the request headers.
	MaxHeaderBytes = 16 << 10
	// ShutdownTimeout is how long in-flight requests may finish on shutdown.
	ShutdownTimeout = 30 * time.Second
	// APITimeout bounds the API server and object store calls of one request.
	APITimeout = 20 * time.Second
	// multipartOverhead allows for part headers and boundaries on top of the
	// form_data and POD caps.
	multipartOverhead = 16 << 10
)

// +kubebuilder:rbac:groups=tracking.parcelops.io,resources=parcels,verbs=get;list;watch;create;patch

// Server answers couriers. Its zero value is not usable: set every field.
type Server struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads from the API server itself, when the cache may lag.
	APIReader client.Reader
	// Auth resolves bearer tokens to Couriers.
	Auth *courierauth.Authenticator
	// Store stages proof-of-delivery files.
	Store *podstore.Store
	// Transitions is the graph the answers are computed with; the same the
	// reconciler enforces.
	Transitions *trackingv1alpha1.TransitionGraph
	// Clock is the receive time of updates.
	Clock clock.PassiveClock
	// Log receives one line per refused or failed request; never tokens,
	// signatures or file contents.
	Log logr.Logger
	// Limits bound what one request may carry.
	Limits Limits
	// BindAddress is where Start listens, e.g. ":8080".
	BindAddress string
	// CacheSynced reports whether the manager's cache has synced; /readyz
	// fails until it has.
	CacheSynced func(ctx context.Context) bool
	// Guard admits requests: signatures, rate limits, write slots.
	Guard *Guard
	// CertDir, when set, holds tls.crt and tls.key: Start serves HTTPS
	// with them, reloading them when they change. Empty serves plain HTTP,
	// for clusters that terminate TLS in front of the server.
	CertDir string
	// EnableHTTP2 allows HTTP/2 over TLS. Off by default: HTTP/1.1 is all
	// couriers need, and it keeps HTTP/2's stream-reset attacks away.
	EnableHTTP2 bool
}

// NeedLeaderElection is false: every replica serves couriers.
func (s *Server) NeedLeaderElection() bool { return false }

// Start listens on BindAddress and serves until ctx is done.
func (s *Server) Start(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.BindAddress)
	if err != nil {
		return fmt.Errorf("webhook server: listening on %s: %w", s.BindAddress, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then lets in-flight requests
// finish. With CertDir set it serves HTTPS, TLS 1.2 at least, picking up a
// renewed certificate for new connections without a restart.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          log.New(logrWriter{s.Log}, "", 0),
	}
	if !s.EnableHTTP2 {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	serve := func() error { return srv.Serve(ln) }
	if s.CertDir != "" {
		watcher, err := certwatcher.New(filepath.Join(s.CertDir, CertName), filepath.Join(s.CertDir, KeyName))
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("webhook server: loading the certificate from %s: %w", s.CertDir, err)
		}
		go func() {
			if err := watcher.Start(ctx); err != nil {
				s.Log.Error(err, "watching the certificate; a renewed one will not be picked up", "dir", s.CertDir)
			}
		}()
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: watcher.GetCertificate}
		serve = func() error { return srv.ServeTLS(ln, "", "") }
	}
	s.Log.Info("serving the courier API", "address", ln.Addr().String(), "tls", s.CertDir != "")
	served := make(chan error, 1)
	go func() { served <- serve() }()
	select {
	case err := <-served:
		return fmt.Errorf("webhook server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("webhook server: shutting down: %w", err)
	}
	return nil
}

// logrWriter sends the http.Server's own complaints (TLS handshake
// failures, malformed requests it answers itself) to the log, at debug
// level: each is one client's problem.
type logrWriter struct{ log logr.Logger }

func (w logrWriter) Write(p []byte) (int, error) {
	w.log.V(1).Info(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Handler is the courier API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+UpdatePath, s.instrument(s.handleUpdate, s.maxUpdateBytes))
	mux.HandleFunc(UpdatePath, methodNotAllowed(http.MethodPost))
	mux.HandleFunc("POST "+BatchPath, s.instrument(s.handleBatch, maxBatchBody))
	mux.HandleFunc(BatchPath, methodNotAllowed(http.MethodPost))
	mux.HandleFunc("GET "+ParcelPath, s.instrument(s.handleParcel, noBody))
	mux.HandleFunc(ParcelPath, methodNotAllowed(http.MethodGet, http.MethodHead))
	mux.HandleFunc("GET "+OpenAPIPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(docs.CourierAPI)
	})
	mux.HandleFunc("GET "+HealthzPath, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET "+ReadyzPath, s.handleReadyz)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(http.StatusNotFound, "not-found", "Not found",
			fmt.Sprintf("no such endpoint %s %s; see %s", r.Method, r.URL.Path, OpenAPIPath)))
	})
	return mux
}

// methodNotAllowed answers 405 on a route for any method but allowed.
func methodNotAllowed(allowed ...string) http.HandlerFunc {
	list := strings.Join(allowed, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", list)
		writeProblem(w, newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
			fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, list)))
	}
}

// maxUpdateBytes bounds an update's body: the courier's POD cap, the
// form_data cap, and room for part headers and boundaries.
func (s *Server) maxUpdateBytes(c *trackingv1alpha1.Courier) int64 {
	return c.MaxPODBytes() + s.Limits.withDefaults().MaxFormDataBytes + multipartOverhead
}

// noBody is the body bound of a GET: none.
func noBody(*trackingv1alpha1.Courier) int64 { return 0 }

// handleReadyz is ready once the cache has synced and the bucket answers.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	switch {
	case !s.CacheSynced(ctx):
		http.Error(w, "cache not synced", http.StatusServiceUnavailable)
	case s.Store.Ping(ctx) != nil:
		http.Error(w, "object store unreachable", http.StatusServiceUnavailable)
	default:
		_, _ = w.Write([]byte("ok"))
	}
}

// courierHandler serves one admitted request and returns the error to
// answer, if any. It must call c.verifyBody before it writes anything.
type courierHandler func(w http.ResponseWriter, r *http.Request, c *caller) error

// instrument admits the request (client address, token, signature header,
// the courier's rate), bounds its body to maxBody, runs h, answers its
// error in the one place that maps errors to status codes, and counts the
// outcome.
func (s *Server) instrument(h courierHandler, maxBody func(*trackingv1alpha1.Courier) int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := s.Clock.Now()
		rec := &statusRecorder{ResponseWriter: w}
		label := unauthenticatedLabel
		log := s.Log.WithValues("method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)

		// The server's own body reader, put back before any answer: net/http
		// recognises it to close, rather than drain, a connection whose
		// client still waits for 100 Continue.
		body := r.Body
		c, err := s.admit(r, start)
		if c != nil {
			label = courierLabel(c.Courier)
			log = log.WithValues("courier", label)
		}
		if err == nil {
			r.Body = http.MaxBytesReader(rec, r.Body, maxBody(c.Courier))
			err = h(rec, r, c)
		}
		r.Body = body
		if err != nil {
			p := problemFor(err)
			switch {
			case p.Status >= http.StatusInternalServerError:
				log.Error(err, "request failed", "status", p.Status)
			default:
				log.V(1).Info("request refused", "status", p.Status, "reason", err.Error())
			}
			if p.refusal != "" {
				refusalsTotal.WithLabelValues(label, p.refusal).Inc()
			}
			if p.Status == http.StatusUnauthorized {
				s.Guard.failedAuthentication(r, start)
			}
			writeProblem(rec, p)
		}
		requestsTotal.WithLabelValues(label, fmt.Sprint(rec.code())).Inc()
		requestDuration.WithLabelValues(label).Observe(s.Clock.Since(start).Seconds())
	}
}

// admit decides, cheapest check first, whether the request may be
// served: its address has not failed authentication too often, its token
// names a courier, its signature header is well formed, fresh and unused,
// and the courier is within its rate. The caller is returned once known,
// even with an error, so the refusal is counted against the courier.
func (s *Server) admit(r *http.Request, now time.Time) (*caller, error) {
	if err := s.Guard.admitClient(r, now); err != nil {
		return nil, err
	}
	id, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	c, err := s.Guard.beginSignature(r, id, now)
	if err != nil {
		return &caller{Courier: id.Courier}, err
	}
	c.now = s.Clock.Now
	if err := s.Guard.admitCourier(id.Courier, now); err != nil {
		return c, err
	}
	return c, nil
}

// authenticate finds the Courier behind the request's bearer token.
func (s *Server) authenticate(r *http.Request) (*courierauth.Identity, error) {
	if len(r.Header.Values("Authorization")) > 1 {
		return nil, unauthorized("send one Authorization header", errors.New("the Authorization header is sent more than once"))
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, unauthorized("send your courier token as Authorization: Bearer <token>", errors.New("no bearer token"))
	}
	id, err := s.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
	switch {
	case errors.Is(err, courierauth.ErrUnauthenticated):
		return nil, unauthorized("the bearer token is not valid for any courier", err)
	case err != nil:
		return nil, unavailable("the credential store", err)
	}
	return id, nil
}

// unauthorized is the 401 answer; cause, which says why, is only logged.
func unauthorized(detail string, cause error) *Problem {
	p := newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized", detail)
	p.cause = cause
	return p
}

// courierLabel names a courier in metrics and logs: namespace/name.
func courierLabel(c *trackingv1alpha1.Courier) string {
	return c.Namespace + "/" + c.Name
}

// statusRecorder remembers the status code written, for metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// DefaultLimits are the limits a server runs with unless configured.
func DefaultLimits() Limits {
	return Limits{MaxFormDataBytes: DefaultMaxFormDataBytes, MaxClockSkew: DefaultMaxClockSkew}
}
