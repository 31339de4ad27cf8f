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

// Package courierauth finds the Courier a bearer token belongs to, through
// indexes on the manager's cache: Secrets by the SHA-256 of their token, and
// Couriers by the Secret they name. A rotated token is re-indexed as soon as
// the cache sees the Secret change, so nothing restarts.
package courierauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Field indexes this package reads; IndexFields registers them.
const (
	// IndexTokenHash indexes courier Secrets by the hex SHA-256 of their token.
	IndexTokenHash = "courierauth.tracking.parcelops.io/token-sha256" //nolint:gosec // an index name, not a credential
	// IndexSecretName indexes Couriers by spec.secretRef.name.
	IndexSecretName = "spec.secretRef.name" //nolint:gosec // a field path, not a credential
)

// ErrUnauthenticated is the one answer a caller gets for any credential
// problem: which one it was is logged, never told to the client.
var ErrUnauthenticated = errors.New("unauthenticated")

// IndexFields registers the indexes on the manager's cache. Call it before
// the manager starts.
func IndexFields(ctx context.Context, indexer client.FieldIndexer) error {
	if err := indexer.IndexField(ctx, &corev1.Secret{}, IndexTokenHash, func(obj client.Object) []string {
		token := obj.(*corev1.Secret).Data[trackingv1alpha1.CourierTokenKey]
		if len(token) == 0 {
			return nil
		}
		return []string{TokenHash(token)}
	}); err != nil {
		return fmt.Errorf("indexing Secrets by token hash: %w", err)
	}
	if err := indexer.IndexField(ctx, &trackingv1alpha1.Courier{}, IndexSecretName, func(obj client.Object) []string {
		return []string{obj.(*trackingv1alpha1.Courier).Spec.SecretRef.Name}
	}); err != nil {
		return fmt.Errorf("indexing Couriers by Secret: %w", err)
	}
	return nil
}

// TokenHash is the index key of a token.
func TokenHash(token []byte) string {
	sum := sha256.Sum256(token)
	return hex.EncodeToString(sum[:])
}

// Authenticator resolves bearer tokens to Couriers.
type Authenticator struct {
	// Reader reads from the manager's cache, with IndexFields registered.
	Reader client.Reader
}

// Identity is who a request comes from, and what it must prove.
type Identity struct {
	// Courier is the courier whose token the request carried.
	Courier *trackingv1alpha1.Courier
	// SigningKeys are the keys a request must be signed with, one of them:
	// hmacKey, then hmacKeyPrevious. Empty when the courier does not sign.
	SigningKeys [][]byte
}

// Authenticate returns the Courier whose Secret holds token, with its
// signing keys. Any failure is ErrUnauthenticated wrapped with the reason,
// for the log; a cache read failure is returned as is.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*Identity, error) {
	if len(token) < trackingv1alpha1.MinCourierTokenLength {
		return nil, fmt.Errorf("%w: token missing or too short", ErrUnauthenticated)
	}
	secrets, err := a.secretsHolding(ctx, []byte(token))
	if err != nil {
		return nil, fmt.Errorf("looking up the token: %w", err)
	}
	var found []*trackingv1alpha1.Courier
	var secret *corev1.Secret
	for i := range secrets {
		couriers, err := a.CouriersOf(ctx, &secrets[i])
		if err != nil {
			return nil, err
		}
		if len(couriers) > 0 {
			secret = &secrets[i]
		}
		found = append(found, couriers...)
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("%w: no Courier's Secret holds this token", ErrUnauthenticated)
	case len(found) > 1:
		return nil, fmt.Errorf("%w: %d Couriers share this token", ErrUnauthenticated, len(found))
	}
	keys, reason, _ := signingKeys(found[0], secret)
	if reason != "" {
		return nil, fmt.Errorf("%w: the courier's signing keys are unusable (%s)", ErrUnauthenticated, reason)
	}
	return &Identity{Courier: found[0], SigningKeys: keys}, nil
}

// signingKeys returns the keys courier's requests must be signed with, or
// the Ready reason and message saying why they are unusable.
func signingKeys(courier *trackingv1alpha1.Courier, secret *corev1.Secret) (keys [][]byte, reason, message string) {
	current := secret.Data[trackingv1alpha1.CourierHMACKey]
	previous := secret.Data[trackingv1alpha1.CourierHMACKeyPrevious]
	switch {
	case len(current) == 0 && courier.Spec.RequireSignature:
		return nil, trackingv1alpha1.ReasonHMACKeyMissing, fmt.Sprintf(
			"requireSignature is set but Secret %q has no %q key", secret.Name, trackingv1alpha1.CourierHMACKey)
	case len(current) == 0 && len(previous) > 0:
		return nil, trackingv1alpha1.ReasonHMACKeyMissing, fmt.Sprintf(
			"Secret %q has %q but no %q; put the new key in %q", secret.Name, trackingv1alpha1.CourierHMACKeyPrevious,
			trackingv1alpha1.CourierHMACKey, trackingv1alpha1.CourierHMACKey)
	}
	for _, k := range []struct {
		name  string
		value []byte
	}{{trackingv1alpha1.CourierHMACKey, current}, {trackingv1alpha1.CourierHMACKeyPrevious, previous}} {
		switch {
		case len(k.value) == 0:
		case len(k.value) < trackingv1alpha1.MinCourierHMACKeyLength:
			return nil, trackingv1alpha1.ReasonHMACKeyTooShort, fmt.Sprintf("the %q in Secret %q is %d bytes; at least %d are required",
				k.name, secret.Name, len(k.value), trackingv1alpha1.MinCourierHMACKeyLength)
		default:
			keys = append(keys, k.value)
		}
	}
	return keys, "", ""
}

