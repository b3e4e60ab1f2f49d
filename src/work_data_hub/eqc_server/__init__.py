"""A local EQC-compatible registry server: generated companies, fault switches, call log.

Tests, the demo and the benchmarks talk to it over real HTTP on loopback; production
points ``WDH_EQC_BASE_URL`` at the real EQC service instead.
"""
