"""Benchmarks that ship with musiclatent (run through `musiclatent benchmark ...`)."""
