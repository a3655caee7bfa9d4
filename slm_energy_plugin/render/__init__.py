"""Writers of results for people: plots, the HTML report (terminal and markdown writers join later)."""
