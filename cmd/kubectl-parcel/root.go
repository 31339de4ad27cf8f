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
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/liggitt/tabwriter"
	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// requestTimeout bounds every command's calls to the API server (and the
// bucket), so a dead cluster gives an error rather than a hang.
const requestTimeout = 2 * time.Minute

// scheme knows the types the plugin reads and writes.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(trackingv1alpha1.AddToScheme(s))
	utilruntime.Must(authenticationv1.AddToScheme(s))
	return s
}()

// options are the flags every command shares: kubectl's own (-n,
// --context, --kubeconfig, ...) and the streams to write to.
type options struct {
	config  *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	// now is the clock every age and default time comes from.
	now func() time.Time
}

func newRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{
		config:  genericclioptions.NewConfigFlags(true),
		streams: streams,
		now:     time.Now,
	}
	cmd := &cobra.Command{
		Use:   "kubectl parcel",
		Short: "Read and correct parcel-operator Parcels",
		Long: `Read and correct the Parcels parcel-operator keeps: a parcel's whole story
in one table, corrections without hand-written JSON patches, proofs of
delivery, the parcels that stopped moving, and the couriers.

Parcels are named by article ID as couriers and customers quote it
(ARP1000052447); the plugin derives the object name.`,
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	o.config.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		newHistoryCommand(o),
		newCorrectCommand(o),
		newPODCommand(o),
		newStuckCommand(o),
		newCouriersCommand(o),
	)
	return cmd
}

// client returns a client for the cluster the kubeconfig and flags name.
func (o *options) client() (client.Client, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	return c, nil
}

// namespace is the namespace -n names, else the kubeconfig context's.
func (o *options) namespace() (string, error) {
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

func (o *options) context(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), requestTimeout)
}

// getParcel finds a parcel by its article ID, as couriers quote it, or by
// its object name.
func getParcel(ctx context.Context, c client.Client, namespace, ref string) (*trackingv1alpha1.Parcel, error) {
	p := &trackingv1alpha1.Parcel{}
	name := trackingv1alpha1.ParcelName(ref)
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, p)
	if err == nil && p.Spec.ArticleID == ref {
		return p, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, explain(err, "parcels", namespace)
	}
	if name != ref && len(validation.IsDNS1123Subdomain(ref)) == 0 {
		switch err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref}, p); {
		case err == nil:
			return p, nil
		case !apierrors.IsNotFound(err):
			return nil, explain(err, "parcels", namespace)
		}
	}
	return nil, fmt.Errorf("no parcel with article ID or name %q in namespace %q (looked for pcl/%s); "+
		"check the ID, or name the namespace with -n NAMESPACE", ref, namespace, name)
}

// explain turns the API errors a person meets into what to do about them.
func explain(err error, resource, namespace string) error {
	switch {
	case meta.IsNoMatchError(err):
		return fmt.Errorf("this cluster does not serve %s.%s: install parcel-operator's CRDs (make install, or config/default) "+
			"or pick another cluster with --context: %w", resource, trackingv1alpha1.GroupVersion.Group, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not read %s in namespace %q; ask for a Role that allows it, or pick another namespace with -n: %w",
			resource, namespace, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster does not accept your credentials; log in again or check --context and --kubeconfig: %w", err)
	}
	return err
}

// listScope is where a list command looks: one namespace, or all of them
// with -A.
type listScope struct {
	all       bool
	namespace string
}

func (o *options) scope(all bool) (listScope, error) {
	if all {
		return listScope{all: true}, nil
	}
	ns, err := o.namespace()
	return listScope{namespace: ns}, err
}

func (s listScope) listOptions() []client.ListOption {
	if s.all {
		return nil
	}
	return []client.ListOption{client.InNamespace(s.namespace)}
}

func (s listScope) String() string {
	if s.all {
		return "any namespace"
	}
	return fmt.Sprintf("namespace %q", s.namespace)
}

// outputFormats are what -o takes besides the table.
var outputFormats = []string{"json", "yaml"}

// addOutputFlag adds -o for the commands that print objects.
func addOutputFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "output", "o", "",
		"Output format: json or yaml print the objects as `kubectl get -o` does; the default is a table.")
}

func checkOutputFormat(format string) error {
	if format == "" || slices.Contains(outputFormats, format) {
		return nil
	}
	return fmt.Errorf("unknown output format %q: use -o json, -o yaml, or no -o for a table", format)
}

// printObject prints obj as JSON or YAML, with its (and its items') kind
// and apiVersion set as kubectl prints them.
func printObject(format string, obj runtime.Object, w io.Writer) error {
	if items, err := meta.ExtractList(obj); err == nil {
		for _, item := range items {
			if err := setKind(item); err != nil {
				return err
			}
		}
	}
	printer, err := genericclioptions.NewJSONYamlPrintFlags().ToPrinter(format)
	if err != nil {
		return err
	}
	return printers.NewTypeSetter(scheme).ToPrinter(printer).PrintObj(obj, w)
}

func setKind(obj runtime.Object) error {
	kinds, _, err := scheme.ObjectKinds(obj)
	if err != nil {
		return err
	}
	obj.GetObjectKind().SetGroupVersionKind(kinds[0])
	return nil
}

// whoAmI is the current user's name as the API server authenticates it.
func whoAmI(ctx context.Context, c client.Client) (string, error) {
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		return "", fmt.Errorf("asking the API server who you are (SelfSubjectReview): %w", err)
	}
	name := review.Status.UserInfo.Username
	if name == "" {
		return "", errors.New("the API server did not say who you are (SelfSubjectReview has no user name)")
	}
	return name, nil
}

// table writes a kubectl-style table: cells separated by tabs, aligned
// by kubectl's own tab writer. The first write error is kept, and flush
// returns it.
type table struct {
	tw  *tabwriter.Writer
	err error
}

func newTable(out io.Writer) *table {
	return &table{tw: printers.GetNewTabWriter(out)}
}

func (t *table) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.tw, format, args...)
	}
}

func (t *table) println(args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintln(t.tw, args...)
	}
}

func (t *table) flush() error {
	if t.err != nil {
		return t.err
	}
	return t.tw.Flush()
}

// orDash shows an empty cell as kubectl does.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table cell on one line, and at most max runes.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}

// timestamp shows a time the way the API stores it, in UTC.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
