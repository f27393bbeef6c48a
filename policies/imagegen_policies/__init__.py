"""Policy modules of the imagegen policy pack (importable without starting the gRPC server)."""
