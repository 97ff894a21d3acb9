"""The HTTP API: Litestar controllers that translate requests into use cases and answers into
JSON (msgspec Structs), problem details for every error."""

from registry.api.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
