package main

import (
	"math"
	"testing"
)

func TestCodecRoundTrip(t *testing.T) {
	ps, err := paramsByID(DefaultID)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []float64{0, 1e-9, -1e-9, 3.25, -3.25, 16000, -16000} {
		r0, r1 := ps.encode(int64(math.Round(x * ps.scale)))
		if got := ps.decode(ps.compose(r0, r1)); math.Abs(got-x) > 1e-14*math.Max(1, math.Abs(x)) {
			t.Errorf("decode(encode(%g)) = %g", x, got)
		}
	}
	a, b := ps.bigQ-1, ps.bigQ-2 // a + b overflows uint64
	if got := ps.addMod(a, b); got != ps.bigQ-3 {
		t.Errorf("addMod overflow: got %d", got)
	}
}

func TestTwoOfThreeDecrypt(t *testing.T) {
	crs := []byte("go test common reference string")
	points := []int64{1, 2, 3}
	var secrets, pkShares [][]byte
	for range points {
		out, err := keygen(DefaultID, crs)
		if err != nil {
			t.Fatal(err)
		}
		secrets, pkShares = append(secrets, out[0]), append(pkShares, out[1])
	}
	pk, err := combinePublicKey(crs, pkShares)
	if err != nil {
		t.Fatal(err)
	}
	sent := make([][][]byte, len(points))
	for i := range points {
		if sent[i], err = shamirShares(secrets[i], 2, points); err != nil {
			t.Fatal(err)
		}
	}
	values := make([]float64, 5000)
	for i := range values {
		values[i] = math.Sin(float64(i))
	}
	zeros, err := encryptZeros(pk, 1, 1) // shard 0 from an encryption of zero made ahead of time
	if err != nil {
		t.Fatal(err)
	}
	ct, err := encrypt(pk, values, zeros)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := encrypt(pk, values, [][]byte{zeros[0], zeros[0], zeros[0]}); err == nil {
		t.Fatal("encrypt took more zero encryptions than shards")
	}
	other, _ := keygen(DefaultID, crs)
	otherPK, _ := combinePublicKey(crs, [][]byte{other[1]})
	if _, err := encrypt(otherPK, values, zeros); err == nil || !isInputError(err) {
		t.Fatalf("encrypt took a zero encryption made under another key: %v", err)
	}
	active := []int64{1, 3}
	var shares [][][]byte
	for _, j := range active {
		tsk, err := thresholdSecret([][]byte{sent[0][j-1], sent[1][j-1], sent[2][j-1]})
		if err != nil {
			t.Fatal(err)
		}
		share, err := decryptionShare(tsk, j, active, 2, ct)
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, share)
	}
	got, err := combine(int64(len(values)), active, ct, shares)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range values {
		if math.Abs(got[i]-x) > 1e-5 {
			t.Fatalf("value %d: got %g, want %g", i, got[i], x)
		}
	}
	if _, err := combine(int64(len(values)), active, ct, shares[:1]); err == nil {
		t.Fatal("combine accepted shares from one party of two")
	}
}
