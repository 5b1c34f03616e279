"""During an outage the API answers JSON a client can act on: 503 with Retry-After, no driver
detail (host, port) and no HTML page."""

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

pytestmark = pytest.mark.django_db


def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError(
            'connection to server at "10.1.2.3", port 5432 failed: Connection refused'
        )

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    monkeypatch.setattr(CursorWrapper, "executemany", refuse)


@pytest.mark.parametrize(
    "method,url",
    [("get", "/api/v1/transactions/"), ("post", "/api/v1/labels/"), ("get", "/api/v1/queue/next/")],
)
def test_database_down_is_a_json_503(api, bob, method, url, monkeypatch):
    client = api(bob)
    database_down(monkeypatch)
    response = (
        getattr(client, method)(url, {}, format="json") if method == "post" else client.get(url)
    )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    body = response.json()
    assert body == {"detail": "The database is unavailable; try again shortly."}
    assert "10.1.2.3" not in response.content.decode()
