"""config.api.negotiation answers as DRF's own negotiation does, for every Accept."""

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.api.negotiation import ContentNegotiation
from config.api.renderers import JSONRenderer

ACCEPTS = [
    None, "*/*", "application/json", "application/json; indent=4", "application/*", "text/html",
    "text/html, application/json;q=0.9", "", "application/xml", "*/*;q=0.1, text/plain",
]  # fmt: skip
RENDERER_SETS = [[JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()], [BrowsableAPIRenderer(), JSONRenderer()]]


def answer(negotiation, accept, query, renderers, suffix):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/v1/products/" + query, **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except NotAcceptable:
        return "406"
    except Http404:  # ?format= names no renderer of the view
        return "404"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?page=2"])
@pytest.mark.parametrize("renderers", RENDERER_SETS, ids=["json", "json+api", "api+json"])
@pytest.mark.parametrize("suffix", [None, "json"])
def test_the_same_answer_as_drfs_negotiation(accept, query, renderers, suffix):
    ours = answer(ContentNegotiation(), accept, query, renderers, suffix)
    assert ours == answer(DefaultContentNegotiation(), accept, query, renderers, suffix)


def test_the_usual_request_is_answered_without_parsing_the_header(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "_get_parsed_accept_list", parse)
    for accept in (None, "*/*", "application/json"):
        assert answer(ContentNegotiation(), accept, "?page=3", [JSONRenderer()], None) == (
            "JSONRenderer",
            "application/json",
        )
