package contracts

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

var tasks = &TaskContract{}

var orgs = []string{"Org1MSP", "Org2MSP", "Org3MSP"}

// consortium: Org1..Org3 each own a dataset (569 rows) and grant training to Org1, the initiator.
func consortium(t *testing.T) *ledger {
	l := newLedger(t)
	for i := 1; i <= 3; i++ {
		msp := fmt.Sprintf("Org%dMSP", i)
		id := fmt.Sprintf("d%d", i)
		l.ok(msp, "admin", register(id))
		if i != 1 {
			l.ok(msp, "admin", grant(id, "Org1MSP", "", PurposeTraining, "2030-01-01T00:00:00Z"))
		}
	}
	return l
}

func spec(mutate func(*TaskSpec)) string {
	s := TaskSpec{ID: "t1", AppHash: hashC, ModelSpecHash: hashA, InitialWeightsHash: hashB, InitialWeightsURI: "file:///w0",
		HEScheme: "ckks", HEContextHash: hashC, HEContextURI: "file:///ctx", Rounds: 2, MinUpdates: 2, Quorum: 2,
		Strategy: "fedavg",
		Participants: []Participant{{"Org1MSP", "d1", 500, hashA}, {"Org2MSP", "d2", 500, hashB},
			{"Org3MSP", "d3", 500, hashC}},
		Hyperparameters: json.RawMessage(`{"lr": 0.01}`)}
	if mutate != nil {
		mutate(&s)
	}
	data, _ := json.Marshal(s)
	return string(data)
}

func create(s string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.CreateTask(ctx, s) }
}

func join(terms string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.JoinTask(ctx, "t1", terms, "") }
}

func start(ctx Ctx) (string, error) { return tasks.StartTask(ctx, "t1") }

func submitN(round, manifest, samples string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.SubmitUpdate(ctx, "t1", round, manifest, "4", samples) }
}

func submit(round, manifest string) txFunc { return submitN(round, manifest, "100") }

func closeRound(round string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.CloseRound(ctx, "t1", round) }
}

func endorse(round, hash string) txFunc {
	return func(ctx Ctx) (string, error) {
		return tasks.EndorseAggregate(ctx, "t1", round, hash, "file:///agg", "")
	}
}

func finalize(round string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.FinalizeRound(ctx, "t1", round) }
}

func recordMetrics(round, metrics string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.RecordMetrics(ctx, "t1", round, metrics) }
}

// manifest makes a distinct hash per organisation and round.
func manifest(msp string, round int) string {
	return fmt.Sprintf("%064x", round*100+int(msp[3]-'0'))
}

func getRound(l *ledger, n string) Round {
	var r Round
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return tasks.GetRound(ctx, "t1", n) })), &r)
	return r
}

func getTask(l *ledger) Task {
	var task Task
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return tasks.GetTask(ctx, "t1") })), &task)
	return task
}

// startedTask creates t1 from spec(mutate), has every participant join and starts it.
func startedTask(t *testing.T, mutate func(*TaskSpec)) *ledger {
	l := consortium(t)
	l.ok("Org1MSP", "admin", create(spec(mutate)))
	terms := getTask(l).TermsHash
	for _, msp := range orgs {
		l.ok(msp, "admin", join(terms))
	}
	l.ok("Org2MSP", "client", start)
	return l
}

// playRound has every org submit, closes, has Org1 and Org2 endorse hash, and finalizes.
func playRound(l *ledger, round int, hash string) {
	r := fmt.Sprint(round)
	for _, msp := range orgs {
		l.ok(msp, "client", submit(r, manifest(msp, round)))
	}
	l.ok("Org3MSP", "client", closeRound(r))
	l.ok("Org1MSP", "client", endorse(r, hash))
	l.ok("Org2MSP", "client", endorse(r, hash))
	l.ok("Org3MSP", "client", finalize(r))
}

