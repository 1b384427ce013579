"""Orders' domain errors (pure Python: the domain raises them)."""

from config.domain_errors import Conflict, ValidationFailed


class OrderRejected(ValidationFailed):
    """The draft broke a rule: unknown or inactive product, bad quantity, bad coupon…"""


class InvalidTransition(Conflict):
    """The status machine forbids this move."""

    code = "invalid_transition"


class IdempotencyKeyReused(Conflict):
    """The same key came back with a different request body."""

    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    """A request with this key is still being processed; retry shortly."""

    code = "idempotency_key_in_use"
