// Ciphertext shards: coefficient-encoded encryption under the collective key, and addition.

package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"

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

// encryptZeros makes count encryptions of zero under the public key, ahead of time: encrypt adds
// a vector's values to them, so that encrypting an update costs little once it is known. Each is
// as secret as an encryption's randomness and must be used once. workers: at most that many
// goroutines (1: on the calling thread; 0: one per core).
func encryptZeros(pkBytes []byte, count, workers int64) ([][]byte, error) {
	ps, pk, err := openPublicKey(pkBytes)
	if err != nil {
		return nil, err
	}
	if count < 1 || count > 1<<16 {
		return nil, invalid("count must be from 1 to 65536, not %d", count)
	}
	if workers < 0 || workers > 1<<10 {
		return nil, invalid("workers must be from 0 to 1024, not %d", workers)
	}
	if workers == 0 {
		workers = int64(runtime.GOMAXPROCS(0))
	}
	key := digest8(pkBytes)
	out := make([][]byte, count)
	err = parallelOn(int(workers), int(count), func() *zeroMaker { return newZeroMaker(ps, pk) }, func(z *zeroMaker, k int) error {
		if err := z.enc.EncryptZero(z.ct); err != nil {
			return err
		}
		if z.ct.IsNTT {
			return fmt.Errorf("internal error: ciphertext in the NTT domain")
		}
		b := make([]byte, 0, headerSize+8+16*ps.n)
		b = append(append(b, header(ps, kindZero)...), key...)
		b = ps.putPoly(b, z.ct.Value[0], ps.n)
		out[k] = ps.putPoly(b, z.ct.Value[1], ps.n)
		return nil
	})
	return out, err
}

type zeroMaker struct {
	enc *rlwe.Encryptor
	pt  *rlwe.Plaintext
	ct  *rlwe.Ciphertext
}

func newZeroMaker(ps *paramSet, pk *rlwe.PublicKey) *zeroMaker {
	pt := rlwe.NewPlaintext(ps.params)
	pt.IsNTT = false
	ct := rlwe.NewCiphertext(ps.params, 1)
	ct.IsNTT = false
	return &zeroMaker{rlwe.NewEncryptor(ps.params, pk), pt, ct}
}

// openZero parses an encryption of zero made under the public key whose digest is key.
func (ps *paramSet) openZero(b, key []byte, what string) (c0, c1 []uint64, err error) {
	q, r, err := open(b, kindZero, what)
	if err != nil {
		return nil, nil, err
	}
	if err := sameParams(ps, q, what); err != nil {
		return nil, nil, err
	}
	got, err := r.take(8)
	if err != nil {
		return nil, nil, err
	}
	if string(got) != string(key) {
		return nil, nil, invalid("%s was made under another public key", what)
	}
	if c0, err = ps.values(r, ps.n); err != nil {
		return nil, nil, err
	}
	if c1, err = ps.values(r, ps.n); err != nil {
		return nil, nil, err
	}
	return c0, c1, r.end()
}

// encrypt encodes values in the coefficients of ceil(len/N) plaintexts and encrypts them; shard
// k uses zeros[k] (from encryptZeros) when given, else fresh randomness.
func encrypt(pkBytes []byte, values []float64, zeros [][]byte) ([][]byte, error) {
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
	if len(zeros) > total {
		return nil, invalid("%d zero encryptions for %d shards", len(zeros), total)
	}
	key := digest8(pkBytes)
	out := make([][]byte, total)
	err = parallel(total, func() *zeroMaker { return newZeroMaker(ps, pk) }, func(z *zeroMaker, k int) error {
		chunk := values[k*ps.n : min((k+1)*ps.n, len(values))]
		s := &shard{count: len(chunk), index: k, total: total}
		if k < len(zeros) {
			c0, c1, err := ps.openZero(zeros[k], key, fmt.Sprintf("zero encryption %d", k))
			if err != nil {
				return err
			}
			s.c0, s.c1 = c0[:len(chunk)], c1
			for i, x := range chunk {
				s.c0[i] = ps.addMod(s.c0[i], ps.compose(ps.encode(int64(math.Round(x*ps.scale)))))
			}
			out[k] = ps.shardBytes(s)
			return nil
		}
		z.pt.Value.Zero()
		c0, c1 := z.pt.Value.Coeffs[0], z.pt.Value.Coeffs[1]
		for i, x := range chunk {
			c0[i], c1[i] = ps.encode(int64(math.Round(x * ps.scale)))
		}
		if err := z.enc.Encrypt(z.pt, z.ct); err != nil {
			return err
		}
		if z.ct.IsNTT {
			return fmt.Errorf("internal error: ciphertext in the NTT domain")
		}
		s.c0, s.c1 = make([]uint64, len(chunk)), make([]uint64, ps.n)
		for i := range s.c0 {
			s.c0[i] = ps.compose(z.ct.Value[0].Coeffs[0][i], z.ct.Value[0].Coeffs[1][i])
		}
		for i := range s.c1 {
			s.c1[i] = ps.compose(z.ct.Value[1].Coeffs[0][i], z.ct.Value[1].Coeffs[1][i])
		}
		out[k] = ps.shardBytes(s)
		return nil
	})
	return out, err
}

// validate checks that shards are a complete encryption of length values under the public key's
// parameters: every shard parses, is in place, and holds N values but the last (the rest).
func validate(pkBytes []byte, length int64, shards [][]byte) error {
	ps, _, err := open(pkBytes, kindPublicKey, "the public key")
	if err != nil {
		return err
	}
	want := (length + int64(ps.n) - 1) / int64(ps.n)
	if length < 1 || int64(len(shards)) != want {
		return invalid("%d shards for %d values; expected %d", len(shards), length, want)
	}
	parsed, err := openShards(ps, shards, "the ciphertext")
	if err != nil {
		return err
	}
	for k, s := range parsed {
		count := min(int64(ps.n), length-int64(k*ps.n))
		if int64(s.count) != count {
			return invalid("the ciphertext: shard %d holds %d values, expected %d", k, s.count, count)
		}
	}
	return nil
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
