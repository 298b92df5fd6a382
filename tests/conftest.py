import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Hypothesis profiles. "ci": deterministic (derandomized, no example database) with a bounded
# number of examples per test, so a CI run is repeatable and its time predictable; chosen with
# HYPOTHESIS_PROFILE=ci, or when CI=true. "dev" (the default): Hypothesis' own random search.
# Tests that set max_examples themselves keep their number; the profile supplies the rest.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=50,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _ci else "dev"))
