import RMBCrypto
