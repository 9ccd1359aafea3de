package contracts

import (
	"encoding/json"
	"regexp"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

const (
	recordObjectType  = "record"
	maxRecordValueLen = 64 * 1024
)

var recordIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// Record is a small JSON document stored with the organisation that wrote it.
type Record struct {
	ID        string          `json:"id"`
	Value     json.RawMessage `json:"value"`
	OwnerMSP  string          `json:"owner_msp"`
	TxID      string          `json:"tx_id"`
	Timestamp string          `json:"timestamp"`
}

// RecordContract stores and reads JSON records: the platform's smoke-test contract.
type RecordContract struct {
	contractapi.Contract
}

// PutRecord creates the record id with value, a JSON object of at most 64 KiB, or replaces it
// when the caller's organisation wrote it.
func (c *RecordContract) PutRecord(ctx contractapi.TransactionContextInterface, id string, value string) (string, error) {
	if !recordIDPattern.MatchString(id) {
		return "", refusal(CodeInvalidArgument, "record id %q must match %s", id, recordIDPattern.String())
	}
	if len(value) > maxRecordValueLen {
		return "", refusal(CodeInvalidArgument, "record value has %d bytes, more than %d", len(value), maxRecordValueLen)
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &object); err != nil || object == nil {
		return "", refusal(CodeInvalidArgument, "record value must be a JSON object")
	}
	msp, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return "", refusal(CodeInternal, "reading the caller's MSP id: %v", err)
	}
	var existing Record
	if found, err := getJSON(ctx, &existing, recordObjectType, id); err != nil {
		return "", err
	} else if found && existing.OwnerMSP != msp {
		return "", refusal(CodePermissionDenied, "record %q belongs to %s; %s may not replace it", id, existing.OwnerMSP, msp)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	compact, _ := json.Marshal(object)
	record := Record{
		ID:        id,
		Value:     compact,
		OwnerMSP:  msp,
		TxID:      ctx.GetStub().GetTxID(),
		Timestamp: formatTime(now),
	}
	if err := putJSON(ctx, record, recordObjectType, id); err != nil {
		return "", err
	}
	return emit(ctx, "RecordPut", record)
}

// GetRecord returns the record id as JSON.
func (c *RecordContract) GetRecord(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	if !recordIDPattern.MatchString(id) {
		return "", refusal(CodeInvalidArgument, "record id %q must match %s", id, recordIDPattern.String())
	}
	key, err := ctx.GetStub().CreateCompositeKey(recordObjectType, []string{id})
	if err != nil {
		return "", refusal(CodeInternal, "making the record key: %v", err)
	}
	data, err := ctx.GetStub().GetState(key)
	if err != nil {
		return "", refusal(CodeInternal, "reading the record: %v", err)
	}
	if data == nil {
		return "", refusal(CodeNotFound, "record %q does not exist", id)
	}
	return string(data), nil
}
