package contracts

import (
	"crypto/x509"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeStub is an in-memory world state for unit tests. Writes go to a pending set that commit
// applies, so a test can check that a refused transaction wrote nothing.
type fakeStub struct {
	shim.ChaincodeStubInterface
	state   map[string][]byte
	pending map[string][]byte
	txID    string
	now     time.Time
	events  []string
}

func newFakeStub() *fakeStub {
	return &fakeStub{state: map[string][]byte{}, pending: map[string][]byte{}, txID: "tx0",
		now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
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

func (s *fakeStub) SetEvent(name string, _ []byte) error {
	s.events = append(s.events, name)
	return nil
}

func (s *fakeStub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return "\x00" + objectType + "\x00" + strings.Join(attributes, "\x00") + "\x00", nil
}

// commit applies the pending writes, as a valid transaction would.
func (s *fakeStub) commit() {
	for k, v := range s.pending {
		s.state[k] = v
	}
	s.pending = map[string][]byte{}
}

func (s *fakeStub) keys() []string {
	keys := make([]string, 0, len(s.state))
	for k := range s.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type fakeIdentity struct {
	cid.ClientIdentity
	msp string
}

func (f fakeIdentity) GetMSPID() (string, error)                      { return f.msp, nil }
func (f fakeIdentity) GetX509Certificate() (*x509.Certificate, error) { return nil, nil }

func contextFor(stub *fakeStub, msp string) contractapi.TransactionContextInterface {
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(stub)
	ctx.SetClientIdentity(fakeIdentity{msp: msp})
	return ctx
}
