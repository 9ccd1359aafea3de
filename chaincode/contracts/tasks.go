package contracts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

const (
	objTask = "task"
	objJoin = "join"

	TaskPending   = "PENDING"
	TaskActive    = "ACTIVE"
	TaskCompleted = "COMPLETED"
	TaskCancelled = "CANCELLED"
	TaskFailed    = "FAILED"

	maxParticipants  = 64
	maxRounds        = 1000
	maxRoundTimeout  = 7 * 24 * 3600
	maxSamplesBound  = 1 << 50
	minQuorumMembers = 2
)

const schemeThreshold = "threshold-ckks"

// heSchemes are the encryption schemes a task may name.
var heSchemes = map[string]bool{"ckks": true, "paillier": true, schemeThreshold: true}

// Participant is one organisation training on one of its datasets, with at most MaxSamples
// samples per round (bounded by the dataset's rows). WrappedKey is the sha256 of the task's HE
// secret wrapped to the organisation's published key (single-key schemes only).
type Participant struct {
	MSP        string `json:"msp_id"`
	DatasetID  string `json:"dataset_id"`
	MaxSamples int64  `json:"max_samples"`
	WrappedKey string `json:"wrapped_key,omitempty"`
}

// TaskSpec is CreateTask's argument: the terms every participant accepts by joining.
type TaskSpec struct {
	ID                 string          `json:"id"`
	AppHash            string          `json:"app_hash"`
	ModelSpecHash      string          `json:"model_spec_hash"`
	InitialWeightsHash string          `json:"initial_weights_hash"`
	InitialWeightsURI  string          `json:"initial_weights_uri"`
	HEScheme           string          `json:"he_scheme"`
	HEContextHash      string          `json:"he_context_hash"`
	HEContextURI       string          `json:"he_context_uri"`
	Participants       []Participant   `json:"participants"`
	Rounds             int64           `json:"rounds"`
	MinUpdates         int64           `json:"min_updates"`
	Quorum             int64           `json:"quorum"`
	Threshold          int64           `json:"threshold"` // t of threshold-ckks; 0 otherwise
	RoundTimeout       int64           `json:"round_timeout"`
	Strategy           string          `json:"strategy"`
	Hyperparameters    json.RawMessage `json:"hyperparameters"`
}

// Task is a federated training job and where it stands.
type Task struct {
	TaskSpec
	TermsHash    string   `json:"terms_hash"`
	InitiatorMSP string   `json:"initiator_msp"`
	CreatedBy    string   `json:"created_by"`
	Status       string   `json:"status"`
	Members      []string `json:"members,omitempty"`
	// CollectiveKeyHash is the threshold scheme's collective public key, once a quorum of the
	// members endorsed it: round 1 opens then.
	CollectiveKeyHash string `json:"collective_key_hash,omitempty"`
	CurrentRound      int64  `json:"current_round"`
	FailureReason     string `json:"failure_reason,omitempty"`
	CreatedAt         string `json:"created_at"`
	StartedAt         string `json:"started_at,omitempty"`
	UpdatedAt         string `json:"updated_at"`
	TxID              string `json:"tx_id"`
}

// Join is one participant's acceptance of a task's terms.
type Join struct {
	TaskID    string `json:"task_id"`
	MSP       string `json:"msp_id"`
	JoinedBy  string `json:"joined_by"`
	TermsHash string `json:"terms_hash"`
	KeyShare  string `json:"key_share,omitempty"` // threshold-ckks: its key bundle's sha256
	Time      string `json:"time"`
	TxID      string `json:"tx_id"`
}

// TaskContract: tasks, rounds, updates, aggregate endorsements, metrics and organisations' keys.
type TaskContract struct {
	contractapi.Contract
}

