"""The DRF plumbing every app's API shares: authentication, permissions,
pagination, parsing, rendering and content negotiation, base serializers,
the OpenAPI schema's hooks and its view, the docs' ReDoc bundle, the error
envelope's exception handler, and the cache headers and keys of answers.

May import: ``config.db`` and ``config.domain_errors`` (and Django, DRF). Imported
by the apps' views and serializers, and by ``config.platform``; never imports
an app.
"""
