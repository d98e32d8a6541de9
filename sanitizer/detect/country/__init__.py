"""Country-specific detectors: `us/` by hand, the others through python-stdnum's checksum modules."""
