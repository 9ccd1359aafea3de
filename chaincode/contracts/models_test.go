package contracts

import (
	"encoding/json"
	"testing"
)

var models = &ModelContract{}

func modelSpec(mutate func(*ModelSpec)) string {
	s := ModelSpec{Name: "diagnosis", Version: "1", Provenance: Provenance{Type: "task", TaskID: "t1", Round: 2},
		WeightsHash: hashA, WeightsURI: "file:///w", Metrics: json.RawMessage(`{"accuracy": 0.95}`),
		Framework: "tensorflow-2.20", InputSpec: json.RawMessage(`{"features": 30}`)}
	if mutate != nil {
		mutate(&s)
	}
	data, _ := json.Marshal(s)
	return string(data)
}

func registerModel(s string) txFunc {
	return func(ctx Ctx) (string, error) { return models.RegisterModel(ctx, s) }
}

// finishedTask runs task t1 (2 rounds) to COMPLETED.
func finishedTask(t *testing.T) *ledger {
	l := startedTask(t, nil)
	playRound(l, 1, hashB)
	playRound(l, 2, hashB)
	return l
}

func TestRegisterModelAndStatus(t *testing.T) {
	l := finishedTask(t)
	l.refused(CodePermissionDenied, "Org1MSP", "client", registerModel(modelSpec(nil)))
	l.refused(CodePermissionDenied, "Org4MSP", "admin", registerModel(modelSpec(nil)))
	l.refused(CodeNotFound, "Org1MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) { s.Provenance.TaskID = "t9" })))
	l.refused(CodeNotFound, "Org1MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) { s.Provenance.Round = 3 })))
	for _, mutate := range []func(*ModelSpec){
		func(s *ModelSpec) { s.Name = "" },
		func(s *ModelSpec) { s.WeightsHash = "x" },
		func(s *ModelSpec) { s.Provenance.Type = "magic" },
		func(s *ModelSpec) { s.Provenance = Provenance{Type: "external"} },
		func(s *ModelSpec) { s.Metrics = json.RawMessage(`[]`) },
		func(s *ModelSpec) { s.Framework = "" },
	} {
		l.refused(CodeInvalidArgument, "Org1MSP", "admin", registerModel(modelSpec(mutate)))
	}
	l.ok("Org1MSP", "admin", registerModel(modelSpec(nil)))
	if l.lastEvent() != "ModelRegistered" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "admin", registerModel(modelSpec(nil)))
	l.ok("Org2MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) {
		s.Name, s.Provenance = "imported", Provenance{Type: "external", Description: "trained elsewhere"}
	})))

	status := func(s string) txFunc {
		return func(ctx Ctx) (string, error) { return models.SetModelStatus(ctx, "diagnosis", "1", s) }
	}
	l.refused(CodePermissionDenied, "Org2MSP", "admin", status(ModelDeployed))
	l.refused(CodePermissionDenied, "Org1MSP", "client", status(ModelDeployed))
	l.refused(CodeInvalidArgument, "Org1MSP", "admin", status("DELETED"))
	attestWeights(l, "Org1MSP", "Org2MSP")
	l.ok("Org1MSP", "admin", status(ModelDeployed))
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", status(ModelDeployed))

	var page Page
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return models.ListModels(ctx, "", "10", "") })), &page)
	if len(page.Items) != 2 {
		t.Errorf("models %+v", page)
	}
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return models.ListModels(ctx, "diagnosis", "10", "") })), &page)
	if len(page.Items) != 1 {
		t.Errorf("versions %+v", page)
	}

	var lineage struct {
		Model  Model          `json:"model"`
		Task   Task           `json:"task"`
		Rounds []RoundHistory `json:"rounds"`
	}
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return models.GetModelLineage(ctx, "diagnosis", "1") })), &lineage)
	if lineage.Model.Status != ModelDeployed || lineage.Task.ID != "t1" || len(lineage.Rounds) != 2 ||
		len(lineage.Rounds[0].Updates) != 3 || len(lineage.Rounds[1].Endorsements) != 2 || lineage.Rounds[1].FinalHash != hashB {
		t.Errorf("lineage %+v", lineage)
	}
}

func attestWeightsTx(name, hash string) txFunc {
	return func(ctx Ctx) (string, error) { return models.AttestWeights(ctx, name, "1", hash) }
}

// attestWeights has these members attest diagnosis:1's registered weights hash.
func attestWeights(l *ledger, msps ...string) {
	for _, msp := range msps {
		l.ok(msp, "client", attestWeightsTx("diagnosis", hashA))
	}
}

func TestAModelNameBelongsToItsFirstRegistrant(t *testing.T) {
	l := finishedTask(t)
	l.ok("Org1MSP", "admin", registerModel(modelSpec(nil)))
	// Org2 took part in the task too, but may not publish "diagnosis:2": predict diagnosis
	// would run its weights.
	l.refused(CodePermissionDenied, "Org2MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) { s.Version = "2" })))
	l.refused(CodePermissionDenied, "Org2MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) {
		s.Version, s.Provenance = "2", Provenance{Type: "external", Description: "mine"}
	})))
	l.ok("Org1MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) { s.Version = "2" })))
}

