package contracts

import (
	"encoding/json"
	"strconv"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

const (
	objModel       = "model"
	objModelName   = "modelname"
	objAttestation = "attestation"
	objWeights     = "weightsattestation"
	objInference   = "inference"
	objVerdict     = "verdict"

	ModelRegistered = "REGISTERED"
	ModelDeployed   = "DEPLOYED"
	ModelRetired    = "RETIRED"

	VerdictVerified   = "VERIFIED"
	VerdictDisputed   = "DISPUTED"
	VerdictContested  = "CONTESTED"
	VerdictUnverified = "UNVERIFIED"

	maxModelUsers = 64
)

// Provenance says where a model version came from: a finished task, or outside fedfabric.
type Provenance struct {
	Type        string `json:"type"` // task | external
	TaskID      string `json:"task_id,omitempty"`
	Round       int64  `json:"round,omitempty"`
	Description string `json:"description,omitempty"`
}

// ModelSpec is RegisterModel's argument.
type ModelSpec struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Provenance  Provenance      `json:"provenance"`
	WeightsHash string          `json:"weights_hash"`
	WeightsURI  string          `json:"weights_uri"`
	Metrics     json.RawMessage `json:"metrics"`
	Framework   string          `json:"framework"`
	InputSpec   json.RawMessage `json:"input_spec"`
	// Users are organisations besides the owner (and, for task provenance, the task's members)
	// allowed to use the model: record and attest inferences.
	Users []string `json:"users,omitempty"`
}

// ModelName records which organisation a model name belongs to: the one that registered its
// first version.
type ModelName struct {
	Name     string `json:"name"`
	OwnerMSP string `json:"owner_msp"`
	TxID     string `json:"tx_id"`
}

// WeightsAttestation is a task member's statement of the final weights hash it computed.
type WeightsAttestation struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	MSP         string `json:"msp_id"`
	AttestedBy  string `json:"attested_by"`
	WeightsHash string `json:"weights_hash"`
	Agrees      bool   `json:"agrees"`
	Time        string `json:"time"`
	TxID        string `json:"tx_id"`
}

