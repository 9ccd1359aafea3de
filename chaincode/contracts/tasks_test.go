package contracts

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

var tasks = &TaskContract{}

// consortium: Org1..Org3 each own a dataset and grant training to Org1, the initiator.
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
	s := TaskSpec{ID: "t1", ModelSpecHash: hashA, InitialWeightsHash: hashB, InitialWeightsURI: "file:///w0",
		HEContextHash: hashC, HEContextURI: "file:///ctx", Rounds: 2, MinUpdates: 2, Quorum: 2, Strategy: "fedavg",
		Participants:    []Participant{{"Org1MSP", "d1"}, {"Org2MSP", "d2"}, {"Org3MSP", "d3"}},
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

func submit(round, manifest, dataset string) txFunc {
	return func(ctx Ctx) (string, error) {
		return tasks.SubmitUpdate(ctx, "t1", round, manifest, "4", "100", dataset)
	}
}

func endorse(round, hash string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.EndorseAggregate(ctx, "t1", round, hash, "file:///agg") }
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

func TestCreateTaskChecksGrantsAndShape(t *testing.T) {
	l := consortium(t)
	l.refused(CodePermissionDenied, "Org1MSP", "client", create(spec(nil)))
	for name, mutate := range map[string]func(*TaskSpec){
		"bad id":          func(s *TaskSpec) { s.ID = "a b" },
		"bad hash":        func(s *TaskSpec) { s.ModelSpecHash = "x" },
		"no uri":          func(s *TaskSpec) { s.HEContextURI = "" },
		"no participants": func(s *TaskSpec) { s.Participants = nil },
		"twice":           func(s *TaskSpec) { s.Participants[2] = Participant{"Org2MSP", "d2"} },
		"zero rounds":     func(s *TaskSpec) { s.Rounds = 0 },
		"min too large":   func(s *TaskSpec) { s.MinUpdates = 4 },
		"quorum zero":     func(s *TaskSpec) { s.Quorum = 0 },
		"strategy":        func(s *TaskSpec) { s.Strategy = "magic" },
		"hyperparameters": func(s *TaskSpec) { s.Hyperparameters = json.RawMessage(`[1]`) },
		"not the owner":   func(s *TaskSpec) { s.Participants[1] = Participant{"Org2MSP", "d3"} },
	} {
		code := CodeInvalidArgument
		t.Run(name, func(t *testing.T) { l.t = t; l.refused(code, "Org1MSP", "admin", create(spec(mutate))) })
	}
	l.t = t
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", create("{not json"))
	l.refused(CodeNotFound, "Org1MSP", "admin", create(spec(func(s *TaskSpec) { s.Participants[1].DatasetID = "d9" })))
	// Org3 revokes its grant: the task may not use d3 any more.
	l.ok("Org3MSP", "admin", func(ctx Ctx) (string, error) { return ds.RevokeGrant(ctx, "d3", "Org1MSP", "", PurposeTraining) })
	l.refused(CodePermissionDenied, "Org1MSP", "admin", create(spec(nil)))
	l.ok("Org3MSP", "admin", grant("d3", "Org1MSP", "", PurposeTraining, "2030-01-01T00:00:00Z"))
	l.ok("Org1MSP", "admin", create(spec(nil)))
	if l.lastEvent() != "TaskCreated" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "admin", create(spec(nil)))
	if r := getRound(l, "1"); r.Status != RoundOpen {
		t.Errorf("round 1 %+v", r)
	}
}

func TestTaskLifecycle(t *testing.T) {
	l := consortium(t)
	l.ok("Org1MSP", "admin", create(spec(nil)))

	// Round 1: refusals first.
	l.refused(CodePermissionDenied, "Org4MSP", "client", submit("1", hashA, "d4"))
	l.refused(CodeInvalidArgument, "Org2MSP", "client", submit("1", hashA, "d3"))
	l.refused(CodeInvalidArgument, "Org2MSP", "client", submit("1", "nothex", "d2"))
	l.refused(CodeNotFound, "Org2MSP", "client", submit("2", hashA, "d2"))
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", func(ctx Ctx) (string, error) { return tasks.CloseRound(ctx, "t1", "1") })
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", endorse("1", hashA))

	l.ok("Org2MSP", "client", submit("1", hashA, "d2"))
	if l.lastEvent() != "UpdateSubmitted" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org2MSP", "client", submit("1", hashB, "d2")) // a replay
	l.ok("Org1MSP", "client", submit("1", hashB, "d1"))
	l.ok("Org3MSP", "client", submit("1", hashC, "d3"))
	if l.lastEvent() != "RoundClosed" {
		t.Fatalf("the last participant's update must close the round, event %q", l.lastEvent())
	}
	var closed map[string]interface{}
	_ = json.Unmarshal([]byte(l.stub.payload["RoundClosed"]), &closed)
	if closed["auto"] != true || closed["total_samples"] != 300.0 {
		t.Errorf("RoundClosed payload %v", closed)
	}
	r := getRound(l, "1")
	if r.Status != RoundClosed || len(r.Included) != 3 || r.Included[0].MSP != "Org1MSP" || r.Included[2].MSP != "Org3MSP" {
		t.Errorf("closed round %+v", r)
	}
	l.refused(CodeFailedPrecondition, "Org3MSP", "client", submit("1", hashC, "d3"))

	// Endorsements: Org3 dissents, Org1 and Org2 agree: quorum 2 finalizes.
	l.refused(CodePermissionDenied, "Org4MSP", "client", endorse("1", hashA))
	l.refused(CodeInvalidArgument, "Org1MSP", "client", endorse("1", "x"))
	l.ok("Org3MSP", "client", endorse("1", hashC))
	l.ok("Org1MSP", "client", endorse("1", hashA))
	if l.lastEvent() != "AggregateEndorsed" || getRound(l, "1").Status != RoundClosed {
		t.Fatalf("two differing endorsements must not finalize")
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "client", endorse("1", hashA))
	l.ok("Org2MSP", "client", endorse("1", hashA))
	if l.lastEvent() != "RoundFinalized" {
		t.Fatalf("event %q", l.lastEvent())
	}
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

	// Round 2: min_updates 2 in, explicit close by the initiator, then the task completes.
	l.ok("Org1MSP", "client", submit("2", hashA, "d1"))
	l.ok("Org2MSP", "client", submit("2", hashB, "d2"))
	l.refused(CodePermissionDenied, "Org4MSP", "client", func(ctx Ctx) (string, error) { return tasks.CloseRound(ctx, "t1", "2") })
	l.ok("Org1MSP", "client", func(ctx Ctx) (string, error) { return tasks.CloseRound(ctx, "t1", "2") })
	l.refused(CodeFailedPrecondition, "Org3MSP", "client", submit("2", hashC, "d3")) // too late
	l.ok("Org1MSP", "client", endorse("2", hashB))
	l.ok("Org2MSP", "client", endorse("2", hashB))
	var final map[string]interface{}
	_ = json.Unmarshal([]byte(l.stub.payload["RoundFinalized"]), &final)
	if final["task_status"] != TaskCompleted {
		t.Errorf("final payload %v", final)
	}
	if task := getTask(l); task.Status != TaskCompleted {
		t.Errorf("task %+v", task)
	}
	var history TaskHistory
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return tasks.GetTaskHistory(ctx, "t1") })), &history)
	if len(history.Rounds) != 2 || len(history.Rounds[0].Updates) != 3 || len(history.Rounds[1].Updates) != 2 {
		t.Errorf("history %+v", history)
	}
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", func(ctx Ctx) (string, error) { return tasks.CancelTask(ctx, "t1") })
}

func TestCancelTask(t *testing.T) {
	l := consortium(t)
	l.ok("Org1MSP", "admin", create(spec(nil)))
	cancel := func(ctx Ctx) (string, error) { return tasks.CancelTask(ctx, "t1") }
	l.refused(CodePermissionDenied, "Org2MSP", "admin", cancel)
	l.refused(CodePermissionDenied, "Org1MSP", "client", cancel)
	l.ok("Org1MSP", "admin", cancel)
	if l.lastEvent() != "TaskCancelled" || getTask(l).Status != TaskCancelled {
		t.Errorf("cancel")
	}
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", submit("1", hashA, "d2"))
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
