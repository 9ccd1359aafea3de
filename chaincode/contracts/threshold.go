package contracts

import (
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Threshold CKKS bookkeeping. Each member posted its key bundle's hash when it joined; once the
// task starts, every member combines the members' public-key shares into the collective public
// key and endorses its hash (one key per member, point reads only), and any member finalizes
// the key when a quorum agrees: round 1 opens. The members of a round's first decryption set
// post their decryption shares of the aggregate with their endorsements (EndorseAggregate), and
// later sets after the round is finalized. A set is tried in attempts:
// attempt a accepts shares until finalized_at + (a+1) * round_timeout, so that when a member
// is gone or its share is bad the others move on to another set; the SDK derives each
// attempt's set from what the chain holds.

const (
	objKeyEndorsement = "keyendorsement"
	objDecryptShare   = "decryptionshare"

	maxAttempts = 64
)

// KeyEndorsement is one member's claim of the collective public key's hash.
type KeyEndorsement struct {
	TaskID     string `json:"task_id"`
	MSP        string `json:"msp_id"`
	EndorsedBy string `json:"endorsed_by"`
	KeyHash    string `json:"key_hash"`
	Time       string `json:"time"`
	TxID       string `json:"tx_id"`
}

// DecryptionShare is one member's share of a round's aggregate (AggregateHash), for one attempt:
// posted with its endorsement (attempt 0, before the round is finalized), or after.
type DecryptionShare struct {
	TaskID        string `json:"task_id"`
	Round         int64  `json:"round"`
	Attempt       int64  `json:"attempt"`
	MSP           string `json:"msp_id"`
	PostedBy      string `json:"posted_by"`
	ShareHash     string `json:"share_hash"`
	AggregateHash string `json:"aggregate_hash"`
	Time          string `json:"time"`
	TxID          string `json:"tx_id"`
}

// thresholdTask loads an ACTIVE threshold-ckks task of which the caller is a member.
func thresholdTask(ctx contractapi.TransactionContextInterface, taskID string) (Caller, Task, error) {
	who, err := caller(ctx)
	if err != nil {
		return who, Task{}, err
	}
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return who, t, err
	}
	if t.HEScheme != schemeThreshold {
		return who, t, refusal(CodeFailedPrecondition, "task %q uses %s, not threshold-ckks", t.ID, t.HEScheme)
	}
	if t.Status != TaskActive && t.Status != TaskCompleted {
		return who, t, refusal(CodeFailedPrecondition, "task %q is %s", t.ID, t.Status)
	}
	_, err = requireMember(t, who)
	return who, t, err
}

// EndorseKey records the caller's claim of the collective public key's hash, once.
func (c *TaskContract) EndorseKey(ctx contractapi.TransactionContextInterface, taskID, keyHash string) (string, error) {
	who, t, err := thresholdTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	if t.CollectiveKeyHash != "" {
		return "", refusal(CodeFailedPrecondition, "task %q already has its collective key", t.ID)
	}
	if err := checkHash("key_hash", keyHash); err != nil {
		return "", err
	}
	var existing KeyEndorsement
	if found, err := getJSON(ctx, &existing, objKeyEndorsement, t.ID, who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already endorsed the key of task %q", who.MSP, t.ID)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	e := KeyEndorsement{TaskID: t.ID, MSP: who.MSP, EndorsedBy: who.ID, KeyHash: keyHash, Time: formatTime(now),
		TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, e, objKeyEndorsement, t.ID, who.MSP); err != nil {
		return "", err
	}
	return emit(ctx, "KeyEndorsed", e)
}

