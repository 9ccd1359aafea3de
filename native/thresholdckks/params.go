package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/ring"
)

// The two NTT-friendly primes (q = 1 mod 2^14, so valid for LogN <= 13) just below 2^32.
// Their product Q < 2^64, so a coefficient mod Q is stored in exactly 8 bytes.
var moduli = []uint64{4294475777, 4293918721}

// paramSet is one named parameter set; its id is stamped (hashed) on every object it makes.
type paramSet struct {
	ID        string
	LogN      int
	ScaleBits int // plaintext scale Delta = 2^ScaleBits
	FloodBits int // flooding noise standard deviation per decrypting party = 2^FloodBits

	tag    [4]byte
	params rlwe.Parameters
	n      int
	q0, q1 uint64
	bigQ   uint64  // q0 * q1
	q0Inv  uint64  // q0^-1 mod q1
	scale  float64 // 2^ScaleBits
	limit  float64 // largest |value| the plaintext space holds
}

var registry = []*paramSet{
	{ID: "tckks-n12-q64-d49-f25", LogN: 12, ScaleBits: 49, FloodBits: 25},
	{ID: "tckks-n13-q64-d49-f25", LogN: 13, ScaleBits: 49, FloodBits: 25},
}

// DefaultID names the parameter set the Python side uses unless told otherwise.
const DefaultID = "tckks-n12-q64-d49-f25"

var initOnce sync.Once
var initErr error

func initRegistry() error {
	initOnce.Do(func() {
		for _, ps := range registry {
			if err := ps.init(); err != nil {
				initErr = fmt.Errorf("parameter set %s: %w", ps.ID, err)
				return
			}
		}
	})
	return initErr
}

func (ps *paramSet) init() (err error) {
	ps.params, err = rlwe.NewParametersFromLiteral(rlwe.ParametersLiteral{
		LogN:     ps.LogN,
		Q:        moduli,
		Xs:       rlwe.DefaultXs,
		Xe:       rlwe.DefaultXe,
		RingType: ring.Standard,
		NTTFlag:  false,
	})
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(ps.ID))
	copy(ps.tag[:], sum[:4])
	ps.n = ps.params.N()
	ps.q0, ps.q1 = moduli[0], moduli[1]
	ps.bigQ = ps.q0 * ps.q1
	ps.q0Inv = modInverse(ps.q0%ps.q1, ps.q1)
	ps.scale = math.Ldexp(1, ps.ScaleBits)
	ps.limit = float64(ps.bigQ/2) / ps.scale
	return nil
}

func paramsByID(id string) (*paramSet, error) {
	if err := initRegistry(); err != nil {
		return nil, err
	}
	for _, ps := range registry {
		if ps.ID == id {
			return ps, nil
		}
	}
	return nil, invalid("unknown parameter set %q", id)
}

func paramsByTag(tag []byte) (*paramSet, error) {
	if err := initRegistry(); err != nil {
		return nil, err
	}
	for _, ps := range registry {
		if string(ps.tag[:]) == string(tag) {
			return ps, nil
		}
	}
	return nil, invalid("made with an unknown parameter set (tag %x)", tag)
}

func (ps *paramSet) floodSigma() float64 { return math.Ldexp(1, ps.FloodBits) }

// describe is the JSON the Python side shows as the parameters.
func (ps *paramSet) describe() ([]byte, error) {
	return json.Marshal(map[string]any{
		"params_id":           ps.ID,
		"scheme":              "threshold-ckks",
		"library":             "lattigo v6.1.1 (multiparty)",
		"ring":                "standard Z[X]/(X^N+1)",
		"encoding":            "coefficient",
		"LogN":                ps.LogN,
		"N":                   ps.n,
		"moduli":              moduli,
		"log_Q":               math.Log2(float64(ps.q0)) + math.Log2(float64(ps.q1)),
		"P":                   []uint64{},
		"scale":               ps.scale,
		"scale_bits":          ps.ScaleBits,
		"flooding_sigma_bits": ps.FloodBits,
		"flooding_sigma":      ps.floodSigma(),
		"error_sigma":         rlwe.DefaultNoise,
		"secret":              "ternary, P(nonzero) = 2/3",
		"shard_values":        ps.n,
		"value_limit":         ps.limit,
		"security":            fmt.Sprintf("128-bit classical (HE standard: N=%d allows log QP <= %d; here 64)", ps.n, map[int]int{12: 109, 13: 218}[ps.LogN]),
	})
}

func modInverse(a, m uint64) uint64 {
	// m is prime: a^(m-2) mod m, with 64-bit products (a, m < 2^32).
	result, base, e := uint64(1), a%m, m-2
	for e > 0 {
		if e&1 == 1 {
			result = result * base % m
		}
		base = base * base % m
		e >>= 1
	}
	return result
}
