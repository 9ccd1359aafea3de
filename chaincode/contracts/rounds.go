package contracts

import (
	"sort"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// The round protocol costs the same number of blocks at any size: submissions, endorsements
// and metrics each write their own key after point reads only, so any number of organisations
// commit theirs in one block. Counting (the range reads) happens only in CloseRound and
// FinalizeRound, which anyone may send once the condition holds; a duplicate is refused.

const (
	objRound       = "round"
	objUpdate      = "update"
	objManifest    = "manifest"
	objEndorsement = "endorsement"
	objMetrics     = "metrics"

	RoundOpen      = "OPEN"
	RoundClosed    = "CLOSED"
	RoundFinalized = "FINALIZED"
)

// Included is one update a closed round aggregates, in the fixed order aggregators add them.
type Included struct {
	MSP          string `json:"msp_id"`
	ManifestHash string `json:"manifest_hash"`
	Samples      int64  `json:"samples"`
}

// Round is one round of a task.
type Round struct {
	TaskID       string     `json:"task_id"`
	Round        int64      `json:"round"`
	Status       string     `json:"status"`
	OpenedAt     string     `json:"opened_at"`
	ClosedAt     string     `json:"closed_at,omitempty"`
	Included     []Included `json:"included,omitempty"`
	TotalSamples int64      `json:"total_samples,omitempty"`
	FinalizedAt  string     `json:"finalized_at,omitempty"`
	FinalHash    string     `json:"final_hash,omitempty"`
	FinalURI     string     `json:"final_uri,omitempty"`
}

// Update is one participant's encrypted update in one round (its shards live off chain).
type Update struct {
	TaskID       string `json:"task_id"`
	Round        int64  `json:"round"`
	MSP          string `json:"msp_id"`
	SubmittedBy  string `json:"submitted_by"`
	ManifestHash string `json:"manifest_hash"`
	Shards       int64  `json:"shards"`
	Samples      int64  `json:"samples"`
	DatasetID    string `json:"dataset_id"`
	Time         string `json:"time"`
	TxID         string `json:"tx_id"`
}

// Endorsement is one organisation's claim of a round's aggregate.
type Endorsement struct {
	TaskID        string `json:"task_id"`
	Round         int64  `json:"round"`
	MSP           string `json:"msp_id"`
	EndorsedBy    string `json:"endorsed_by"`
	AggregateHash string `json:"aggregate_hash"`
	AggregateURI  string `json:"aggregate_uri"`
	ShareHash     string `json:"share_hash,omitempty"`
	Time          string `json:"time"`
	TxID          string `json:"tx_id"`
}

// Metrics is what one participant measured of a round's global model on its own held-out data.
type Metrics struct {
	TaskID     string      `json:"task_id"`
	Round      int64       `json:"round"`
	MSP        string      `json:"msp_id"`
	RecordedBy string      `json:"recorded_by"`
	Metrics    interface{} `json:"metrics"`
	Time       string      `json:"time"`
	TxID       string      `json:"tx_id"`
}

// RoundHistory is one round with everything submitted to it.
type RoundHistory struct {
	Round
	Updates      []Update      `json:"updates"`
	Endorsements []Endorsement `json:"endorsements"`
	Metrics      []Metrics     `json:"metrics"`
}

// SubmitUpdate records the caller's organisation's update to the open round: the sha256 of its
// manifest (never used before in the task), its shard count and its sample count (at most the
// participant's max_samples).
func (c *TaskContract) SubmitUpdate(ctx contractapi.TransactionContextInterface, taskID, round, manifestHash, shards, samples string) (string, error) {
	who, t, r, err := memberRound(ctx, taskID, round, RoundOpen)
	if err != nil {
		return "", err
	}
	p, _ := participant(t, who.MSP)
	if err := checkHash("manifest_hash", manifestHash); err != nil {
		return "", err
	}
	shardCount, err := parseInt("shards", shards, 1, 1<<20)
	if err != nil {
		return "", err
	}
	sampleCount, err := parseInt("samples", samples, 1, p.MaxSamples)
	if err != nil {
		return "", err
	}
	var existing Update
	if found, err := getJSON(ctx, &existing, objUpdate, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already submitted an update to round %d of task %q (tx %s)", who.MSP, r.Round, t.ID, existing.TxID)
	}
	var used Update
	if found, err := getJSON(ctx, &used, objManifest, t.ID, manifestHash); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "manifest %s was already submitted by %s in round %d of task %q", manifestHash, used.MSP, used.Round, t.ID)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	u := Update{TaskID: t.ID, Round: r.Round, MSP: who.MSP, SubmittedBy: who.ID, ManifestHash: manifestHash,
		Shards: shardCount, Samples: sampleCount, DatasetID: p.DatasetID, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, u, objUpdate, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	}
	if err := putJSON(ctx, u, objManifest, t.ID, manifestHash); err != nil {
		return "", err
	}
	return emit(ctx, "UpdateSubmitted", u)
}

