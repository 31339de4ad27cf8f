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

package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testT is the timestamp of most test signatures, 2025-11-26T00:00:00Z. It
// differs from the example in the error messages, so that the leak checks
// cannot confuse the two.
const testT = 1764115200

// testNow is the server's clock at testT.
var testNow = time.Unix(testT, 0)

// Two 32-byte keys, the courier's hmacKey and hmacKeyPrevious while it
// rotates.
var (
	testKey         = []byte("parcel-test-key-0123456789abcdef-32")
	testKeyPrevious = []byte("parcel-old-key--fedcba9876543210-32")
)

// testMACs are four distinct MACs, in hex, to build headers from.
var testMACs = func() []string {
	macs := make([]string, 0, MaxSignatures+1)
	for i := range MaxSignatures + 1 {
		macs = append(macs, hex.EncodeToString(MAC(testKey, testT, []byte{byte(i)})))
	}
	return macs
}()

// header joins items with commas.
func header(items ...string) string { return strings.Join(items, ",") }

// tItem and v1Item are the items of a header.
func tItem(t int64) string     { return "t=" + strconv.FormatInt(t, 10) }
func v1Item(mac string) string { return "v1=" + mac }

// decoded returns the MACs given in hex, decoded.
func decoded(macs ...string) [][]byte {
	out := make([][]byte, 0, len(macs))
	for _, m := range macs {
		b, err := hex.DecodeString(m)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// parseSigCase is one header value and what Parse makes of it.
type parseSigCase struct {
	name  string
	value string
	want  *Signed
	err   error
}

// parseCases are TestParse's table, and seeds of FuzzParse.
func parseCases() []parseSigCase {
	a, b, c, d, e := testMACs[0], testMACs[1], testMACs[2], testMACs[3], testMACs[4]
	one := &Signed{Timestamp: testT, MACs: decoded(a)}
	valid := header(tItem(testT), v1Item(a))

	// exactly MaxHeaderLength bytes: the four signatures padded with spaces.
	full := header(tItem(testT), v1Item(a), v1Item(b), v1Item(c), v1Item(d))
	exact := full + strings.Repeat(" ", MaxHeaderLength-len(full))
	nbsp, nel := "\u00a0", "\u0085"

	return []parseSigCase{
		// Accepted.
		{name: "one v1", value: valid, want: one},
		{name: "two v1", value: header(tItem(testT), v1Item(a), v1Item(b)), want: &Signed{Timestamp: testT, MACs: decoded(a, b)}},
		{name: "MaxSignatures v1", value: full, want: &Signed{Timestamp: testT, MACs: decoded(a, b, c, d)}},
		{name: "t after v1", value: header(v1Item(a), tItem(testT)), want: one},
		{name: "t between v1", value: header(v1Item(b), tItem(testT), v1Item(a)), want: &Signed{Timestamp: testT, MACs: decoded(b, a)}},
		{name: "spaces around items", value: " " + tItem(testT) + " ,  " + v1Item(a) + "  ", want: one},
		{name: "tabs around items", value: "\t" + tItem(testT) + "\t,\t" + v1Item(a) + "\t", want: one},
		{name: "upper-case hex digits", value: header(tItem(testT), v1Item(strings.ToUpper(a))), want: one},
		{name: "the same v1 twice", value: header(tItem(testT), v1Item(a), v1Item(a)), err: ErrMalformed},
		{name: "t=0", value: header(tItem(0), v1Item(a)), want: &Signed{Timestamp: 0, MACs: decoded(a)}},
		{name: "a 12-digit timestamp", value: header("t=999999999999", v1Item(a)), want: &Signed{Timestamp: 999999999999, MACs: decoded(a)}},
		{name: "a leading zero is read as decimal", value: header("t=01764115200", v1Item(a)), want: one},
		{name: "exactly MaxHeaderLength bytes", value: exact, want: &Signed{Timestamp: testT, MACs: decoded(a, b, c, d)}},

		// Refused: missing, length, structure.
		{name: "empty", value: "", err: ErrMissing},
		{name: "one byte over MaxHeaderLength", value: exact + " ", err: ErrMalformed},
		{name: "far over MaxHeaderLength", value: header(tItem(testT), strings.Repeat(v1Item(a)+",", 100)+v1Item(a)), err: ErrMalformed},
		{name: "t missing", value: v1Item(a), err: ErrMalformed},
		{name: "t missing, several v1", value: header(v1Item(a), v1Item(b)), err: ErrMalformed},
		{name: "v1 missing", value: tItem(testT), err: ErrMalformed},
		{name: "only spaces", value: "   ", err: ErrMalformed},
		{name: "t twice, same value", value: header(tItem(testT), tItem(testT), v1Item(a)), err: ErrMalformed},
		{name: "t twice, different values", value: header(tItem(testT), v1Item(a), tItem(testT+1)), err: ErrMalformed},
		{name: "MaxSignatures+1 v1", value: header(tItem(testT), v1Item(a), v1Item(b), v1Item(c), v1Item(d), v1Item(e)), err: ErrMalformed},
		{
			name:  "MaxSignatures+1 v1, t last",
			value: header(v1Item(a), v1Item(b), v1Item(c), v1Item(d), v1Item(e), tItem(testT)),
			err:   ErrMalformed,
		},
		{name: "an item without =", value: header(tItem(testT), v1Item(a), "v1"), err: ErrMalformed},
		{name: "a bare word", value: header(tItem(testT), "signature", v1Item(a)), err: ErrMalformed},
		{name: "a trailing comma", value: valid + ",", err: ErrMalformed},
		{name: "a leading comma", value: "," + valid, err: ErrMalformed},
		{name: "two commas", value: tItem(testT) + ",," + v1Item(a), err: ErrMalformed},
		{name: "a comma and spaces", value: valid + ", ", err: ErrMalformed},
		{name: "semicolons for commas", value: tItem(testT) + ";" + v1Item(a), err: ErrMalformed},
		{name: "a space before =", value: header("t ="+strconv.Itoa(testT), v1Item(a)), err: ErrMalformed},

		// Refused: names.
		{name: "v0", value: header(tItem(testT), "v0="+a), err: ErrMalformed},
		{name: "v0 beside v1", value: header(tItem(testT), v1Item(a), "v0="+b), err: ErrMalformed},
		{name: "v2", value: header(tItem(testT), "v2="+a), err: ErrMalformed},
		{name: "T", value: header("T="+strconv.Itoa(testT), v1Item(a)), err: ErrMalformed},
		{name: "V1", value: header(tItem(testT), "V1="+a), err: ErrMalformed},
		{name: "an empty name", value: header(tItem(testT), v1Item(a), "="+b), err: ErrMalformed},
		{name: "an unknown name", value: header(tItem(testT), v1Item(a), "kid=courier-7"), err: ErrMalformed},
		{name: "a full-width t", value: header("\uff54="+strconv.Itoa(testT), v1Item(a)), err: ErrMalformed},

		// Refused: v1 values.
		{name: "v1 empty", value: header(tItem(testT), "v1="), err: ErrMalformed},
		{name: "v1 not hex", value: header(tItem(testT), v1Item("g"+a[1:])), err: ErrMalformed},
		{name: "v1 with 0x", value: header(tItem(testT), v1Item("0x"+a[2:])), err: ErrMalformed},
		{name: "v1 62 digits", value: header(tItem(testT), v1Item(a[:62])), err: ErrMalformed},
		{name: "v1 63 digits", value: header(tItem(testT), v1Item(a[:63])), err: ErrMalformed},
		{name: "v1 65 digits", value: header(tItem(testT), v1Item(a+"0")), err: ErrMalformed},
		{name: "v1 66 digits", value: header(tItem(testT), v1Item(a+"00")), err: ErrMalformed},
		{name: "v1 two MACs run together", value: header(tItem(testT), v1Item(a+b)), err: ErrMalformed},
		{name: "v1 base64", value: header(tItem(testT), v1Item("OSdL/xGytcgwMyr8Dezdkn6ZM1WvTE7ZtT9YNujDmTwA")), err: ErrMalformed},
		{name: "v1 with a space inside", value: header(tItem(testT), v1Item(a[:32]+" "+a[32:])), err: ErrMalformed},
		{name: "v1 with a space after =", value: header(tItem(testT), v1Item(" "+a)), err: ErrMalformed},
		{name: "a good v1 and a bad one", value: header(tItem(testT), v1Item(a), v1Item(b[:63])), err: ErrMalformed},

		// Refused: timestamps.
		{name: "t empty", value: header("t=", v1Item(a)), err: ErrMalformed},
		{name: "t with +", value: header("t=+1764115200", v1Item(a)), err: ErrMalformed},
		{name: "t negative", value: header("t=-1764115200", v1Item(a)), err: ErrMalformed},
		{name: "t -0", value: header("t=-0", v1Item(a)), err: ErrMalformed},
		{name: "t with a space after =", value: header("t= 1764115200", v1Item(a)), err: ErrMalformed},
		{name: "t with a space inside", value: header("t=1764 115200", v1Item(a)), err: ErrMalformed},
		{name: "t with an exponent", value: header("t=1.7641152e9", v1Item(a)), err: ErrMalformed},
		{name: "t with an integer exponent", value: header("t=17e8", v1Item(a)), err: ErrMalformed},
		{name: "t with a fraction", value: header("t=1764115200.5", v1Item(a)), err: ErrMalformed},
		{name: "t in hex", value: header("t=0x69264500", v1Item(a)), err: ErrMalformed},
		{name: "t with underscores", value: header("t=1_764_115_200", v1Item(a)), err: ErrMalformed},
		{name: "t in milliseconds (13 digits)", value: header("t=1764115200000", v1Item(a)), err: ErrMalformed},
		{name: "t 13 digits with leading zeros", value: header("t=0001764115200", v1Item(a)), err: ErrMalformed},
		{name: "t beyond int64", value: header("t=99999999999999999999", v1Item(a)), err: ErrMalformed},
		{name: "t as RFC 3339", value: header("t=2025-11-26T00:00:00Z", v1Item(a)), err: ErrMalformed},
		{name: "t in Arabic-Indic digits", value: header("t=\u0661\u0667\u0666\u0664", v1Item(a)), err: ErrMalformed},

		// Refused: control and non-ASCII bytes.
		{name: "NUL after t", value: header(tItem(testT)+"\x00", v1Item(a)), err: ErrMalformed},
		{name: "NUL after v1", value: header(tItem(testT), v1Item(a)+"\x00"), err: ErrMalformed},
		{name: "NUL before an item", value: header("\x00"+tItem(testT), v1Item(a)), err: ErrMalformed},
		{name: "NUL as the header", value: "\x00", err: ErrMalformed},
		{name: "invalid UTF-8", value: header(tItem(testT), v1Item(a), "\xff\xfe"), err: ErrMalformed},
		{name: "invalid UTF-8 in v1", value: header(tItem(testT), v1Item(a[:62]+"\xc3\xa9")), err: ErrMalformed},
		{name: "a non-ASCII name", value: header(tItem(testT), v1Item(a), "\u00fc=1"), err: ErrMalformed},
		{name: "non-breaking spaces around an item", value: nbsp + tItem(testT) + nbsp + "," + v1Item(a), err: ErrMalformed},
		{name: "NEL around an item", value: header(tItem(testT), nel+v1Item(a)+nel), err: ErrMalformed},
		{name: "an ideographic space around an item", value: header(tItem(testT), "\u3000"+v1Item(a)), err: ErrMalformed},
		{name: "a vertical tab around an item", value: header(tItem(testT), "\v"+v1Item(a)), err: ErrMalformed},
	}
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.value)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				checkNoLeak(t, err, tc.value)
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(got, *tc.want) {
				t.Fatalf("got %+v, want %+v", got, *tc.want)
			}
		})
	}
}

