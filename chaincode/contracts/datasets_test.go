package contracts

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

type Ctx = contractapi.TransactionContextInterface

var (
	ds    = &DatasetContract{}
	hashA = strings.Repeat("a", 64)
	hashB = strings.Repeat("b", 64)
	hashC = strings.Repeat("c", 64)
)

func register(id string) txFunc {
	return func(ctx Ctx) (string, error) {
		return ds.RegisterDataset(ctx, id, "Ward A", hashA, "file:///d/"+id, `{"cols": 30}`, "569", `{"alg": "AES-256-GCM"}`)
	}
}

func grant(id, msp, who, purpose, expires string) txFunc {
	return func(ctx Ctx) (string, error) { return ds.GrantAccess(ctx, id, msp, who, purpose, expires, "") }
}

func check(t *testing.T, l *ledger, id, msp, who, purpose string) AccessDecision {
	t.Helper()
	var d AccessDecision
	out := l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return ds.CheckAccess(ctx, id, msp, who, purpose) })
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRegisterDataset(t *testing.T) {
	l := newLedger(t)
	var d Dataset
	_ = json.Unmarshal([]byte(l.ok("Org1MSP", "admin", register("d1"))), &d)
	if d.OwnerMSP != "Org1MSP" || d.RegisteredBy != "Admin@org1" || d.Rows != 569 || d.TxID != "tx0001" {
		t.Errorf("dataset %+v", d)
	}
	if l.lastEvent() != "DatasetRegistered" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org2MSP", "admin", register("d1"))
	l.refused(CodePermissionDenied, "Org1MSP", "client", register("d2"))
	bad := []txFunc{
		func(ctx Ctx) (string, error) {
			return ds.RegisterDataset(ctx, "bad id", "n", hashA, "u", "{}", "1", "{}")
		},
		func(ctx Ctx) (string, error) { return ds.RegisterDataset(ctx, "d3", "", hashA, "u", "{}", "1", "{}") },
		func(ctx Ctx) (string, error) { return ds.RegisterDataset(ctx, "d3", "n", "ABC", "u", "{}", "1", "{}") },
		func(ctx Ctx) (string, error) { return ds.RegisterDataset(ctx, "d3", "n", hashA, "", "{}", "1", "{}") },
		func(ctx Ctx) (string, error) { return ds.RegisterDataset(ctx, "d3", "n", hashA, "u", "[]", "1", "{}") },
		func(ctx Ctx) (string, error) { return ds.RegisterDataset(ctx, "d3", "n", hashA, "u", "{}", "-1", "{}") },
		func(ctx Ctx) (string, error) { return ds.RegisterDataset(ctx, "d3", "n", hashA, "u", "{}", "x", "{}") },
		func(ctx Ctx) (string, error) {
			return ds.RegisterDataset(ctx, "d3", "n", hashA, "u", "{}", "1", "nope")
		},
	}
	for _, fn := range bad {
		l.refused(CodeInvalidArgument, "Org1MSP", "admin", fn)
	}
	var page Page
	_ = json.Unmarshal([]byte(l.ok("Org2MSP", "client", func(ctx Ctx) (string, error) { return ds.ListDatasets(ctx, "10", "") })), &page)
	if len(page.Items) != 1 || page.Bookmark != "" {
		t.Errorf("page %+v", page)
	}
	l.refused(CodeNotFound, "Org2MSP", "client", func(ctx Ctx) (string, error) { return ds.GetDataset(ctx, "d9") })
	l.refused(CodeInvalidArgument, "Org2MSP", "client", func(ctx Ctx) (string, error) { return ds.ListDatasets(ctx, "0", "") })
}