func TestCreateTaskChecksGrantsAndShape(t *testing.T) {
	l := consortium(t)
	l.refused(CodePermissionDenied, "Org1MSP", "client", create(spec(nil)))
	for name, mutate := range map[string]func(*TaskSpec){
		"bad id":            func(s *TaskSpec) { s.ID = "a b" },
		"bad hash":          func(s *TaskSpec) { s.ModelSpecHash = "x" },
		"no app hash":       func(s *TaskSpec) { s.AppHash = "" },
		"no uri":            func(s *TaskSpec) { s.HEContextURI = "" },
		"unknown scheme":    func(s *TaskSpec) { s.HEScheme = "rot13" },
		"no participants":   func(s *TaskSpec) { s.Participants = nil },
		"one participant":   func(s *TaskSpec) { s.Participants = s.Participants[:1]; s.MinUpdates = 1 },
		"twice":             func(s *TaskSpec) { s.Participants[2] = Participant{"Org2MSP", "d2", 5, ""} },
		"zero rounds":       func(s *TaskSpec) { s.Rounds = 0 },
		"min too large":     func(s *TaskSpec) { s.MinUpdates = 4 },
		"min of one":        func(s *TaskSpec) { s.MinUpdates = 1 },
		"quorum of one":     func(s *TaskSpec) { s.Quorum = 1 },
		"quorum too large":  func(s *TaskSpec) { s.Quorum = 4 },
		"negative timeout":  func(s *TaskSpec) { s.RoundTimeout = -1 },
		"timeout too long":  func(s *TaskSpec) { s.RoundTimeout = maxRoundTimeout + 1 },
		"strategy":          func(s *TaskSpec) { s.Strategy = "magic" },
		"hyperparameters":   func(s *TaskSpec) { s.Hyperparameters = json.RawMessage(`[1]`) },
		"not the owner":     func(s *TaskSpec) { s.Participants[1] = Participant{"Org2MSP", "d3", 5, ""} },
		"no samples":        func(s *TaskSpec) { s.Participants[1].MaxSamples = 0 },
		"more than rows":    func(s *TaskSpec) { s.Participants[1].MaxSamples = 570 },
		"bad wrapped key":   func(s *TaskSpec) { s.Participants[1].WrappedKey = "k" },
		"quorum 2 of 4 max": func(s *TaskSpec) { s.Participants = append(s.Participants, Participant{"Org4MSP", "d4", 5, ""}) },
	} {
		t.Run(name, func(t *testing.T) { l.t = t; l.refused(CodeInvalidArgument, "Org1MSP", "admin", create(spec(mutate))) })
	}
	l.t = t
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", create("{not json"))
	// Org3 revokes its grant: the task may not use d3 any more.
	l.ok("Org3MSP", "admin", func(ctx Ctx) (string, error) { return ds.RevokeGrant(ctx, "d3", "Org1MSP", "", PurposeTraining) })
	l.refused(CodePermissionDenied, "Org1MSP", "admin", create(spec(nil)))
	l.ok("Org3MSP", "admin", grant("d3", "Org1MSP", "", PurposeTraining, "2030-01-01T00:00:00Z"))
	l.ok("Org1MSP", "admin", create(spec(nil)))
	if l.lastEvent() != "TaskCreated" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "admin", create(spec(nil)))
	task := getTask(l)
	if task.Status != TaskPending || task.CurrentRound != 0 || len(task.TermsHash) != 64 {
		t.Errorf("a new task waits for its participants: %+v", task)
	}
	l.refused(CodeNotFound, "Org1MSP", "client", func(ctx Ctx) (string, error) { return tasks.GetRound(ctx, "t1", "1") })
}

