// Package contracts holds fedfabric's Fabric contracts; CONTRACT.md describes them.
package contracts

import "github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

// NewChaincode assembles every fedfabric contract into one chaincode.
func NewChaincode() (*contractapi.ContractChaincode, error) {
	chaincode, err := contractapi.NewChaincode(&RecordContract{})
	if err != nil {
		return nil, err
	}
	chaincode.Info.Title = "fedfabric"
	return chaincode, nil
}
