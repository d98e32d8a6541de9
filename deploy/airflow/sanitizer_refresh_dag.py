"""Airflow: the nightly sanitized staging refresh as one task, the same command as deploy/cron and deploy/systemd.

Copy to the DAGs folder. The worker needs sanitizer on PATH, the config and rules in /etc/sanitizer, and
PROD_DB_URL / STAGING_DB_URL in its environment (from your secrets backend; they are not written here).
Exit codes: 0 success; 1 findings, 2 configuration error, 3 runtime failure: each fails the task, and in
each of them staging keeps its last good data. No retries: a refresh that failed is read, not repeated.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2.4+
    from airflow.operators.bash import BashOperator

REFRESH_COMMAND = "sanitizer run --config /etc/sanitizer/staging.yaml"
REFRESH_ENV = {
    "SANITIZER_KEY_FILE": "/etc/sanitizer/staging.key",  # this environment's key, its own secret file
    "SANITIZER_LOG_FORMAT": "json",
}

with DAG(
    dag_id="sanitizer_refresh",
    description="Refresh staging from production with no personal data in it",
    schedule="30 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 0},
    tags=["sanitizer", "staging"],
) as dag:
    refresh = BashOperator(
        task_id="refresh_staging",
        bash_command=REFRESH_COMMAND,
        env=REFRESH_ENV,
        append_env=True,  # keeps PATH and the worker's PROD_DB_URL / STAGING_DB_URL
        cwd="/var/lib/sanitizer",
        execution_timeout=timedelta(hours=6),
        retries=0,
    )