// checkNoLeak asserts that the error of a refused header repeats nothing
// the client sent: neither the value, nor the value of any item (a MAC,
// a timestamp), nor a control or non-ASCII byte.
func checkNoLeak(t *testing.T, err error, value string) {
	t.Helper()
	text := err.Error()
	for i := 0; i < len(text); i++ {
		if text[i] < 0x20 || text[i] > 0x7e {
			t.Fatalf("error text holds byte %#x: %q", text[i], text)
		}
	}
	if strings.TrimSpace(value) != "" && strings.Contains(text, strings.TrimSpace(value)) {
		t.Fatalf("error text %q repeats the header value", text)
	}
	for _, item := range strings.Split(value, ",") {
		_, v, _ := strings.Cut(item, "=")
		if v = strings.TrimSpace(v); len(v) >= 4 && strings.Contains(text, v) {
			t.Fatalf("error text %q repeats the item value %q", text, v)
		}
	}
}

func TestParseErrorsAreDistinct(t *testing.T) {
	// ErrMissing is only for an absent header: a present but empty-looking
	// one is malformed.
	if _, err := Parse(" "); errors.Is(err, ErrMissing) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("a space: %v, want ErrMalformed", err)
	}
	if _, err := Parse(""); !errors.Is(err, ErrMissing) || errors.Is(err, ErrMalformed) {
		t.Fatalf("empty: %v, want only ErrMissing", err)
	}
}

