"""One module per ``slm-energy`` command (see :mod:`slm_energy_plugin.cli`)."""
