from tests.service.conftest import database_url, serve_app  # noqa: F401 - shared fixtures
