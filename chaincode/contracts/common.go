package contracts

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

const (
	maxJSONLen  = 16 * 1024
	maxURILen   = 1024
	maxNameLen  = 256
	maxPageSize = 100
)

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
	hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	mspPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// Caller is who sent the transaction: organisation, identity (certificate CN) and role.
type Caller struct {
	MSP   string `json:"msp_id"`
	ID    string `json:"id"`
	Admin bool   `json:"admin"`
}

func caller(ctx contractapi.TransactionContextInterface) (Caller, error) {
	identity := ctx.GetClientIdentity()
	msp, err := identity.GetMSPID()
	if err != nil {
		return Caller{}, refusal(CodeInternal, "reading the caller's MSP id: %v", err)
	}
	cert, err := identity.GetX509Certificate()
	if err != nil || cert == nil {
		return Caller{}, refusal(CodeInternal, "reading the caller's certificate: %v", err)
	}
	c := Caller{MSP: msp, ID: cert.Subject.CommonName}
	for _, ou := range cert.Subject.OrganizationalUnit {
		if ou == "admin" {
			c.Admin = true
		}
	}
	return c, nil
}

func requireAdmin(c Caller, action string) error {
	if !c.Admin {
		return refusal(CodePermissionDenied, "only an admin of %s may %s", c.MSP, action)
	}
	return nil
}

// clock is this endorser's own clock (tests replace it).
var clock = time.Now

// MaxClockSkew bounds how far a proposal's timestamp may be from the endorser's clock; the
// chaincode service sets it from FEDFABRIC_MAX_CLOCK_SKEW.
var MaxClockSkew = 5 * time.Minute

// txTime is the transaction's timestamp: the same on every endorsing peer. The client writes it
// into its proposal and Fabric does not check it, so each endorser refuses one that is more than
// MaxClockSkew from its own clock. The refusal depends on the endorser's clock; the read/write
// set of an accepted transaction does not.
func txTime(ctx contractapi.TransactionContextInterface) (time.Time, error) {
	ts, err := ctx.GetStub().GetTxTimestamp()
	if err != nil {
		return time.Time{}, refusal(CodeInternal, "reading the transaction time: %v", err)
	}
	t := ts.AsTime().UTC()
	if skew := t.Sub(clock()); skew > MaxClockSkew || skew < -MaxClockSkew {
		return time.Time{}, refusal(CodeInvalidArgument, "the proposal's timestamp %s is %s from this endorser's clock, more than the %s allowed", formatTime(t), skew.Round(time.Second), MaxClockSkew)
	}
	return t, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func checkID(what, value string) error {
	if !idPattern.MatchString(value) {
		return refusal(CodeInvalidArgument, "%s %q must match %s", what, value, idPattern.String())
	}
	return nil
}

func checkMSP(what, value string) error {
	if !mspPattern.MatchString(value) {
		return refusal(CodeInvalidArgument, "%s %q is not an MSP id", what, value)
	}
	return nil
}

func checkHash(what, value string) error {
	if !hashPattern.MatchString(value) {
		return refusal(CodeInvalidArgument, "%s must be 64 lowercase hex characters (sha256)", what)
	}
	return nil
}

func checkText(what, value string, max int, required bool) error {
	if required && strings.TrimSpace(value) == "" {
		return refusal(CodeInvalidArgument, "%s must not be empty", what)
	}
	if len(value) > max {
		return refusal(CodeInvalidArgument, "%s has %d bytes, more than %d", what, len(value), max)
	}
	return nil
}

// jsonObject checks that value is a JSON object of bounded size and returns it compacted.
func jsonObject(what, value string) (json.RawMessage, error) {
	if len(value) > maxJSONLen {
		return nil, refusal(CodeInvalidArgument, "%s has %d bytes, more than %d", what, len(value), maxJSONLen)
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &object); err != nil || object == nil {
		return nil, refusal(CodeInvalidArgument, "%s must be a JSON object", what)
	}
	compact, _ := json.Marshal(object) // map keys come out sorted: deterministic
	return compact, nil
}

func parseInt(what, value string, min, max int64) (int64, error) {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < min || n > max {
		return 0, refusal(CodeInvalidArgument, "%s must be an integer from %d to %d, not %q", what, min, max, value)
	}
	return n, nil
}

func key(ctx contractapi.TransactionContextInterface, objectType string, attrs ...string) (string, error) {
	k, err := ctx.GetStub().CreateCompositeKey(objectType, attrs)
	if err != nil {
		return "", refusal(CodeInvalidArgument, "making a %s key: %v", objectType, err)
	}
	return k, nil
}

// getJSON reads the object under objectType~attrs into v; found reports whether it exists.
func getJSON(ctx contractapi.TransactionContextInterface, v interface{}, objectType string, attrs ...string) (bool, error) {
	k, err := key(ctx, objectType, attrs...)
	if err != nil {
		return false, err
	}
	data, err := ctx.GetStub().GetState(k)
	if err != nil {
		return false, refusal(CodeInternal, "reading %s: %v", objectType, err)
	}
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, refusal(CodeInternal, "decoding %s: %v", objectType, err)
	}
	return true, nil
}

