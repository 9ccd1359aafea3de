package contracts

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

const (
	objTask        = "task"
	objRound       = "round"
	objUpdate      = "update"
	objEndorsement = "endorsement"
	objOrgKey      = "orgkey"

	TaskActive    = "ACTIVE"
	TaskCompleted = "COMPLETED"
	TaskCancelled = "CANCELLED"

	RoundOpen      = "OPEN"
	RoundClosed    = "CLOSED"
	RoundFinalized = "FINALIZED"

	maxParticipants = 64
	maxRounds       = 1000
	maxKeyLen       = 8 * 1024
)

// Participant is one organisation training on one of its datasets.
type Participant struct {
	MSP       string `json:"msp_id"`
	DatasetID string `json:"dataset_id"`
}

// TaskSpec is CreateTask's argument.
type TaskSpec struct {
	ID                 string          `json:"id"`
	ModelSpecHash      string          `json:"model_spec_hash"`
	InitialWeightsHash string          `json:"initial_weights_hash"`
	InitialWeightsURI  string          `json:"initial_weights_uri"`
	HEContextHash      string          `json:"he_context_hash"`
	HEContextURI       string          `json:"he_context_uri"`
	Participants       []Participant   `json:"participants"`
	Rounds             int64           `json:"rounds"`
	MinUpdates         int64           `json:"min_updates"`
	Quorum             int64           `json:"quorum"`
	Strategy           string          `json:"strategy"`
	Hyperparameters    json.RawMessage `json:"hyperparameters"`
}