// CreateTask records a task from a JSON TaskSpec. It is PENDING until every participant joins
// and the task is started.
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
		if p.MaxSamples > d.Rows {
			return "", refusal(CodeInvalidArgument, "participant %s may declare at most the %d rows of dataset %q, not %d samples", p.MSP, d.Rows, d.ID, p.MaxSamples)
		}
		decision, err := decide(ctx, d, who.MSP, "", PurposeTraining, now)
		if err != nil {
			return "", err
		}
		if !decision.Allowed {
			return "", refusal(CodePermissionDenied, "dataset %q of %s has no live training grant for %s: %s", d.ID, p.MSP, who.MSP, decision.Reason)
		}
	}
	terms, err := json.Marshal(s)
	if err != nil {
		return "", refusal(CodeInternal, "encoding the terms: %v", err)
	}
	digest := sha256.Sum256(terms)
	t := Task{TaskSpec: s, TermsHash: hex.EncodeToString(digest[:]), InitiatorMSP: who.MSP, CreatedBy: who.ID,
		Status: TaskPending, CreatedAt: formatTime(now), UpdatedAt: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, t, objTask, s.ID); err != nil {
		return "", err
	}
	return emit(ctx, "TaskCreated", t)
}

// minQuorum is the weakest quorum a task of n participants may set: a majority, at least 2.
func minQuorum(n int64) int64 {
	q := n/2 + 1
	if q < minQuorumMembers {
		q = minQuorumMembers
	}
	return q
}

