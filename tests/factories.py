"""factory-boy factories. Products are made through the inventory service, so
their initial stock is on the ledger like any real product's."""

import itertools
from decimal import Decimal
from typing import Any

import factory

from inventory import services as inventory_services
from inventory.models import Product
from users.models import User

DEFAULT_PASSWORD = "correct-horse-battery-staple"
_product_numbers = itertools.count(1)  # make_product's SKUs and names


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.Sequence(lambda n: f"user{n}")
    # Not Faker: a random "Bobby Ann" would match the search tests.
    full_name = factory.Sequence(lambda n: f"Test Person {n}")
    password = factory.django.Password(DEFAULT_PASSWORD)


def make_product(
    *, sku: str | None = None, price: str | Decimal = "10.00", stock: int = 10, is_active: bool = True, **extra: Any
) -> Product:
    n = next(_product_numbers)
    return inventory_services.product_create(
        sku=sku or f"SKU-{n:05d}",
        name=extra.pop("name", f"Product {n}"),
        price=Decimal(price),
        stock=stock,
        is_active=is_active,
        created_by_id=None,
        **extra,
    )


def make_webhook_endpoint(*, url: str = "https://hooks.example.com/in", events: tuple[str, ...] = ("order.placed",)):
    """An endpoint written directly (no name lookup of its host): for tests of
    who may reach it, not of registration."""
    from notifications.domain.signing import new_secret
    from notifications.domain.webhooks import CURRENT_API_VERSION
    from notifications.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        url=url, events=list(events), api_version=CURRENT_API_VERSION, secret=new_secret()
    )


def make_webhook_delivery(endpoint, *, status: str = "failed"):
    """A delivery of a ping event to ``endpoint``, with the status given."""
    from django.utils import timezone

    from notifications.models import WebhookDelivery, WebhookEvent
    from notifications.webhooks import new_event_id

    event = WebhookEvent.objects.create(
        public_id=new_event_id(), type="ping", api_version=endpoint.api_version, body="{}", created_at=timezone.now()
    )
    return WebhookDelivery.objects.create(endpoint=endpoint, event=event, event_type="ping", status=status)
