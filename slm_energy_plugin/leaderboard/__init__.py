"""Public-leaderboard analysis: energy, CO2 and price against model size, across hardware."""
