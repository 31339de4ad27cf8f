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

// Package apiserver is the typed Parcel API server: k8s.io/apiserver's
// generic server with one group, tracking.parcelops.io/v1alpha1, stored
// as protobuf in its own etcd. Authentication and authorization are
// delegated to kube-apiserver, as an aggregated server's are: requests
// the aggregator forwards are trusted through the front-proxy CA that
// kube-apiserver publishes in kube-system/extension-apiserver-authentication,
// and a client certificate signed by the cluster's client CA works directly.
package apiserver

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/util/compatibility"

	typedv1alpha1 "github.com/parcelops/parcel-operator/hack/typedapi/apis/tracking/v1alpha1"
	"github.com/parcelops/parcel-operator/hack/typedapi/registry"
)

// etcdPrefix is where the server keeps its objects in its etcd.
const etcdPrefix = "/registry/parcelops"

var (
	// Scheme holds Parcel and the meta types the server speaks.
	Scheme = runtime.NewScheme()
	// Codecs serve JSON, YAML and protobuf.
	Codecs = serializer.NewCodecFactory(Scheme)

	// internalVersion is the version objects are handled in between
	// decoding and encoding. The server has one version, so the external
	// types are registered as the internal ones too and conversion is a
	// copy.
	internalVersion = schema.GroupVersion{Group: typedv1alpha1.SchemeGroupVersion.Group, Version: runtime.APIVersionInternal}
)

func init() {
	utilruntime.Must(typedv1alpha1.AddToScheme(Scheme))
	Scheme.AddKnownTypes(internalVersion, &typedv1alpha1.Parcel{}, &typedv1alpha1.ParcelList{})
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	Scheme.AddUnversionedTypes(schema.GroupVersion{Version: "v1"},
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// Options are the server's flags: serving, delegated authentication and
// authorization, and etcd.
type Options struct {
	SecureServing  *genericoptions.SecureServingOptionsWithLoopback
	Authentication *genericoptions.DelegatingAuthenticationOptions
	Authorization  *genericoptions.DelegatingAuthorizationOptions
	Etcd           *genericoptions.EtcdOptions
}

// NewOptions returns the defaults: protobuf storage under etcdPrefix.
func NewOptions() (*Options, error) {
	codec, versioner, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
		StorageMediaType:  runtime.ContentTypeProtobuf,
		StorageSerializer: Codecs,
		StorageVersion:    typedv1alpha1.SchemeGroupVersion,
		MemoryVersion:     internalVersion,
	})
	if err != nil {
		return nil, fmt.Errorf("building the storage codec: %w", err)
	}
	etcd := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig(etcdPrefix, codec))
	etcd.StorageConfig.EncodeVersioner = versioner
	etcd.DefaultStorageMediaType = runtime.ContentTypeProtobuf
	return &Options{
		SecureServing:  genericoptions.NewSecureServingOptions().WithLoopback(),
		Authentication: genericoptions.NewDelegatingAuthenticationOptions(),
		Authorization:  genericoptions.NewDelegatingAuthorizationOptions(),
		Etcd:           etcd,
	}, nil
}

// AddFlags registers every option's flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.SecureServing.AddFlags(fs)
	o.Authentication.AddFlags(fs)
	o.Authorization.AddFlags(fs)
	o.Etcd.AddFlags(fs)
}

// Validate reports every invalid option.
func (o *Options) Validate() error {
	errs := o.SecureServing.Validate()
	errs = append(errs, o.Authentication.Validate()...)
	errs = append(errs, o.Authorization.Validate()...)
	errs = append(errs, o.Etcd.Validate()...)
	return utilerrors.NewAggregate(errs)
}

// Run serves until ctx is done.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	cfg := genericapiserver.NewRecommendedConfig(Codecs)
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	openAPIConfigs(cfg)
	if err := o.SecureServing.ApplyTo(&cfg.SecureServing, &cfg.LoopbackClientConfig); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	if err := o.Authentication.ApplyTo(&cfg.Authentication, cfg.SecureServing, nil); err != nil {
		return fmt.Errorf("authentication: %w", err)
	}
	if err := o.Authorization.ApplyTo(&cfg.Authorization); err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	if err := o.Etcd.ApplyTo(&cfg.Config); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	server, err := cfg.Complete().New("parcel-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return fmt.Errorf("creating the server: %w", err)
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(typedv1alpha1.SchemeGroupVersion.Group, Scheme,
		runtime.NewParameterCodec(Scheme), Codecs)
	storage, err := registry.NewStorage(Scheme, cfg.RESTOptionsGetter)
	if err != nil {
		return fmt.Errorf("creating the Parcel storage: %w", err)
	}
	group.VersionedResourcesStorageMap[typedv1alpha1.SchemeGroupVersion.Version] = storage
	if err := server.InstallAPIGroup(&group); err != nil {
		return fmt.Errorf("installing %s: %w", typedv1alpha1.SchemeGroupVersion, err)
	}
	return server.PrepareRun().RunWithContext(ctx)
}
