"""fedfabric: federated learning with homomorphically encrypted updates on Hyperledger Fabric."""

__version__ = "0.1.0"
