"""Writers for people: one writer protocol and number format, terminal and markdown tables, plots, the HTML report."""
