"""Embedded simulators of the vendor APIs (one module per vendor)."""
