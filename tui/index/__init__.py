"""The index: compact columns for millions of entries, merged in time order."""
