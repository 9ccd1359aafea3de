// Key material: collective public key (CKG) and Shamir t-out-of-N re-sharing.

package main

import (
	"encoding/binary"
	"fmt"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/multiparty"
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/ring/ringqp"
	"github.com/tuneinsight/lattigo/v6/utils/sampling"
)

const (
	minCRS   = 16
	maxCRS   = 1024
	maxPoint = 65535
)

func checkCRS(crs []byte) error {
	if len(crs) < minCRS || len(crs) > maxCRS {
		return invalid("the CRS must be %d to %d bytes, not %d", minCRS, maxCRS, len(crs))
	}
	return nil
}

func crp(ps *paramSet, crs []byte) (multiparty.PublicKeyGenCRP, error) {
	prng, err := sampling.NewKeyedPRNG(crs)
	if err != nil {
		return multiparty.PublicKeyGenCRP{}, err
	}
	return multiparty.NewPublicKeyGenProtocol(ps.params).SampleCRP(prng), nil
}

// keygen returns (secret share, public-key share under the CRS).
func keygen(id string, crs []byte) ([][]byte, error) {
	ps, err := paramsByID(id)
	if err != nil {
		return nil, err
	}
	if err := checkCRS(crs); err != nil {
		return nil, err
	}
	sk := rlwe.NewKeyGenerator(ps.params).GenSecretKeyNew()
	a, err := crp(ps, crs)
	if err != nil {
		return nil, err
	}
	ckg := multiparty.NewPublicKeyGenProtocol(ps.params)
	share := ckg.AllocateShare()
	ckg.GenShare(sk, a, &share)
	secret := ps.putPoly(header(ps, kindSecret), sk.Value.Q, ps.n)
	pub := append(header(ps, kindPKShare), digest8(crs)...)
	return [][]byte{secret, ps.putPoly(pub, share.Value.Q, ps.n)}, nil
}

// combinePublicKey adds the public-key shares in the given order.
func combinePublicKey(crs []byte, shares [][]byte) ([]byte, error) {
	if err := checkCRS(crs); err != nil {
		return nil, err
	}
	if len(shares) == 0 {
		return nil, invalid("no public-key shares")
	}
	var ps *paramSet
	var sum ring.Poly
	for i, b := range shares {
		what := fmt.Sprintf("public-key share %d", i)
		p, r, err := open(b, kindPKShare, what)
		if err != nil {
			return nil, err
		}
		if ps == nil {
			ps, sum = p, p.params.RingQ().NewPoly()
		} else if err := sameParams(ps, p, what); err != nil {
			return nil, err
		}
		d, err := r.take(8)
		if err != nil {
			return nil, err
		}
		if string(d) != string(digest8(crs)) {
			return nil, invalid("%s was made for another CRS", what)
		}
		poly, err := ps.readPoly(r)
		if err != nil {
			return nil, err
		}
		if err := r.end(); err != nil {
			return nil, err
		}
		ps.params.RingQ().Add(sum, poly, sum)
	}
	out := binary.LittleEndian.AppendUint16(header(ps, kindPublicKey), uint16(len(crs)))
	out = append(out, crs...)
	return ps.putPoly(out, sum, ps.n), nil
}

func openPublicKey(b []byte) (*paramSet, *rlwe.PublicKey, error) {
	ps, r, err := open(b, kindPublicKey, "the public key")
	if err != nil {
		return nil, nil, err
	}
	lb, err := r.take(2)
	if err != nil {
		return nil, nil, err
	}
	crs, err := r.take(int(binary.LittleEndian.Uint16(lb)))
	if err != nil {
		return nil, nil, err
	}
	if err := checkCRS(crs); err != nil {
		return nil, nil, err
	}
	p0, err := ps.readPoly(r)
	if err != nil {
		return nil, nil, err
	}
	if err := r.end(); err != nil {
		return nil, nil, err
	}
	a, err := crp(ps, crs)
	if err != nil {
		return nil, nil, err
	}
	pk := rlwe.NewPublicKey(ps.params)
	pk.Value[0].Q.Copy(p0)
	pk.Value[1].Q.Copy(a.Value.Q)
	return ps, pk, nil
}

func checkPoints(points []int64, what string) error {
	if len(points) == 0 {
		return invalid("%s is empty", what)
	}
	seen := map[int64]bool{}
	for _, p := range points {
		if p < 1 || p > maxPoint {
			return invalid("%s has point %d; points must be from 1 to %d", what, p, maxPoint)
		}
		if seen[p] {
			return invalid("%s has point %d twice", what, p)
		}
		seen[p] = true
	}
	return nil
}

// shamirShares splits a secret share s_i into t-out-of-len(points) Shamir shares, one per point.
func shamirShares(secret []byte, t int64, points []int64) ([][]byte, error) {
	ps, r, err := open(secret, kindSecret, "the secret share")
	if err != nil {
		return nil, err
	}
	poly, err := ps.readPoly(r)
	if err != nil {
		return nil, err
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	if err := checkPoints(points, "the list of points"); err != nil {
		return nil, err
	}
	if t < 1 || t > int64(len(points)) {
		return nil, invalid("the threshold t=%d must be from 1 to the number of points (%d)", t, len(points))
	}
	thr := multiparty.NewThresholdizer(ps.params)
	sk := &rlwe.SecretKey{Value: ringqp.Poly{Q: poly}}
	shamir, err := thr.GenShamirPolynomial(int(t), sk)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(points))
	for i, p := range points {
		share := thr.AllocateThresholdSecretShare()
		thr.GenShamirSecretShare(multiparty.ShamirPublicPoint(p), shamir, &share)
		b := binary.LittleEndian.AppendUint32(header(ps, kindShamir), uint32(p))
		b = binary.LittleEndian.AppendUint32(b, uint32(t))
		out[i] = ps.putPoly(b, share.Q, ps.n)
	}
	return out, nil
}

// thresholdSecret sums the Shamir shares a party received (its own included).
func thresholdSecret(received [][]byte) ([]byte, error) {
	if len(received) == 0 {
		return nil, invalid("no Shamir shares")
	}
	var ps *paramSet
	var sum ring.Poly
	var point, t uint32
	for i, b := range received {
		what := fmt.Sprintf("Shamir share %d", i)
		p, r, err := open(b, kindShamir, what)
		if err != nil {
			return nil, err
		}
		pt, err := r.u32()
		if err != nil {
			return nil, err
		}
		tt, err := r.u32()
		if err != nil {
			return nil, err
		}
		if ps == nil {
			ps, sum, point, t = p, p.params.RingQ().NewPoly(), pt, tt
		} else {
			if err := sameParams(ps, p, what); err != nil {
				return nil, err
			}
			if pt != point {
				return nil, invalid("%s is for point %d, the others for point %d", what, pt, point)
			}
			if tt != t {
				return nil, invalid("%s is for threshold %d, the others for %d", what, tt, t)
			}
		}
		poly, err := ps.readPoly(r)
		if err != nil {
			return nil, err
		}
		if err := r.end(); err != nil {
			return nil, err
		}
		ps.params.RingQ().Add(sum, poly, sum)
	}
	if len(received) < int(t) {
		return nil, invalid("%d Shamir shares for threshold %d: need one from every party", len(received), t)
	}
	b := binary.LittleEndian.AppendUint32(header(ps, kindThreshold), point)
	b = binary.LittleEndian.AppendUint32(b, t)
	return ps.putPoly(b, sum, ps.n), nil
}
