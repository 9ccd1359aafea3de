package contracts

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func thresholdSpec(s *TaskSpec) {
	s.HEScheme, s.Threshold, s.RoundTimeout = schemeThreshold, 2, 600
	for i := range s.Participants {
		s.Participants[i].WrappedKey = ""
	}
}

// thresholdTask is t1 as a started threshold-ckks task (every member posted a key bundle).
func startedThresholdTask(t *testing.T) *ledger {
	l := consortium(t)
	l.ok("Org1MSP", "admin", create(spec(thresholdSpec)))
	terms := getTask(l).TermsHash
	for i, msp := range orgs {
		bundle := fmt.Sprintf("%064x", 900+i)
		l.ok(msp, "admin", func(ctx Ctx) (string, error) { return tasks.JoinTask(ctx, "t1", terms, bundle) })
	}
	l.ok("Org2MSP", "client", start)
	return l
}

func endorseKey(hash string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.EndorseKey(ctx, "t1", hash) }
}

func finalizeKey(ctx Ctx) (string, error) { return tasks.FinalizeKey(ctx, "t1") }

func postShare(round, attempt, hash string) txFunc {
	return func(ctx Ctx) (string, error) { return tasks.SubmitDecryptionShare(ctx, "t1", round, attempt, hash) }
}

func endorseWithShare(round, hash, share string) txFunc {
	return func(ctx Ctx) (string, error) {
		return tasks.EndorseAggregate(ctx, "t1", round, hash, "file:///agg", share)
	}
}

func TestAnEndorsementCarriesTheFirstAttemptsShare(t *testing.T) {
	l := startedThresholdTask(t)
	for _, msp := range orgs {
		l.ok(msp, "client", endorseKey(hashA))
	}
	l.ok("Org1MSP", "client", finalizeKey)
	for _, msp := range orgs {
		l.ok(msp, "client", submit("1", manifest(msp, 1)))
	}
	l.ok("Org3MSP", "client", closeRound("1"))
	l.refused(CodeInvalidArgument, "Org1MSP", "client", endorseWithShare("1", hashA, "x"))
	if len(listShares(l)) != 0 {
		t.Fatalf("a refused endorsement wrote a share")
	}
	l.ok("Org1MSP", "client", endorseWithShare("1", hashA, hashB))
	if l.lastEvent() != "AggregateEndorsed" || l.stub.ranges != 0 {
		t.Errorf("event %q, %d range reads", l.lastEvent(), l.stub.ranges)
	}
	l.ok("Org2MSP", "client", endorseWithShare("1", hashC, hashB)) // its share of another aggregate
	l.ok("Org3MSP", "client", endorse("1", hashA))                 // no share
	shares := listShares(l)
	if len(shares) != 2 || shares[0].Attempt != 0 || shares[0].AggregateHash != hashA ||
		shares[1].MSP != "Org2MSP" || shares[1].AggregateHash != hashC {
		t.Fatalf("shares %+v", shares)
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "client", endorseWithShare("1", hashA, hashB))
	l.ok("Org3MSP", "client", finalize("1"))
	// After the round is finalized, a share records the final aggregate; attempt 0 is taken.
	l.refused(CodeAlreadyExists, "Org1MSP", "client", postShare("1", "0", hashC))
	l.ok("Org3MSP", "client", postShare("1", "0", hashC))
	if shares := listShares(l); len(shares) != 3 || shares[2].AggregateHash != hashA {
		t.Errorf("shares %+v", shares)
	}
	// A single-key task's endorsements carry no share.
	l2 := startedTask(t, nil)
	for _, msp := range orgs {
		l2.ok(msp, "client", submit("1", manifest(msp, 1)))
	}
	l2.ok("Org3MSP", "client", closeRound("1"))
	l2.refused(CodeInvalidArgument, "Org1MSP", "client", endorseWithShare("1", hashA, hashB))
	l2.ok("Org1MSP", "client", endorse("1", hashA))
}

func listShares(l *ledger) []DecryptionShare {
	var shares []DecryptionShare
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return tasks.ListDecryptionShares(ctx, "t1", "1") })), &shares)
	return shares
}

