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

package podstore

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/parcelops/parcel-operator/api/v1alpha1"
)

// SniffLen is how many leading bytes DetectContentType looks at; Stage reads
// this much before it writes anything, so a refused file leaves no object.
const SniffLen = 512

// Magic numbers of the accepted types.
var (
	magicPDF  = []byte("%PDF-")
	magicJPEG = []byte{0xFF, 0xD8, 0xFF}
	magicPNG  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
	magicRIFF = []byte("RIFF")
	magicWEBP = []byte("WEBP")
	magicFTYP = []byte("ftyp")
)

// heicBrands are the ISO-BMFF major brands of HEIF images coded with HEVC
// (what phones write); mif1/msf1 are the generic HEIF brands, accepted unless
// a compatible brand says the file is AVIF, which we do not accept.
var (
	heicBrands    = []string{"heic", "heix", "hevc", "hevx", "heim", "heis"}
	heifBrands    = []string{"mif1", "msf1"}
	notHEICBrands = []string{"avif", "avis"}
)

// DetectContentType recognises an accepted proof-of-delivery type from the
// first bytes of a file (at least SniffLen bytes when the file is that long).
// It reads magic numbers only and never trusts a client's Content-Type or
// filename: those are whatever the sender claims, the bytes are what a viewer
// will parse.
func DetectContentType(head []byte) (v1alpha1.ProofOfDeliveryContentType, bool) {
	switch {
	case bytes.HasPrefix(head, magicPDF):
		return v1alpha1.ContentTypePDF, true
	case bytes.HasPrefix(head, magicJPEG):
		return v1alpha1.ContentTypeJPEG, true
	case bytes.HasPrefix(head, magicPNG):
		return v1alpha1.ContentTypePNG, true
	case len(head) >= 12 && bytes.HasPrefix(head, magicRIFF) && bytes.Equal(head[8:12], magicWEBP):
		return v1alpha1.ContentTypeWebP, true
	case isHEIC(head):
		return v1alpha1.ContentTypeHEIC, true
	default:
		return "", false
	}
}

// isHEIC reads the ISO-BMFF "ftyp" box that opens the file: a 32-bit size,
// "ftyp", the major brand, a minor version, then compatible brands up to the
// box's end.
func isHEIC(head []byte) bool {
	if len(head) < 12 || !bytes.Equal(head[4:8], magicFTYP) {
		return false
	}
	major := string(head[8:12])
	if slices.Contains(heicBrands, major) {
		return true
	}
	if !slices.Contains(heifBrands, major) {
		return false
	}
	end := len(head)
	if size := binary.BigEndian.Uint32(head[0:4]); uint64(size) < uint64(end) {
		end = int(size)
	}
	for i := 16; i+4 <= end; i += 4 {
		if slices.Contains(notHEICBrands, string(head[i:i+4])) {
			return false
		}
	}
	return true
}