func TestParticipantsJoinThenTheTaskStarts(t *testing.T) {
	l := consortium(t)
	l.ok("Org1MSP", "admin", create(spec(nil)))
	terms := getTask(l).TermsHash
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", submit("1", hashA))
	l.refused(CodePermissionDenied, "Org4MSP", "admin", join(terms))
	l.refused(CodePermissionDenied, "Org2MSP", "client", join(terms)) // an org decision: admins only
	l.refused(CodeInvalidArgument, "Org2MSP", "admin", join(hashA))   // other terms than the task's
	l.refused(CodeInvalidArgument, "Org2MSP", "admin", join("nothex"))
	l.ok("Org1MSP", "admin", join(terms))
	l.ok("Org2MSP", "admin", join(terms))
	if l.lastEvent() != "TaskJoined" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org2MSP", "admin", join(terms))
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", start) // Org3 has not joined
	l.refused(CodePermissionDenied, "Org4MSP", "client", start)
	l.ok("Org3MSP", "admin", join(terms))
	l.ok("Org3MSP", "client", start)
	if l.lastEvent() != "TaskStarted" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", start) // a duplicate start changes nothing
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", join(terms))
	if task, r := getTask(l), getRound(l, "1"); task.Status != TaskActive || task.CurrentRound != 1 || r.Status != RoundOpen {
		t.Errorf("started task %+v round %+v", task, r)
	}
	var joins []Join
	_ = json.Unmarshal([]byte(l.ok("Org2MSP", "client", func(ctx Ctx) (string, error) { return tasks.ListJoins(ctx, "t1") })), &joins)
	if len(joins) != 3 || joins[0].MSP != "Org1MSP" || joins[0].TermsHash != terms {
		t.Errorf("joins %+v", joins)
	}
}

func TestTaskLifecycle(t *testing.T) {
	l := startedTask(t, nil)

	// Round 1: refusals first.
	l.refused(CodePermissionDenied, "Org4MSP", "client", submit("1", hashA))
	l.refused(CodeInvalidArgument, "Org2MSP", "client", submit("1", "nothex"))
	l.refused(CodeNotFound, "Org2MSP", "client", submit("2", hashA))
	l.refused(CodeInvalidArgument, "Org2MSP", "client", submitN("1", hashA, "501")) // more than max_samples
	l.refused(CodeInvalidArgument, "Org2MSP", "client", submitN("1", hashA, "0"))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", closeRound("1"))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", endorse("1", hashA))

	l.ok("Org2MSP", "client", submit("1", manifest("Org2MSP", 1)))
	if l.lastEvent() != "UpdateSubmitted" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org2MSP", "client", submit("1", hashB))                  // a replay
	l.refused(CodeAlreadyExists, "Org1MSP", "client", submit("1", manifest("Org2MSP", 1))) // another org's manifest
	l.ok("Org1MSP", "client", submit("1", manifest("Org1MSP", 1)))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", closeRound("1")) // Org3 is missing, no timeout
	l.ok("Org3MSP", "client", submitN("1", manifest("Org3MSP", 1), "500"))
	if getRound(l, "1").Status != RoundOpen {
		t.Fatal("a submission never closes the round: CloseRound does")
	}
	l.refused(CodePermissionDenied, "Org4MSP", "client", closeRound("1"))
	l.ok("Org2MSP", "client", closeRound("1"))
	var closed map[string]interface{}
	_ = json.Unmarshal([]byte(l.stub.payload["RoundClosed"]), &closed)
	if closed["total_samples"] != 700.0 {
		t.Errorf("RoundClosed payload %v", closed)
	}
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", closeRound("1")) // a duplicate close
	r := getRound(l, "1")
	// Included in the order the updates were submitted (Org2, Org1, Org3), not by MSP id.
	if r.Status != RoundClosed || len(r.Included) != 3 || r.Included[0].MSP != "Org2MSP" || r.Included[1].MSP != "Org1MSP" || r.Included[2].MSP != "Org3MSP" {
		t.Errorf("closed round %+v", r)
	}
	l.refused(CodeFailedPrecondition, "Org3MSP", "client", submit("1", hashC))

	// Endorsements: Org3 dissents, Org1 and Org2 agree: quorum 2 finalizes.
	l.refused(CodePermissionDenied, "Org4MSP", "client", endorse("1", hashA))
	l.refused(CodeInvalidArgument, "Org1MSP", "client", endorse("1", "x"))
	l.ok("Org3MSP", "client", endorse("1", hashC))
	l.ok("Org1MSP", "client", endorse("1", hashA))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", finalize("1")) // 1 + 1: no quorum
	l.refused(CodeAlreadyExists, "Org1MSP", "client", endorse("1", hashA))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", recordMetrics("1", `{"accuracy": 0.9}`))
	l.ok("Org2MSP", "client", endorse("1", hashA))
	if l.lastEvent() != "AggregateEndorsed" || getRound(l, "1").Status != RoundClosed {
		t.Fatal("an endorsement never finalizes: FinalizeRound does")
	}
	l.refused(CodePermissionDenied, "Org4MSP", "client", finalize("1"))
	l.ok("Org3MSP", "client", finalize("1"))
	if l.lastEvent() != "RoundFinalized" {
		t.Fatalf("event %q", l.lastEvent())
	}
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", finalize("1")) // a duplicate finalize
	if r := getRound(l, "1"); r.Status != RoundFinalized || r.FinalHash != hashA {
		t.Errorf("finalized round %+v", r)
	}
	if task := getTask(l); task.CurrentRound != 2 || task.Status != TaskActive {
		t.Errorf("task after round 1 %+v", task)
	}
	var endorsements []Endorsement
	_ = json.Unmarshal([]byte(l.ok("Org2MSP", "client", func(ctx Ctx) (string, error) { return tasks.ListEndorsements(ctx, "t1", "1") })), &endorsements)
	if len(endorsements) != 3 || endorsements[2].AggregateHash != hashC {
		t.Errorf("the dissent stays on record: %+v", endorsements)
	}

	// Metrics, once per participant and round.
	l.refused(CodeInvalidArgument, "Org1MSP", "client", recordMetrics("1", `[1]`))
	l.refused(CodePermissionDenied, "Org4MSP", "client", recordMetrics("1", `{"accuracy": 0.9}`))
	l.ok("Org1MSP", "client", recordMetrics("1", `{"accuracy": 0.9, "loss": 0.3}`))
	if l.lastEvent() != "MetricsRecorded" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "client", recordMetrics("1", `{"accuracy": 0.8}`))

	// Round 2: a manifest of round 1 may not come back; then the task completes.
	l.refused(CodeAlreadyExists, "Org1MSP", "client", submit("2", manifest("Org1MSP", 1)))
	playRound(l, 2, hashB)
	var final map[string]interface{}
	_ = json.Unmarshal([]byte(l.stub.payload["RoundFinalized"]), &final)
	if final["task_status"] != TaskCompleted {
		t.Errorf("final payload %v", final)
	}
	if task := getTask(l); task.Status != TaskCompleted {
		t.Errorf("task %+v", task)
	}
	l.ok("Org3MSP", "client", recordMetrics("2", `{"accuracy": 0.93}`)) // after completion too
	var history TaskHistory
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return tasks.GetTaskHistory(ctx, "t1") })), &history)
	if len(history.Rounds) != 2 || len(history.Rounds[0].Updates) != 3 || len(history.Joins) != 3 ||
		len(history.Rounds[0].Metrics) != 1 || len(history.Rounds[1].Metrics) != 1 || history.Rounds[0].Updates[1].DatasetID != "d2" {
		t.Errorf("history %+v", history)
	}
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", func(ctx Ctx) (string, error) { return tasks.CancelTask(ctx, "t1") })
}

