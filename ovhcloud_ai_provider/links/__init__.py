"""Extra links from Airflow tasks to the OVHcloud console."""
