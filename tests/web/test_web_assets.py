"""The web application's assets as `cbec serve` serves them (issue 17): the page and its modules from the
package, ETag/304 and Cache-Control, gzip where it helps, nothing outside api/web, vendored libraries with
their licences, Natural Earth with its public-domain notice, and the two dictionaries complete."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.routers import web

WEB = Path(web.WEB_ROOT)


@pytest.fixture(scope="module")
def client(net):
    from api.app import create_app

    with TestClient(create_app(network=net)) as c:
        yield c


def test_page_and_modules_are_served_with_validators(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache" and r.headers["etag"].startswith('"')
    again = client.get("/", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = client.head("/web/js/app.js")
    assert head.status_code == 200 and head.headers["etag"] and head.content == b""
    js = client.get("/web/js/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/javascript")
    leaflet = client.get("/web/vendor/leaflet/leaflet.js")
    assert leaflet.headers["cache-control"] == "public, max-age=86400"


def test_gzip_when_accepted_and_smaller(client):
    raw = client.get("/web/vendor/naturalearth/countries-50m.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    packed = client.get("/web/vendor/naturalearth/countries-50m.json", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    # the test client inflates the body; the bytes on the wire are the asset's gzip copy
    asset = web.load_asset("vendor/naturalearth/countries-50m.json")
    assert len(asset.gzipped) < len(asset.body) / 2 and gzip.decompress(asset.gzipped) == raw.content
    png = web.load_asset("vendor/leaflet/images/layers.png")
    assert png.gzipped is None  # already compressed: sent as it is


@pytest.mark.parametrize("path", ["/web/../routers/web.py", "/web/%2e%2e/routers/web.py", "/web/nope.js",
                                  "/web/vendor", "/web/.hidden"])
def test_nothing_outside_the_web_folder(client, path):
    r = client.get(path)
    assert r.status_code in (404, 422), (path, r.status_code)
    assert "import" not in r.text


def test_every_referenced_asset_exists():
    html = (WEB / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="/web/([^"]+)"', html)
    for path in WEB.joinpath("js").rglob("*.js"):
        text = path.read_text()
        refs += re.findall(r'"/web/([a-z0-9_./-]+\.(?:js|json|css))"', text)
        for rel in re.findall(r'from "(\.{1,2}/[^"]+)"', text) + re.findall(r'import\("(\.{1,2}/[^"]+)"\)', text):
            assert (path.parent / rel).resolve().is_file(), f"{path.name} imports missing {rel}"
    assert refs
    for ref in refs:
        assert (WEB / ref).is_file(), ref


def test_vendored_libraries_carry_their_licences_and_the_map_its_notice():
    for folder in ("leaflet", "chartjs", "topojson", "naturalearth"):
        assert any((WEB / "vendor" / folder).glob("LICENSE*")), folder
    notice = (WEB / "vendor" / "naturalearth" / "NOTICE.md").read_text()
    assert "public domain" in notice and "Natural Earth" in notice


def test_dictionaries_have_the_same_keys_and_cover_the_code():
    en = json.loads((WEB / "i18n" / "en.json").read_text())
    zh = json.loads((WEB / "i18n" / "zh-CN.json").read_text())
    assert set(en) <= set(zh), sorted(set(en) - set(zh))
    assert all(re.search(r"[\u4e00-\u9fff]", zh[k]) or not re.search(r"[a-z]{4}", zh[k]) for k in en if k.startswith(("nav.", "quote.")))
    code = "\n".join(p.read_text() for p in WEB.joinpath("js").rglob("*.js"))
    used = set(re.findall(r'\bt\("([a-z_]+\.[a-z_0-9]+)"', code)) | set(re.findall(r'field\("([a-z_]+\.[a-z_0-9]+)"', code))
    assert used and used <= set(en), sorted(used - set(en))
    nodes = [k for k in zh if k.startswith("node.")]
    assert "node.LODZ" in nodes and "node.MY_CITY" in nodes


def test_first_load_is_small():
    """The first load (page, styles, Leaflet, TopoJSON client, app modules of the map view, map data,
    dictionary) stays under 1.5 MB on the wire; Chart.js is loaded only by the pages with charts."""
    first = ["index.html", "app.css", "vendor/leaflet/leaflet.css", "vendor/leaflet/leaflet.js",
             "vendor/topojson/topojson-client.min.js", "vendor/naturalearth/countries-50m.json", "i18n/en.json"]
    first += [str(p.relative_to(WEB)) for p in WEB.joinpath("js").glob("*.js") if p.name != "samples.js"]
    first += ["js/views/mapview.js"]
    wire = 0
    for rel in first:
        asset = web.load_asset(rel)
        wire += len(asset.gzipped or asset.body)
    assert wire < 1_500_000, wire
    assert "chart.umd" not in (WEB / "index.html").read_text()