func TestManyParticipantsNeverReadARangeWhenTheySubmitOrEndorse(t *testing.T) {
	// What many organisations send at once must not read a range others write, or simultaneous
	// senders invalidate each other at commit (PHANTOM_READ_CONFLICT).
	l := startedTask(t, nil)
	for _, msp := range orgs {
		l.ok(msp, "client", submit("1", manifest(msp, 1)))
		if l.stub.ranges != 0 {
			t.Errorf("SubmitUpdate read %d ranges", l.stub.ranges)
		}
	}
	l.ok("Org1MSP", "client", closeRound("1"))
	for _, msp := range orgs {
		l.ok(msp, "client", endorse("1", hashA))
		if l.stub.ranges != 0 {
			t.Errorf("EndorseAggregate read %d ranges", l.stub.ranges)
		}
	}
	l.ok("Org1MSP", "client", finalize("1"))
	l.ok("Org2MSP", "client", recordMetrics("1", `{"accuracy": 1}`))
	if l.stub.ranges != 0 {
		t.Errorf("RecordMetrics read %d ranges", l.stub.ranges)
	}
	l2 := consortium(t)
	l2.ok("Org1MSP", "admin", create(spec(nil)))
	l2.ok("Org2MSP", "admin", join(getTask(l2).TermsHash))
	if l2.stub.ranges != 0 {
		t.Errorf("JoinTask read %d ranges", l2.stub.ranges)
	}
}