func TestCheckTime(t *testing.T) {
	const tol = DefaultTolerance
	cases := []struct {
		name      string
		ts        int64
		now       time.Time
		tolerance time.Duration
		err       error
	}{
		{name: "now", ts: testT, now: testNow, tolerance: tol},
		{name: "exactly tolerance old", ts: testT - 300, now: testNow, tolerance: tol},
		{name: "one second beyond tolerance old", ts: testT - 301, now: testNow, tolerance: tol, err: ErrExpired},
		{name: "exactly tolerance ahead", ts: testT + 300, now: testNow, tolerance: tol},
		{name: "one second beyond tolerance ahead", ts: testT + 301, now: testNow, tolerance: tol, err: ErrFuture},
		{name: "a day old", ts: testT - 86400, now: testNow, tolerance: tol, err: ErrExpired},
		{name: "t=0", ts: 0, now: testNow, tolerance: tol, err: ErrExpired},
		{name: "the largest t", ts: 999999999999, now: testNow, tolerance: tol, err: ErrFuture},
		{name: "a fraction of a second past the old edge", ts: testT - 300, now: testNow.Add(time.Millisecond), tolerance: tol, err: ErrExpired},
		{name: "a fraction of a second before the old edge", ts: testT - 300, now: testNow.Add(-time.Millisecond), tolerance: tol},
		{
			name: "a fraction of a second past the future edge",
			ts:   testT + 300, now: testNow.Add(-time.Millisecond), tolerance: tol, err: ErrFuture,
		},
		{name: "custom tolerance: at the old edge", ts: testT - 10, now: testNow, tolerance: 10 * time.Second},
		{name: "custom tolerance: beyond the old edge", ts: testT - 11, now: testNow, tolerance: 10 * time.Second, err: ErrExpired},
		{name: "custom tolerance: at the future edge", ts: testT + 10, now: testNow, tolerance: 10 * time.Second},
		{name: "custom tolerance: beyond the future edge", ts: testT + 11, now: testNow, tolerance: 10 * time.Second, err: ErrFuture},
		{name: "a long tolerance", ts: testT - 3600, now: testNow, tolerance: time.Hour},
		{name: "zero tolerance: now", ts: testT, now: testNow, tolerance: 0},
		{name: "zero tolerance: a second old", ts: testT - 1, now: testNow, tolerance: 0, err: ErrExpired},
		{name: "zero tolerance: a second ahead", ts: testT + 1, now: testNow, tolerance: 0, err: ErrFuture},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Signed{Timestamp: tc.ts, MACs: decoded(testMACs[0])}.CheckTime(tc.now, tc.tolerance)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if ts := strconv.FormatInt(tc.ts, 10); len(ts) >= 4 && strings.Contains(err.Error(), ts) {
				t.Fatalf("error %q repeats the timestamp", err)
			}
		})
	}
}