func TestATaskModelIsDeployedOnlyWithAQuorumOfWeightsAttestations(t *testing.T) {
	l := finishedTask(t)
	l.ok("Org1MSP", "admin", registerModel(modelSpec(nil)))
	deploy := func(ctx Ctx) (string, error) { return models.SetModelStatus(ctx, "diagnosis", "1", ModelDeployed) }
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", deploy)
	l.refused(CodePermissionDenied, "Org4MSP", "client", attestWeightsTx("diagnosis", hashA)) // not a member
	l.refused(CodeInvalidArgument, "Org2MSP", "client", attestWeightsTx("diagnosis", "x"))
	l.ok("Org1MSP", "client", attestWeightsTx("diagnosis", hashA))
	if l.lastEvent() != "WeightsAttested" {
		t.Errorf("event %q", l.lastEvent())
	}
	l.refused(CodeAlreadyExists, "Org1MSP", "client", attestWeightsTx("diagnosis", hashA))
	l.ok("Org3MSP", "client", attestWeightsTx("diagnosis", hashC)) // Org3 computed other weights
	l.refused(CodeFailedPrecondition, "Org1MSP", "admin", deploy)  // 1 agreeing of the 2 needed
	l.ok("Org2MSP", "client", attestWeightsTx("diagnosis", hashA))
	l.ok("Org1MSP", "admin", deploy)
	var view struct {
		Weights []WeightsAttestation `json:"weights_attestations"`
	}
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return models.GetModel(ctx, "diagnosis", "1") })), &view)
	if len(view.Weights) != 3 || view.Weights[2].Agrees {
		t.Errorf("weights attestations %+v", view.Weights)
	}
	// Models from outside fedfabric have no task to attest them.
	l.ok("Org2MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) {
		s.Name, s.Provenance = "imported", Provenance{Type: "external", Description: "trained elsewhere"}
	})))
	l.refused(CodeFailedPrecondition, "Org2MSP", "client", attestWeightsTx("imported", hashA))
}

func TestAttestMetrics(t *testing.T) {
	l := finishedTask(t)
	l.ok("Org1MSP", "admin", registerModel(modelSpec(nil)))
	attest := func(metrics, hash string) txFunc {
		return func(ctx Ctx) (string, error) { return models.AttestMetrics(ctx, "diagnosis", "1", metrics, hash) }
	}
	l.refused(CodePermissionDenied, "Org1MSP", "client", attest(`{"accuracy": 0.9}`, ""))
	l.refused(CodeInvalidArgument, "Org2MSP", "client", attest(`0.9`, ""))
	l.refused(CodeInvalidArgument, "Org2MSP", "client", attest(`{}`, "x"))
	l.ok("Org2MSP", "client", attest(`{"accuracy": 0.93}`, hashC))
	l.refused(CodeAlreadyExists, "Org2MSP", "client", attest(`{"accuracy": 0.94}`, ""))
	var view struct {
		Attestations []Attestation `json:"attestations"`
	}
	_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return models.GetModel(ctx, "diagnosis", "1") })), &view)
	if len(view.Attestations) != 1 || view.Attestations[0].MSP != "Org2MSP" {
		t.Errorf("attestations %+v", view)
	}
}

func TestInferenceVerifiedAndDisputed(t *testing.T) {
	l := finishedTask(t)
	l.ok("Org1MSP", "admin", registerModel(modelSpec(func(s *ModelSpec) { s.Users = []string{"Org5MSP"} })))
	record := func(id string) txFunc {
		return func(ctx Ctx) (string, error) { return models.RecordInference(ctx, id, "diagnosis", "1", hashA, hashB) }
	}
	l.refused(CodeFailedPrecondition, "Org1MSP", "client", record("i1")) // not deployed yet
	attestWeights(l, "Org1MSP", "Org2MSP")
	l.ok("Org1MSP", "admin", func(ctx Ctx) (string, error) { return models.SetModelStatus(ctx, "diagnosis", "1", ModelDeployed) })
	l.ok("Org1MSP", "client", record("i1"))
	l.ok("Org1MSP", "client", record("i2"))
	l.refused(CodePermissionDenied, "Org4MSP", "client", record("i3")) // not allowed to use it
	l.refused(CodeAlreadyExists, "Org1MSP", "client", record("i1"))
	l.refused(CodeInvalidArgument, "Org1MSP", "client", func(ctx Ctx) (string, error) {
		return models.RecordInference(ctx, "i3", "diagnosis", "1", "x", hashB)
	})
	attest := func(id, hash string) txFunc {
		return func(ctx Ctx) (string, error) { return models.AttestInference(ctx, id, hash) }
	}
	l.refused(CodePermissionDenied, "Org1MSP", "client", attest("i1", hashB))
	l.refused(CodePermissionDenied, "Org4MSP", "client", attest("i1", hashC)) // an unrelated org
	l.refused(CodeNotFound, "Org2MSP", "client", attest("i9", hashB))
	l.ok("Org2MSP", "client", attest("i1", hashB))
	l.refused(CodeAlreadyExists, "Org2MSP", "client", attest("i1", hashB))
	l.ok("Org2MSP", "client", attest("i2", hashC)) // a forged or wrong output
	get := func(id string) InferenceView {
		var v InferenceView
		_ = json.Unmarshal([]byte(l.ok("Org3MSP", "client", func(ctx Ctx) (string, error) { return models.GetInference(ctx, id) })), &v)
		return v
	}
	if v := get("i1"); v.Status != VerdictVerified || v.Verified != 1 || v.Disputed != 0 {
		t.Errorf("i1 %+v", v)
	}
	if v := get("i2"); v.Status != VerdictDisputed || v.Disputed != 1 {
		t.Errorf("i2 %+v", v)
	}
	l.ok("Org3MSP", "client", attest("i1", hashC)) // one dissent does not decide it for good
	if v := get("i1"); v.Status != VerdictContested || v.Verified != 1 || v.Disputed != 1 {
		t.Errorf("i1 after dissent %+v", v)
	}
	l.ok("Org5MSP", "client", attest("i1", hashB)) // a named user
	if v := get("i1"); v.Status != VerdictVerified || v.Verified != 2 || len(v.Verdicts) != 3 {
		t.Errorf("i1 after a second verification %+v", v)
	}
}
