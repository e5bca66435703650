"""Ingest: POST /submit — decode, validate, authorise and store weekly aggregates."""
