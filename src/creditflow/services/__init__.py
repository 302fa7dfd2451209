"""Use cases: each one is a transaction boundary, named verb_noun."""
