"""Weekly and monthly e-mail reports, built from the same analytics answers as the API."""
