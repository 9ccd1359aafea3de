package contracts

import "github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

const (
	objOrgKey = "orgkey"
	maxKeyLen = 8 * 1024
)

// OrgKey is an organisation's published encryption public key.
type OrgKey struct {
	MSP         string `json:"msp_id"`
	Algorithm   string `json:"algorithm"`
	PublicKey   string `json:"public_key"`
	PublishedBy string `json:"published_by"`
	Time        string `json:"time"`
	TxID        string `json:"tx_id"`
}

// PublishOrgKey publishes (or replaces) the caller's organisation's encryption public key.
func (c *TaskContract) PublishOrgKey(ctx contractapi.TransactionContextInterface, algorithm, publicKey string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if err := requireAdmin(who, "publish its organisation's key"); err != nil {
		return "", err
	}
	if algorithm != "X25519" && algorithm != "P-256" {
		return "", refusal(CodeInvalidArgument, "algorithm %q must be X25519 or P-256", algorithm)
	}
	if err := checkText("public key", publicKey, maxKeyLen, true); err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	k := OrgKey{MSP: who.MSP, Algorithm: algorithm, PublicKey: publicKey, PublishedBy: who.ID,
		Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, k, objOrgKey, who.MSP); err != nil {
		return "", err
	}
	return emit(ctx, "OrgKeyPublished", k)
}

// GetOrgKey returns an organisation's published encryption key.
func (c *TaskContract) GetOrgKey(ctx contractapi.TransactionContextInterface, mspID string) (string, error) {
	if err := checkMSP("organisation", mspID); err != nil {
		return "", err
	}
	var k OrgKey
	found, err := getJSON(ctx, &k, objOrgKey, mspID)
	if err != nil {
		return "", err
	}
	if !found {
		return "", refusal(CodeNotFound, "%s has published no encryption key", mspID)
	}
	return toJSON(k)
}
