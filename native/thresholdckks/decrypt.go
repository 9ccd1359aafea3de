// Decryption: flooded key-switching shares to the zero key for an active set, and combining.

package main

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/multiparty"
	"github.com/tuneinsight/lattigo/v6/ring"
	"github.com/tuneinsight/lattigo/v6/ring/ringqp"
)

func activeDigest(t int, active []int64) []byte {
	sorted := append([]int64(nil), active...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	b := binary.LittleEndian.AppendUint32([]byte("tckks-active"), uint32(t))
	for _, p := range sorted {
		b = binary.LittleEndian.AppendUint32(b, uint32(p))
	}
	return digest8(b)
}

// additiveShare turns a party's secret into its share of the collective secret for this active
// set: a threshold secret goes through Lagrange interpolation; a plain secret share s_i (the
// t = N case without the Shamir layer) is used as it is.
func additiveShare(secret []byte, point int64, active []int64, t int64) (*paramSet, *rlwe.SecretKey, error) {
	if len(secret) < headerSize {
		return nil, nil, invalid("the secret is truncated (%d bytes)", len(secret))
	}
	kind := secret[3]
	if kind != kindThreshold {
		kind = kindSecret
	}
	ps, r, err := open(secret, kind, "the secret")
	if err != nil {
		return nil, nil, err
	}
	if err := checkPoints(active, "the active set"); err != nil {
		return nil, nil, err
	}
	if int64(len(active)) != t {
		return nil, nil, invalid("the active set has %d points; it must have exactly t=%d", len(active), t)
	}
	found := false
	for _, p := range active {
		found = found || p == point
	}
	if !found {
		return nil, nil, invalid("point %d is not in the active set %v", point, active)
	}
	var own, tt uint32
	if kind == kindThreshold {
		if own, err = r.u32(); err != nil {
			return nil, nil, err
		}
		if tt, err = r.u32(); err != nil {
			return nil, nil, err
		}
	}
	poly, err := ps.readPoly(r)
	if err != nil {
		return nil, nil, err
	}
	if err := r.end(); err != nil {
		return nil, nil, err
	}
	sk := rlwe.NewSecretKey(ps.params)
	if kind == kindSecret {
		sk.Value.Q.Copy(poly)
		return ps, sk, nil
	}
	if int64(own) != point {
		return nil, nil, invalid("this threshold secret belongs to point %d, not %d", own, point)
	}
	if int64(tt) != t {
		return nil, nil, invalid("this threshold secret is for t=%d, not t=%d", tt, t)
	}
	pts := make([]multiparty.ShamirPublicPoint, len(active))
	for i, p := range active {
		pts[i] = multiparty.ShamirPublicPoint(p)
	}
	own64 := multiparty.ShamirPublicPoint(point)
	cmb := multiparty.NewCombiner(ps.params, own64, pts, int(t))
	share := multiparty.ShamirSecretShare{Poly: ringqp.Poly{Q: poly}}
	if err := cmb.GenAdditiveShare(pts, own64, share, sk); err != nil {
		return nil, nil, invalid("%v", err)
	}
	return ps, sk, nil
}

// decryptionShare computes c1*s_j + e_flood for each shard (the first count coefficients).
func decryptionShare(secret []byte, point int64, active []int64, t int64, shards [][]byte) ([][]byte, error) {
	ps, sk, err := additiveShare(secret, point, active, t)
	if err != nil {
		return nil, err
	}
	parsed, err := openShards(ps, shards, "the ciphertext")
	if err != nil {
		return nil, err
	}
	sigma := ps.floodSigma()
	base, err := multiparty.NewKeySwitchProtocol(ps.params, ring.DiscreteGaussian{Sigma: sigma, Bound: 6 * sigma})
	if err != nil {
		return nil, err
	}
	zero := rlwe.NewSecretKey(ps.params)
	act := activeDigest(int(t), active)
	out := make([][]byte, len(shards))
	type state struct {
		cks   multiparty.KeySwitchProtocol
		ct    *rlwe.Ciphertext
		share multiparty.KeySwitchShare
	}
	err = parallel(len(shards), func() state {
		cks := base.ShallowCopy()
		return state{cks, rlwe.NewCiphertext(ps.params, 1), cks.AllocateShare(ps.params.MaxLevel())}
	}, func(st state, k int) error {
		s := parsed[k]
		st.ct.IsNTT = false
		ps.toPoly(s.c1, st.ct.Value[1])
		st.cks.GenShare(sk, zero, st.ct, &st.share)
		b := binary.LittleEndian.AppendUint32(header(ps, kindDecShare), uint32(point))
		b = binary.LittleEndian.AppendUint32(b, uint32(s.count))
		b = append(b, digest8(shards[k])...)
		b = append(b, act...)
		out[k] = ps.putPoly(b, st.share.Value, s.count)
		return nil
	})
	return out, err
}

// combine adds the decryption shares of the active set to c0 and decodes the first length values.
func combine(length int64, points []int64, shards [][]byte, shares [][][]byte) ([]float64, error) {
	if len(shards) == 0 {
		return nil, invalid("no ciphertext shards")
	}
	ps, _, err := openShard(shards[0], "the ciphertext: shard 0")
	if err != nil {
		return nil, err
	}
	parsed, err := openShards(ps, shards, "the ciphertext")
	if err != nil {
		return nil, err
	}
	if err := checkPoints(points, "the set of decrypting parties"); err != nil {
		return nil, err
	}
	if len(shares) != len(points) {
		return nil, invalid("decryption shares from %d parties for %d points", len(shares), len(points))
	}
	available := 0
	for _, s := range parsed {
		available += s.count
	}
	if length < 0 || length > int64(available) {
		return nil, invalid("asked for %d values; the shards hold %d", length, available)
	}
	act := activeDigest(len(points), points)
	offsets := make([]int, len(parsed))
	for k := 1; k < len(parsed); k++ {
		offsets[k] = offsets[k-1] + parsed[k-1].count
	}
	values := make([]float64, available)
	err = parallel(len(parsed), func() struct{} { return struct{}{} }, func(_ struct{}, k int) error {
		s := parsed[k]
		sum := append([]uint64(nil), s.c0...)
		ct := digest8(shards[k])
		for j, p := range points {
			if len(shares[j]) != len(shards) {
				return invalid("party %d sent %d decryption shares for %d shards", p, len(shares[j]), len(shards))
			}
			what := fmt.Sprintf("party %d's decryption share %d", p, k)
			q, r, err := open(shares[j][k], kindDecShare, what)
			if err != nil {
				return err
			}
			if err := sameParams(ps, q, what); err != nil {
				return err
			}
			hdr, err := r.take(24)
			if err != nil {
				return err
			}
			if int64(binary.LittleEndian.Uint32(hdr)) != p {
				return invalid("%s was made by point %d", what, binary.LittleEndian.Uint32(hdr))
			}
			if int(binary.LittleEndian.Uint32(hdr[4:])) != s.count || string(hdr[8:16]) != string(ct) {
				return invalid("%s is for another ciphertext", what)
			}
			if string(hdr[16:24]) != string(act) {
				return invalid("%s was computed for another active set than %v", what, points)
			}
			vals, err := ps.values(r, s.count)
			if err != nil {
				return err
			}
			if err := r.end(); err != nil {
				return err
			}
			for i, v := range vals {
				sum[i] = ps.addMod(sum[i], v)
			}
		}
		for i, v := range sum {
			values[offsets[k]+i] = ps.decode(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return values[:length], nil
}
