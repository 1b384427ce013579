"""ReDoc's bundle as /api/redoc/ loads it: from this server, without the
logo the sidecar's copy fetches from Redocly's CDN, cacheable and compressed.
(That the page then makes no request to another host is the browser's to
prove: tests/browser/test_docs.py.)"""

import gzip
import re

from config.api.redoc import CDN_LOGO, LOCAL_LOGO

BUNDLE = "/api/redoc/bundles/redoc.standalone.js"


def test_the_redoc_page_loads_the_bundle_from_this_server(client):
    page = client.get("/api/redoc/")

    assert page.status_code == 200
    assert re.findall(r'<script src="([^"]+)"', page.content.decode()) == [BUNDLE]


def test_the_bundle_draws_its_logo_from_itself_not_from_a_cdn(client):
    r = client.get(BUNDLE)

    assert r.status_code == 200
    assert r["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"cdn.redoc.ly" not in r.content and CDN_LOGO not in r.content
    assert r.content.count(LOCAL_LOGO) == 1
    assert b"//# sourceMappingURL=" not in r.content[-200:]  # the sidecar's map describes other bytes
    assert b"Redoc" in r.content and len(r.content) > 500_000


def test_the_bundle_is_gzipped_when_accepted_and_revalidated_by_its_etag(client):
    plain = client.get(BUNDLE)
    zipped = client.get(BUNDLE, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    again = client.get(BUNDLE, HTTP_IF_NONE_MATCH=plain["ETag"])

    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip" and len(zipped.content) < len(plain.content) / 2
    assert gzip.decompress(zipped.content) == plain.content
    for r in (plain, zipped):
        assert r["ETag"] == plain["ETag"] and "Accept-Encoding" in r["Vary"]
        assert r["Cache-Control"] == "public, max-age=86400"
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == plain["ETag"]
