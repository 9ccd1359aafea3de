// Ciphertext shards: coefficient-encoded encryption under the collective key, and addition.

package main

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"
)

// shard is a parsed ciphertext shard.
type shard struct {
	count, index, total int
	c0, c1              []uint64
}

func openShard(b []byte, what string) (*paramSet, *shard, error) {
	ps, r, err := open(b, kindCiphertext, what)
	if err != nil {
		return nil, nil, err
	}
	var f [3]uint32
	for i := range f {
		if f[i], err = r.u32(); err != nil {
			return nil, nil, err
		}
	}
	s := &shard{count: int(f[0]), index: int(f[1]), total: int(f[2])}
	if s.count < 1 || s.count > ps.n || s.index >= s.total {
		return nil, nil, invalid("%s has an invalid header", what)
	}
	if s.c0, err = ps.values(r, s.count); err != nil {
		return nil, nil, err
	}
	if s.c1, err = ps.values(r, ps.n); err != nil {
		return nil, nil, err
	}
	return ps, s, r.end()
}

func (ps *paramSet) shardBytes(s *shard) []byte {
	b := make([]byte, 0, headerSize+12+8*(s.count+ps.n))
	b = append(b, header(ps, kindCiphertext)...)
	for _, v := range []int{s.count, s.index, s.total} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, v := range s.c0 {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	for _, v := range s.c1 {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// openShards parses a complete, ordered list of shards of one vector.
func openShards(ps *paramSet, shards [][]byte, what string) ([]*shard, error) {
	if len(shards) == 0 {
		return nil, invalid("%s: no ciphertext shards", what)
	}
	out := make([]*shard, len(shards))
	for k, b := range shards {
		name := fmt.Sprintf("%s: shard %d", what, k)
		p, s, err := openShard(b, name)
		if err != nil {
			return nil, err
		}
		if err := sameParams(ps, p, name); err != nil {
			return nil, err
		}
		if s.index != k || s.total != len(shards) {
			return nil, invalid("%s is shard %d of %d, expected shard %d of %d", name, s.index, s.total, k, len(shards))
		}
		out[k] = s
	}
	return out, nil
}

// encrypt encodes values in the coefficients of ceil(len/N) plaintexts and encrypts them.
func encrypt(pkBytes []byte, values []float64) ([][]byte, error) {
	ps, pk, err := openPublicKey(pkBytes)
	if err != nil {
		return nil, err
	}
	if len(values) == 0 {
		return nil, invalid("nothing to encrypt: the vector is empty")
	}
	for i, x := range values {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= ps.limit {
			return nil, invalid("value %d (%g) is not finite or not below %g in magnitude", i, x, ps.limit)
		}
	}
	total := (len(values) + ps.n - 1) / ps.n
	out := make([][]byte, total)
	type state struct {
		enc *rlwe.Encryptor
		pt  *rlwe.Plaintext
		ct  *rlwe.Ciphertext
	}
	err = parallel(total, func() state {
		pt := rlwe.NewPlaintext(ps.params)
		pt.IsNTT = false
		return state{rlwe.NewEncryptor(ps.params, pk), pt, rlwe.NewCiphertext(ps.params, 1)}
	}, func(st state, k int) error {
		chunk := values[k*ps.n : min((k+1)*ps.n, len(values))]
		st.pt.Value.Zero()
		c0, c1 := st.pt.Value.Coeffs[0], st.pt.Value.Coeffs[1]
		for i, x := range chunk {
			c0[i], c1[i] = ps.encode(int64(math.Round(x * ps.scale)))
		}
		if err := st.enc.Encrypt(st.pt, st.ct); err != nil {
			return err
		}
		if st.ct.IsNTT {
			return fmt.Errorf("internal error: ciphertext in the NTT domain")
		}
		s := &shard{count: len(chunk), index: k, total: total,
			c0: make([]uint64, len(chunk)), c1: make([]uint64, ps.n)}
		for i := range s.c0 {
			s.c0[i] = ps.compose(st.ct.Value[0].Coeffs[0][i], st.ct.Value[0].Coeffs[1][i])
		}
		for i := range s.c1 {
			s.c1[i] = ps.compose(st.ct.Value[1].Coeffs[0][i], st.ct.Value[1].Coeffs[1][i])
		}
		out[k] = ps.shardBytes(s)
		return nil
	})
	return out, err
}

// aggregate adds updates shard-wise mod Q, in the given order: same inputs, same bytes.
func aggregate(pkBytes []byte, updates [][][]byte) ([][]byte, error) {
	ps, _, err := open(pkBytes, kindPublicKey, "the public key")
	if err != nil {
		return nil, err
	}
	if len(updates) == 0 {
		return nil, invalid("nothing to aggregate")
	}
	total := len(updates[0])
	for u, shards := range updates {
		if len(shards) != total || total == 0 {
			return nil, invalid("update %d has %d shards, update 0 has %d", u, len(shards), total)
		}
	}
	out := make([][]byte, total)
	err = parallel(total, func() struct{} { return struct{}{} }, func(_ struct{}, k int) error {
		var sum *shard
		for u := range updates {
			name := fmt.Sprintf("update %d: shard %d", u, k)
			p, s, err := openShard(updates[u][k], name)
			if err != nil {
				return err
			}
			if err := sameParams(ps, p, name); err != nil {
				return err
			}
			if s.index != k || s.total != total {
				return invalid("%s is shard %d of %d, expected shard %d of %d", name, s.index, s.total, k, total)
			}
			if sum == nil {
				sum = s
				continue
			}
			if s.count != sum.count {
				return invalid("%s holds %d values, update 0's holds %d", name, s.count, sum.count)
			}
			for i, v := range s.c0 {
				sum.c0[i] = ps.addMod(sum.c0[i], v)
			}
			for i, v := range s.c1 {
				sum.c1[i] = ps.addMod(sum.c1[i], v)
			}
		}
		out[k] = ps.shardBytes(sum)
		return nil
	})
	return out, err
}