// FinalizeKey fixes the collective public key once quorum members endorsed one hash, and opens
// round 1. When round_timeout passes after the start without a quorum, the task fails.
func (c *TaskContract) FinalizeKey(ctx contractapi.TransactionContextInterface, taskID string) (string, error) {
	_, t, err := thresholdTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	if t.CollectiveKeyHash != "" || t.Status != TaskActive {
		return "", refusal(CodeFailedPrecondition, "task %q already has its collective key", t.ID)
	}
	endorsements, err := listAll[KeyEndorsement](ctx, objKeyEndorsement, t.ID)
	if err != nil {
		return "", err
	}
	counts, best, winner := map[string]int64{}, int64(0), ""
	for _, e := range endorsements {
		counts[e.KeyHash]++
		if counts[e.KeyHash] > best {
			best, winner = counts[e.KeyHash], e.KeyHash
		}
	}
	if best < t.Quorum {
		expired, deadline, err := timedOut(ctx, t, t.StartedAt)
		if err != nil {
			return "", err
		}
		if !expired {
			return "", refusal(CodeFailedPrecondition, "task %q has %d of the %d agreeing key endorsements it needs%s", t.ID, best, t.Quorum, afterDeadline(t, deadline, "the task fails"))
		}
		return failTask(ctx, t, 0, refusalText("no quorum of %d members agreed on the collective key within %ds", t.Quorum, t.RoundTimeout))
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	t.CollectiveKeyHash, t.CurrentRound, t.UpdatedAt = winner, 1, formatTime(now)
	if err := putJSON(ctx, t, objTask, t.ID); err != nil {
		return "", err
	}
	if err := putJSON(ctx, Round{TaskID: t.ID, Round: 1, Status: RoundOpen, OpenedAt: formatTime(now)}, objRound, t.ID, roundKey(1)); err != nil {
		return "", err
	}
	return emit(ctx, "KeyFinalized", map[string]interface{}{"task_id": t.ID, "key_hash": winner, "endorsements": best,
		"round": 1})
}

// SubmitDecryptionShare records the caller's decryption share (its sha256; the share is in the
// store) of a finalized round's aggregate, for one attempt, before that attempt's deadline. A
// share posted with the member's endorsement holds attempt 0 already.
func (c *TaskContract) SubmitDecryptionShare(ctx contractapi.TransactionContextInterface, taskID, round, attempt, shareHash string) (string, error) {
	who, t, err := thresholdTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	_, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	if r.Status != RoundFinalized {
		return "", refusal(CodeFailedPrecondition, "round %d of task %q is %s, not FINALIZED", r.Round, t.ID, r.Status)
	}
	a, err := parseInt("attempt", attempt, 0, maxAttempts-1)
	if err != nil {
		return "", err
	}
	if err := checkHash("share_hash", shareHash); err != nil {
		return "", err
	}
	if t.RoundTimeout > 0 {
		finalized, err := time.Parse(time.RFC3339Nano, r.FinalizedAt)
		if err != nil {
			return "", refusal(CodeInternal, "reading the round's time %q: %v", r.FinalizedAt, err)
		}
		deadline := finalized.Add(time.Duration((a+1)*t.RoundTimeout) * time.Second)
		now, err := txTime(ctx)
		if err != nil {
			return "", err
		}
		if !now.Before(deadline) || !clock().Before(deadline) {
			return "", refusal(CodeFailedPrecondition, "attempt %d of round %d took shares until %s", a, r.Round, formatTime(deadline))
		}
	}
	var existing DecryptionShare
	if found, err := getJSON(ctx, &existing, objDecryptShare, t.ID, roundKey(r.Round), roundKey(a), who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already posted its share for attempt %d of round %d", who.MSP, a, r.Round)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	d := DecryptionShare{TaskID: t.ID, Round: r.Round, Attempt: a, MSP: who.MSP, PostedBy: who.ID, ShareHash: shareHash,
		AggregateHash: r.FinalHash, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, d, objDecryptShare, t.ID, roundKey(r.Round), roundKey(a), who.MSP); err != nil {
		return "", err
	}
	return emit(ctx, "DecryptionShareSubmitted", d)
}

// ListKeyEndorsements returns the members' claims of a task's collective key.
func (c *TaskContract) ListKeyEndorsements(ctx contractapi.TransactionContextInterface, taskID string) (string, error) {
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	items, err := listAll[KeyEndorsement](ctx, objKeyEndorsement, t.ID)
	if err != nil {
		return "", err
	}
	return toJSON(items)
}

// ListDecryptionShares returns a round's decryption shares, by attempt then organisation.
func (c *TaskContract) ListDecryptionShares(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	return listRound[DecryptionShare](ctx, taskID, round, objDecryptShare)
}