// Task is a federated training job and where it stands.
type Task struct {
	TaskSpec
	InitiatorMSP string `json:"initiator_msp"`
	CreatedBy    string `json:"created_by"`
	Status       string `json:"status"`
	CurrentRound int64  `json:"current_round"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
	TxID         string `json:"tx_id"`
}

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
	Time          string `json:"time"`
	TxID          string `json:"tx_id"`
}

// OrgKey is an organisation's published encryption public key.
type OrgKey struct {
	MSP         string `json:"msp_id"`
	Algorithm   string `json:"algorithm"`
	PublicKey   string `json:"public_key"`
	PublishedBy string `json:"published_by"`
	Time        string `json:"time"`
	TxID        string `json:"tx_id"`
}

// TaskContract: tasks, rounds, updates, aggregate endorsements and organisations' keys.
type TaskContract struct {
	contractapi.Contract
}

// roundKey orders rounds numerically under a range scan.
func roundKey(n int64) string { return fmt.Sprintf("%06d", n) }

// CreateTask starts a task from a JSON TaskSpec; round 1 opens at once.
func (c *TaskContract) CreateTask(ctx contractapi.TransactionContextInterface, spec string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if err := requireAdmin(who, "create a task"); err != nil {
		return "", err
	}
	if len(spec) > maxJSONLen {
		return "", refusal(CodeInvalidArgument, "task spec has %d bytes, more than %d", len(spec), maxJSONLen)
	}
	var s TaskSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return "", refusal(CodeInvalidArgument, "task spec is not valid JSON: %v", err)
	}
	if err := validateSpec(&s); err != nil {
		return "", err
	}
	var existing Task
	if found, err := getJSON(ctx, &existing, objTask, s.ID); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "task %q already exists", s.ID)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range s.Participants {
		d, err := loadDataset(ctx, p.DatasetID)
		if err != nil {
			return "", err
		}
		if d.OwnerMSP != p.MSP {
			return "", refusal(CodeInvalidArgument, "participant %s does not own dataset %q (%s does)", p.MSP, d.ID, d.OwnerMSP)
		}
		decision, err := decide(ctx, d, who.MSP, "", PurposeTraining, now)
		if err != nil {
			return "", err
		}
		if !decision.Allowed {
			return "", refusal(CodePermissionDenied, "dataset %q of %s has no live training grant for %s: %s", d.ID, p.MSP, who.MSP, decision.Reason)
		}
	}
	t := Task{TaskSpec: s, InitiatorMSP: who.MSP, CreatedBy: who.ID, Status: TaskActive, CurrentRound: 1,
		CreatedAt: formatTime(now), UpdatedAt: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, t, objTask, s.ID); err != nil {
		return "", err
	}
	r := Round{TaskID: s.ID, Round: 1, Status: RoundOpen, OpenedAt: formatTime(now)}
	if err := putJSON(ctx, r, objRound, s.ID, roundKey(1)); err != nil {
		return "", err
	}
	return emit(ctx, "TaskCreated", t)
}

func validateSpec(s *TaskSpec) error {
	if err := checkID("task id", s.ID); err != nil {
		return err
	}
	for _, h := range [][2]string{{"model_spec_hash", s.ModelSpecHash},
		{"initial_weights_hash", s.InitialWeightsHash}, {"he_context_hash", s.HEContextHash}} {
		if err := checkHash(h[0], h[1]); err != nil {
			return err
		}
	}
	for _, u := range [][2]string{{"initial_weights_uri", s.InitialWeightsURI}, {"he_context_uri", s.HEContextURI}} {
		if err := checkText(u[0], u[1], maxURILen, true); err != nil {
			return err
		}
	}
	n := int64(len(s.Participants))
	if n < 1 || n > maxParticipants {
		return refusal(CodeInvalidArgument, "a task needs 1 to %d participants, not %d", maxParticipants, n)
	}
	seen := map[string]bool{}
	for _, p := range s.Participants {
		if err := checkMSP("participant", p.MSP); err != nil {
			return err
		}
		if err := checkID("participant dataset id", p.DatasetID); err != nil {
			return err
		}
		if seen[p.MSP] {
			return refusal(CodeInvalidArgument, "participant %s is listed twice", p.MSP)
		}
		seen[p.MSP] = true
	}
	if s.Rounds < 1 || s.Rounds > maxRounds {
		return refusal(CodeInvalidArgument, "rounds must be from 1 to %d, not %d", maxRounds, s.Rounds)
	}
	if s.MinUpdates < 1 || s.MinUpdates > n {
		return refusal(CodeInvalidArgument, "min_updates must be from 1 to the %d participants, not %d", n, s.MinUpdates)
	}
	if s.Quorum < 1 || s.Quorum > n+1 {
		return refusal(CodeInvalidArgument, "quorum must be from 1 to %d organisations, not %d", n+1, s.Quorum)
	}
	if s.Strategy != "fedavg" && s.Strategy != "fedsgd" {
		return refusal(CodeInvalidArgument, "strategy %q must be fedavg or fedsgd", s.Strategy)
	}
	if len(s.Hyperparameters) == 0 {
		s.Hyperparameters = json.RawMessage("{}")
	}
	hp, err := jsonObject("hyperparameters", string(s.Hyperparameters))
	if err != nil {
		return err
	}
	s.Hyperparameters = hp
	return nil
}

// SubmitUpdate records the caller's organisation's update to the open round. When it is the
// last participant's, the round closes in the same transaction (event RoundClosed).
func (c *TaskContract) SubmitUpdate(ctx contractapi.TransactionContextInterface, taskID, round, manifestHash, shards, samples, datasetID string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	t, r, err := openRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	if err := checkHash("manifest_hash", manifestHash); err != nil {
		return "", err
	}
	shardCount, err := parseInt("shards", shards, 1, 1<<20)
	if err != nil {
		return "", err
	}
	sampleCount, err := parseInt("samples", samples, 1, 1<<50)
	if err != nil {
		return "", err
	}
	p, ok := participant(t, who.MSP)
	if !ok {
		return "", refusal(CodePermissionDenied, "%s is not a participant of task %q", who.MSP, t.ID)
	}
	if p.DatasetID != datasetID {
		return "", refusal(CodeInvalidArgument, "%s trains task %q on dataset %q, not %q", who.MSP, t.ID, p.DatasetID, datasetID)
	}
	var existing Update
	if found, err := getJSON(ctx, &existing, objUpdate, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already submitted an update to round %d of task %q (tx %s)", who.MSP, r.Round, t.ID, existing.TxID)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	u := Update{TaskID: t.ID, Round: r.Round, MSP: who.MSP, SubmittedBy: who.ID, ManifestHash: manifestHash,
		Shards: shardCount, Samples: sampleCount, DatasetID: datasetID, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, u, objUpdate, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	}
	updates, err := roundUpdates(ctx, t.ID, r.Round)
	if err != nil {
		return "", err
	}
	updates = append(updates, u) // this transaction's own write is not visible to its reads
	if int64(len(updates)) == int64(len(t.Participants)) {
		return closeRound(ctx, t, r, updates, true)
	}
	return emit(ctx, "UpdateSubmitted", u)
}

// CloseRound closes the open round once min_updates are in. The initiator or a participant may.
func (c *TaskContract) CloseRound(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	t, r, err := openRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	if _, ok := participant(t, who.MSP); !ok && who.MSP != t.InitiatorMSP {
		return "", refusal(CodePermissionDenied, "%s takes no part in task %q", who.MSP, t.ID)
	}
	updates, err := roundUpdates(ctx, t.ID, r.Round)
	if err != nil {
		return "", err
	}
	if int64(len(updates)) < t.MinUpdates {
		return "", refusal(CodeFailedPrecondition, "round %d of task %q has %d of the %d updates it needs", r.Round, t.ID, len(updates), t.MinUpdates)
	}
	return closeRound(ctx, t, r, updates, false)
}

func closeRound(ctx contractapi.TransactionContextInterface, t Task, r Round, updates []Update, auto bool) (string, error) {
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	sort.Slice(updates, func(i, j int) bool { return updates[i].MSP < updates[j].MSP })
	r.Status, r.ClosedAt, r.Included, r.TotalSamples = RoundClosed, formatTime(now), nil, 0
	for _, u := range updates {
		r.Included = append(r.Included, Included{MSP: u.MSP, ManifestHash: u.ManifestHash, Samples: u.Samples})
		r.TotalSamples += u.Samples
	}
	if err := putJSON(ctx, r, objRound, t.ID, roundKey(r.Round)); err != nil {
		return "", err
	}
	return emit(ctx, "RoundClosed", map[string]interface{}{"task_id": t.ID, "round": r.Round,
		"included": r.Included, "total_samples": r.TotalSamples, "auto": auto, "closed_at": r.ClosedAt})
}

// EndorseAggregate records the caller's organisation's aggregate hash for a closed round. When
// quorum organisations endorse one hash the round is FINALIZED and the next one opens (or the
// task completes). A differing hash stays on record as evidence.
func (c *TaskContract) EndorseAggregate(ctx contractapi.TransactionContextInterface, taskID, round, aggregateHash, aggregateURI string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	t, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	if _, ok := participant(t, who.MSP); !ok && who.MSP != t.InitiatorMSP {
		return "", refusal(CodePermissionDenied, "%s takes no part in task %q", who.MSP, t.ID)
	}
	if r.Status != RoundClosed {
		return "", refusal(CodeFailedPrecondition, "round %d of task %q is %s, not CLOSED", r.Round, t.ID, r.Status)
	}
	if err := checkHash("aggregate_hash", aggregateHash); err != nil {
		return "", err
	}
	if err := checkText("aggregate_uri", aggregateURI, maxURILen, true); err != nil {
		return "", err
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
		AggregateURI: aggregateURI, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, e, objEndorsement, t.ID, roundKey(r.Round), who.MSP); err != nil {
		return "", err
	}
	others, err := roundEndorsements(ctx, t.ID, r.Round)
	if err != nil {
		return "", err
	}
	agreeing := int64(1) // this transaction's own endorsement is not visible to its reads
	for _, other := range others {
		if other.AggregateHash == aggregateHash {
			agreeing++
		}
	}
	if agreeing < t.Quorum {
		return emit(ctx, "AggregateEndorsed", e)
	}
	r.Status, r.FinalizedAt, r.FinalHash, r.FinalURI = RoundFinalized, formatTime(now), aggregateHash, aggregateURI
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
	payload := map[string]interface{}{"task_id": t.ID, "round": r.Round, "aggregate_hash": aggregateHash,
		"aggregate_uri": aggregateURI, "endorsements": agreeing, "task_status": t.Status}
	if t.Status == TaskActive {
		payload["next_round"] = t.CurrentRound
	}
	return emit(ctx, "RoundFinalized", payload)
}

// CancelTask stops an active task. Only an admin of the initiating organisation may.
func (c *TaskContract) CancelTask(ctx contractapi.TransactionContextInterface, taskID string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	if who.MSP != t.InitiatorMSP {
		return "", refusal(CodePermissionDenied, "task %q was started by %s; %s may not cancel it", t.ID, t.InitiatorMSP, who.MSP)
	}
	if err := requireAdmin(who, "cancel a task"); err != nil {
		return "", err
	}
	if t.Status != TaskActive {
		return "", refusal(CodeFailedPrecondition, "task %q is %s, not ACTIVE", t.ID, t.Status)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	t.Status, t.UpdatedAt = TaskCancelled, formatTime(now)
	if err := putJSON(ctx, t, objTask, t.ID); err != nil {
		return "", err
	}
	return emit(ctx, "TaskCancelled", t)
}

// GetTask returns one task.
func (c *TaskContract) GetTask(ctx contractapi.TransactionContextInterface, taskID string) (string, error) {
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	return toJSON(t)
}

// ListTasks returns a page of tasks.
func (c *TaskContract) ListTasks(ctx contractapi.TransactionContextInterface, pageSize, bookmark string) (string, error) {
	return listPage(ctx, pageSize, bookmark, objTask)
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
	_, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	updates, err := roundUpdates(ctx, r.TaskID, r.Round)
	if err != nil {
		return "", err
	}
	return toJSON(updates)
}

// ListEndorsements returns a round's aggregate endorsements, ordered by organisation.
func (c *TaskContract) ListEndorsements(ctx contractapi.TransactionContextInterface, taskID, round string) (string, error) {
	_, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return "", err
	}
	endorsements, err := roundEndorsements(ctx, r.TaskID, r.Round)
	if err != nil {
		return "", err
	}
	return toJSON(endorsements)
}

// RoundHistory is one round with everything submitted to it.
type RoundHistory struct {
	Round
	Updates      []Update      `json:"updates"`
	Endorsements []Endorsement `json:"endorsements"`
}

// TaskHistory is a task with all its rounds.
type TaskHistory struct {
	Task   Task           `json:"task"`
	Rounds []RoundHistory `json:"rounds"`
}

// GetTaskHistory returns the task and every round so far with its updates and endorsements.
func (c *TaskContract) GetTaskHistory(ctx contractapi.TransactionContextInterface, taskID string) (string, error) {
	h, err := taskHistory(ctx, taskID)
	if err != nil {
		return "", err
	}
	return toJSON(h)
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

func loadTask(ctx contractapi.TransactionContextInterface, taskID string) (Task, error) {
	var t Task
	if err := checkID("task id", taskID); err != nil {
		return t, err
	}
	found, err := getJSON(ctx, &t, objTask, taskID)
	if err != nil {
		return t, err
	}
	if !found {
		return t, refusal(CodeNotFound, "task %q does not exist", taskID)
	}
	return t, nil
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

func openRound(ctx contractapi.TransactionContextInterface, taskID, round string) (Task, Round, error) {
	t, r, err := loadRound(ctx, taskID, round)
	if err != nil {
		return t, r, err
	}
	if t.Status != TaskActive {
		return t, r, refusal(CodeFailedPrecondition, "task %q is %s", t.ID, t.Status)
	}
	if r.Status != RoundOpen {
		return t, r, refusal(CodeFailedPrecondition, "round %d of task %q is %s, not OPEN", r.Round, t.ID, r.Status)
	}
	return t, r, nil
}

func participant(t Task, msp string) (Participant, bool) {
	for _, p := range t.Participants {
		if p.MSP == msp {
			return p, true
		}
	}
	return Participant{}, false
}

func roundUpdates(ctx contractapi.TransactionContextInterface, taskID string, round int64) ([]Update, error) {
	return listAll[Update](ctx, objUpdate, taskID, roundKey(round))
}

func roundEndorsements(ctx contractapi.TransactionContextInterface, taskID string, round int64) ([]Endorsement, error) {
	return listAll[Endorsement](ctx, objEndorsement, taskID, roundKey(round))
}

func taskHistory(ctx contractapi.TransactionContextInterface, taskID string) (TaskHistory, error) {
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return TaskHistory{}, err
	}
	h := TaskHistory{Task: t, Rounds: []RoundHistory{}}
	for n := int64(1); n <= t.CurrentRound; n++ {
		_, r, err := loadRound(ctx, t.ID, strconv.FormatInt(n, 10))
		if err != nil {
			return h, err
		}
		updates, err := roundUpdates(ctx, t.ID, n)
		if err != nil {
			return h, err
		}
		endorsements, err := roundEndorsements(ctx, t.ID, n)
		if err != nil {
			return h, err
		}
		h.Rounds = append(h.Rounds, RoundHistory{Round: r, Updates: updates, Endorsements: endorsements})
	}
	return h, nil
}
