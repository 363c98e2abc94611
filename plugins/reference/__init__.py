"""The reference back office (an HTTP server with an OpenAPI description) and the
``reference`` plugin that talks to any server implementing that API."""
