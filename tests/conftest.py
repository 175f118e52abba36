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
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)

# The API fuzz tests (tests/test_fuzz_api.py) share this many examples: ci runs all 10,000, the
# developer profile a tenth, so that a plain `python -m pytest -q` stays quick.  Set FUZZ_EXAMPLES
# yourself to fuzz harder (or less) under either profile.
FUZZ_EXAMPLES = {"ci": 10_000, "dev": 1_000}
_fuzz = os.environ.setdefault("FUZZ_EXAMPLES", str(FUZZ_EXAMPLES.get(PROFILE, FUZZ_EXAMPLES["dev"])))
if not (_fuzz.isdigit() and int(_fuzz) > 0):
    raise ValueError(f"conftest: FUZZ_EXAMPLES must be a positive whole number, got {_fuzz!r}")