// hmacOf is the signature computed here with crypto/hmac, independently of
// MAC and NewMAC.
func hmacOf(key []byte, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	_, _ = fmt.Fprintf(m, "%d.%s", t, body)
	return m.Sum(nil)
}

func TestMACKnownAnswers(t *testing.T) {
	// The expected values were computed outside Go, with
	// `printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$key"`.
	cases := []struct {
		name string
		t    int64
		body string
		want string
	}{
		{name: "a JSON body", t: testT, body: `{"articleId":"ARP1"}`, want: "39274bff11b2b5c830332afc0decd7923355af4facc34901eb0ee3c6c3993c40"},
		{name: "an empty body at t=0", t: 0, body: "", want: "096302de203554b0a3145b398fa792bb346ff958093205b1026eeac59ecac803"},
		{name: "the largest t", t: 999999999999, body: "body", want: "2a6bcf73c41a8299bd515f395ee505e1879b95bff362f383f0fdfcaa5a4077c7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := MAC(testKey, tc.t, []byte(tc.body))
			if hex.EncodeToString(got) != tc.want {
				t.Fatalf("MAC = %x, want %s", got, tc.want)
			}
			if want := hmacOf(testKey, tc.t, []byte(tc.body)); !bytes.Equal(got, want) {
				t.Fatalf("MAC = %x, crypto/hmac says %x", got, want)
			}
		})
	}
}

