"""Deferrable triggers for OVHcloud AI Training jobs (run by the triggerer)."""
