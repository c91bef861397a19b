"""The coopledger command line: a thin click shell over the ledger library."""