func validateSpec(s *TaskSpec) error {
	if err := checkID("task id", s.ID); err != nil {
		return err
	}
	for _, h := range [][2]string{{"app_hash", s.AppHash}, {"model_spec_hash", s.ModelSpecHash},
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
	if !heSchemes[s.HEScheme] {
		return refusal(CodeInvalidArgument, "he_scheme %q must be ckks, threshold-ckks or paillier", s.HEScheme)
	}
	n := int64(len(s.Participants))
	if n < 2 || n > maxParticipants {
		return refusal(CodeInvalidArgument, "a task needs 2 to %d participants, not %d", maxParticipants, n)
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
		if p.MaxSamples < 1 || p.MaxSamples > maxSamplesBound {
			return refusal(CodeInvalidArgument, "max_samples of %s must be from 1 to %d, not %d", p.MSP, int64(maxSamplesBound), p.MaxSamples)
		}
		if p.WrappedKey != "" {
			if err := checkHash("wrapped_key of "+p.MSP, p.WrappedKey); err != nil {
				return err
			}
		}
	}
	if s.Rounds < 1 || s.Rounds > maxRounds {
		return refusal(CodeInvalidArgument, "rounds must be from 1 to %d, not %d", maxRounds, s.Rounds)
	}
	// One update alone would be decrypted as "the aggregate": at least two must be summed.
	if s.MinUpdates < 2 || s.MinUpdates > n {
		return refusal(CodeInvalidArgument, "min_updates must be from 2 to the %d participants, not %d", n, s.MinUpdates)
	}
	if q := minQuorum(n); s.Quorum < q || s.Quorum > n {
		return refusal(CodeInvalidArgument, "quorum must be from %d (a majority of the %d participants, at least 2) to %d, not %d", q, n, n, s.Quorum)
	}
	if s.HEScheme == schemeThreshold {
		if s.Threshold < minQuorumMembers || s.Threshold > n {
			return refusal(CodeInvalidArgument, "threshold must be from 2 to the %d participants, not %d", n, s.Threshold)
		}
		for _, p := range s.Participants {
			if p.WrappedKey != "" {
				return refusal(CodeInvalidArgument, "a threshold-ckks task wraps no secret key to %s: each member makes its own share", p.MSP)
			}
		}
	} else if s.Threshold != 0 {
		return refusal(CodeInvalidArgument, "threshold is for threshold-ckks tasks only; %s takes 0, not %d", s.HEScheme, s.Threshold)
	}
	if s.RoundTimeout < 0 || s.RoundTimeout > maxRoundTimeout {
		return refusal(CodeInvalidArgument, "round_timeout must be from 0 (none) to %d seconds, not %d", maxRoundTimeout, s.RoundTimeout)
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

// JoinTask records that the caller's organisation accepts the task's terms; termsHash must be
// the task's terms_hash, so a participant accepts exactly what it read. For a threshold-ckks
// task keyShare is the sha256 of its key bundle (public-key share and Shamir shares, in the
// store); otherwise "". Only an admin may.
func (c *TaskContract) JoinTask(ctx contractapi.TransactionContextInterface, taskID, termsHash, keyShare string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	if _, ok := participant(t, who.MSP); !ok {
		return "", refusal(CodePermissionDenied, "%s is not a participant of task %q", who.MSP, t.ID)
	}
	if err := requireAdmin(who, "join a task"); err != nil {
		return "", err
	}
	if t.Status != TaskPending {
		return "", refusal(CodeFailedPrecondition, "task %q is %s, not PENDING", t.ID, t.Status)
	}
	if err := checkHash("terms_hash", termsHash); err != nil {
		return "", err
	}
	if termsHash != t.TermsHash {
		return "", refusal(CodeInvalidArgument, "terms_hash %s is not task %q's terms (%s)", termsHash, t.ID, t.TermsHash)
	}
	if t.HEScheme == schemeThreshold {
		if err := checkHash("key_share", keyShare); err != nil {
			return "", err
		}
	} else if keyShare != "" {
		return "", refusal(CodeInvalidArgument, "a %s task takes no key share", t.HEScheme)
	}
	var existing Join
	if found, err := getJSON(ctx, &existing, objJoin, t.ID, who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already joined task %q (tx %s)", who.MSP, t.ID, existing.TxID)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	j := Join{TaskID: t.ID, MSP: who.MSP, JoinedBy: who.ID, TermsHash: termsHash, KeyShare: keyShare,
		Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, j, objJoin, t.ID, who.MSP); err != nil {
		return "", err
	}
	return emit(ctx, "TaskJoined", j)
}

// StartTask opens round 1 once every participant has joined, or, when the task sets a
// round_timeout and that long has passed since it was created, once enough have joined to meet
// min_updates and quorum: participants that did not join are left out (they never accepted the
// terms). Any participant or the initiator may send it; a second start is refused.
func (c *TaskContract) StartTask(ctx contractapi.TransactionContextInterface, taskID string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	if _, ok := participant(t, who.MSP); !ok && who.MSP != t.InitiatorMSP {
		return "", refusal(CodePermissionDenied, "%s takes no part in task %q", who.MSP, t.ID)
	}
	if t.Status != TaskPending {
		return "", refusal(CodeFailedPrecondition, "task %q is %s, not PENDING", t.ID, t.Status)
	}
	joins, err := listAll[Join](ctx, objJoin, t.ID)
	if err != nil {
		return "", err
	}
	joined := map[string]bool{}
	for _, j := range joins {
		joined[j.MSP] = true
	}
	var members, missing []string
	for _, p := range t.Participants {
		if joined[p.MSP] {
			members = append(members, p.MSP)
		} else {
			missing = append(missing, p.MSP)
		}
	}
	if len(missing) > 0 {
		expired, deadline, err := timedOut(ctx, t, t.CreatedAt)
		if err != nil {
			return "", err
		}
		n := int64(len(members))
		if !expired || n < t.Quorum || n < t.MinUpdates || n < t.Threshold {
			return "", refusal(CodeFailedPrecondition, "task %q waits for %d participant(s) to join: %v%s", t.ID, len(missing), missing, afterDeadline(t, deadline, "it starts without them if min_updates and the quorum have joined"))
		}
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	t.Status, t.Members, t.CurrentRound = TaskActive, members, 1
	t.StartedAt, t.UpdatedAt = formatTime(now), formatTime(now)
	if t.HEScheme == schemeThreshold {
		t.CurrentRound = 0 // round 1 opens once a quorum endorses the collective key
	}
	if err := putJSON(ctx, t, objTask, t.ID); err != nil {
		return "", err
	}
	if t.CurrentRound == 1 {
		if err := putJSON(ctx, Round{TaskID: t.ID, Round: 1, Status: RoundOpen, OpenedAt: formatTime(now)}, objRound, t.ID, roundKey(1)); err != nil {
			return "", err
		}
	}
	return emit(ctx, "TaskStarted", map[string]interface{}{"task_id": t.ID, "round": t.CurrentRound, "members": members,
		"left_out": missing, "started_at": t.StartedAt})
}

// CancelTask stops a pending or active task. Only an admin of the initiating organisation may.
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
	if t.Status != TaskActive && t.Status != TaskPending {
		return "", refusal(CodeFailedPrecondition, "task %q is %s, not PENDING or ACTIVE", t.ID, t.Status)
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

// failTask ends an active task as FAILED with its reason on record (event TaskFailed).
func failTask(ctx contractapi.TransactionContextInterface, t Task, round int64, reason string) (string, error) {
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	t.Status, t.FailureReason, t.UpdatedAt = TaskFailed, reason, formatTime(now)
	if err := putJSON(ctx, t, objTask, t.ID); err != nil {
		return "", err
	}
	return emit(ctx, "TaskFailed", map[string]interface{}{"task_id": t.ID, "round": round, "reason": reason,
		"task_status": t.Status})
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

// ListJoins returns who has joined a task, ordered by organisation.
func (c *TaskContract) ListJoins(ctx contractapi.TransactionContextInterface, taskID string) (string, error) {
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return "", err
	}
	joins, err := listAll[Join](ctx, objJoin, t.ID)
	if err != nil {
		return "", err
	}
	return toJSON(joins)
}

// TaskHistory is a task with who joined and all its rounds.
type TaskHistory struct {
	Task   Task           `json:"task"`
	Joins  []Join         `json:"joins"`
	Rounds []RoundHistory `json:"rounds"`
}

// GetTaskHistory returns the task and every round so far with everything recorded in it.
func (c *TaskContract) GetTaskHistory(ctx contractapi.TransactionContextInterface, taskID string) (string, error) {
	h, err := taskHistory(ctx, taskID)
	if err != nil {
		return "", err
	}
	return toJSON(h)
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

func participant(t Task, msp string) (Participant, bool) {
	for _, p := range t.Participants {
		if p.MSP == msp {
			return p, true
		}
	}
	return Participant{}, false
}

func isMember(t Task, msp string) bool {
	for _, m := range t.Members {
		if m == msp {
			return true
		}
	}
	return false
}

// requireMember refuses callers that are not members of a started task: participants that
// joined it in time.
func requireMember(t Task, who Caller) (Participant, error) {
	p, ok := participant(t, who.MSP)
	if !ok {
		return p, refusal(CodePermissionDenied, "%s is not a participant of task %q", who.MSP, t.ID)
	}
	if isMember(t, who.MSP) {
		return p, nil
	}
	return p, refusal(CodePermissionDenied, "%s did not join task %q before it started", who.MSP, t.ID)
}

func taskHistory(ctx contractapi.TransactionContextInterface, taskID string) (TaskHistory, error) {
	t, err := loadTask(ctx, taskID)
	if err != nil {
		return TaskHistory{}, err
	}
	joins, err := listAll[Join](ctx, objJoin, t.ID)
	if err != nil {
		return TaskHistory{}, err
	}
	h := TaskHistory{Task: t, Joins: joins, Rounds: []RoundHistory{}}
	for n := int64(1); n <= t.CurrentRound; n++ {
		_, r, err := loadRound(ctx, t.ID, strconv.FormatInt(n, 10))
		if err != nil {
			return h, err
		}
		rh := RoundHistory{Round: r}
		if rh.Updates, err = listAll[Update](ctx, objUpdate, t.ID, roundKey(n)); err != nil {
			return h, err
		}
		if rh.Endorsements, err = listAll[Endorsement](ctx, objEndorsement, t.ID, roundKey(n)); err != nil {
			return h, err
		}
		if rh.Metrics, err = listAll[Metrics](ctx, objMetrics, t.ID, roundKey(n)); err != nil {
			return h, err
		}
		h.Rounds = append(h.Rounds, rh)
	}
	return h, nil
}

// roundKey orders rounds numerically under a range scan.
func roundKey(n int64) string { return fmt.Sprintf("%06d", n) }
