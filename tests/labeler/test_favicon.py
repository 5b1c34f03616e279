import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_favicon_is_public_svg_and_every_page_links_it(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and b"</svg>" in response.content
    assert "max-age=86400" in response["Cache-Control"]
    login = client.get(reverse("login"))
    assert b'rel="icon" type="image/svg+xml" href="/favicon.ico"' in login.content


@pytest.mark.django_db
def test_favicon_refuses_writes(client):
    assert client.post("/favicon.ico").status_code == 405
