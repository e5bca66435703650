"""GDPR deletion of everything about one installation."""
