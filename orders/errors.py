"""Orders' domain errors (pure Python: the domain raises them)."""

from config.domain_errors import Conflict, ValidationFailed


class OrderRejected(ValidationFailed):
    """The draft broke a rule: unknown or inactive product, bad quantity, bad coupon…"""


class ReturnRejected(ValidationFailed):
    """A return broke a rule: a product not on the order, a quantity below 1,
    more than was ordered and is not yet back (``return_exceeds_ordered``)…
    400, one problem per offending attr."""


class InvalidTransition(Conflict):
    """The status machine forbids this move (or a return of an order that is
    not delivered)."""

    code = "invalid_transition"


class IdempotencyKeyReused(Conflict):
    """The same key came back with a different request body."""

    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    """A request with this key is still being processed; retry shortly."""

    code = "idempotency_key_in_use"
