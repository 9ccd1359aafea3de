// Command fedfabric-cc runs the fedfabric chaincode as a service (CCaaS): the peer dials it.
//
// Environment:
//
//	CHAINCODE_ID              the package id the peer knows this chaincode by (label:sha256)
//	CHAINCODE_SERVER_ADDRESS  host:port to listen on
//	CHAINCODE_TLS_CERT_FILE   PEM server certificate; with CHAINCODE_TLS_KEY_FILE turns TLS on
//	CHAINCODE_TLS_KEY_FILE    PEM private key of that certificate
//	CHAINCODE_TLS_CLIENT_CA_FILE  optional PEM CA that client (peer) certificates must chain to
//	FEDFABRIC_MAX_CLOCK_SKEW  how far a proposal's timestamp may be from this clock (Go duration,
//	                          default 5m)
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/fedfabric/fedfabric/chaincode/contracts"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fedfabric-cc:", err)
		os.Exit(1)
	}
}

func run() error {
	ccid, address := os.Getenv("CHAINCODE_ID"), os.Getenv("CHAINCODE_SERVER_ADDRESS")
	if ccid == "" || address == "" {
		return fmt.Errorf("CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set")
	}
	skew, err := maxClockSkew(os.Getenv("FEDFABRIC_MAX_CLOCK_SKEW"), contracts.MaxClockSkew)
	if err != nil {
		return err
	}
	contracts.MaxClockSkew = skew
	chaincode, err := contracts.NewChaincode()
	if err != nil {
		return fmt.Errorf("building the chaincode: %w", err)
	}
	tlsProps, err := tlsProperties()
	if err != nil {
		return err
	}
	server := &shim.ChaincodeServer{CCID: ccid, Address: address, CC: chaincode, TLSProps: tlsProps}
	fmt.Fprintf(os.Stderr, "fedfabric-cc: serving %s on %s (tls=%t)\n", ccid, address, !tlsProps.Disabled)
	return server.Start()
}

func tlsProperties() (shim.TLSProperties, error) {
	certFile, keyFile := os.Getenv("CHAINCODE_TLS_CERT_FILE"), os.Getenv("CHAINCODE_TLS_KEY_FILE")
	if certFile == "" && keyFile == "" {
		return shim.TLSProperties{Disabled: true}, nil
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return shim.TLSProperties{}, fmt.Errorf("reading CHAINCODE_TLS_CERT_FILE: %w", err)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return shim.TLSProperties{}, fmt.Errorf("reading CHAINCODE_TLS_KEY_FILE: %w", err)
	}
	props := shim.TLSProperties{Key: key, Cert: cert}
	if caFile := os.Getenv("CHAINCODE_TLS_CLIENT_CA_FILE"); caFile != "" {
		if props.ClientCACerts, err = os.ReadFile(caFile); err != nil {
			return shim.TLSProperties{}, fmt.Errorf("reading CHAINCODE_TLS_CLIENT_CA_FILE: %w", err)
		}
	}
	return props, nil
}

// maxClockSkew is FEDFABRIC_MAX_CLOCK_SKEW's value as a duration, or fallback when it is unset.
func maxClockSkew(value string, fallback time.Duration) (time.Duration, error) {
	if value == "" {
		return fallback, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("FEDFABRIC_MAX_CLOCK_SKEW %q must be a positive duration such as 5m", value)
	}
	return d, nil
}
