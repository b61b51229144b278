"""assets/openapi.yaml describes exactly the routes the service answers.

The routes are read from conf/routes.conf (what Kore serves), the paths
from the spec; each side must cover the other, method for method. The
document is then fetched from the running service.
"""

import os
import re

import requests
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))


def served_routes():
    """{(METHOD, path)} from routes.conf; a regex route's [^/]+ segment
    becomes {param} as in OpenAPI."""
    routes, methods = {}, {}
    for line in open(os.path.join(ROOT, "conf", "routes.conf")):
        words = line.split()
        if len(words) >= 2 and words[0] == "route":
            routes[words[1]] = None
        elif len(words) >= 3 and words[0] == "restrict":
            methods[words[1]] = [m.upper() for m in words[2:]
                                 if m.lower() != "head"]
    out = set()
    for path in routes:
        if path == "^/.*$":
            continue                    # the JSON 404 for everything else
        assert path in methods, "route %s has no restrict line" % path
        pretty = re.sub(r"\[\^/\]\+", "{fs_id}", path).strip("^$")
        for m in methods[path]:
            out.add((m, pretty))
    return out


def spec_routes():
    spec = yaml.safe_load(open(os.path.join(ROOT, "assets", "openapi.yaml")))
    assert spec["openapi"].startswith("3.0")
    return {(m.upper(), p) for p, ops in spec["paths"].items()
            for m in ops if m in ("get", "post", "put", "delete", "patch")}


def test_every_route_is_documented_and_nothing_else():
    served, documented = served_routes(), spec_routes()
    assert served - documented == set(), "served but not in the spec"
    assert documented - served == set(), "in the spec but not served"


def test_openapi_is_served(nginx_url, login):
    token = login()
    r = requests.get(nginx_url + "/openapi.yaml",
                     headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/yaml"
    assert r.content == open(os.path.join(ROOT, "assets", "openapi.yaml"),
                             "rb").read()
    assert requests.get(nginx_url + "/openapi.yaml").status_code == 401
