"""Pure rules of creditflow: no I/O, no clock reads, no SQL.

Everything here takes facts (grants, the time, the catalog) and returns decisions.
"""