// CloseRound closes the open round when every member's update is in, or when
// round_timeout has passed since it opened and min_updates are in; it fixes the included
// updates, ordered by MSP id. A round timed out with fewer than min_updates fails the task.
func (c *TaskContract) CloseRound(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	_, t, r, err := memberRound(ctx, taskID, round, RoundOpen)
	if err != nil {
		return "", err
	}
	updates, err := listAll[Update](ctx, objUpdate, t.ID, roundKey(r.Round))
	if err != nil {
		return "", err
	}
	n, all := int64(len(updates)), int64(len(t.Members))
	if n < all {
		expired, deadline, err := timedOut(ctx, t, r.OpenedAt)
		if err != nil {
			return "", err
		}
		if !expired {
			return "", refusal(CodeFailedPrecondition, "round %d of task %q has %d of %d updates; it closes when all are in%s", r.Round, t.ID, n, all, afterDeadline(t, deadline, "with min_updates"))
		}
		if n < t.MinUpdates {
			return failTask(ctx, t, r.Round, refusalText("round %d got %d of the %d updates it needs within its %ds timeout", r.Round, n, t.MinUpdates, t.RoundTimeout))
		}
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	sortBySubmission(updates)
	r.Status, r.ClosedAt, r.Included, r.TotalSamples = RoundClosed, formatTime(now), nil, 0
	for _, u := range updates {
		r.Included = append(r.Included, Included{MSP: u.MSP, ManifestHash: u.ManifestHash, Samples: u.Samples})
		r.TotalSamples += u.Samples
	}
	if err := putJSON(ctx, r, objRound, t.ID, roundKey(r.Round)); err != nil {
		return "", err
	}
	return emit(ctx, "RoundClosed", map[string]interface{}{"task_id": t.ID, "round": r.Round,
		"included": r.Included, "total_samples": r.TotalSamples, "closed_at": r.ClosedAt})
}

// sortBySubmission orders updates by their transactions' times, then MSP id: the first
// submitters, who have had time to add the others' updates as they came, head the included list
// and so the first decryption set of a threshold-ckks round.
func sortBySubmission(updates []Update) {
	at := make(map[string]time.Time, len(updates))
	for _, u := range updates {
		at[u.MSP], _ = time.Parse(time.RFC3339Nano, u.Time) // written by txTime: always parses
	}
	sort.Slice(updates, func(i, j int) bool {
		ti, tj := at[updates[i].MSP], at[updates[j].MSP]
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return updates[i].MSP < updates[j].MSP
	})
}

// EndorseAggregate records the caller's organisation's aggregate hash for a closed round of an
// active task. A participant endorses once per round; FinalizeRound counts. In a threshold-ckks
// task the endorsement may carry shareHash, the member's decryption share of that aggregate for
// attempt 0, so that a round needs no block for shares after it is finalized ("" for none; it
// counts only if the aggregate is the one finalized).
func (c *TaskContract) EndorseAggregate(ctx contractapi.TransactionContextInterface, taskID, round, aggregateHash, aggregateURI, shareHash string) (string, error) {
	who, t, r, err := memberRound(ctx, taskID, round, RoundClosed)
	if err != nil {
		return "", err
	}
	if err := checkHash("aggregate_hash", aggregateHash); err != nil {
		return "", err
	}
	if err := checkText("aggregate_uri", aggregateURI, maxURILen, true); err != nil {
		return "", err
	}
	if shareHash != "" {
		if t.HEScheme != schemeThreshold {
			return "", refusal(CodeInvalidArgument, "task %q uses %s: it takes no decryption shares", t.ID, t.HEScheme)
		}
		if err := checkHash("share_hash", shareHash); err != nil {
			return "", err
		}
	}
	var existing Endorsement
	if found, err := getJSON(ctx, &existing, objEndorsement, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already endorsed round %d of task %q", who.MSP, r.Round, t.ID)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	e := Endorsement{TaskID: t.ID, Round: r.Round, MSP: who.MSP, EndorsedBy: who.ID, AggregateHash: aggregateHash,
		AggregateURI: aggregateURI, ShareHash: shareHash, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, e, objEndorsement, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	}
	if shareHash != "" {
		d := DecryptionShare{TaskID: t.ID, Round: r.Round, Attempt: 0, MSP: who.MSP, PostedBy: who.ID, ShareHash: shareHash,
			AggregateHash: aggregateHash, Time: e.Time, TxID: e.TxID}
		if err := putJSON(ctx, d, objDecryptShare, t.ID, roundKey(r.Round), roundKey(0), who.MSP); err != nil {
			return "", err
		}
	}
	return emit(ctx, "AggregateEndorsed", e)
}

// FinalizeRound finalizes a closed round once quorum participants endorsed one aggregate hash
// (a quorum is a majority, so at most one hash can reach it): the next round opens, or the task
// completes. Differing hashes stay on record as evidence. When round_timeout passes after the
// close without a quorum, the task fails.
func (c *TaskContract) FinalizeRound(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	_, t, r, err := memberRound(ctx, taskID, round, RoundClosed)
	if err != nil {
		return "", err
	}
	endorsements, err := listAll[Endorsement](ctx, objEndorsement, t.ID, roundKey(r.Round))
	if err != nil {
		return "", err
	}
	counts := map[string]int64{}
	var winner Endorsement
	var best int64
	for _, e := range endorsements {
		counts[e.AggregateHash]++
		if counts[e.AggregateHash] > best {
			winner, best = e, counts[e.AggregateHash]
		}
	}
	if best < t.Quorum {
		expired, deadline, err := timedOut(ctx, t, r.ClosedAt)
		if err != nil {
			return "", err
		}
		if !expired {
			return "", refusal(CodeFailedPrecondition, "round %d of task %q has %d of the %d agreeing endorsements it needs%s", r.Round, t.ID, best, t.Quorum, afterDeadline(t, deadline, "the task fails"))
		}
		return failTask(ctx, t, r.Round, refusalText("round %d got no quorum of %d agreeing endorsements within its %ds timeout (%d endorsements)", r.Round, t.Quorum, t.RoundTimeout, len(endorsements)))
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	r.Status, r.FinalizedAt, r.FinalHash, r.FinalURI = RoundFinalized, formatTime(now), winner.AggregateHash, winner.AggregateURI
	if err := putJSON(ctx, r, objRound, t.ID, roundKey(r.Round)); err != nil {
		return "", err
	}
	t.UpdatedAt = formatTime(now)
	if r.Round < t.Rounds {
		t.CurrentRound = r.Round + 1
		next := Round{TaskID: t.ID, Round: t.CurrentRound, Status: RoundOpen, OpenedAt: formatTime(now)}
		if err := putJSON(ctx, next, objRound, t.ID, roundKey(next.Round)); err != nil {
			return "", err
		}
	} else {
		t.Status = TaskCompleted
	}
	if err := putJSON(ctx, t, objTask, t.ID); err != nil {
		return "", err
	}
	payload := map[string]interface{}{"task_id": t.ID, "round": r.Round, "aggregate_hash": r.FinalHash,
		"aggregate_uri": r.FinalURI, "endorsements": best, "total_samples": r.TotalSamples, "task_status": t.Status}
	if t.Status == TaskActive {
		payload["next_round"] = t.CurrentRound
	}
	return emit(ctx, "RoundFinalized", payload)
}

// RecordMetrics records what the caller's organisation measured of a finalized round's global
// model on its own held-out data (a JSON object), once per round.
func (c *TaskContract) RecordMetrics(ctx contractapi.TransactionContextInterface, taskID, round, metrics string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	t, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	if _, err := requireMember(t, who); err != nil {
		return "", err
	}
	if t.Status != TaskActive && t.Status != TaskCompleted {
		return "", refusal(CodeFailedPrecondition, "task %q is %s", t.ID, t.Status)
	}
	if r.Status != RoundFinalized {
		return "", refusal(CodeFailedPrecondition, "round %d of task %q is %s, not FINALIZED", r.Round, t.ID, r.Status)
	}
	values, err := jsonObject("metrics", metrics)
	if err != nil {
		return "", err
	}
	var existing Metrics
	if found, err := getJSON(ctx, &existing, objMetrics, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already recorded metrics for round %d of task %q", who.MSP, r.Round, t.ID)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	m := Metrics{TaskID: t.ID, Round: r.Round, MSP: who.MSP, RecordedBy: who.ID, Metrics: values,
		Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, m, objMetrics, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	}
	return emit(ctx, "MetricsRecorded", m)
}

// GetRound returns one round.
func (c *TaskContract) GetRound(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	_, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	return toJSON(r)
}

// ListUpdates returns a round's updates, ordered by organisation.
func (c *TaskContract) ListUpdates(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	return listRound[Update](ctx, taskID, round, objUpdate)
}

// ListEndorsements returns a round's aggregate endorsements, ordered by organisation.
func (c *TaskContract) ListEndorsements(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	return listRound[Endorsement](ctx, taskID, round, objEndorsement)
}

// ListMetrics returns the metrics participants recorded for a round, ordered by organisation.
func (c *TaskContract) ListMetrics(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	return listRound[Metrics](ctx, taskID, round, objMetrics)
}

func listRound[T any](ctx contractapi.TransactionContextInterface, taskID, round, objectType string) (string, error) {
	_, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	items, err := listAll[T](ctx, objectType, r.TaskID, roundKey(r.Round))
	if err != nil {
		return "", err
	}
	return toJSON(items)
}

func loadRound(ctx contractapi.TransactionContextInterface, taskID, round string) (Task, Round, error) {
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return t, Round{}, err
	}
	n, err := parseInt("round", round, 1, maxRounds)
	if err != nil {
		return t, Round{}, err
	}
	var r Round
	found, err := getJSON(ctx, &r, objRound, t.ID, roundKey(n))
	if err != nil {
		return t, r, err
	}
	if !found {
		return t, r, refusal(CodeNotFound, "task %q has no round %d yet", t.ID, n)
	}
	return t, r, nil
}

// memberRound is the caller, a member of the ACTIVE task, and the task's round in status.
func memberRound(ctx contractapi.TransactionContextInterface, taskID, round, status string) (Caller, Task, Round, error) {
	who, err := caller(ctx)
	if err != nil {
		return who, Task{}, Round{}, err
	}
	t, r, err := activeRound(ctx, taskID, round, status)
	if err != nil {
		return who, t, r, err
	}
	_, err = requireMember(t, who)
	return who, t, r, err
}

// activeRound loads a round of an ACTIVE task that must be in status.
func activeRound(ctx contractapi.TransactionContextInterface, taskID, round, status string) (Task, Round, error) {
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return t, Round{}, err
	}
	if t.Status != TaskActive {
		return t, Round{}, refusal(CodeFailedPrecondition, "task %q is %s, not ACTIVE", t.ID, t.Status)
	}
	t, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return t, r, err
	}
	if r.Status != status {
		return t, r, refusal(CodeFailedPrecondition, "round %d of task %q is %s, not %s", r.Round, t.ID, r.Status, status)
	}
	return t, r, nil
}

// timedOut says whether round_timeout has passed since the given time, by the transaction's
// time and by this endorser's own clock (so a client cannot move a deadline forward).
func timedOut(ctx contractapi.TransactionContextInterface, t Task, since string) (bool, time.Time, error) {
	if t.RoundTimeout == 0 {
		return false, time.Time{}, nil
	}
	start, err := time.Parse(time.RFC3339Nano, since)
	if err != nil {
		return false, time.Time{}, refusal(CodeInternal, "reading the round's time %q: %v", since, err)
	}
	deadline := start.Add(time.Duration(t.RoundTimeout) * time.Second)
	now, err := txTime(ctx)
	if err != nil {
		return false, deadline, err
	}
	return !now.Before(deadline) && !clock().Before(deadline), deadline, nil
}

func afterDeadline(t Task, deadline time.Time, then string) string {
	if t.RoundTimeout == 0 {
		return " (the task sets no round_timeout)"
	}
	return "; at " + formatTime(deadline) + " " + then
}
