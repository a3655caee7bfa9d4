"""Run results as data: typed records, the record builder, storage, and the tidy table for notebooks and exports."""
