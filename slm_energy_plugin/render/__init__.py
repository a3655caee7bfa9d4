"""Writers shared by commands: number format, terminal/markdown tables, plot style."""
