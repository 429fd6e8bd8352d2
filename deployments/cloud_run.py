"""The Cloud Run work pool (prefect-gcp `cloud-run-v2`): its base job template is the worker's own default
with the project's rules, so it follows prefect-gcp upgrades. `python -m deployments.cloud_run` prints it
for `prefect work-pool create mdp-cloud-run --type cloud-run-v2 --base-job-template FILE --overwrite`."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

CLOUD_RUN_POOL = "mdp-cloud-run"
CLOUD_RUN_WORKER_TYPE = "cloud-run-v2"
# Every Cloud Run deployment names these itself: the project's image (Prefect's stock image has no flows),
# its region, and a dedicated service account (the default Compute Engine one is an Editor of the project).
REQUIRED_VARIABLES = ("image", "region", "service_account_name")
# Defaults for a run that sets nothing else (prefect-gcp's are 1 CPU, 512Mi and 600 s, too small for dbt).
VARIABLE_DEFAULTS: dict[str, Any] = {"cpu": "1", "memory": "2Gi", "timeout": 3600, "max_retries": 0}


def base_job_template() -> dict[str, Any]:
    """prefect-gcp's default `cloud-run-v2` template, with REQUIRED_VARIABLES required and the defaults above."""
    from prefect_gcp.workers.cloud_run_v2 import CloudRunWorkerV2

    template = copy.deepcopy(CloudRunWorkerV2.get_default_base_job_template())
    variables = template["variables"]
    properties = variables["properties"]
    for name in REQUIRED_VARIABLES:
        properties[name].pop("default", None)
    variables["required"] = sorted({*variables.get("required", []), *REQUIRED_VARIABLES})
    for name, value in VARIABLE_DEFAULTS.items():
        properties[name]["default"] = value
    return dict(template)


def main() -> int:
    sys.stdout.write(json.dumps(base_job_template(), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