// holders returns the Couriers whose Secrets hold token.
func (a *Authenticator) holders(ctx context.Context, token []byte) ([]*trackingv1alpha1.Courier, error) {
	secrets, err := a.secretsHolding(ctx, token)
	if err != nil {
		return nil, err
	}
	var found []*trackingv1alpha1.Courier
	for i := range secrets {
		couriers, err := a.CouriersOf(ctx, &secrets[i])
		if err != nil {
			return nil, err
		}
		found = append(found, couriers...)
	}
	return found, nil
}

// secretsHolding returns the cached courier Secrets whose token is token:
// the index finds them by hash, then the bytes are compared in constant
// time.
func (a *Authenticator) secretsHolding(ctx context.Context, token []byte) ([]corev1.Secret, error) {
	if len(token) == 0 {
		return nil, nil
	}
	list := &corev1.SecretList{}
	if err := a.Reader.List(ctx, list, client.MatchingFields{IndexTokenHash: TokenHash(token)}); err != nil {
		return nil, err
	}
	secrets := list.Items[:0]
	for _, s := range list.Items {
		if subtle.ConstantTimeCompare(s.Data[trackingv1alpha1.CourierTokenKey], token) == 1 {
			secrets = append(secrets, s)
		}
	}
	return secrets, nil
}

// CouriersOf returns the Couriers that name secret.
func (a *Authenticator) CouriersOf(ctx context.Context, secret *corev1.Secret) ([]*trackingv1alpha1.Courier, error) {
	list := &trackingv1alpha1.CourierList{}
	if err := a.Reader.List(ctx, list, client.InNamespace(secret.Namespace),
		client.MatchingFields{IndexSecretName: secret.Name}); err != nil {
		return nil, fmt.Errorf("looking up Couriers of Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	out := make([]*trackingv1alpha1.Courier, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// Check says whether a Courier can authenticate: the Ready reason and a
// message for its status. It reads the same cache Authenticate does.
func (a *Authenticator) Check(ctx context.Context, courier *trackingv1alpha1.Courier) (ready bool, reason, message string, err error) {
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: courier.Namespace, Name: courier.Spec.SecretRef.Name}
	if err := a.Reader.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return false, trackingv1alpha1.ReasonSecretNotFound, fmt.Sprintf(
				"Secret %q not found among Secrets labelled %s=true in namespace %s",
				key.Name, trackingv1alpha1.CourierCredentialsLabel, key.Namespace), nil
		}
		return false, "", "", err
	}
	token := secret.Data[trackingv1alpha1.CourierTokenKey]
	switch {
	case len(token) == 0:
		return false, trackingv1alpha1.ReasonTokenMissing, fmt.Sprintf("Secret %q has no %q key", key.Name, trackingv1alpha1.CourierTokenKey), nil
	case len(token) < trackingv1alpha1.MinCourierTokenLength:
		return false, trackingv1alpha1.ReasonTokenTooShort, fmt.Sprintf("the token in Secret %q is %d bytes; at least %d are required",
			key.Name, len(token), trackingv1alpha1.MinCourierTokenLength), nil
	}
	holders, err := a.holders(ctx, token)
	if err != nil {
		return false, "", "", err
	}
	if len(holders) > 1 {
		return false, trackingv1alpha1.ReasonTokenShared, fmt.Sprintf(
			"the token in Secret %q is used by %d Couriers; requests with it are refused until each has its own", key.Name, len(holders)), nil
	}
	keys, reason, message := signingKeys(courier, secret)
	switch {
	case reason != "":
		return false, reason, message + "; every request is refused until it is fixed", nil
	case len(keys) == 2:
		return true, trackingv1alpha1.ReasonCredentialsValid, fmt.Sprintf(
			"token in Secret %q is usable; requests must be signed with %q or, during the rotation, %q",
			key.Name, trackingv1alpha1.CourierHMACKey, trackingv1alpha1.CourierHMACKeyPrevious), nil
	case len(keys) == 1:
		return true, trackingv1alpha1.ReasonCredentialsValid, fmt.Sprintf(
			"token in Secret %q is usable; requests must be signed with %q", key.Name, trackingv1alpha1.CourierHMACKey), nil
	}
	return true, trackingv1alpha1.ReasonCredentialsValid, fmt.Sprintf("token in Secret %q is usable; requests are not signed", key.Name), nil
}

// SecretsSharingToken returns the cached Secrets holding the same token as
// secret (secret among them, when the cache has it), so a change to one
// re-checks the Couriers of all.
func (a *Authenticator) SecretsSharingToken(ctx context.Context, secret *corev1.Secret) ([]corev1.Secret, error) {
	return a.secretsHolding(ctx, secret.Data[trackingv1alpha1.CourierTokenKey])
}

// CacheByObject restricts a manager's cache to the Secrets couriers'
// credentials are in; merge it into cache.Options.ByObject. The manager then
// never holds, nor reads, any other Secret.
func CacheByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{trackingv1alpha1.CourierCredentialsLabel: "true"})},
	}
}
