"""Printernizer Usage receiver: stores anonymous weekly usage aggregates."""

__version__ = "0.1.0"