func TestMACMatchesCryptoHMAC(t *testing.T) {
	bodies := [][]byte{nil, {}, []byte("."), []byte("0.1"), {0, 0xff, '\n', '\r'}, bytes.Repeat([]byte("parcel "), 10_000)}
	keys := [][]byte{testKey, testKeyPrevious, bytes.Repeat([]byte{0xa5}, 200), {}}
	for _, key := range keys {
		for _, ts := range []int64{0, 1, 9, 10, testT, 999999999999} {
			for _, body := range bodies {
				if got, want := MAC(key, ts, body), hmacOf(key, ts, body); !bytes.Equal(got, want) {
					t.Errorf("key of %d bytes, t=%d, body of %d bytes: MAC = %x, want %x", len(key), ts, len(body), got, want)
				}
			}
		}
	}
	// The timestamp is part of what is signed.
	if bytes.Equal(MAC(testKey, testT, []byte("x")), MAC(testKey, testT+1, []byte("x"))) {
		t.Fatal("two timestamps give the same MAC")
	}
}

func TestNewMACStreamsInChunks(t *testing.T) {
	body := make([]byte, 10_000)
	for i := range body {
		body[i] = byte(i * 7)
	}
	want := MAC(testKey, testT, body)
	for _, size := range []int{1, 2, 7, 63, 64, 65, 4096, len(body)} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			m := NewMAC(testKey, testT)
			for rest := body; len(rest) > 0; {
				n := min(size, len(rest))
				m.Write(rest[:n])
				rest = rest[n:]
			}
			if got := m.Sum(nil); !bytes.Equal(got, want) {
				t.Fatalf("chunks of %d: %x, want %x", size, got, want)
			}
		})
	}
	if got, want := NewMAC(testKey, testT).Sum(nil), MAC(testKey, testT, nil); !bytes.Equal(got, want) {
		t.Fatalf("empty body: %x, want %x", got, want)
	}
}

