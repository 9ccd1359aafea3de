package contracts

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeStub is an in-memory world state for unit tests. Writes go to a pending set that commit
// applies and reads never see (as in Fabric), so a test can check that a refusal wrote nothing.
type fakeStub struct {
	shim.ChaincodeStubInterface
	state   map[string][]byte
	pending map[string][]byte
	txID    string
	now     time.Time
	events  []string
	payload map[string]string
	ranges  int // range reads (GetStateByPartialCompositeKey*) in the current transaction
}

func newFakeStub() *fakeStub {
	return &fakeStub{state: map[string][]byte{}, pending: map[string][]byte{}, txID: "tx0",
		now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), payload: map[string]string{}}
}

func (s *fakeStub) GetTxID() string { return s.txID }

func (s *fakeStub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	return timestamppb.New(s.now), nil
}

func (s *fakeStub) GetState(key string) ([]byte, error) { return s.state[key], nil }

func (s *fakeStub) PutState(key string, value []byte) error {
	s.pending[key] = value
	return nil
}

func (s *fakeStub) SetEvent(name string, payload []byte) error {
	s.events = append(s.events, name)
	s.payload[name] = string(payload)
	return nil
}

// CreateCompositeKey builds keys as Fabric does: \x00, the type, then each part ended by \x00.
func (s *fakeStub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	key := "\x00" + objectType + "\x00"
	for _, a := range attributes {
		key += a + "\x00"
	}
	return key, nil
}

func (s *fakeStub) prefixKeys(objectType string, attributes []string) []string {
	prefix, _ := s.CreateCompositeKey(objectType, attributes)
	var keys []string
	for k := range s.state {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (s *fakeStub) GetStateByPartialCompositeKey(objectType string, attributes []string) (shim.StateQueryIteratorInterface, error) {
	s.ranges++
	return s.iterator(s.prefixKeys(objectType, attributes)), nil
}

func (s *fakeStub) GetStateByPartialCompositeKeyWithPagination(objectType string, attributes []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	s.ranges++
	keys := s.prefixKeys(objectType, attributes)
	start := sort.SearchStrings(keys, bookmark)
	if bookmark == "" {
		start = 0
	}
	end := start + int(pageSize)
	next := ""
	if end < len(keys) {
		next = keys[end]
	} else {
		end = len(keys)
	}
	page := keys[start:end]
	return s.iterator(page), &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(page)), Bookmark: next}, nil
}

func (s *fakeStub) iterator(keys []string) *fakeIterator {
	it := &fakeIterator{}
	for _, k := range keys {
		it.items = append(it.items, &queryresult.KV{Key: k, Value: s.state[k]})
	}
	return it
}

type fakeIterator struct {
	items []*queryresult.KV
}

func (it *fakeIterator) HasNext() bool { return len(it.items) > 0 }
func (it *fakeIterator) Close() error  { return nil }
func (it *fakeIterator) Next() (*queryresult.KV, error) {
	kv := it.items[0]
	it.items = it.items[1:]
	return kv, nil
}

// commit applies the pending writes, as a valid transaction would.
func (s *fakeStub) commit() {
	for k, v := range s.pending {
		s.state[k] = v
	}
	s.pending = map[string][]byte{}
}

type fakeIdentity struct {
	cid.ClientIdentity
	msp  string
	cn   string
	role string
}

func (f fakeIdentity) GetMSPID() (string, error) { return f.msp, nil }
func (f fakeIdentity) GetX509Certificate() (*x509.Certificate, error) {
	return &x509.Certificate{Subject: pkix.Name{CommonName: f.cn, OrganizationalUnit: []string{f.role}}}, nil
}

// contextFor acts as a client (not admin) of msp.
func contextFor(stub *fakeStub, msp string) contractapi.TransactionContextInterface {
	return contextAs(stub, msp, "client")
}

func contextAs(stub *fakeStub, msp, role string) contractapi.TransactionContextInterface {
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(stub)
	name := "User1"
	if role == "admin" {
		name = "Admin"
	}
	ctx.SetClientIdentity(fakeIdentity{msp: msp, cn: fmt.Sprintf("%s@%s", name, strings.ToLower(strings.TrimSuffix(msp, "MSP"))), role: role})
	return ctx
}

// ledger drives transactions against one fake world state, a fresh tx id and time each.
type ledger struct {
	t     *testing.T
	stub  *fakeStub
	count int
}

// useStubClock makes the endorser's clock agree with the stub's transaction time.
func useStubClock(t *testing.T, stub *fakeStub) {
	clock = func() time.Time { return stub.now }
	t.Cleanup(func() { clock = time.Now })
}

// newLedger starts a fake world state whose endorser clock agrees with the transaction times.
func newLedger(t *testing.T) *ledger {
	l := &ledger{t: t, stub: newFakeStub()}
	clock = func() time.Time { return l.stub.now }
	t.Cleanup(func() { clock = time.Now })
	return l
}

type txFunc func(ctx contractapi.TransactionContextInterface) (string, error)

func (l *ledger) run(msp, role string, fn txFunc) (string, error) {
	l.count++
	l.stub.txID = fmt.Sprintf("tx%04d", l.count)
	l.stub.now = l.stub.now.Add(time.Minute)
	l.stub.events = nil
	l.stub.ranges = 0
	out, err := fn(contextAs(l.stub, msp, role))
	if err != nil {
		if len(l.stub.pending) != 0 || len(l.stub.events) != 0 {
			l.t.Errorf("refused transaction wrote %d keys and events %v", len(l.stub.pending), l.stub.events)
		}
		l.stub.pending = map[string][]byte{}
		return "", err
	}
	l.stub.commit()
	return out, nil
}

// ok runs a transaction that must succeed.
func (l *ledger) ok(msp, role string, fn txFunc) string {
	l.t.Helper()
	out, err := l.run(msp, role, fn)
	if err != nil {
		l.t.Fatalf("unexpected refusal: %v", err)
	}
	return out
}

// refused runs a transaction that must fail with code, writing nothing.
func (l *ledger) refused(code, msp, role string, fn txFunc) {
	l.t.Helper()
	_, err := l.run(msp, role, fn)
	if err == nil || !strings.HasPrefix(err.Error(), code+": ") {
		l.t.Fatalf("err = %v, want %s", err, code)
	}
}

func (l *ledger) lastEvent() string {
	if len(l.stub.events) == 0 {
		return ""
	}
	return l.stub.events[len(l.stub.events)-1]
}
