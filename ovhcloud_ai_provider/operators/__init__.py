"""Operators for OVHcloud AI Endpoints and AI Training (import-light: DAG files import them on every parse)."""
