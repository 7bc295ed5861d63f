"""Apache Airflow provider for OVHcloud AI Endpoints and AI Training.

Kept import-light on purpose: DAG files import operators on every parse.
"""

__version__ = "0.1.0"
