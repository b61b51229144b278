"""Authentication against the real stack (docs/API.md, "Authentication").

Logins go through nginx, as users' do; token checks go straight to one
Kore instance as well, so a failure points at the app and not the proxy.
"""

import base64
import hashlib
import hmac
import json
import subprocess
import time

import pytest
import requests

SEED_USERS = [("Mập", "Mập khùng"), ("Rex", "Rex siu super")]
DENIED = "wrong user name or password"


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(secret, header=None, claims=None, sign=True):
    """A JWT built by hand, so every field can be forged."""
    now = int(time.time())
    header = header or {"alg": "HS256", "typ": "JWT"}
    claims = claims if claims is not None else {
        "sub": "2", "username": "Rex", "iat": now, "exp": now + 600}
    signing_input = b64url(json.dumps(header).encode()) + "." + \
        b64url(json.dumps(claims).encode())
    if not sign:
        return signing_input + "."
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256)
    return signing_input + "." + b64url(mac.digest())


# ---- POST /login

@pytest.mark.parametrize("user,password", SEED_USERS)
def test_seed_users_log_in(nginx_url, user, password):
    r = requests.post(nginx_url + "/login",
                      headers={"Authorization": basic(user, password)})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["message"] == "Login success"
    assert r.headers["Authorization"] == "Bearer " + body["token"]

    me = requests.get(nginx_url + "/me",
                      headers={"Authorization": "Bearer " + body["token"]})
    assert me.status_code == 200
    assert me.json()["username"] == user
    assert me.json()["id"].isdigit()


LOGIN_DENIED_CASES = [
    ("wrong password", basic("Rex", "Rex siu super!")),
    ("empty password", basic("Rex", "")),
    ("unknown user", basic("Rexx", "Rex siu super")),
    ("user name differs in case", basic("rex", "Rex siu super")),
    ("user name with a trailing space", basic("Rex ", "Rex siu super")),
    ("user name without its accent", basic("Map", "Mập khùng")),
    ("SQL injection in the user", basic("' OR '1'='1' -- ", "x")),
    ("SQL injection in both", basic("Rex' -- ", "' OR 1=1 -- ")),
    ("UNION injection", basic("x' UNION SELECT 1, 'a' -- ", "a")),
    ("no header", None),
    ("not Basic", "Bearer abc"),
    ("not base64", "Basic ***"),
    ("no colon", "Basic " + base64.b64encode(b"Rex").decode()),
    ("empty user", basic("", "Rex siu super")),
]


@pytest.mark.parametrize("name,header", LOGIN_DENIED_CASES,
                         ids=[c[0] for c in LOGIN_DENIED_CASES])
def test_login_denied_alike(nginx_url, name, header):
    headers = {"Authorization": header} if header is not None else {}
    r = requests.post(nginx_url + "/login", headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == 'Basic realm="microgo"'
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"message": DENIED}
    assert "Authorization" not in r.headers


def test_original_curl_line_through_nginx(nginx_url):
    """The tutorial's own test: a POST with no body and no Content-Length."""
    out = subprocess.run(
        ["curl", "-s", "-X", "POST", "--user", "Rex:Rex siu super",
         "-w", "\n%{http_code}", nginx_url + "/login"],
        stdout=subprocess.PIPE, text=True, timeout=30, check=True).stdout
    body, status = out.rsplit("\n", 1)
    assert status == "200", body
    assert json.loads(body)["token"]


def test_login_only_by_post(kore_url):
    r = requests.get(kore_url + "/login",
                     headers={"Authorization": basic("Rex", "Rex siu super")})
    assert r.status_code == 405


# ---- Bearer tokens on a protected route

def forged_tokens(secret):
    now = int(time.time())
    good = make_token(secret)
    head, payload, sig = good.split(".")
    other = json.loads(base64.urlsafe_b64decode(payload + "=="))
    other["sub"] = "1"
    tampered = head + "." + b64url(json.dumps(other).encode()) + "." + sig
    return [
        ("tampered payload", tampered),
        ("alg none", make_token(secret, header={"alg": "none"}, sign=False)),
        ("alg none, signed", make_token(secret, header={"alg": "none"})),
        ("HS512 header", make_token(secret, header={"alg": "HS512"})),
        ("wrong key", make_token(secret + "x")),
        ("expired", make_token(secret, claims={
            "sub": "2", "username": "Rex", "iat": now - 7200,
            "exp": now - 3600})),
        ("issued a day ahead", make_token(secret, claims={
            "sub": "2", "username": "Rex", "iat": now + 86400,
            "exp": now + 2 * 86400})),
        ("no sub", make_token(secret, claims={
            "username": "Rex", "iat": now, "exp": now + 600})),
        ("no exp", make_token(secret, claims={
            "sub": "2", "username": "Rex", "iat": now})),
        ("garbage", "garbage"),
        ("three dots of garbage", "a.b.c"),
        ("empty signature", good.rsplit(".", 1)[0] + "."),
    ]


