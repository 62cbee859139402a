"""Reads a `kaizala serve` OData feed with pyodata, as a data team would,
and prints what it read as one JSON document for tests/odata_feed.rs.

Usage: read_feed.py SERVICE_URL [TOKEN]

pyodata (1.12) speaks OData V2: it parses the V4 `$metadata` (its Edm.Date,
unknown to V2, is let through by an error policy), builds every request
and runs `$count`; a response hook reshapes each V4 JSON page into the V2
form it decodes (`{"d": {"results", "__next", "__count"}}`, instants as
`/Date(ms)/`, Int64s as strings), so that pyodata's own entity proxies type every value.
"""

import datetime
import json
import sys
from urllib.parse import urlsplit

import pyodata
import requests
from pyodata.v2.model import Config, PolicyIgnore, Types

url = sys.argv[1]
token = sys.argv[2] if len(sys.argv) > 2 else ""

session = requests.Session()
if token:
    session.headers["Authorization"] = "Bearer " + token

TYPES = {}  # entity set -> {property: Edm type}


def millis(text):
    instant = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(instant.timestamp() * 1000)


def v4_to_v2(response):
    if response.status_code != 200:
        sys.stderr.write("%s: %s\n" % (response.url, response.text))
        return
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    body = response.json()
    if not isinstance(body, dict) or "value" not in body:
        return
    entity_set = urlsplit(response.url).path.rstrip("/").rsplit("/", 1)[-1]
    types = TYPES.get(entity_set, {})
    for row in body["value"]:
        for name, value in row.items():
            if value is None:
                continue
            if types.get(name) == "Edm.DateTimeOffset":
                row[name] = "/Date(%d)/" % millis(value)
            elif types.get(name) == "Edm.Int64":
                row[name] = str(value)
    page = {"results": body["value"]}
    if "@odata.nextLink" in body:
        page["__next"] = body["@odata.nextLink"]
    if "@odata.count" in body:
        page["__count"] = str(body["@odata.count"])
    response._content = json.dumps({"d": page}).encode()


service = pyodata.Client(
    url, session, config=Config(default_error_policy=PolicyIgnore()), response_hook=v4_to_v2
)
for es in service.schema.entity_sets:
    for p in es.entity_type.proprties():
        if type(p.typ).__name__ == "NullType":
            # Edm.Date, which V2 lacks: read as its text, YYYY-MM-DD.
            p._typ = Types.from_name("Edm.String")
    TYPES[es.name] = {p.name: p.typ.name for p in es.entity_type.proprties()}


def plain(value):
    if isinstance(value, datetime.datetime):
        return round(value.timestamp() * 1000)
    return value


def read_all(request):
    """Every row of a request, following the server's next links."""
    rows = []
    pages = 0
    total = None
    result = request.execute()
    while True:
        pages += 1
        rows.extend(result)
        if pages == 1 and result._total_count is not None:
            total = result._total_count
        if result.next_url is None:
            break
        result = service.entity_sets.__getattr__(request._entity_set_name).get_entities().next_url(
            result.next_url
        ).execute()
    return rows, pages, total


report = {"entity_sets": {}, "queries": {}}
for es in service.schema.entity_sets:
    name = es.name
    proxy = getattr(service.entity_sets, name)
    request = proxy.get_entities()
    request._entity_set_name = name
    rows, pages, _ = read_all(request)
    key = [p.name for p in es.entity_type.key_proprties]
    report["entity_sets"][name] = {
        "key": key,
        "properties": [p.name for p in es.entity_type.proprties()],
        "count": proxy.get_entities().count().execute(),
        "rows": len(rows),
        "pages": pages,
        "keys": sorted("|".join(str(plain(getattr(r, k))) for k in key) for r in rows),
    }

for label, entity_set, options in json.loads(sys.stdin.read()):
    proxy = getattr(service.entity_sets, entity_set)
    request = proxy.get_entities()
    request._entity_set_name = entity_set
    if "filter" in options:
        request = request.filter(options["filter"])
    if "orderby" in options:
        request = request.order_by(options["orderby"])
    if "top" in options:
        request = request.top(options["top"])
    if "skip" in options:
        request = request.skip(options["skip"])
    if "select" in options:
        request = request.select(options["select"])
    request = request.custom("$count", "true")
    request._entity_set_name = entity_set
    rows, pages, total = read_all(request)
    columns = options["select"].split(",")
    counted = proxy.get_entities()
    if "filter" in options:
        counted = counted.filter(options["filter"])
    report["queries"][label] = {
        "rows": [[plain(getattr(r, c)) for c in columns] for r in rows],
        "pages": pages,
        "total": total,
        "count": counted.count().execute(),
    }

json.dump(report, sys.stdout)