func TestRoundTimeoutClosesWithMinUpdatesOrFailsTheTask(t *testing.T) {
	l := startedTask(t, func(s *TaskSpec) { s.RoundTimeout = 3600 })
	l.ok("Org1MSP", "client", submit("1", manifest("Org1MSP", 1)))
	l.ok("Org2MSP", "client", submit("1", manifest("Org2MSP", 1)))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", closeRound("1")) // before the deadline
	l.stub.now = l.stub.now.Add(time.Hour)
	l.ok("Org1MSP", "client", closeRound("1")) // Org3 is a straggler: left out
	if r := getRound(l, "1"); r.Status != RoundClosed || len(r.Included) != 2 || r.TotalSamples != 200 {
		t.Errorf("timed-out round %+v", r)
	}
	// The aggregators disagree and no quorum comes: after the timeout the task fails.
	l.ok("Org1MSP", "client", endorse("1", hashA))
	l.ok("Org2MSP", "client", endorse("1", hashB))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", finalize("1"))
	l.stub.now = l.stub.now.Add(time.Hour)
	l.ok("Org3MSP", "client", finalize("1"))
	if event, task := l.lastEvent(), getTask(l); event != "TaskFailed" || task.Status != TaskFailed || !strings.Contains(task.FailureReason, "no quorum") {
		t.Errorf("event %q, task %+v", event, task)
	}

	l = startedTask(t, func(s *TaskSpec) { s.RoundTimeout = 600 })
	l.ok("Org1MSP", "client", submit("1", manifest("Org1MSP", 1)))
	l.stub.now = l.stub.now.Add(10 * time.Minute)
	l.ok("Org2MSP", "client", closeRound("1"))
	if event, task := l.lastEvent(), getTask(l); event != "TaskFailed" || task.Status != TaskFailed || !strings.Contains(task.FailureReason, "1 of the 2 updates") {
		t.Errorf("event %q, task %+v", event, task)
	}
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", submit("1", manifest("Org2MSP", 1)))
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", func(ctx Ctx) (string, error) { return tasks.CancelTask(ctx, "t1") })
}

func TestTheEndorsersClockBoundsATimeout(t *testing.T) {
	// A client that writes a late timestamp (within the allowed skew) cannot close early: the
	// endorser's own clock must be past the deadline too.
	l := startedTask(t, func(s *TaskSpec) { s.RoundTimeout = 120 })
	l.ok("Org1MSP", "client", submit("1", manifest("Org1MSP", 1)))
	l.ok("Org2MSP", "client", submit("1", manifest("Org2MSP", 1)))
	endorser := l.stub.now.Add(-time.Minute) // the close's own time will be 3 minutes after the open
	clock = func() time.Time { return endorser }
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", closeRound("1"))
}

func TestProposalTimestampsFarFromTheEndorsersClockAreRefused(t *testing.T) {
	l := consortium(t)
	for _, off := range []time.Duration{-MaxClockSkew - time.Minute, MaxClockSkew + time.Minute} {
		off := off
		clock = func() time.Time { return l.stub.now.Add(off) } // called during the transaction
		l.refused(CodeInvalidArgument, "Org1MSP", "admin", create(spec(nil)))
	}
	clock = func() time.Time { return l.stub.now.Add(MaxClockSkew - time.Second) }
	l.ok("Org1MSP", "admin", create(spec(nil)))
}

func TestCancelTask(t *testing.T) {
	l := startedTask(t, nil)
	playRound(l, 1, hashA)
	for _, msp := range orgs {
		l.ok(msp, "client", submit("2", manifest(msp, 2)))
	}
	l.ok("Org1MSP", "client", closeRound("2"))
	l.ok("Org1MSP", "client", endorse("2", hashB))
	cancel := func(ctx Ctx) (string, error) { return tasks.CancelTask(ctx, "t1") }
	l.refused(CodePermissionDenied, "Org2MSP", "admin", cancel)
	l.refused(CodePermissionDenied, "Org1MSP", "client", cancel)
	l.ok("Org1MSP", "admin", cancel)
	if l.lastEvent() != "TaskCancelled" || getTask(l).Status != TaskCancelled {
		t.Errorf("cancel")
	}
	// A round closed before the cancel can neither be endorsed nor finalized: the task never
	// becomes COMPLETED.
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", endorse("2", hashB))
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", finalize("2"))
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", recordMetrics("1", `{"a": 1}`))
	if task := getTask(l); task.Status != TaskCancelled {
		t.Errorf("task %+v", task)
	}
	// Nor can a model cite it as provenance, though round 1 was finalized.
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) { s.Provenance.Round = 1 })))
}

