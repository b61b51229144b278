"""assets/openapi.yaml describes exactly the routes the service answers.

The service is asked, not its configuration: every route of
conf/routes.conf is tried with every method, and a method the route
serves is one that is not answered 405. Those (method, path) pairs must
be the spec's, no more and no fewer. The document itself is then fetched
from the running service.
"""

import os
import re

import requests
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SAMPLE_ID = "0123456789abcdef01234567"


# The names of a regex route's [^/]+ parts, in order; {fs_id} elsewhere.
PARAMS = {"/shared/": ["fs_id", "rendition", "expires", "signature"]}
SAMPLES = {"fs_id": SAMPLE_ID, "rendition": "original", "expires": "1",
           "signature": "x"}


def route_paths():
    """The paths of routes.conf, each [^/]+ of a regex route a {name}."""
    paths = []
    for line in open(os.path.join(ROOT, "conf", "routes.conf")):
        words = line.split()
        if len(words) >= 2 and words[0] == "route" and words[1] != "^/.*$":
            path = words[1].strip("^$")
            names = iter(next((v for k, v in PARAMS.items()
                               if path.startswith(k)), ["fs_id"] * 4))
            paths.append(re.sub(r"\[\^/\]\+",
                                lambda m: "{%s}" % next(names), path))
    return paths


def served(base, token):
    out = set()
    for path in route_paths():
        url = base + re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)],
                            path)
        for m in METHODS:
            r = requests.request(m, url, timeout=30, headers={
                "Authorization": "Bearer " + token,
                "Content-Length": "0"})
            if r.status_code != 405:
                out.add((m, path))
            else:
                assert r.headers["Content-Type"] == "application/json"
                assert m not in r.headers["Allow"]
    return out


def documented():
    spec = yaml.safe_load(open(os.path.join(ROOT, "assets", "openapi.yaml")))
    assert spec["openapi"].startswith("3.0")
    return {(m.upper(), p) for p, ops in spec["paths"].items()
            for m in ops if m.upper() in METHODS}


def test_every_route_is_documented_and_nothing_else(kore_url, login):
    answered = served(kore_url, login())
    spec = documented()
    assert answered - spec == set(), "served but not in the spec"
    assert spec - answered == set(), "in the spec but not served"


def test_openapi_is_served(nginx_url, login):
    token = login()
    r = requests.get(nginx_url + "/openapi.yaml",
                     headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/yaml"
    assert r.content == open(os.path.join(ROOT, "assets", "openapi.yaml"),
                             "rb").read()
    assert requests.get(nginx_url + "/openapi.yaml").status_code == 401
