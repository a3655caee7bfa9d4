"""Root conftest: kept tiny on purpose; the plugin itself is activated by its pytest11 entry point."""

collect_ignore = ["results", "data", "build"]