// Model is an immutable model version; only its status changes.
type Model struct {
	ModelSpec
	OwnerMSP     string `json:"owner_msp"`
	RegisteredBy string `json:"registered_by"`
	Status       string `json:"status"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
	TxID         string `json:"tx_id"`
}

// Attestation is what another organisation measured on its own data.
type Attestation struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	MSP         string          `json:"msp_id"`
	AttestedBy  string          `json:"attested_by"`
	Metrics     json.RawMessage `json:"metrics"`
	DatasetHash string          `json:"dataset_hash,omitempty"`
	Time        string          `json:"time"`
	TxID        string          `json:"tx_id"`
}

// Inference is one recorded prediction.
type Inference struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Version    string `json:"version"`
	InputHash  string `json:"input_hash"`
	OutputHash string `json:"output_hash"`
	MSP        string `json:"msp_id"`
	RecordedBy string `json:"recorded_by"`
	Time       string `json:"time"`
	TxID       string `json:"tx_id"`
}

// Verdict is a second organisation's re-run of an inference.
type Verdict struct {
	InferenceID string `json:"inference_id"`
	MSP         string `json:"msp_id"`
	AttestedBy  string `json:"attested_by"`
	OutputHash  string `json:"output_hash"`
	Verdict     string `json:"verdict"`
	Time        string `json:"time"`
	TxID        string `json:"tx_id"`
}

// InferenceView is an inference with its verdicts and their counts.
type InferenceView struct {
	Inference
	Status   string    `json:"status"`
	Verified int       `json:"verified"`
	Disputed int       `json:"disputed"`
	Verdicts []Verdict `json:"verdicts"`
}

// ModelContract: model versions, their status, attested metrics, inferences and lineage.
type ModelContract struct {
	contractapi.Contract
}

// RegisterModel records a new, immutable model version owned by the caller's organisation.
func (c *ModelContract) RegisterModel(ctx contractapi.TransactionContextInterface, spec string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if err := requireAdmin(who, "register a model"); err != nil {
		return "", err
	}
	if len(spec) > 4*maxJSONLen {
		return "", refusal(CodeInvalidArgument, "model spec has %d bytes, more than %d", len(spec), 4*maxJSONLen)
	}
	var s ModelSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return "", refusal(CodeInvalidArgument, "model spec is not valid JSON: %v", err)
	}
	if err := validateModelSpec(&s); err != nil {
		return "", err
	}
	if err := checkProvenance(ctx, who, s.Provenance); err != nil {
		return "", err
	}
	var owner ModelName
	if found, err := getJSON(ctx, &owner, objModelName, s.Name); err != nil {
		return "", err
	} else if found && owner.OwnerMSP != who.MSP {
		return "", refusal(CodePermissionDenied, "model name %s belongs to %s; %s may not register versions of it", s.Name, owner.OwnerMSP, who.MSP)
	} else if !found {
		owner = ModelName{Name: s.Name, OwnerMSP: who.MSP, TxID: ctx.GetStub().GetTxID()}
		if err := putJSON(ctx, owner, objModelName, s.Name); err != nil {
			return "", err
		}
	}
	var existing Model
	if found, err := getJSON(ctx, &existing, objModel, s.Name, s.Version); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "model %s version %s already exists; versions are immutable", s.Name, s.Version)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	m := Model{ModelSpec: s, OwnerMSP: who.MSP, RegisteredBy: who.ID, Status: ModelRegistered,
		CreatedAt: formatTime(now), UpdatedAt: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, m, objModel, s.Name, s.Version); err != nil {
		return "", err
	}
	return emit(ctx, "ModelRegistered", m)
}

func validateModelSpec(s *ModelSpec) error {
	if err := checkID("model name", s.Name); err != nil {
		return err
	}
	if err := checkID("model version", s.Version); err != nil {
		return err
	}
	if err := checkHash("weights_hash", s.WeightsHash); err != nil {
		return err
	}
	if err := checkText("weights_uri", s.WeightsURI, maxURILen, true); err != nil {
		return err
	}
	if err := checkText("framework", s.Framework, maxNameLen, true); err != nil {
		return err
	}
	if len(s.Users) > maxModelUsers {
		return refusal(CodeInvalidArgument, "a model names at most %d users, not %d", maxModelUsers, len(s.Users))
	}
	for _, u := range s.Users {
		if err := checkMSP("model user", u); err != nil {
			return err
		}
	}
	for _, field := range []struct {
		name  string
		value *json.RawMessage
	}{{"metrics", &s.Metrics}, {"input_spec", &s.InputSpec}} {
		if len(*field.value) == 0 {
			*field.value = json.RawMessage("{}")
		}
		compact, err := jsonObject(field.name, string(*field.value))
		if err != nil {
			return err
		}
		*field.value = compact
	}
	return nil
}

func checkProvenance(ctx contractapi.TransactionContextInterface, who Caller, p Provenance) error {
	switch p.Type {
	case "external":
		return checkText("provenance description", p.Description, maxNameLen*4, true)
	case "task":
		t, r, err := loadRound(ctx, p.TaskID, strconv.FormatInt(p.Round, 10))
		if err != nil {
			return err
		}
		if _, ok := participant(t, who.MSP); !ok && who.MSP != t.InitiatorMSP {
			return refusal(CodePermissionDenied, "%s takes no part in task %q", who.MSP, t.ID)
		}
		if t.Status != TaskActive && t.Status != TaskCompleted {
			return refusal(CodeFailedPrecondition, "task %q is %s: it cannot be a model's provenance", t.ID, t.Status)
		}
		if r.Status != RoundFinalized {
			return refusal(CodeFailedPrecondition, "round %d of task %q is %s, not FINALIZED", r.Round, t.ID, r.Status)
		}
		return nil
	default:
		return refusal(CodeInvalidArgument, "provenance type %q must be task or external", p.Type)
	}
}

// SetModelStatus deploys or retires a model version. Only an admin of the owning organisation may.
func (c *ModelContract) SetModelStatus(ctx contractapi.TransactionContextInterface, name, version, status string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if status != ModelDeployed && status != ModelRetired {
		return "", refusal(CodeInvalidArgument, "status %q must be DEPLOYED or RETIRED", status)
	}
	m, err := loadModel(ctx, name, version)
	if err != nil {
		return "", err
	}
	if who.MSP != m.OwnerMSP {
		return "", refusal(CodePermissionDenied, "model %s:%s belongs to %s; %s may not change it", name, version, m.OwnerMSP, who.MSP)
	}
	if err := requireAdmin(who, "change a model's status"); err != nil {
		return "", err
	}
	if m.Status == status {
		return "", refusal(CodeFailedPrecondition, "model %s:%s is already %s", name, version, status)
	}
	if status == ModelDeployed && m.Provenance.Type == "task" {
		if err := requireWeightsQuorum(ctx, m); err != nil {
			return "", err
		}
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	m.Status, m.UpdatedAt = status, formatTime(now)
	if err := putJSON(ctx, m, objModel, m.Name, m.Version); err != nil {
		return "", err
	}
	return emit(ctx, "ModelStatusChanged", m)
}

// GetModel returns a model version with the metrics other organisations attested.
func (c *ModelContract) GetModel(ctx contractapi.TransactionContextInterface, name, version string) (string, error) {
	m, err := loadModel(ctx, name, version)
	if err != nil {
		return "", err
	}
	attestations, err := listAll[Attestation](ctx, objAttestation, name, version)
	if err != nil {
		return "", err
	}
	weights, err := listAll[WeightsAttestation](ctx, objWeights, name, version)
	if err != nil {
		return "", err
	}
	return toJSON(map[string]interface{}{"model": m, "attestations": attestations, "weights_attestations": weights})
}

// ListModels returns a page of model versions (all names, or one name's versions).
func (c *ModelContract) ListModels(ctx contractapi.TransactionContextInterface, name, pageSize, bookmark string) (string, error) {
	if name == "" {
		return listPage(ctx, pageSize, bookmark, objModel)
	}
	if err := checkID("model name", name); err != nil {
		return "", err
	}
	return listPage(ctx, pageSize, bookmark, objModel, name)
}

// AttestMetrics records metrics another organisation measured on its own data.
func (c *ModelContract) AttestMetrics(ctx contractapi.TransactionContextInterface, name, version, metrics, datasetHash string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	m, err := loadModel(ctx, name, version)
	if err != nil {
		return "", err
	}
	if who.MSP == m.OwnerMSP {
		return "", refusal(CodePermissionDenied, "%s owns model %s:%s; attestations come from other organisations", who.MSP, name, version)
	}
	metricsJSON, err := jsonObject("metrics", metrics)
	if err != nil {
		return "", err
	}
	if datasetHash != "" {
		if err := checkHash("dataset_hash", datasetHash); err != nil {
			return "", err
		}
	}
	var existing Attestation
	if found, err := getJSON(ctx, &existing, objAttestation, name, version, who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already attested model %s:%s", who.MSP, name, version)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	a := Attestation{Name: name, Version: version, MSP: who.MSP, AttestedBy: who.ID, Metrics: metricsJSON,
		DatasetHash: datasetHash, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, a, objAttestation, name, version, who.MSP); err != nil {
		return "", err
	}
	return emit(ctx, "MetricsAttested", a)
}

// RecordInference records a prediction made with a deployed model version.
func (c *ModelContract) RecordInference(ctx contractapi.TransactionContextInterface, id, name, version, inputHash, outputHash string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if err := checkID("inference id", id); err != nil {
		return "", err
	}
	if err := checkHash("input_hash", inputHash); err != nil {
		return "", err
	}
	if err := checkHash("output_hash", outputHash); err != nil {
		return "", err
	}
	m, err := loadModel(ctx, name, version)
	if err != nil {
		return "", err
	}
	if m.Status != ModelDeployed {
		return "", refusal(CodeFailedPrecondition, "model %s:%s is %s, not DEPLOYED", name, version, m.Status)
	}
	if err := requireUser(ctx, m, who.MSP); err != nil {
		return "", err
	}
	var existing Inference
	if found, err := getJSON(ctx, &existing, objInference, id); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "inference %q is already recorded", id)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	inf := Inference{ID: id, Name: name, Version: version, InputHash: inputHash, OutputHash: outputHash,
		MSP: who.MSP, RecordedBy: who.ID, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, inf, objInference, id); err != nil {
		return "", err
	}
	return emit(ctx, "InferenceRecorded", inf)
}

// AttestInference records another organisation's re-run: VERIFIED when its output hash matches
// the recorded one, DISPUTED when not.
func (c *ModelContract) AttestInference(ctx contractapi.TransactionContextInterface, id, outputHash string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	inf, err := loadInference(ctx, id)
	if err != nil {
		return "", err
	}
	if err := checkHash("output_hash", outputHash); err != nil {
		return "", err
	}
	if who.MSP == inf.MSP {
		return "", refusal(CodePermissionDenied, "%s recorded inference %q; a second organisation must attest it", who.MSP, id)
	}
	m, err := loadModel(ctx, inf.Name, inf.Version)
	if err != nil {
		return "", err
	}
	if err := requireUser(ctx, m, who.MSP); err != nil {
		return "", err
	}
	var existing Verdict
	if found, err := getJSON(ctx, &existing, objVerdict, id, who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already attested inference %q", who.MSP, id)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	v := Verdict{InferenceID: id, MSP: who.MSP, AttestedBy: who.ID, OutputHash: outputHash,
		Verdict: VerdictDisputed, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if outputHash == inf.OutputHash {
		v.Verdict = VerdictVerified
	}
	if err := putJSON(ctx, v, objVerdict, id, who.MSP); err != nil {
		return "", err
	}
	return emit(ctx, "InferenceAttested", v)
}

// GetInference returns an inference with its verdicts and their counts; status is the
// majority's verdict (CONTESTED on a tie, UNVERIFIED without verdicts).
func (c *ModelContract) GetInference(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	inf, err := loadInference(ctx, id)
	if err != nil {
		return "", err
	}
	verdicts, err := listAll[Verdict](ctx, objVerdict, id)
	if err != nil {
		return "", err
	}
	view := InferenceView{Inference: inf, Verdicts: verdicts}
	for _, v := range verdicts {
		if v.Verdict == VerdictVerified {
			view.Verified++
		} else {
			view.Disputed++
		}
	}
	switch {
	case view.Verified > view.Disputed:
		view.Status = VerdictVerified
	case view.Disputed > view.Verified:
		view.Status = VerdictDisputed
	case view.Verified > 0:
		view.Status = VerdictContested
	default:
		view.Status = VerdictUnverified
	}
	return toJSON(view)
}

// GetModelLineage returns the model version and, for task provenance, the task's full history.
func (c *ModelContract) GetModelLineage(ctx contractapi.TransactionContextInterface, name, version string) (string, error) {
	m, err := loadModel(ctx, name, version)
	if err != nil {
		return "", err
	}
	lineage := map[string]interface{}{"model": m}
	if m.Provenance.Type == "task" {
		h, err := taskHistory(ctx, m.Provenance.TaskID)
		if err != nil {
			return "", err
		}
		lineage["task"] = h.Task
		lineage["rounds"] = h.Rounds
	}
	return toJSON(lineage)
}

func loadModel(ctx contractapi.TransactionContextInterface, name, version string) (Model, error) {
	var m Model
	if err := checkID("model name", name); err != nil {
		return m, err
	}
	if err := checkID("model version", version); err != nil {
		return m, err
	}
	found, err := getJSON(ctx, &m, objModel, name, version)
	if err != nil {
		return m, err
	}
	if !found {
		return m, refusal(CodeNotFound, "model %s version %s does not exist", name, version)
	}
	return m, nil
}

func loadInference(ctx contractapi.TransactionContextInterface, id string) (Inference, error) {
	var inf Inference
	if err := checkID("inference id", id); err != nil {
		return inf, err
	}
	found, err := getJSON(ctx, &inf, objInference, id)
	if err != nil {
		return inf, err
	}
	if !found {
		return inf, refusal(CodeNotFound, "inference %q does not exist", id)
	}
	return inf, nil
}

// AttestWeights records the final weights hash a member of a model's provenance task computed
// itself (it applied the task's last aggregate). A model with task provenance can be DEPLOYED
// only once a quorum of the task's members attested the hash it was registered with.
func (c *ModelContract) AttestWeights(ctx contractapi.TransactionContextInterface, name, version, weightsHash string) (string, error) {
	who, err := caller(ctx)
	if err != nil {
		return "", err
	}
	m, err := loadModel(ctx, name, version)
	if err != nil {
		return "", err
	}
	if err := checkHash("weights_hash", weightsHash); err != nil {
		return "", err
	}
	if m.Provenance.Type != "task" {
		return "", refusal(CodeFailedPrecondition, "model %s:%s has %s provenance: there is no task to attest it", name, version, m.Provenance.Type)
	}
	t, err := loadTask(ctx, m.Provenance.TaskID)
	if err != nil {
		return "", err
	}
	if !isMember(t, who.MSP) {
		return "", refusal(CodePermissionDenied, "%s is not a member of task %q, the provenance of %s:%s", who.MSP, t.ID, name, version)
	}
	var existing WeightsAttestation
	if found, err := getJSON(ctx, &existing, objWeights, name, version, who.MSP); err != nil {
		return "", err
	} else if found {
		return "", refusal(CodeAlreadyExists, "%s already attested the weights of %s:%s", who.MSP, name, version)
	}
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	a := WeightsAttestation{Name: name, Version: version, MSP: who.MSP, AttestedBy: who.ID, WeightsHash: weightsHash,
		Agrees: weightsHash == m.WeightsHash, Time: formatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, a, objWeights, name, version, who.MSP); err != nil {
		return "", err
	}
	return emit(ctx, "WeightsAttested", a)
}

// requireWeightsQuorum refuses to deploy a task's model unless a quorum of the task's members
// attested the weights hash it was registered with.
func requireWeightsQuorum(ctx contractapi.TransactionContextInterface, m Model) error {
	t, err := loadTask(ctx, m.Provenance.TaskID)
	if err != nil {
		return err
	}
	attestations, err := listAll[WeightsAttestation](ctx, objWeights, m.Name, m.Version)
	if err != nil {
		return err
	}
	agreeing := int64(0)
	for _, a := range attestations {
		if a.Agrees && isMember(t, a.MSP) {
			agreeing++
		}
	}
	if agreeing < t.Quorum {
		return refusal(CodeFailedPrecondition, "model %s:%s has %d of the %d weights attestations from task %q's members it needs to be deployed", m.Name, m.Version, agreeing, t.Quorum, t.ID)
	}
	return nil
}

// requireUser refuses organisations not allowed to use a model: its owner, the members of its
// provenance task and the users it names are.
func requireUser(ctx contractapi.TransactionContextInterface, m Model, msp string) error {
	if msp == m.OwnerMSP {
		return nil
	}
	for _, u := range m.Users {
		if u == msp {
			return nil
		}
	}
	if m.Provenance.Type == "task" {
		t, err := loadTask(ctx, m.Provenance.TaskID)
		if err != nil {
			return err
		}
		if isMember(t, msp) {
			return nil
		}
	}
	return refusal(CodePermissionDenied, "%s is not allowed to use model %s:%s", msp, m.Name, m.Version)
}
