"""The API docs render with no internet: every script, style, font and image
comes from this server (the browser's own request log says so, and a request
to another host fails the journey even if the page's Content-Security-Policy
stopped it), and the orders operations are listed."""

import time

import pytest

from tests.browser.conftest import PUBLIC_HOST, Journey

pytestmark = pytest.mark.django_db(transaction=True)  # the server reads the test database

# 127.0.0.1 as a developer opens them; a public name as a reader elsewhere
# would (it resolves to this machine in the test browser only).
HOSTS = pytest.mark.parametrize("host", ["127.0.0.1", PUBLIC_HOST])
ORDERS_OPERATIONS = {"orders_list", "orders_create", "orders_retrieve", "orders_cancel_create"}


def assert_offline(journey: Journey, script: str) -> None:
    journey.page.wait_for_load_state("networkidle")  # whatever the page fetches late is in the log too
    assert not journey.outside_requests(), f"requests left this machine: {journey.outside_requests()}"
    urls = journey.urls()
    assert any(url.endswith("/api/schema/") for url in urls), urls
    assert any(script in url for url in urls), urls


REDOC_LOGO = "a[href='https://redocly.com/redoc/'] img"  # the side menu's footer: "API docs by Redocly"
LOGO_LOADED = f"""() => {{
    const img = document.querySelector("{REDOC_LOGO}");
    return !!img && img.complete && img.naturalWidth > 0;
}}"""


def wait_for_the_redoc_logo(journey: Journey, timeout: float = 10) -> None:
    """ReDoc draws its logo late: after React has mounted the side menu, an
    effect adds the <img>, and only then is the image requested. Wait until it
    has loaded, or until a request for it has gone to another host."""
    journey.page.get_by_role("link", name="API docs by Redocly").wait_for()
    deadline = time.monotonic() + timeout
    while not journey.outside_requests() and not journey.page.evaluate(LOGO_LOADED):
        assert time.monotonic() < deadline, "ReDoc's logo neither loaded nor was requested elsewhere"
        journey.page.wait_for_timeout(100)


@HOSTS
def test_swagger_ui_renders_offline_and_lists_the_orders_operations(journey: Journey, host: str) -> None:
    page = journey.page
    response = journey.goto("/api/docs/", host)
    assert response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    section = page.locator(".opblock-tag-section", has=page.locator("#operations-tag-orders"))
    section.locator(".opblock").first.wait_for()
    journey.shot("swagger-ui", full_page=False)

    operations = {op.get_attribute("id") for op in section.locator(".opblock").all()}
    assert {f"operations-orders-{name}" for name in ORDERS_OPERATIONS} <= operations, operations
    paths = {p.replace("\u200b", "") for p in section.locator(".opblock-summary-path").all_inner_texts()}
    assert "/api/v1/orders/" in paths

    section.locator("#operations-orders-orders_list .opblock-summary-control").click()
    page.locator("#operations-orders-orders_list .responses-wrapper").wait_for()
    journey.shot("swagger-ui-orders-list", full_page=False)
    assert_offline(journey, "/static/drf_spectacular_sidecar/swagger-ui-dist/")


@HOSTS
def test_redoc_renders_offline_and_lists_the_orders_operations(journey: Journey, host: str) -> None:
    page = journey.page
    response = journey.goto("/api/redoc/", host)
    assert response.status == 200
    assert "img-src 'self' data:" in response.headers["content-security-policy"]
    page.get_by_role("heading", name="Stockroom API").first.wait_for()
    orders = page.locator("[data-item-id='tag/orders']")
    orders.wait_for()
    journey.shot("redoc", full_page=False)

    orders.click()
    menu = page.locator("[data-item-id^='tag/orders/operation/']")
    menu.first.wait_for()
    listed = {" ".join(text.split()[1:]) for text in menu.all_inner_texts()}  # "GET orders_list"
    assert listed >= ORDERS_OPERATIONS, listed
    operation = page.locator("[id='tag/orders/operation/orders_list']")
    operation.wait_for()
    assert operation.get_by_text("/api/v1/orders/", exact=True).first.is_visible()
    journey.shot("redoc-orders", full_page=False)
    wait_for_the_redoc_logo(journey)
    assert_offline(journey, "/api/redoc/bundles/redoc.standalone.js")  # config/api/redoc.py
    logo = page.locator(REDOC_LOGO)
    assert logo.get_attribute("src").startswith("data:image/svg+xml,"), logo.get_attribute("src")
