"""Footprint estimator for LLM requests: formulas, configuration, calibration, analytics.

The public entry points:

- :func:`.formulas.estimate` (pure) and :func:`.service.run_estimate` (with configuration),
- :func:`.config.load_config` (built-in YAML + user overrides, validated),
- :func:`.calibration.calibrate_run` (fit throughputs and power from measured runs),
- :func:`.analytics.parse_usage` / :func:`.analytics.analyse` (usage logs),
- :func:`.reproject.reproject` (a run's emissions on another grid / PUE).
"""