func TestGrantCheckRevokeAndAudit(t *testing.T) {
	l := newLedger(t)
	l.ok("Org1MSP", "admin", register("d1"))
	far := "2030-01-01T00:00:00Z"
	if d := check(t, l, "d1", "Org2MSP", "", PurposeTraining); d.Allowed || d.Reason != "no grant" {
		t.Errorf("before grant: %+v", d)
	}
	l.refused(CodePermissionDenied, "Org2MSP", "admin", grant("d1", "Org2MSP", "", PurposeTraining, far))
	l.refused(CodePermissionDenied, "Org1MSP", "client", grant("d1", "Org2MSP", "", PurposeTraining, far))
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", grant("d1", "Org2MSP", "", "sell", far))
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", grant("d1", "Org2MSP", "", PurposeTraining, "tomorrow"))
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", grant("d1", "Org2MSP", "", PurposeTraining, "2020-01-01T00:00:00Z"))
	l.refused(CodeNotFound, "Org1MSP", "admin", grant("d9", "Org2MSP", "", PurposeTraining, far))

	l.ok("Org1MSP", "admin", grant("d1", "Org2MSP", "", PurposeTraining, far))
	if l.lastEvent() != "AccessGranted" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "admin", grant("d1", "Org2MSP", "", PurposeTraining, far))
	if d := check(t, l, "d1", "Org2MSP", "", PurposeTraining); !d.Allowed || d.Grant == nil {
		t.Errorf("after grant: %+v", d)
	}
	if d := check(t, l, "d1", "Org2MSP", "", PurposeRead); d.Allowed {
		t.Errorf("another purpose: %+v", d)
	}
	if d := check(t, l, "d1", "Org1MSP", "", PurposeRead); !d.Allowed {
		t.Errorf("the owner: %+v", d)
	}

	record := func(purpose string) txFunc {
		return func(ctx Ctx) (string, error) { return ds.RecordAccess(ctx, "d1", purpose) }
	}
	l.ok("Org2MSP", "client", record(PurposeTraining))
	if l.lastEvent() != "DataAccessed" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodePermissionDenied, "Org3MSP", "client", record(PurposeTraining))
	l.refused(CodePermissionDenied, "Org2MSP", "client", record(PurposeRead))

	revoke := func(ctx Ctx) (string, error) { return ds.RevokeGrant(ctx, "d1", "Org2MSP", "", PurposeTraining) }
	l.refused(CodePermissionDenied, "Org2MSP", "admin", revoke)
	l.ok("Org1MSP", "admin", revoke)
	if l.lastEvent() != "AccessRevoked" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", revoke)
	if d := check(t, l, "d1", "Org2MSP", "", PurposeTraining); d.Allowed || !strings.Contains(d.Reason, "revoked") {
		t.Errorf("after revoke: %+v", d)
	}
	l.refused(CodePermissionDenied, "Org2MSP", "client", record(PurposeTraining))
	l.ok("Org1MSP", "admin", grant("d1", "Org2MSP", "", PurposeTraining, far)) // a new grant after revocation

	var log Page
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return ds.GetAccessLog(ctx, "d1", "10", "") })), &log)
	if len(log.Items) != 1 {
		t.Fatalf("access log %+v", log)
	}
	var entry AccessEntry
	_ = json.Unmarshal(log.Items[0], &entry)
	if entry.MSP != "Org2MSP" || entry.Identity != "User1@org2" || entry.Purpose != PurposeTraining {
		t.Errorf("entry %+v", entry)
	}
}

func TestGrantToOneIdentityAndExpiry(t *testing.T) {
	l := newLedger(t)
	l.ok("Org1MSP", "admin", register("d1"))
	soon := l.stub.now.Add(10 * time.Minute).Format(time.RFC3339)
	l.ok("Org1MSP", "admin", grant("d1", "Org2MSP", "User1@org2", PurposeRead, soon))
	if d := check(t, l, "d1", "Org2MSP", "User1@org2", PurposeRead); !d.Allowed {
		t.Errorf("the named identity: %+v", d)
	}
	if d := check(t, l, "d1", "Org2MSP", "Other@org2", PurposeRead); d.Allowed {
		t.Errorf("another identity: %+v", d)
	}
	l.ok("Org2MSP", "client", func(ctx Ctx) (string, error) { return ds.RecordAccess(ctx, "d1", PurposeRead) })
	l.stub.now = l.stub.now.Add(time.Hour) // the transaction time passes the expiry
	if d := check(t, l, "d1", "Org2MSP", "User1@org2", PurposeRead); d.Allowed || !strings.Contains(d.Reason, "expired") {
		t.Errorf("after expiry: %+v", d)
	}
	l.refused(CodePermissionDenied, "Org2MSP", "client", func(ctx Ctx) (string, error) { return ds.RecordAccess(ctx, "d1", PurposeRead) })
}

