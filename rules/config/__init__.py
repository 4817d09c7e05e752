"""Configuration rules (CF): settings against the observed workload."""
