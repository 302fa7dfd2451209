"""Issued documents made readable: PDFs for customers, CSV for the accountant."""
