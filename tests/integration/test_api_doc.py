"""docs/API.md and assets/openapi.yaml describe the same API.

docs/API.md is the contract people read; assets/openapi.yaml is what tools
read (the service serves it at GET /openapi.yaml). These tests keep the two
honest with each other, and with the configuration, without a running
service (no fixture here starts the stack):

- every route heading of docs/API.md ("### POST /upload", path parameters
  as "{fs_id}") is an operation of the spec, and every operation a heading;
- under each heading, the status table (rows starting "| 201 |") lists
  exactly the statuses the spec gives that operation, each once;
- the doc's table of 405 Allow headers names, for each path, the methods of
  its headings, with HEAD wherever GET is (the service answers HEAD where it
  answers GET; neither document gives HEAD an operation of its own);
- every route of conf/routes.conf has a heading, and every setting of
  src/modules/config.c a row of the configuration table with its default.

tests/integration/test_openapi.py checks the spec against the running
service; together they tie the doc to what the service does.
"""

import os
import re

import yaml

from test_openapi import route_paths

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
DOC = os.path.join(ROOT, "docs", "API.md")
SPEC = os.path.join(ROOT, "assets", "openapi.yaml")
CONFIG_C = os.path.join(ROOT, "src", "modules", "config.c")

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOW_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ROUTE_HEADING = re.compile(r"^### (%s) (/\S*)$" % "|".join(METHODS))
SECTION_END = re.compile(r"^#{1,3} ")
STATUS_ROW = re.compile(r"^\| (\d{3}) \|")
ALLOW_ROW = re.compile(r"^\| `(/[^`]*)` \| `([A-Z, ]+)` \|$")
CONFIG_ROW = re.compile(r"^\| `([A-Z_]+)` \| ([^|]+?) \|")


def doc_lines():
    """docs/API.md's lines outside fenced code blocks, with line numbers:
    a "# comment" in a shell example is not a heading."""
    fenced = False
    for n, line in enumerate(open(DOC, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield n, line


def doc_routes():
    """{(method, path): [status, ...]}: each route heading and the status
    rows under it, up to the next heading of level 3 or above."""
    routes, current = {}, None
    for n, line in doc_lines():
        if SECTION_END.match(line):
            current = None
            m = ROUTE_HEADING.match(line)
            if m:
                key = (m.group(1), m.group(2))
                assert key not in routes, \
                    "API.md:%d: %s %s has two headings" % ((n,) + key)
                current = routes[key] = []
            elif line.startswith("### "):
                word = line[4:].split(" ", 1)[0]
                assert word.upper() not in METHODS + ("HEAD",), \
                    "API.md:%d: a route heading is '### METHOD /path': %r" \
                    % (n, line)
            continue
        m = STATUS_ROW.match(line)
        if m and current is not None:
            current.append(int(m.group(1)))
    return routes


def spec_routes():
    """{(method, path): {status, ...}} of assets/openapi.yaml."""
    spec = yaml.safe_load(open(SPEC, encoding="utf-8"))
    assert spec["openapi"].startswith("3.0")
    return {(m.upper(), path): {int(code) for code in op["responses"]}
            for path, ops in spec["paths"].items()
            for m, op in ops.items() if m.upper() in METHODS}


def test_doc_and_spec_have_the_same_routes():
    doc, spec = set(doc_routes()), set(spec_routes())
    assert doc, "no '### METHOD /path' heading in docs/API.md"
    assert sorted(doc - spec) == [], "in docs/API.md, not in openapi.yaml"
    assert sorted(spec - doc) == [], "in openapi.yaml, not in docs/API.md"


def test_each_route_has_the_same_statuses():
    doc, spec = doc_routes(), spec_routes()
    wrong = []
    for key in sorted(set(doc) & set(spec)):
        statuses = doc[key]
        if not statuses:
            wrong.append("%s %s: no status table in docs/API.md" % key)
            continue
        twice = sorted({s for s in statuses if statuses.count(s) > 1})
        if twice:
            wrong.append("%s %s: docs/API.md lists %s twice" % (key + (twice,)))
        if set(statuses) != spec[key]:
            wrong.append("%s %s: docs/API.md %s, openapi.yaml %s" % (
                key + (sorted(set(statuses)), sorted(spec[key]))))
    assert wrong == [], "\n".join(wrong)


def test_allow_table_names_each_paths_methods():
    expected = {}
    for method, path in doc_routes():
        expected.setdefault(path, set()).add(method)
        if method == "GET":
            expected[path].add("HEAD")
    table = {}
    for n, line in doc_lines():
        m = ALLOW_ROW.match(line)
        if m:
            allow = m.group(2).split(", ")
            assert allow == [x for x in ALLOW_ORDER if x in allow], \
                "API.md:%d: Allow lists methods in this order: %s" % (
                    n, ", ".join(ALLOW_ORDER))
            table[m.group(1)] = set(allow)
    assert table == expected


def test_every_configured_route_has_a_heading():
    headings = {path for _, path in doc_routes()}
    assert set(route_paths()) == headings


def config_keys():
    """[(key, default)] of config_keys[] in src/modules/config.c: each entry
    holds exactly two string literals, its name and its default."""
    src = open(CONFIG_C, encoding="utf-8").read()
    m = re.search(r"config_keys\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "config_keys[] not found in src/modules/config.c"
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    literals = re.findall(r'"([^"]*)"', body)
    assert len(literals) % 2 == 0, literals
    pairs = list(zip(literals[::2], literals[1::2]))
    assert pairs and all(re.fullmatch(r"[A-Z][A-Z_]*", k) for k, _ in pairs), \
        pairs
    return pairs


def test_every_setting_is_documented_with_its_default():
    rows = {}
    for _, line in doc_lines():
        m = CONFIG_ROW.match(line)
        if m:
            rows[m.group(1)] = m.group(2)
    expected = {k: ("`%s`" % d if d else "(empty)") for k, d in config_keys()}
    assert {k: rows.get(k) for k in expected} == expected
