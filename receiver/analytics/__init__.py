"""Maintainer analytics (admin keys only), read from the latest-state table."""
