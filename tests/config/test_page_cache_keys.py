"""Product pages are cached under the parameters the list acts on, read as
it reads them: junk query parameters never create a cache entry, equivalent
spellings share one, and a cached page's links carry no request's junk.

Entries are counted both ways the run allows: the read cache's hit/miss
counters (every miss stores an entry, a hit stores none), and with
REDIS_URL the keys in Redis itself.
"""

import os
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict
from django_filters import rest_framework as filters

from config.api import page_keys
from config.platform import read_cache
from inventory.filters import ProductFilter
from inventory.models import Product
from tests.config.helpers import PRODUCTS, product_url
from tests.factories import make_product
from tests.support.recording import redis_round_trips

pytestmark = pytest.mark.django_db(transaction=True)  # pages are cached when reads see committed writes

ON_REDIS = bool(os.environ.get("REDIS_URL"))


def redis_keys() -> int | None:
    """How many keys the cache's Redis database holds (None without Redis)."""
    return cache.client.get_client().dbsize() if ON_REDIS else None  # type: ignore[attr-defined]  # django-redis


def entries_made() -> int:
    return read_cache.stats["misses"]


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def query(link: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(link).query, keep_blank_values=True)


@pytest.fixture
def products() -> list[int]:
    return [make_product(price=f"{n}.50", stock=n).id for n in range(1, 8)]


def test_junk_query_parameters_never_create_a_cache_entry(anon, products):
    first = ok(anon.get(f"{PRODUCTS}?page_size=2&page=2"))
    made, keys, hits = entries_made(), redis_keys(), read_cache.stats["hits"]

    for n in range(40):
        junk = f"utm_source=ad{n}&x{n}={n}&_={n}&format=json&callback=f{n}"
        assert ok(anon.get(f"{PRODUCTS}?{junk}&page_size=2&page=2")) == first

    assert entries_made() == made
    assert read_cache.stats["hits"] - hits == 40
    assert redis_keys() == keys


@pytest.mark.skipif(not ON_REDIS, reason="needs REDIS_URL (CI sets it): counts round trips to Redis")
def test_a_junk_laden_request_for_a_cached_page_costs_no_more_round_trips(anon, products, monkeypatch):
    """The key is read without a FilterSet or a query: the rate limiter's call
    and the read cache's lookup, nothing else."""
    first = ok(anon.get(f"{PRODUCTS}?page_size=2&page=3"))
    trips = redis_round_trips(monkeypatch)
    again = anon.get(f"{PRODUCTS}?junk=1&page=03&page_size=2&utm_source=x")

    assert ok(again) == first
    assert [[command[0] for command in trip] for trip in trips] == [["EVALSHA", "EVALSHA"]]


def test_equivalent_spellings_of_one_page_share_one_entry(anon, products):
    spellings = [
        "in_stock=true&ordering=price&page_size=2&page=2&min_price=1.5",
        "page=02&page_size=002&in_stock=TRUE&ordering=price&min_price=15e-1",
        "ordering=-price&ordering=price&in_stock=1&page_size=2&page=9&page=2&search=&min_price=%2B1.5",
        "min_price=1.5&in_stock=True&page=%202&page_size=2&ordering=price&max_price=&is_active=",
        "search=%20%20&page_size=2&page=2&min_price=1.5&ordering=price&in_stock=1&junk=1",
    ]
    first = ok(anon.get(f"{PRODUCTS}?{spellings[0]}"))
    made, keys = entries_made(), redis_keys()

    for spelling in spellings[1:]:
        assert ok(anon.get(f"{PRODUCTS}?{spelling}")) == first, spelling

    assert entries_made() == made
    assert redis_keys() == keys
    assert [p["price"] for p in first["results"]] == ["3.50", "4.50"]


def test_the_first_page_and_page_one_are_one_entry(anon, products):
    first = ok(anon.get(PRODUCTS))
    made = entries_made()
    assert ok(anon.get(f"{PRODUCTS}?page=1")) == ok(anon.get(f"{PRODUCTS}?page=001&junk=2")) == first
    assert entries_made() == made


def test_a_page_cached_from_a_junk_laden_url_gives_every_reader_clean_links(anon, products):
    cached = ok(anon.get(f"{PRODUCTS}?utm_source=evil&page=02&junk=1&page_size=2&ordering=price&ordering=name"))
    made = entries_made()
    served = ok(anon.get(f"{PRODUCTS}?page_size=2&page=2&ordering=name&other=zzz"))

    assert served == cached and entries_made() == made  # the second reader got the cached page
    for body in (cached, served):
        assert body["next"].startswith("http://testserver/api/v1/products/?")
        assert query(body["next"]) == {"ordering": ["name"], "page": ["3"], "page_size": ["2"]}
        assert query(body["previous"]) == {"ordering": ["name"], "page_size": ["2"]}
    following = ok(anon.get(served["next"]))
    assert query(following["previous"]) == {"ordering": ["name"], "page": ["2"], "page_size": ["2"]}