func putJSON(ctx contractapi.TransactionContextInterface, v interface{}, objectType string, attrs ...string) error {
	k, err := key(ctx, objectType, attrs...)
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return refusal(CodeInternal, "encoding %s: %v", objectType, err)
	}
	if err := ctx.GetStub().PutState(k, data); err != nil {
		return refusal(CodeInternal, "writing %s: %v", objectType, err)
	}
	return nil
}

// emit sets the transaction's one chaincode event and returns the payload as the result.
func emit(ctx contractapi.TransactionContextInterface, event string, payload interface{}) (string, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return "", refusal(CodeInternal, "encoding %s: %v", event, err)
	}
	if err := ctx.GetStub().SetEvent(event, data); err != nil {
		return "", refusal(CodeInternal, "emitting %s: %v", event, err)
	}
	return string(data), nil
}

func toJSON(v interface{}) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", refusal(CodeInternal, "encoding the result: %v", err)
	}
	return string(data), nil
}

// Page is one page of a listing; Bookmark is "" on the last page.
type Page struct {
	Items    []json.RawMessage `json:"items"`
	Bookmark string            `json:"bookmark"`
}

func parsePageSize(value string) (int32, error) {
	n, err := parseInt("page size", value, 1, maxPageSize)
	return int32(n), err
}

// listPage reads one page of the objects under objectType~attrs...
func listPage(ctx contractapi.TransactionContextInterface, pageSize, bookmark, objectType string, attrs ...string) (string, error) {
	size, err := parsePageSize(pageSize)
	if err != nil {
		return "", err
	}
	if len(bookmark) > 1024 {
		return "", refusal(CodeInvalidArgument, "bookmark is too long")
	}
	if bookmark != "" {
		// A bookmark is the next key of this listing: it must lie under the listing's prefix.
		prefix, err := key(ctx, objectType, attrs...)
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(bookmark, prefix) {
			return "", refusal(CodeInvalidArgument, "bookmark does not belong to this listing")
		}
	}
	iter, meta, err := ctx.GetStub().GetStateByPartialCompositeKeyWithPagination(objectType, attrs, size, bookmark)
	if err != nil {
		return "", refusal(CodeInvalidArgument, "listing %s: %v", objectType, err)
	}
	defer iter.Close()
	page := Page{Items: []json.RawMessage{}}
	for iter.HasNext() {
		kv, err := iter.Next()
		if err != nil {
			return "", refusal(CodeInternal, "listing %s: %v", objectType, err)
		}
		page.Items = append(page.Items, kv.Value)
	}
	if meta != nil && int32(len(page.Items)) == size {
		page.Bookmark = meta.Bookmark
	}
	return toJSON(page)
}

// listAll decodes every object under objectType~attrs..., in key order.
func listAll[T any](ctx contractapi.TransactionContextInterface, objectType string, attrs ...string) ([]T, error) {
	items := []T{}
	err := scanAll(ctx, func(data []byte) error {
		var item T
		if err := json.Unmarshal(data, &item); err != nil {
			return refusal(CodeInternal, "decoding a %s: %v", objectType, err)
		}
		items = append(items, item)
		return nil
	}, objectType, attrs...)
	return items, err
}

// scanAll calls each with every object under objectType~attrs..., in key order.
func scanAll(ctx contractapi.TransactionContextInterface, each func([]byte) error, objectType string, attrs ...string) error {
	iter, err := ctx.GetStub().GetStateByPartialCompositeKey(objectType, attrs)
	if err != nil {
		return refusal(CodeInternal, "reading %s: %v", objectType, err)
	}
	defer iter.Close()
	for iter.HasNext() {
		kv, err := iter.Next()
		if err != nil {
			return refusal(CodeInternal, "reading %s: %v", objectType, err)
		}
		if err := each(kv.Value); err != nil {
			return err
		}
	}
	return nil
}
