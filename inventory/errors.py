"""Inventory's domain errors (pure Python: the domain raises them)."""

from config.domain_errors import Conflict, ValidationFailed


class InsufficientStock(Conflict):
    """One or more changes would take a product's stock below zero: 409,
    one problem per short line."""

    code = "insufficient_stock"


class ProductRejected(ValidationFailed):
    """A product write broke a rule (a taken sku, …)."""
