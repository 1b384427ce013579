"""Staff at work in /admin/, in a real browser: sign in, find a product, adjust
its stock, open and cancel an order, read the outbox. Customers are refused;
five wrong passwords lock the account from that address, even against the
right one; a staff member who may only view users is not offered, and cannot
run, the deactivate action."""

import re
import subprocess
import sys
from typing import Any

import pytest

from tests.browser.conftest import Journey
from tests.support.services import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

STAFF_ONLY = "Please enter the correct email and password for a staff account."


def log_in(journey: Journey, email: str, password: str) -> None:
    page = journey.page
    journey.goto("/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()


def log_in_as_staff(journey: Journey, world: dict[str, Any]) -> None:
    log_in(journey, world["staff"]["email"], world["password"])
    journey.page.get_by_role("heading", name="Site administration").wait_for()


def readonly(journey: Journey, name: str) -> str:
    """The value of a read-only field on a change page."""
    return journey.page.locator(f".field-{name} .readonly").first.inner_text().strip()


def ledger_rows(journey: Journey) -> list[str]:
    return [" ".join(row.split()) for row in journey.page.locator(".inline-group tbody tr").all_inner_texts()]


def message(journey: Journey) -> str:
    return journey.page.locator("ul.messagelist li").first.inner_text()


def test_staff_logs_in_through_the_login_form(journey: Journey, world: dict[str, Any]) -> None:
    page = journey.page
    journey.goto("/admin/")
    assert re.search(r"/admin/login/\?next=/admin/$", page.url), page.url
    journey.shot("login-form")
    page.fill("#id_username", world["staff"]["email"])
    page.fill("#id_password", world["password"])
    journey.shot("login-filled")
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("heading", name="Site administration").wait_for()
    assert page.url.endswith("/admin/")
    assert world["staff"]["email"] in page.locator("#user-tools").text_content()
    for section in ("Inventory", "Orders", "Users"):
        assert page.locator("caption a.section", has_text=section).is_visible()
    # The admin's own styles, with hashed names from collectstatic, served by WhiteNoise.
    assert any(re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", url) for url in journey.urls())
    header = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header not in ("", "rgba(0, 0, 0, 0)", "transparent")
    journey.shot("dashboard")


def test_staff_finds_a_product_by_sku(journey: Journey, world: dict[str, Any]) -> None:
    mug = world["products"]["mug"]
    page = journey.page
    log_in_as_staff(journey, world)
    page.get_by_role("link", name="Products", exact=True).first.click()
    page.locator("#searchbar").wait_for()
    journey.shot("product-list")

    page.fill("#searchbar", mug["sku"].lower())  # any case
    page.locator("#searchbar").press("Enter")
    page.wait_for_url(re.compile(r"[?&]q="))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert mug["sku"] in rows.first.inner_text()
    assert page.locator("#changelist-search .quiet").inner_text().startswith("1 result")
    journey.shot("search-result")

    rows.first.get_by_role("link", name=mug["sku"]).click()
    page.locator("#product_form").wait_for()
    assert page.locator("#id_sku").input_value() == mug["sku"]
    assert readonly(journey, "stock") == str(mug["stock_before_order"] - 3)
    journey.shot("product-change-page")


def test_staff_adjusts_stock_and_sees_the_ledger_row(journey: Journey, world: dict[str, Any]) -> None:
    mug = world["products"]["mug"]
    page = journey.page
    stock = mug["stock_before_order"] - 3
    log_in_as_staff(journey, world)
    journey.goto(f"/admin/inventory/product/{mug['id']}/change/")
    journey.shot("product-before")

    page.locator(".object-tools").get_by_role("link", name="Adjust stock").click()
    assert page.locator("#current-stock").inner_text() == str(stock)
    # More than there is: refused on the form, nothing written.
    page.fill("#id_delta", str(-(stock + 1)))
    page.fill("#id_reason", "stock-take")
    page.get_by_role("button", name="Adjust stock").click()
    page.locator(".errornote").wait_for()
    assert f"Only {stock} unit(s)" in page.locator(".field-delta .errorlist").inner_text()
    journey.shot("adjust-refused")

    reason = f"delivery {world['staff']['email']}"
    page.fill("#id_delta", "12")
    page.fill("#id_reason", reason)
    journey.shot("adjust-filled")
    page.get_by_role("button", name="Adjust stock").click()

    page.locator("#product_form").wait_for()
    assert f"adjusted by +12; it is now {stock + 12}" in message(journey)
    assert readonly(journey, "stock") == str(stock + 12)
    newest = ledger_rows(journey)[0]
    assert reason in newest and "12" in newest and str(stock + 12) in newest, ledger_rows(journey)
    assert world["staff"]["email"] in newest
    assert not any("stock-take" in row for row in ledger_rows(journey))
    journey.shot("ledger-row")


def test_staff_opens_an_order_and_sees_its_lines(journey: Journey, world: dict[str, Any]) -> None:
    order, products = world["order"], world["products"]
    page = journey.page
    log_in_as_staff(journey, world)
    page.get_by_role("link", name="Orders", exact=True).last.click()
    page.locator("#result_list").wait_for()
    journey.shot("order-list")

    page.locator("#result_list").get_by_role("link", name=str(order["id"]), exact=True).click()
    page.locator("#order_form").wait_for()
    assert readonly(journey, "status") == "Pending"
    assert readonly(journey, "customer") == world["customer"]["email"]
    assert readonly(journey, "total") == order["total"]
    rows = page.locator("#lines-group tbody tr.has_original")
    rows.first.wait_for()
    assert rows.count() == len(order["lines"])
    for row, (key, quantity) in zip(rows.all(), order["lines"], strict=True):  # in the order placed
        assert row.locator("td.field-sku").inner_text() == products[key]["sku"]
        assert row.locator("td.field-name").inner_text() == products[key]["name"]
        assert row.locator("td.field-quantity").inner_text() == str(quantity)
    journey.shot("order-lines")


def test_staff_cancels_an_order_with_the_action_and_the_stock_comes_back(
    journey: Journey, world: dict[str, Any]
) -> None:
    order, mug, cap = world["order"], world["products"]["mug"], world["products"]["cap"]
    page = journey.page
    log_in_as_staff(journey, world)
    journey.goto(f"/admin/inventory/product/{mug['id']}/change/")
    assert readonly(journey, "stock") == str(mug["stock_before_order"] - 3)
    journey.shot("stock-while-ordered")

    journey.goto("/admin/orders/order/")
    page.locator(f"input[name='_selected_action'][value='{order['id']}']").check()
    page.select_option("select[name='action']", label="Cancel (return stock and coupon use)")
    journey.shot("cancel-selected")
    page.get_by_role("button", name="Go").click()
    assert "Cancel (return stock and coupon use): 1 order(s)." in message(journey)
    row = page.locator("#result_list tbody tr", has=page.locator(f"input[value='{order['id']}']"))
    assert row.locator("td.field-status").inner_text() == "Cancelled"
    journey.shot("order-cancelled")

    for product in (mug, cap):
        journey.goto(f"/admin/inventory/product/{product['id']}/change/")
        assert readonly(journey, "stock") == str(product["stock_before_order"])
        assert f"order {order['id']} cancelled" in ledger_rows(journey)[0]
        journey.shot(f"stock-back-{product['sku'].lower()}")


def test_staff_opens_the_outbox(journey: Journey, world: dict[str, Any]) -> None:
    page = journey.page
    log_in_as_staff(journey, world)
    notifications = page.locator(".app-notifications.module")
    notifications.get_by_role("link", name="Outbox emails").click()
    page.locator("#result_list").wait_for()
    assert page.get_by_role("heading", name=re.compile("outbox email", re.I)).first.is_visible()
    ours = page.locator("#result_list tbody tr", has_text=world["customer"]["email"])
    assert ours.count() >= 1  # the welcome email, and the order's confirmation
    assert "welcome" in " ".join(ours.all_inner_texts()).lower()
    journey.shot("outbox-list")

    ours.filter(has_text="welcome").first.locator("th a, td a").first.click()
    page.locator(".field-to").wait_for()
    assert readonly(journey, "to") == world["customer"]["email"]
    assert "Welcome" in readonly(journey, "subject")
    journey.shot("outbox-email")


def test_a_customer_is_refused(journey: Journey, world: dict[str, Any]) -> None:
    page = journey.page
    log_in(journey, world["customer"]["email"], world["password"])
    assert "/admin/login/" in page.url
    assert STAFF_ONLY in page.locator(".errornote").inner_text()
    journey.shot("customer-refused")

    journey.goto("/admin/orders/order/")
    assert "/admin/login/" in page.url
    assert not page.locator("#result_list").count()
    journey.shot("still-at-login")


# --- sign-in limits and who may deactivate ------------------------------------------------

LOCKED = (
    "Too many failed sign-ins for this account from your address. "
    "Try again in 15 minutes; until then even the right password is refused."
)


def submit_login(journey: Journey, email: str, password: str) -> str:
    """Fill the login form on the page and send it; the page's error note, if any."""
    page = journey.page
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    return "\n".join(page.locator(".errornote").all_inner_texts())


def test_staff_sign_in_is_locked_after_five_failures_even_with_the_right_password(
    journey: Journey, world: dict[str, Any]
) -> None:
    page, email = journey.page, world["staff"]["email"]
    journey.goto("/admin/")
    notes = [submit_login(journey, email, f"wrong-guess-{n}") for n in range(5)]
    assert all(STAFF_ONLY in note for note in notes), notes
    assert not any("Too many" in note for note in notes[:4]), notes
    assert LOCKED in notes[4]
    journey.shot("locked-after-five")

    note = submit_login(journey, email, world["password"])

    assert LOCKED in note and STAFF_ONLY not in note
    assert "/admin/login/" in page.url
    journey.shot("right-password-refused")
    journey.goto("/admin/orders/order/")
    assert "/admin/login/" in page.url  # not signed in
    assert not page.locator("#result_list").count()


def make_view_only_staff(deployment: Any, server: Any, tag: str, password: str) -> str:
    """A staff member whose one permission is to view users, in the database
    the server uses: on SQLite its own file, reached through manage.py."""
    email = f"viewer-{tag}@stockroom.test"
    code = (
        "from django.contrib.auth.models import Permission\n"
        "from users.models import User\n"
        f"user = User.objects.create_user({email!r}, {'viewer-' + tag!r}, {password!r}, is_staff=True)\n"
        "user.user_permissions.set(Permission.objects.filter(content_type__app_label='users', codename='view_user'))\n"
    )
    if deployment.sqlite_template is None:
        exec(code, {})
    else:
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=server.env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return email


def customer_row(journey: Journey, email: str) -> Any:
    return journey.page.locator("#result_list tbody tr", has_text=email)


def test_a_view_only_staff_member_neither_sees_nor_can_run_deactivate(
    journey: Journey, world: dict[str, Any], deployment: Any, server: Any
) -> None:
    page, customer = journey.page, world["customer"]
    viewer = make_view_only_staff(deployment, server, f"{world['customer']['id']}x", world["password"])
    log_in(journey, viewer, world["password"])
    page.get_by_role("heading", name="Site administration").wait_for()

    journey.goto(f"/admin/users/user/?q={customer['email']}")
    assert customer_row(journey, customer["email"]).count() == 1
    assert page.locator("select[name='action']").count() == 0  # no actions offered at all
    assert page.locator("input[name='_selected_action']").count() == 0
    journey.shot("viewer-sees-no-action")

    # Forge the action's POST from the page itself (with its CSRF token): refused.
    with page.expect_navigation():
        page.evaluate(
            """([id]) => {
                const form = document.querySelector('#changelist-form');
                for (const [name, value] of [['action', 'deactivate'], ['_selected_action', id], ['index', '0']]) {
                    const input = document.createElement('input');
                    Object.assign(input, {type: 'hidden', name, value});
                    form.appendChild(input);
                }
                form.submit();
            }""",
            [str(customer["id"])],
        )
    journey.goto(f"/admin/users/user/?q={customer['email']}")
    active = customer_row(journey, customer["email"]).locator("td.field-is_active img")
    assert active.get_attribute("alt") == "True"
    journey.shot("customer-still-active")

    # A superuser is offered it.
    journey.page.context.clear_cookies()
    log_in_as_staff(journey, world)
    journey.goto("/admin/users/user/")
    options = page.locator("select[name='action'] option").all_inner_texts()
    assert any(option.startswith("Deactivate selected users") for option in options), options
    journey.shot("superuser-is-offered-deactivate")