func TestListGrantsPaginates(t *testing.T) {
	l := newLedger(t)
	l.ok("Org1MSP", "admin", register("d1"))
	for _, msp := range []string{"Org2MSP", "Org3MSP", "Org4MSP"} {
		l.ok("Org1MSP", "admin", grant("d1", msp, "", PurposeRead, "2030-01-01T00:00:00Z"))
	}
	list := func(bookmark string) Page {
		var p Page
		_ = json.Unmarshal([]byte(l.ok("Org2MSP", "client", func(ctx Ctx) (string, error) { return ds.ListGrants(ctx, "d1", "2", bookmark) })), &p)
		return p
	}
	first := list("")
	second := list(first.Bookmark)
	if len(first.Items) != 2 || first.Bookmark == "" || len(second.Items) != 1 || second.Bookmark != "" {
		t.Errorf("pages %+v %+v", first, second)
	}
}

func TestAGrantCarriesTheWrappedKeyReference(t *testing.T) {
	l := newLedger(t)
	l.ok("Org1MSP", "admin", register("d1"))
	withKey := func(key string) txFunc {
		return func(ctx Ctx) (string, error) {
			return ds.GrantAccess(ctx, "d1", "Org2MSP", "", PurposeRead, "2030-01-01T00:00:00Z", key)
		}
	}
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", withKey("not-a-hash"))
	var g Grant
	_ = json.Unmarshal([]byte(l.ok("Org1MSP", "admin", withKey(hashB))), &g)
	if g.WrappedKey != hashB {
		t.Errorf("grant %+v", g)
	}
}

func TestRotatingTheKeyRewrapsEveryLiveGrantAndNoOther(t *testing.T) {
	l := newLedger(t)
	l.ok("Org1MSP", "admin", register("d1"))
	l.ok("Org1MSP", "admin", grant("d1", "Org2MSP", "", PurposeRead, "2030-01-01T00:00:00Z"))
	l.ok("Org1MSP", "admin", grant("d1", "Org3MSP", "", PurposeRead, "2030-01-01T00:00:00Z"))
	l.ok("Org1MSP", "admin", func(ctx Ctx) (string, error) { return ds.RevokeGrant(ctx, "d1", "Org3MSP", "", PurposeRead) })
	rotate := func(keys string) txFunc {
		return func(ctx Ctx) (string, error) {
			return ds.RotateDatasetKey(ctx, "d1", hashB, "file:///d1-v2", `{"owner_key": "k2"}`, keys)
		}
	}
	l.refused(CodePermissionDenied, "Org2MSP", "admin", rotate(`{"Org2MSP|read|": "`+hashC+`"}`))
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", rotate(`{}`))                                                           // Org2's live grant needs the key
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", rotate(`{"Org2MSP|read|": "`+hashC+`", "Org3MSP|read|": "`+hashA+`"}`)) // not to the revoked
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", rotate(`[1]`))
	l.ok("Org1MSP", "admin", rotate(`{"Org2MSP|read|": "`+hashC+`"}`))
	if l.lastEvent() != "DatasetRekeyed" {
		t.Errorf("event %q", l.lastEvent())
	}
	var d Dataset
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return ds.GetDataset(ctx, "d1") })), &d)
	if d.Version != 2 || d.SHA256 != hashB || d.RotatedAt == "" {
		t.Errorf("dataset after rotation %+v", d)
	}
	if got := check(t, l, "d1", "Org2MSP", "", PurposeRead); got.Grant == nil || got.Grant.WrappedKey != hashC {
		t.Errorf("Org2's grant %+v", got)
	}
}

// A grantee whose grant has expired cannot backdate its proposal to before the expiry: the
// endorser checks the proposal's time against its own clock.
func TestAnExpiredGranteeCannotBackdateItsAccess(t *testing.T) {
	l := newLedger(t)
	l.ok("Org1MSP", "admin", register("d1"))
	granted := l.stub.now
	l.ok("Org1MSP", "admin", grant("d1", "Org2MSP", "", PurposeRead, granted.Add(10*time.Minute).Format(time.RFC3339)))
	access := func(ctx Ctx) (string, error) { return ds.RecordAccess(ctx, "d1", PurposeRead) }
	endorser := granted.Add(time.Hour) // an hour later, the grant has expired
	clock = func() time.Time { return endorser }
	l.refused(CodeInvalidArgument, "Org2MSP", "client", access) // proposal dated at the grant
	l.stub.now = endorser
	l.refused(CodePermissionDenied, "Org2MSP", "client", access) // dated honestly: expired
}
