"""The Starlette application: the download path, health, metrics, and the error and caching headers."""
