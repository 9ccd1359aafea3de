package main

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tuneinsight/lattigo/v6/ring"
)

// Every object starts with an 8-byte header: "TC", format version, kind, and the first 4 bytes of
// sha256(parameter-set id). Ring elements follow as N little-endian uint64 values in [0, Q): the
// CRT composition of their two RNS residues (Q < 2^64).
const (
	formatVersion = 1
	headerSize    = 8
)

const (
	kindSecret     byte = 1 // a party's secret share s_i (NTT, Montgomery)
	kindPKShare    byte = 2 // a party's public-key share for the collective key generation
	kindPublicKey  byte = 3 // the collective public key (its CRS, then p0; p1 is derived from the CRS)
	kindShamir     byte = 4 // a Shamir share of s_i sent from party i to party j
	kindThreshold  byte = 5 // party j's t-out-of-N share (sum of the Shamir shares it received)
	kindCiphertext byte = 6 // one ciphertext shard: c0 (count values), c1 (N values), coefficient domain
	kindDecShare   byte = 7 // one party's decryption share of one shard (count values)
	kindZero       byte = 8 // an encryption of zero made ahead of time: key digest, c0, c1 (N values each)
)

var kindNames = map[byte]string{
	kindSecret: "secret share", kindPKShare: "public-key share", kindPublicKey: "public key",
	kindShamir: "Shamir share", kindThreshold: "threshold secret", kindCiphertext: "ciphertext shard",
	kindDecShare: "decryption share", kindZero: "zero encryption",
}

// inputError is an error caused by the caller's input: Python raises ValueError for it.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &inputError{fmt.Sprintf(format, args...)}
}

func isInputError(err error) bool {
	var ie *inputError
	return errors.As(err, &ie)
}

func header(ps *paramSet, kind byte) []byte {
	return append([]byte{'T', 'C', formatVersion, kind}, ps.tag[:]...)
}

// reader walks an object's bytes, turning short reads into clear errors.
type reader struct {
	b    []byte
	off  int
	what string
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, invalid("%s is truncated (%d bytes)", r.what, len(r.b))
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out, nil
}

func (r *reader) u32() (uint32, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) end() error {
	if r.off != len(r.b) {
		return invalid("%s has %d unexpected trailing bytes", r.what, len(r.b)-r.off)
	}
	return nil
}

// open checks an object's header and returns its parameter set and a reader past the header.
func open(b []byte, kind byte, what string) (*paramSet, *reader, error) {
	r := &reader{b: b, what: what}
	h, err := r.take(headerSize)
	if err != nil {
		return nil, nil, err
	}
	if h[0] != 'T' || h[1] != 'C' {
		return nil, nil, invalid("%s is not a threshold-ckks object", what)
	}
	if h[2] != formatVersion {
		return nil, nil, invalid("%s has format version %d, expected %d", what, h[2], formatVersion)
	}
	if h[3] != kind {
		got, ok := kindNames[h[3]]
		if !ok {
			got = fmt.Sprintf("kind %d", h[3])
		}
		return nil, nil, invalid("%s is a %s, expected a %s", what, got, kindNames[kind])
	}
	ps, err := paramsByTag(h[4:8])
	if err != nil {
		return nil, nil, invalid("%s is %v", what, err)
	}
	return ps, r, nil
}

// sameParams reports objects of another parameter set than ps.
func sameParams(ps, other *paramSet, what string) error {
	if ps != other {
		return invalid("%s belongs to parameter set %s, not %s", what, other.ID, ps.ID)
	}
	return nil
}

func (ps *paramSet) compose(r0, r1 uint64) uint64 {
	r0 %= ps.q0
	r1 %= ps.q1
	d := (r1 + ps.q1 - r0%ps.q1) % ps.q1
	return r0 + ps.q0*(d*ps.q0Inv%ps.q1)
}

// putPoly appends the first count coefficients of p (level 1) in composed form.
func (ps *paramSet) putPoly(dst []byte, p ring.Poly, count int) []byte {
	c0, c1 := p.Coeffs[0], p.Coeffs[1]
	for i := 0; i < count; i++ {
		dst = binary.LittleEndian.AppendUint64(dst, ps.compose(c0[i], c1[i]))
	}
	return dst
}

// values reads count composed values, each checked to lie in [0, Q).
func (ps *paramSet) values(r *reader, count int) ([]uint64, error) {
	b, err := r.take(8 * count)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, count)
	for i := range out {
		v := binary.LittleEndian.Uint64(b[8*i:])
		if v >= ps.bigQ {
			return nil, invalid("%s holds a value out of range (another parameter set or corrupted bytes)", r.what)
		}
		out[i] = v
	}
	return out, nil
}

// toPoly writes composed values into the first len(vals) coefficients of p (level 1).
func (ps *paramSet) toPoly(vals []uint64, p ring.Poly) {
	c0, c1 := p.Coeffs[0], p.Coeffs[1]
	for i, v := range vals {
		c0[i], c1[i] = v%ps.q0, v%ps.q1
	}
}

// readPoly reads a full ring element (N values) into a new polynomial.
func (ps *paramSet) readPoly(r *reader) (ring.Poly, error) {
	vals, err := ps.values(r, ps.n)
	if err != nil {
		return ring.Poly{}, err
	}
	p := ps.params.RingQ().NewPoly()
	ps.toPoly(vals, p)
	return p, nil
}

// addMod returns (a + b) mod Q for a, b in [0, Q).
func (ps *paramSet) addMod(a, b uint64) uint64 {
	s := a + b
	if s < a || s >= ps.bigQ {
		s -= ps.bigQ
	}
	return s
}

// encode maps a value to its residues: round(x * 2^scale) mod q0, mod q1.
func (ps *paramSet) encode(v int64) (uint64, uint64) {
	if v >= 0 {
		return uint64(v) % ps.q0, uint64(v) % ps.q1
	}
	u := uint64(-v)
	return (ps.q0 - u%ps.q0) % ps.q0, (ps.q1 - u%ps.q1) % ps.q1
}

// decode maps a composed value in [0, Q) to the centred integer, scaled back.
func (ps *paramSet) decode(v uint64) float64 {
	if v > ps.bigQ/2 {
		return -float64(ps.bigQ-v) / ps.scale
	}
	return float64(v) / ps.scale
}

func digest8(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)[:8]
}