func TestOrgKeys(t *testing.T) {
	l := newLedger(t)
	publish := func(alg, key string) txFunc {
		return func(ctx Ctx) (string, error) { return tasks.PublishOrgKey(ctx, alg, key) }
	}
	l.refused(CodePermissionDenied, "Org2MSP", "client", publish("X25519", "k"))
	l.refused(CodeInvalidArgument, "Org2MSP", "admin", publish("RSA", "k"))
	l.refused(CodeInvalidArgument, "Org2MSP", "admin", publish("X25519", strings.Repeat("k", maxKeyLen+1)))
	l.refused(CodeNotFound, "Org1MSP", "client", func(ctx Ctx) (string, error) { return tasks.GetOrgKey(ctx, "Org2MSP") })
	l.ok("Org2MSP", "admin", publish("X25519", "PEM"))
	var k OrgKey
	_ = json.Unmarshal([]byte(l.ok("Org1MSP", "client", func(ctx Ctx) (string, error) { return tasks.GetOrgKey(ctx, "Org2MSP") })), &k)
	if k.PublicKey != "PEM" || k.MSP != "Org2MSP" {
		t.Errorf("key %+v", k)
	}
}

func TestListBookmarksMustBelongToTheListing(t *testing.T) {
	l := startedTask(t, nil)
	// A dataset key is a valid key, but not a task listing's bookmark.
	bookmark, _ := l.stub.CreateCompositeKey(objDataset, []string{"d1"})
	l.refused(CodeInvalidArgument, "Org1MSP", "client", func(ctx Ctx) (string, error) { return tasks.ListTasks(ctx, "10", bookmark) })
	taskKey, _ := l.stub.CreateCompositeKey(objTask, []string{"t1"})
	l.ok("Org1MSP", "client", func(ctx Ctx) (string, error) { return tasks.ListTasks(ctx, "10", taskKey) })
}

func TestATaskStartsWithoutLateJoinersAfterItsTimeout(t *testing.T) {
	l := consortium(t)
	l.ok("Org1MSP", "admin", create(spec(func(s *TaskSpec) { s.RoundTimeout = 600 })))
	terms := getTask(l).TermsHash
	l.ok("Org1MSP", "admin", join(terms))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", start)
	l.stub.now = l.stub.now.Add(10 * time.Minute)
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", start) // one member cannot make a quorum of 2
	l.ok("Org2MSP", "admin", join(terms))
	l.ok("Org2MSP", "client", start)
	if task := getTask(l); task.Status != TaskActive || len(task.Members) != 2 || task.Members[1] != "Org2MSP" {
		t.Fatalf("task %+v", task)
	}
	l.refused(CodeFailedPrecondition, "Org3MSP", "admin", join(terms))
	l.refused(CodePermissionDenied, "Org3MSP", "client", submit("1", manifest("Org3MSP", 1)))
	l.ok("Org1MSP", "client", submit("1", manifest("Org1MSP", 1)))
	l.ok("Org2MSP", "client", submit("1", manifest("Org2MSP", 1)))
	l.ok("Org1MSP", "client", closeRound("1")) // every member is in: no need to wait
	l.refused(CodePermissionDenied, "Org3MSP", "client", endorse("1", hashA))
	l.ok("Org1MSP", "client", endorse("1", hashA))
	l.ok("Org2MSP", "client", endorse("1", hashA))
	l.ok("Org2MSP", "client", finalize("1"))
	if r := getRound(l, "1"); r.Status != RoundFinalized || len(r.Included) != 2 {
		t.Errorf("round %+v", r)
	}
}