def test_valid_token_passes(kore_url, stack):
    token = make_token(stack.jwt_secret)
    r = requests.get(kore_url + "/me",
                     headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200
    assert r.json() == {"id": "2", "username": "Rex"}


def test_every_forged_token_is_refused(kore_url, stack):
    for name, token in forged_tokens(stack.jwt_secret):
        r = requests.get(kore_url + "/me",
                         headers={"Authorization": "Bearer " + token})
        assert r.status_code == 401, name
        assert r.headers["WWW-Authenticate"] == "Bearer", name
        assert r.headers["Content-Type"] == "application/json", name
        assert "message" in r.json(), name


BEARER_HEADER_CASES = [
    ("no header", None),
    ("no scheme", "{token}"),
    ("Basic scheme", "Basic {token}"),
    ("Bearer without token", "Bearer"),
    ("Bearer and two tokens", "Bearer {token} {token}"),
]


@pytest.mark.parametrize("name,template", BEARER_HEADER_CASES,
                         ids=[c[0] for c in BEARER_HEADER_CASES])
def test_bearer_header_forms(kore_url, stack, name, template):
    token = make_token(stack.jwt_secret)
    headers = {}
    if template is not None:
        headers["Authorization"] = template.format(token=token)
    r = requests.get(kore_url + "/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_token_from_login_is_well_formed(nginx_url, stack):
    r = requests.post(nginx_url + "/login",
                      headers={"Authorization": basic("Rex", "Rex siu super")})
    head, payload, _ = r.json()["token"].split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert header["alg"] == "HS256"
    assert set(claims) >= {"sub", "username", "iat", "exp"}
    assert isinstance(claims["sub"], str)
    assert claims["exp"] - claims["iat"] == 86400
    assert abs(claims["iat"] - time.time()) < 60


# ---- operations

def test_healthz(nginx_url):
    r = requests.get(nginx_url + "/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz(nginx_url):
    r = requests.get(nginx_url + "/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"mariadb": "ok", "mongodb": "ok"}


def test_unknown_route_is_json_404(kore_url):
    r = requests.get(kore_url + "/no/such/route")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json"
    assert "message" in r.json()


def test_request_lines_in_the_log(nginx_url, stack):
    rid = "itest-%d" % time.monotonic_ns()
    requests.get(nginx_url + "/healthz", headers={"X-Request-ID": rid})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [l for l in stack.app_log().splitlines() if rid in l]
        if lines:
            break
        time.sleep(0.05)
    assert len(lines) == 1
    line = lines[0]
    for field in ("host=", "pid=", "rid=" + rid, "method=GET",
                  "path=/healthz", "status=200", "ms=", "user="):
        assert field in line, (field, line)
    assert line[:4].isdigit() and "Z host=" in line


def test_secrets_never_logged(nginx_url, stack):
    requests.post(nginx_url + "/login",
                  headers={"Authorization": basic("Rex", "Rex siu super")})
    log = stack.app_log()
    assert "Rex siu super" not in log
    assert stack.jwt_secret not in log
    assert "eyJ" not in log


# ---- the README's "Adding a user", done as an operator would

def test_operator_adds_a_user(nginx_url, stack):
    """tools/microgo-passwd makes the argon2id string with the parameters
    the README states; inserted into authdb.users, it logs in."""
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    password = "a long passphrase, Ünïcode too"
    out = subprocess.run([os.path.join(root, "tools", "microgo-passwd")],
                         input=password + "\n", stdout=subprocess.PIPE,
                         text=True, timeout=30, check=True).stdout.strip()
    assert out.startswith("$argon2id$v=19$m=19456,t=2,p=1$")

    def sql(statement):
        subprocess.run(["mariadb", "--no-defaults", "-S",
                        stack.mariadb_socket, "-u", "root", "authdb", "-e",
                        statement], check=True, timeout=30)

    sql("INSERT INTO users (username, pwd) VALUES ('alice', '%s')" % out)
    try:
        r = requests.post(nginx_url + "/login",
                          headers={"Authorization": basic("alice", password)})
        assert r.status_code == 200, r.text
        assert requests.post(nginx_url + "/login", headers={
            "Authorization": basic("alice", password + "x")}
        ).status_code == 401
    finally:
        sql("DELETE FROM users WHERE username = 'alice'")
