// Package contracts holds fedfabric's Fabric contracts; CONTRACT.md describes them.
package contracts

import "github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

// NewChaincode assembles every fedfabric contract into one chaincode.
func NewChaincode() (*contractapi.ContractChaincode, error) {
	records := &RecordContract{}
	records.Name = "records"
	datasets := &DatasetContract{}
	datasets.Name = "datasets"
	tasks := &TaskContract{}
	tasks.Name = "tasks"
	models := &ModelContract{}
	models.Name = "models"
	// The first contract is the default one: unqualified names (PutRecord) reach it.
	chaincode, err := contractapi.NewChaincode(records, datasets, tasks, models)
	if err != nil {
		return nil, err
	}
	chaincode.Info.Title = "fedfabric"
	return chaincode, nil
}
