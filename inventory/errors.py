"""Inventory's domain errors (pure Python: the domain raises them)."""

from config.domain_errors import Conflict, ValidationFailed


class InsufficientStock(Conflict):
    """One or more changes would take a product's stock below zero: 409,
    one problem per short line."""

    code = "insufficient_stock"


class StockLimitExceeded(ValidationFailed):
    """One or more increases would take a product's stock above what it may
    hold (a staff bound, or the column's maximum): 400, one problem per change."""

    code = "stock_limit_exceeded"


class ProductRejected(ValidationFailed):
    """A product write broke a rule (a taken sku, …)."""
