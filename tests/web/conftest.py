"""Web fixtures after flaskr's conftest: `app` from `create_app`, `client` and a login helper."""
from __future__ import annotations

import pytest

from tsunagu.engine.config import Settings
from tsunagu.web import create_app
from tsunagu.web.extensions import db


@pytest.fixture
def app(database_url, clock, tmp_path):
    settings = Settings(database_url=database_url, secret_key="test-secret", instance_dir=str(tmp_path / "instance"))
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True, "WTF_CSRF_ENABLED": False})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client, user_password):
    """Sign a fixture user in: `login(caseworker)`."""

    def sign_in(user, password=None):
        response = client.post("/login", data={"username": user.username, "password": password or user_password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return sign_in
