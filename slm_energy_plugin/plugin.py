"""The pytest surface of slm-energy (options, fixtures, hook wrappers). Hooks land in the next commits."""