func TestAThresholdTaskNeedsItsTermsRight(t *testing.T) {
	l := consortium(t)
	for name, mutate := range map[string]func(*TaskSpec){
		"threshold of one":    func(s *TaskSpec) { thresholdSpec(s); s.Threshold = 1 },
		"threshold too large": func(s *TaskSpec) { thresholdSpec(s); s.Threshold = 4 },
		"a wrapped key":       func(s *TaskSpec) { thresholdSpec(s); s.Participants[0].WrappedKey = hashA },
		"threshold for ckks":  func(s *TaskSpec) { s.Threshold = 2 },
	} {
		t.Run(name, func(t *testing.T) { l.t = t; l.refused(CodeInvalidArgument, "Org1MSP", "admin", create(spec(mutate))) })
	}
	l.t = t
	l.ok("Org1MSP", "admin", create(spec(thresholdSpec)))
	terms := getTask(l).TermsHash
	l.refused(CodeInvalidArgument, "Org2MSP", "admin", func(ctx Ctx) (string, error) { return tasks.JoinTask(ctx, "t1", terms, "") })
	l.refused(CodeInvalidArgument, "Org2MSP", "admin", func(ctx Ctx) (string, error) { return tasks.JoinTask(ctx, "t1", terms, "x") })
}

func TestTheCollectiveKeyOpensRoundOne(t *testing.T) {
	l := startedThresholdTask(t)
	if task := getTask(l); task.Status != TaskActive || task.CurrentRound != 0 {
		t.Fatalf("a started threshold task waits for its key: %+v", task)
	}
	l.refused(CodeNotFound, "Org1MSP", "client", submit("1", manifest("Org1MSP", 1)))
	l.refused(CodePermissionDenied, "Org4MSP", "client", endorseKey(hashA))
	l.ok("Org1MSP", "client", endorseKey(hashA))
	l.refused(CodeAlreadyExists, "Org1MSP", "client", endorseKey(hashA))
	if l.stub.ranges != 0 {
		t.Errorf("EndorseKey read %d ranges", l.stub.ranges)
	}
	l.ok("Org3MSP", "client", endorseKey(hashB)) // a dissent
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", finalizeKey)
	l.ok("Org2MSP", "client", endorseKey(hashA))
	l.ok("Org3MSP", "client", finalizeKey)
	if l.lastEvent() != "KeyFinalized" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", finalizeKey) // once
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", endorseKey(hashA))
	if task, r := getTask(l), getRound(l, "1"); task.CollectiveKeyHash != hashA || task.CurrentRound != 1 || r.Status != RoundOpen {
		t.Errorf("task %+v round %+v", task, r)
	}
	var endorsed []KeyEndorsement
	_ = json.Unmarshal([]byte(l.ok("Org2MSP", "client", func(ctx Ctx) (string, error) { return tasks.ListKeyEndorsements(ctx, "t1") })), &endorsed)
	if len(endorsed) != 3 {
		t.Errorf("key endorsements %+v", endorsed)
	}
}

func TestNoKeyQuorumInTimeFailsTheTask(t *testing.T) {
	l := startedThresholdTask(t)
	l.ok("Org1MSP", "client", endorseKey(hashA))
	l.stub.now = l.stub.now.Add(10 * time.Minute)
	l.ok("Org1MSP", "client", finalizeKey)
	if event, task := l.lastEvent(), getTask(l); event != "TaskFailed" || task.Status != TaskFailed {
		t.Errorf("event %q task %+v", event, task)
	}
}

func TestDecryptionSharesPerAttemptUntilTheirDeadline(t *testing.T) {
	l := startedThresholdTask(t)
	for _, msp := range orgs {
		l.ok(msp, "client", endorseKey(hashA))
	}
	l.ok("Org1MSP", "client", finalizeKey)
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", postShare("1", "0", hashA)) // not finalized
	playRound(l, 1, hashB)
	l.refused(CodePermissionDenied, "Org4MSP", "client", postShare("1", "0", hashA))
	l.refused(CodeInvalidArgument, "Org1MSP", "client", postShare("1", "64", hashA))
	l.refused(CodeInvalidArgument, "Org1MSP", "client", postShare("1", "0", "x"))
	l.ok("Org1MSP", "client", postShare("1", "0", hashA))
	if l.lastEvent() != "DecryptionShareSubmitted" || l.stub.ranges != 0 {
		t.Errorf("event %q, %d range reads", l.lastEvent(), l.stub.ranges)
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "client", postShare("1", "0", hashB))
	l.ok("Org1MSP", "client", postShare("1", "1", hashB)) // the next attempt is another set
	l.stub.now = l.stub.now.Add(10 * time.Minute)         // attempt 0's deadline has passed
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", postShare("1", "0", hashC))
	l.ok("Org2MSP", "client", postShare("1", "1", hashC))
	var shares []DecryptionShare
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return tasks.ListDecryptionShares(ctx, "t1", "1") })), &shares)
	if len(shares) != 3 || shares[0].Attempt != 0 || shares[2].MSP != "Org2MSP" {
		t.Errorf("shares %+v", shares)
	}
	// A single-key task has no shares to post.
	l2 := startedTask(t, nil)
	playRound(l2, 1, hashA)
	l2.refused(CodeFailedPrecondition, "Org1MSP", "client", postShare("1", "0", hashA))
}
