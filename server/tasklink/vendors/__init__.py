"""Vendor adapters (one module per vendor) and the shared HTTP layer."""
