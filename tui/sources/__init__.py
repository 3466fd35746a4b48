"""Where log bytes come from: local files (and, later, live tails and AWS)."""