def test_a_page_cached_for_one_host_keeps_that_hosts_links(anon, products):
    here = ok(anon.get(f"{PRODUCTS}?page_size=2"))
    there = ok(anon.get(f"{PRODUCTS}?page_size=2", HTTP_HOST="localhost"))
    assert here["next"].startswith("http://testserver/")
    assert there["next"].startswith("http://localhost/")


@pytest.mark.parametrize(
    ("cached", "refused", "attr"),
    [
        ("min_price=1.5", "min_price=1.500", "min_price"),  # the same value, more places than a price has
        ("in_stock=true", "in_stock=yes", "in_stock"),
        ("ordering=price", "ordering=PRICE", "ordering"),
        ("page_size=5", "page_size=5.0", "page_size"),
        ("page_size=5", "page_size=500", "page_size"),
    ],
)
def test_a_value_the_list_refuses_is_refused_even_beside_a_cached_page(anon, products, cached, refused, attr):
    ok(anon.get(f"{PRODUCTS}?{cached}"))
    ok(anon.get(f"{PRODUCTS}?{cached}"))  # cached now

    r = anon.get(f"{PRODUCTS}?{refused}")

    assert r.status_code == 400, r.content
    assert [e["attr"] for e in r.json()["errors"]] == [attr]


@pytest.mark.parametrize("refused", ["page=0", "page=-1", "page=two", "page="])
def test_a_bad_page_is_a_400_after_the_first_page_is_cached(anon, products, refused):
    ok(anon.get(PRODUCTS))
    r = anon.get(f"{PRODUCTS}?{refused}")
    assert r.status_code == 400, r.content


def test_a_product_is_one_entry_whatever_its_query_string_or_leading_zeros(anon, products):
    product_id = products[0]
    first = ok(anon.get(product_url(product_id)))
    made = entries_made()

    for n in range(10):
        assert ok(anon.get(f"{product_url(product_id)}?junk={n}")) == first
    assert ok(anon.get(f"{PRODUCTS}{product_id:04d}/")) == first

    assert entries_made() == made


def test_staff_and_the_public_still_have_pages_of_their_own(anon, staff_api, products):
    Product.objects.filter(id=products[0]).update(is_active=False)
    public = ok(anon.get(f"{PRODUCTS}?page_size=20"))
    staff = ok(staff_api.get(f"{PRODUCTS}?page_size=20"))
    assert (public["count"], staff["count"]) == (6, 7)


# --- The reader itself (no database) ----------------------------------------------------


def read(text: str) -> tuple[page_keys.Param, ...]:
    return page_keys.page_query_reader(ProductFilter)(QueryDict(text))


@pytest.mark.django_db(transaction=False)
def test_the_key_holds_each_recognised_parameter_as_the_list_reads_it():
    assert read("") == read("junk=1&format=json") == read("page=1&search=%20&ordering=") == ()
    assert read("page=3&page=02&page_size=020&in_stock=0&is_active=TRUE&search=%20ab%20&min_price=2.50") == (
        ("in_stock", "false", True),
        ("is_active", "true", True),
        ("min_price", "2.50", True),
        ("page", "2", True),
        ("page_size", "20", True),
        ("search", "ab", True),
    )
    # Refused values are kept as sent, and marked: the list answers them with a 400.
    assert read("page=0&in_stock=maybe&min_price=abc") == (
        ("in_stock", "maybe", False),
        ("min_price", "abc", False),
        ("page", "0", False),
    )
    # Spelled back, a key's parameters are read as the same key.
    params = read("page=02&in_stock=TRUE&min_price=15e-1&ordering=price")
    assert read(page_keys.query_string(params)[1:]) == params


class _ByCategory(filters.FilterSet):
    category = filters.MultipleChoiceFilter(choices=[("a", "a"), ("b", "b")])

    class Meta:
        model = Product
        fields: list[str] = []


class _ByRange(filters.FilterSet):
    price = filters.RangeFilter()

    class Meta:
        model = Product
        fields: list[str] = []


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("filterset", [_ByCategory, _ByRange])
def test_a_filter_reading_several_parameters_is_refused_rather_than_keyed_wrongly(filterset):
    with pytest.raises(ImproperlyConfigured, match="cannot be keyed"):
        page_keys.page_query_reader(filterset)
