package main

import (
	"testing"
	"time"
)

func TestMaxClockSkewComesFromTheEnvironment(t *testing.T) {
	if d, err := maxClockSkew("", 5*time.Minute); err != nil || d != 5*time.Minute {
		t.Errorf("unset: %v %v", d, err)
	}
	if d, err := maxClockSkew("90s", 5*time.Minute); err != nil || d != 90*time.Second {
		t.Errorf("90s: %v %v", d, err)
	}
	for _, bad := range []string{"5", "-1m", "0s", "soon"} {
		if _, err := maxClockSkew(bad, 5*time.Minute); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
