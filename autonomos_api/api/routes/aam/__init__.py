"""The Adaptive API Mesh's API: connections, drift events, repairs, mappings and quarantine, under /aam."""