func TestSign(t *testing.T) {
	body := []byte(`{"articleId":"ARP1"}`)
	newHex := hex.EncodeToString(hmacOf(testKey, testT, body))
	oldHex := hex.EncodeToString(hmacOf(testKeyPrevious, testT, body))
	cases := []struct {
		name string
		keys [][]byte
		want string
	}{
		{name: "one key", keys: [][]byte{testKey}, want: "t=1764115200,v1=" + newHex},
		{name: "two keys in order", keys: [][]byte{testKey, testKeyPrevious}, want: "t=1764115200,v1=" + newHex + ",v1=" + oldHex},
		{name: "two keys the other way round", keys: [][]byte{testKeyPrevious, testKey}, want: "t=1764115200,v1=" + oldHex + ",v1=" + newHex},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Sign(testT, body, tc.keys...)
			if got != tc.want {
				t.Fatalf("Sign = %s, want %s", got, tc.want)
			}
			s, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(Sign(...)): %v", err)
			}
			if s.Timestamp != testT || len(s.MACs) != len(tc.keys) {
				t.Fatalf("Parse(Sign(...)) = %+v", s)
			}
		})
	}
	// Without a key there is no signature, and the header does not parse.
	if _, err := Parse(Sign(testT, body)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse of a header signed with no key: %v, want ErrMalformed", err)
	}
}

func TestMatch(t *testing.T) {
	body := []byte(`{"articleId":"ARP1"}`)
	sumNew := MAC(testKey, testT, body)
	sumOld := MAC(testKeyPrevious, testT, body)
	other := MAC(testKey, testT, []byte("another body"))
	cases := []struct {
		name string
		macs [][]byte
		sums [][]byte
		want [][]byte
	}{
		{name: "the one key", macs: [][]byte{sumNew}, sums: [][]byte{sumNew}, want: [][]byte{sumNew}},
		{name: "a different body", macs: [][]byte{other}, sums: [][]byte{sumNew}},
		{name: "no sums (no key)", macs: [][]byte{sumNew}},
		{name: "rotation: signed with the new key", macs: [][]byte{sumNew}, sums: [][]byte{sumNew, sumOld}, want: [][]byte{sumNew}},
		{name: "rotation: signed with the previous key", macs: [][]byte{sumOld}, sums: [][]byte{sumNew, sumOld}, want: [][]byte{sumOld}},
		{name: "rotation: signed with both keys", macs: [][]byte{sumOld, sumNew}, sums: [][]byte{sumNew, sumOld}, want: [][]byte{sumOld, sumNew}},
		{
			name: "rotation over: both signatures, only the new key",
			macs: [][]byte{sumOld, sumNew}, sums: [][]byte{sumNew}, want: [][]byte{sumNew},
		},
		{name: "only the previous key active", macs: [][]byte{sumNew}, sums: [][]byte{sumOld}},
		{name: "a wrong signature beside a right one", macs: [][]byte{other, sumNew}, sums: [][]byte{sumNew}, want: [][]byte{sumNew}},
		{name: "a MAC one bit off", macs: [][]byte{flipBit(sumNew, 255)}, sums: [][]byte{sumNew}},
		{name: "a MAC cut short", macs: [][]byte{sumNew[:31]}, sums: [][]byte{sumNew}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Signed{Timestamp: testT, MACs: tc.macs}.Match(tc.sums...)
			if tc.want == nil {
				if !errors.Is(err, ErrMismatch) || got != nil {
					t.Fatalf("Match = %x, %v; want ErrMismatch", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Match = %x, want %x", got, tc.want)
			}
		})
	}
}

// flipBit returns a copy of b with bit i flipped.
func flipBit(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i/8] ^= 1 << (i % 8)
	return c
}
