package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
)

// Integer arguments are int64 little endian; lists of integers are packed int64s.
func argInt(b []byte, what string) (int64, error) {
	if len(b) != 8 {
		return 0, invalid("%s must be an 8-byte integer", what)
	}
	return int64(binary.LittleEndian.Uint64(b)), nil
}

func argInts(b []byte, what string) ([]int64, error) {
	if len(b)%8 != 0 {
		return nil, invalid("%s must be packed 8-byte integers", what)
	}
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func argFloats(b []byte) ([]float64, error) {
	if len(b)%8 != 0 {
		return nil, invalid("the vector must be packed float64 values")
	}
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func floatBytes(v []float64) []byte {
	out := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(x))
	}
	return out
}

func need(fields [][]byte, n int, op string) error {
	if len(fields) < n {
		return invalid("%s needs at least %d arguments, got %d", op, n, len(fields))
	}
	return nil
}

func one(b []byte, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	return [][]byte{b}, nil
}

// dispatch runs one operation; see the Python binding (fedfabric.he.lattigo) for the layouts.
func dispatch(op string, f [][]byte) ([][]byte, error) {
	switch op {
	case "params_ids":
		ids := make([]string, len(registry))
		for i, ps := range registry {
			ids[i] = ps.ID
		}
		b, err := json.Marshal(map[string]any{"default": DefaultID, "ids": ids})
		return one(b, err)
	case "params":
		if err := need(f, 1, op); err != nil {
			return nil, err
		}
		ps, err := paramsByID(string(f[0]))
		if err != nil {
			return nil, err
		}
		return one(ps.describe())
	case "keygen": // id, crs
		if err := need(f, 2, op); err != nil {
			return nil, err
		}
		return keygen(string(f[0]), f[1])
	case "combine_public_key": // crs, share...
		if err := need(f, 1, op); err != nil {
			return nil, err
		}
		return one(combinePublicKey(f[0], f[1:]))
	case "shamir_shares": // secret, t, points
		if err := need(f, 3, op); err != nil {
			return nil, err
		}
		t, err := argInt(f[1], "t")
		if err != nil {
			return nil, err
		}
		points, err := argInts(f[2], "points")
		if err != nil {
			return nil, err
		}
		return shamirShares(f[0], t, points)
	case "threshold_secret": // share...
		return one(thresholdSecret(f))
	case "encrypt": // public key, float64s, zero encryptions for the first shards...
		if err := need(f, 2, op); err != nil {
			return nil, err
		}
		values, err := argFloats(f[1])
		if err != nil {
			return nil, err
		}
		return encrypt(f[0], values, f[2:])
	case "encrypt_zeros": // public key, count[, workers]
		if err := need(f, 2, op); err != nil {
			return nil, err
		}
		count, err := argInt(f[1], "count")
		if err != nil {
			return nil, err
		}
		workers := int64(0)
		if len(f) > 2 {
			if workers, err = argInt(f[2], "workers"); err != nil {
				return nil, err
			}
		}
		return encryptZeros(f[0], count, workers)
	case "validate": // public key, length, shards...
		if err := need(f, 2, op); err != nil {
			return nil, err
		}
		length, err := argInt(f[1], "length")
		if err != nil {
			return nil, err
		}
		return nil, validate(f[0], length, f[2:])
	case "aggregate": // public key, shard count of each update, shards (update by update)
		if err := need(f, 2, op); err != nil {
			return nil, err
		}
		counts, err := argInts(f[1], "the shard counts")
		if err != nil {
			return nil, err
		}
		shards := f[2:]
		updates := make([][][]byte, len(counts))
		off := int64(0)
		for u, c := range counts {
			if c < 0 || off+c > int64(len(shards)) {
				return nil, invalid("the shard counts do not match the %d shards", len(shards))
			}
			updates[u] = shards[off : off+c]
			off += c
		}
		if off != int64(len(shards)) {
			return nil, invalid("the shard counts do not match the %d shards", len(shards))
		}
		return aggregate(f[0], updates)
	case "decryption_share": // secret, point, t, active, shards...
		if err := need(f, 4, op); err != nil {
			return nil, err
		}
		point, err := argInt(f[1], "point")
		if err != nil {
			return nil, err
		}
		t, err := argInt(f[2], "t")
		if err != nil {
			return nil, err
		}
		active, err := argInts(f[3], "active")
		if err != nil {
			return nil, err
		}
		return decryptionShare(f[0], point, active, t, f[4:])
	case "combine": // length, number of shards, points, shards..., shares party by party
		if err := need(f, 3, op); err != nil {
			return nil, err
		}
		length, err := argInt(f[0], "length")
		if err != nil {
			return nil, err
		}
		m, err := argInt(f[1], "the number of shards")
		if err != nil {
			return nil, err
		}
		points, err := argInts(f[2], "points")
		if err != nil {
			return nil, err
		}
		rest := f[3:]
		if m < 1 || int64(len(rest)) != m*int64(1+len(points)) {
			return nil, invalid("combine got %d shards and shares for %d shards and %d parties",
				len(rest), m, len(points))
		}
		shares := make([][][]byte, len(points))
		for j := range shares {
			shares[j] = rest[int(m)*(1+j) : int(m)*(2+j)]
		}
		values, err := combine(length, points, rest[:m], shares)
		if err != nil {
			return nil, err
		}
		return [][]byte{floatBytes(values)}, nil
	}
	return nil, invalid("unknown operation %q", op)
}
