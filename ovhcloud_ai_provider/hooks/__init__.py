"""Hooks for OVHcloud AI Endpoints and AI Training, on one shared HTTP client."""
