package contracts

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPutRecordStoresCallerAndEmitsEvent(t *testing.T) {
	stub := newFakeStub()
	useStubClock(t, stub)
	c := &RecordContract{}
	out, err := c.PutRecord(contextFor(stub, "Org1MSP"), "r1", `{"b": 2, "a": 1}`)
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	stub.commit()
	var rec Record
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("result is not a record: %v", err)
	}
	if rec.OwnerMSP != "Org1MSP" || rec.TxID != "tx0" || rec.Timestamp != "2026-01-02T03:04:05Z" {
		t.Errorf("unexpected record %+v", rec)
	}
	if len(stub.events) != 1 || stub.events[0] != "RecordPut" {
		t.Errorf("events = %v, want [RecordPut]", stub.events)
	}
	got, err := c.GetRecord(contextFor(stub, "Org2MSP"), "r1")
	if err != nil {
		t.Fatalf("GetRecord: %v", err)
	}
	if got != out {
		t.Errorf("GetRecord = %s, want %s", got, out)
	}
}

func TestPutRecordRefusesBadInputAndWritesNothing(t *testing.T) {
	cases := map[string][2]string{
		"empty id":      {"", `{}`},
		"id with space": {"a b", `{}`},
		"long id":       {strings.Repeat("x", 129), `{}`},
		"not json":      {"r1", `{`},
		"json array":    {"r1", `[1]`},
		"json null":     {"r1", `null`},
		"json string":   {"r1", `"x"`},
		"too large":     {"r1", `{"a":"` + strings.Repeat("x", maxRecordValueLen) + `"}`},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			stub := newFakeStub()
			useStubClock(t, stub)
			_, err := (&RecordContract{}).PutRecord(contextFor(stub, "Org1MSP"), args[0], args[1])
			if err == nil || !strings.HasPrefix(err.Error(), CodeInvalidArgument+": ") {
				t.Fatalf("err = %v, want %s", err, CodeInvalidArgument)
			}
			if len(stub.pending) != 0 || len(stub.events) != 0 {
				t.Errorf("refused call wrote %d keys and %d events", len(stub.pending), len(stub.events))
			}
		})
	}
}

func TestGetRecordMissing(t *testing.T) {
	stub := newFakeStub()
	useStubClock(t, stub)
	_, err := (&RecordContract{}).GetRecord(contextFor(stub, "Org1MSP"), "nope")
	if err == nil || !strings.HasPrefix(err.Error(), CodeNotFound+": ") {
		t.Fatalf("err = %v, want %s", err, CodeNotFound)
	}
}

func TestChaincodeBuilds(t *testing.T) {
	// contractapi rejects contracts whose methods it cannot describe; build it as main.go does.
	if _, err := NewChaincode(); err != nil {
		t.Fatalf("NewChaincode: %v", err)
	}
}

func TestRefusalsStayShortWhateverTheInput(t *testing.T) {
	stub := newFakeStub()
	useStubClock(t, stub)
	huge := strings.Repeat("é", 40000)
	_, err := (&RecordContract{}).PutRecord(contextFor(stub, "Org1MSP"), huge, "{}")
	if err == nil || len(err.Error()) > maxMessageLen+64 || !utf8.ValidString(err.Error()) {
		t.Fatalf("refusal of %d bytes (valid UTF-8: %t)", len(err.Error()), utf8.ValidString(err.Error()))
	}
	if !strings.HasPrefix(err.Error(), CodeInvalidArgument+": ") {
		t.Errorf("err = %v", err)
	}
}

func TestARecordBelongsToTheOrganisationThatWroteIt(t *testing.T) {
	l := newLedger(t)
	put := func(value string) txFunc {
		return func(ctx Ctx) (string, error) { return (&RecordContract{}).PutRecord(ctx, "r1", value) }
	}
	l.ok("Org1MSP", "client", put(`{"v": 1}`))
	l.refused(CodePermissionDenied, "Org2MSP", "client", put(`{"v": "overwritten"}`))
	l.ok("Org1MSP", "client", put(`{"v": 2}`))
}
