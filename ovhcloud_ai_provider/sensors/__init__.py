"""Sensors for OVHcloud AI Training jobs."""
