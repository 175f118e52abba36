import os

from hypothesis import HealthCheck, settings

# ci: reproducible (derandomized) and free of timing flakiness; dev: hypothesis's defaults.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
