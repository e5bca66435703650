"""The maintainers' dashboard in the browser: sign-in with an admin key, charts of the analytics API."""
