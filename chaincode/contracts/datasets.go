package contracts

import (
	"encoding/json"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

const (
	objDataset = "dataset"
	objGrant   = "grant"
	objAccess  = "access"

	PurposeTraining  = "training"
	PurposeInference = "inference"
	PurposeRead      = "read"

	GrantActive  = "ACTIVE"
	GrantRevoked = "REVOKED"
)

var purposes = map[string]bool{PurposeTraining: true, PurposeInference: true, PurposeRead: true}

// Dataset is the on-chain record of an encrypted dataset kept off chain.
type Dataset struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	SHA256       string          `json:"sha256"`
	URI          string          `json:"uri"`
	Schema       json.RawMessage `json:"schema"`
	Rows         int64           `json:"rows"`
	Encryption   json.RawMessage `json:"encryption"`
	OwnerMSP     string          `json:"owner_msp"`
	RegisteredBy string          `json:"registered_by"`
	CreatedAt    string          `json:"created_at"`
	TxID         string          `json:"tx_id"`
	// Version counts the data keys: RotateDatasetKey re-encrypts under a new one.
	Version   int64  `json:"version"`
	RotatedAt string `json:"rotated_at,omitempty"`
}

// Grant lets an organisation (or one identity in it) use a dataset for one purpose until expiry.
type Grant struct {
	DatasetID  string `json:"dataset_id"`
	GranteeMSP string `json:"grantee_msp"`
	GranteeID  string `json:"grantee_id"` // "" = any identity of the organisation
	Purpose    string `json:"purpose"`
	ExpiresAt  string `json:"expires_at"`
	WrappedKey string `json:"wrapped_key,omitempty"` // sha256 of the data key wrapped to the grantee
	Status     string `json:"status"`
	GrantedBy  string `json:"granted_by"`
	GrantedAt  string `json:"granted_at"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	TxID       string `json:"tx_id"`
}

// AccessEntry is one line of a dataset's audit log.
type AccessEntry struct {
	DatasetID string `json:"dataset_id"`
	MSP       string `json:"msp_id"`
	Identity  string `json:"identity"`
	Purpose   string `json:"purpose"`
	Time      string `json:"time"`
	TxID      string `json:"tx_id"`
}

// AccessDecision answers CheckAccess.
type AccessDecision struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Grant   *Grant `json:"grant,omitempty"`
}

// DatasetContract: datasets, grants, access checks and the access log.
type DatasetContract struct {
	contractapi.Contract
}

// RegisterDataset records a dataset owned by the caller's organisation (admins only).
func (c *DatasetContract) RegisterDataset(ctx contractapi.TransactionContextInterface, id, name, sha256, uri, schema, rows, encryption string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if err := requireAdmin(who, "register a dataset"); err != nil {
		return "", err
	}
	if err := checkID("dataset id", id); err != nil {
		return "", err
	}
	if err := checkText("name", name, maxNameLen, true); err != nil {
		return "", err
	}
	if err := checkHash("sha256", sha256); err != nil {
		return "", err
	}
	if err := checkText("uri", uri, maxURILen, true); err != nil {
		return "", err
	}
	schemaJSON, err := jsonObject("schema", schema)
	if err != nil {
		return "", err
	}
	rowCount, err := parseInt("rows", rows, 0, 1<<50)
	if err != nil {
		return "", err
	}
	encryptionJSON, err := jsonObject("encryption", encryption)
	if err != nil {
		return "", err
	}
	var existing Dataset
	if found, err := getJSON(ctx, &existing, objDataset, id); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "dataset %q is already registered by %s", id, existing.OwnerMSP)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	d := Dataset{ID: id, Name: name, SHA256: sha256, URI: uri, Schema: schemaJSON, Rows: rowCount,
		Encryption: encryptionJSON, OwnerMSP: who.MSP, RegisteredBy: who.ID,
		CreatedAt: formatTime(now), TxID: ctx.GetStub().GetTxID(), Version: 1}
	if err := putJSON(ctx, d, objDataset, id); err != nil {
		return "", err
	}
	return emit(ctx, "DatasetRegistered", d)
}

// GetDataset returns one dataset.
func (c *DatasetContract) GetDataset(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	d, err := loadDataset(ctx, id)
	if err != nil {
		return "", err
	}
	return toJSON(d)
}

// ListDatasets returns a page of datasets.
func (c *DatasetContract) ListDatasets(ctx contractapi.TransactionContextInterface, pageSize, bookmark string) (string, error) {
	return listPage(ctx, pageSize, bookmark, objDataset)
}

// GrantAccess lets granteeMSP (or only identity granteeID in it) use the dataset for purpose
// until expiresAt (RFC 3339). wrappedKey is the sha256 of the dataset's key wrapped to the
// grantee's published key ("" when the grant carries none). Only an admin of the owning
// organisation may grant.
func (c *DatasetContract) GrantAccess(ctx contractapi.TransactionContextInterface, datasetID, granteeMSP, granteeID, purpose, expiresAt, wrappedKey string) (string, error) {
	who, d, err := ownerAdmin(ctx, datasetID, "grant access to it")
	if err != nil {
		return "", err
	}
	if err := checkGrantee(granteeMSP, granteeID, purpose); err != nil {
		return "", err
	}
	expiry, err := time.Parse(time.RFC3339Nano, expiresAt)
	if err != nil {
		return "", refusal(CodeInvalidArgument, "expires_at %q is not an RFC 3339 time", expiresAt)
	}
	if wrappedKey != "" {
		if err := checkHash("wrapped_key", wrappedKey); err != nil {
			return "", err
		}
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	if !expiry.After(now) {
		return "", refusal(CodeInvalidArgument, "expires_at %s is not after the transaction time %s", expiresAt, formatTime(now))
	}
	var existing Grant
	if found, err := getJSON(ctx, &existing, objGrant, d.ID, granteeMSP, purpose, granteeID); err != nil {
		return "", err
	} else if found && grantLive(existing, now) {
		return "", refusal(CodeAlreadyExists, "%s already has a live %s grant on %q until %s; revoke it first", granteeMSP, purpose, d.ID, existing.ExpiresAt)
	}
	g := Grant{DatasetID: d.ID, GranteeMSP: granteeMSP, GranteeID: granteeID, Purpose: purpose,
		ExpiresAt: formatTime(expiry), WrappedKey: wrappedKey, Status: GrantActive, GrantedBy: who.ID, GrantedAt: formatTime(now),
		TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, g, objGrant, d.ID, granteeMSP, purpose, granteeID); err != nil {
		return "", err
	}
	return emit(ctx, "AccessGranted", g)
}

// RevokeGrant ends a grant now. Only an admin of the owning organisation may revoke.
func (c *DatasetContract) RevokeGrant(ctx contractapi.TransactionContextInterface, datasetID, granteeMSP, granteeID, purpose string) (string, error) {
	_, d, err := ownerAdmin(ctx, datasetID, "revoke access to it")
	if err != nil {
		return "", err
	}
	if err := checkGrantee(granteeMSP, granteeID, purpose); err != nil {
		return "", err
	}
	var g Grant
	found, err := getJSON(ctx, &g, objGrant, d.ID, granteeMSP, purpose, granteeID)
	if err != nil {
		return "", err
	}
	if !found {
		return "", refusal(CodeNotFound, "no %s grant on %q for %s", purpose, d.ID, granteeLabel(granteeMSP, granteeID))
	}
	if g.Status == GrantRevoked {
		return "", refusal(CodeFailedPrecondition, "the %s grant on %q for %s was already revoked at %s", purpose, d.ID, granteeLabel(granteeMSP, granteeID), g.RevokedAt)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	g.Status, g.RevokedAt = GrantRevoked, formatTime(now)
	if err := putJSON(ctx, g, objGrant, d.ID, granteeMSP, purpose, granteeID); err != nil {
		return "", err
	}
	return emit(ctx, "AccessRevoked", g)
}

// RotateDatasetKey records that the owner re-encrypted the dataset under a new data key (after a
// revocation): the new ciphertext's hash and location, its encryption record, and, for every
// grant that is live, the new key wrapped to that grantee (wrappedKeys maps
// "grantee_msp|purpose|grantee_id" to the wrapped key's sha256; every live grant must be there,
// and nothing else). An organisation no longer granted holds only the old key: it cannot read
// the current version. Only an admin of the owning organisation may.
func (c *DatasetContract) RotateDatasetKey(ctx contractapi.TransactionContextInterface, datasetID, sha256, uri, encryption, wrappedKeys string) (string, error) {
	_, d, err := ownerAdmin(ctx, datasetID, "re-key it")
	if err != nil {
		return "", err
	}
	if err := checkHash("sha256", sha256); err != nil {
		return "", err
	}
	if err := checkText("uri", uri, maxURILen, true); err != nil {
		return "", err
	}
	encryptionJSON, err := jsonObject("encryption", encryption)
	if err != nil {
		return "", err
	}
	if len(wrappedKeys) > maxJSONLen {
		return "", refusal(CodeInvalidArgument, "wrapped keys have %d bytes, more than %d", len(wrappedKeys), maxJSONLen)
	}
	var keys map[string]string
	if err := json.Unmarshal([]byte(wrappedKeys), &keys); err != nil || keys == nil {
		return "", refusal(CodeInvalidArgument, "wrapped keys must be a JSON object of strings")
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	grants, err := listAll[Grant](ctx, objGrant, d.ID)
	if err != nil {
		return "", err
	}
	var rewrapped []Grant // checked first: a refusal writes nothing
	for _, g := range grants {
		if !grantLive(g, now) {
			continue
		}
		label := g.GranteeMSP + "|" + g.Purpose + "|" + g.GranteeID
		wrapped, ok := keys[label]
		if !ok {
			return "", refusal(CodeInvalidArgument, "the live %s grant of %s needs the new key wrapped to it", g.Purpose, granteeLabel(g.GranteeMSP, g.GranteeID))
		}
		if err := checkHash("wrapped key for "+label, wrapped); err != nil {
			return "", err
		}
		g.WrappedKey = wrapped
		rewrapped = append(rewrapped, g)
	}
	if len(keys) != len(rewrapped) {
		return "", refusal(CodeInvalidArgument, "%d wrapped keys for %d live grants: only live grants get the new key", len(keys), len(rewrapped))
	}
	for _, g := range rewrapped {
		if err := putJSON(ctx, g, objGrant, d.ID, g.GranteeMSP, g.Purpose, g.GranteeID); err != nil {
			return "", err
		}
	}
	d.SHA256, d.URI, d.Encryption = sha256, uri, encryptionJSON
	d.Version, d.RotatedAt = d.Version+1, formatTime(now)
	if err := putJSON(ctx, d, objDataset, d.ID); err != nil {
		return "", err
	}
	return emit(ctx, "DatasetRekeyed", d)
}

// CheckAccess answers whether mspID (identity identityID, "" for any) may use the dataset for
// purpose now, and why.
func (c *DatasetContract) CheckAccess(ctx contractapi.TransactionContextInterface, datasetID, mspID, identityID, purpose string) (string, error) {
	if err := checkGrantee(mspID, identityID, purpose); err != nil {
		return "", err
	}
	d, err := loadDataset(ctx, datasetID)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	decision, err := decide(ctx, d, mspID, identityID, purpose, now)
	if err != nil {
		return "", err
	}
	return toJSON(decision)
}

// RecordAccess writes an audit entry for the caller's use of the dataset; refused (and nothing
// written) unless the caller is allowed that purpose now.
func (c *DatasetContract) RecordAccess(ctx contractapi.TransactionContextInterface, datasetID, purpose string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if !purposes[purpose] {
		return "", refusal(CodeInvalidArgument, "purpose %q must be training, inference or read", purpose)
	}
	d, err := loadDataset(ctx, datasetID)
	if err != nil {
		return "", err
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	decision, err := decide(ctx, d, who.MSP, who.ID, purpose, now)
	if err != nil {
		return "", err
	}
	if !decision.Allowed {
		return "", refusal(CodePermissionDenied, "%s may not use %q for %s: %s", granteeLabel(who.MSP, who.ID), d.ID, purpose, decision.Reason)
	}
	entry := AccessEntry{DatasetID: d.ID, MSP: who.MSP, Identity: who.ID, Purpose: purpose,
		Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, entry, objAccess, d.ID, entry.TxID); err != nil {
		return "", err
	}
	return emit(ctx, "DataAccessed", entry)
}

// ListGrants returns a page of the dataset's grants (live, expired and revoked).
func (c *DatasetContract) ListGrants(ctx contractapi.TransactionContextInterface, datasetID, pageSize, bookmark string) (string, error) {
	if _, err := loadDataset(ctx, datasetID); err != nil {
		return "", err
	}
	return listPage(ctx, pageSize, bookmark, objGrant, datasetID)
}

// GetAccessLog returns a page of the dataset's audit entries.
func (c *DatasetContract) GetAccessLog(ctx contractapi.TransactionContextInterface, datasetID, pageSize, bookmark string) (string, error) {
	if _, err := loadDataset(ctx, datasetID); err != nil {
		return "", err
	}
	return listPage(ctx, pageSize, bookmark, objAccess, datasetID)
}

func loadDataset(ctx contractapi.TransactionContextInterface, id string) (Dataset, error) {
	var d Dataset
	if err := checkID("dataset id", id); err != nil {
		return d, err
	}
	found, err := getJSON(ctx, &d, objDataset, id)
	if err != nil {
		return d, err
	}
	if !found {
		return d, refusal(CodeNotFound, "dataset %q does not exist", id)
	}
	return d, nil
}

func ownerAdmin(ctx contractapi.TransactionContextInterface, datasetID, action string) (Caller, Dataset, error) {
	who, err := caller(ctx)
	if err != nil {
		return who, Dataset{}, err
	}
	d, err := loadDataset(ctx, datasetID)
	if err != nil {
		return who, d, err
	}
	if who.MSP != d.OwnerMSP {
		return who, d, refusal(CodePermissionDenied, "dataset %q belongs to %s; %s may not %s", d.ID, d.OwnerMSP, who.MSP, action)
	}
	return who, d, requireAdmin(who, action)
}

func checkGrantee(msp, identity, purpose string) error {
	if err := checkMSP("grantee", msp); err != nil {
		return err
	}
	if identity != "" {
		if err := checkText("identity", identity, maxNameLen, false); err != nil {
			return err
		}
	}
	if !purposes[purpose] {
		return refusal(CodeInvalidArgument, "purpose %q must be training, inference or read", purpose)
	}
	return nil
}

func granteeLabel(msp, identity string) string {
	if identity == "" {
		return msp
	}
	return identity + " of " + msp
}

func grantLive(g Grant, now time.Time) bool {
	expiry, err := time.Parse(time.RFC3339Nano, g.ExpiresAt)
	return err == nil && g.Status == GrantActive && now.Before(expiry)
}

// decide looks for a live grant to the organisation as a whole or to the one identity.
func decide(ctx contractapi.TransactionContextInterface, d Dataset, msp, identity, purpose string, now time.Time) (AccessDecision, error) {
	if msp == d.OwnerMSP {
		return AccessDecision{Allowed: true, Reason: "the organisation owns the dataset"}, nil
	}
	reason := "no grant"
	candidates := []string{""}
	if identity != "" {
		candidates = append(candidates, identity)
	}
	for _, id := range candidates {
		var g Grant
		found, err := getJSON(ctx, &g, objGrant, d.ID, msp, purpose, id)
		if err != nil {
			return AccessDecision{}, err
		}
		switch {
		case !found:
			continue
		case grantLive(g, now):
			return AccessDecision{Allowed: true, Reason: "live grant until " + g.ExpiresAt, Grant: &g}, nil
		case g.Status == GrantRevoked:
			reason = "the grant was revoked at " + g.RevokedAt
		default:
			reason = "the grant expired at " + g.ExpiresAt
		}
	}
	return AccessDecision{Allowed: false, Reason: reason}, nil
}
