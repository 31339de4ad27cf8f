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

package podstore_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
)

// Real file headers: what a phone, a scanner or an attacker would send.
var (
	pdfHead  = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	jpegHead = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00}
	pngHead  = append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
		0x00, 0x00, 0x00, 0x0D, 'I', 'H', 'D', 'R', 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x06, 0x00, 0x00, 0x00)
	webpHead = riff("WEBP", []byte("VP8 \x10\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00"))
	heicHead = ftyp("heic", "mif1", "heic")
	// A HEIF container whose major brand is the generic mif1, coded with
	// HEVC, as some cameras write it.
	heifHEVCHead = ftyp("mif1", "mif1", "heic")
	// AVIF uses the same generic brand; we do not accept it.
	avifHead = ftyp("mif1", "mif1", "avif", "miaf")
	mp4Head  = ftyp("isom", "isom", "iso2", "avc1", "mp41")
	peHead   = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), make([]byte, 48)...)
	zipHead  = []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00")
	wavHead  = riff("WAVE", []byte("fmt \x10\x00\x00\x00"))
)

func riff(form string, body []byte) []byte {
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(4+len(body)))
	b = append(b, form...)
	return append(b, body...)
}

// ftyp builds an ISO-BMFF file type box: size, "ftyp", major brand, minor
// version, compatible brands.
func ftyp(major string, compatible ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(16+4*len(compatible)))
	b = append(b, "ftyp"...)
	b = append(b, major...)
	b = append(b, 0, 0, 0, 0)
	for _, c := range compatible {
		b = append(b, c...)
	}
	return b
}

// file returns a file of size bytes that starts with head; the rest is
// pseudo-random (seeded, so failures reproduce) and never repeats the
// marker that tests look for in error messages.
func file(head []byte, size int, seed uint64) []byte {
	b := make([]byte, size)
	n := copy(b, head)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := n; i < size; i++ {
		b[i] = byte(rng.UintN(256))
	}
	return b
}

func pdf(size int, seed uint64) []byte { return file(pdfHead, size, seed) }

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// stream hides everything but Read, as a request body does: no Len, no
// WriterTo, no Seek for the code under test to lean on.
func stream(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }

// failingReader yields some bytes, then fails: a courier whose connection
// drops mid-upload.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// generatedPDF streams size bytes that start like a PDF, generated on the
// fly, so a test can upload more than it would want to hold in memory.
func generatedPDF(size int64, seed uint64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	body := io.LimitReader(rand.NewChaCha8(key), size-int64(len(pdfHead)))
	return struct{ io.Reader }{io.MultiReader(bytes.NewReader(pdfHead), body)}
}

// streamDigest hashes a stream without keeping it.
func streamDigest(r io.Reader) string {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
