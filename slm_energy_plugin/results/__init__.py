"""Run results as data: typed records, storage, and the tidy table for notebooks and exports."""
