#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""fake_azure.py - a local fake of the Microsoft identity platform, IMDS and Azure Resource
Manager's managed Run Command, written from /work/shared/azure-run-command.md (§1, §3, §4, §5),
for runbookd's integration tests. Python 3 standard library only (plus the openssl CLI, to
verify JWT client assertions).

    fake_azure.py --dir DIR --cert SERVER.pem --key SERVER.key --config CONFIG.json

Serves HTTPS on 127.0.0.1 (identity platform + Resource Manager) and plain HTTP (IMDS); writes
DIR/ports.json {"https": N, "imds": N} once listening. CONFIG.json is re-read whenever it changes
(the tests' control channel); DIR/state.json is rewritten after every request (what the tests
check: request log with times, tokens issued per principal ("token_requests"), token requests
received per client id, answered or not ("token_attempts"), HTTPS connections accepted
("connections"), live and deleted run commands).
"token_delay": the client's token requests are answered S seconds late. "state_interval": S: state.json
is rewritten at most every S seconds (for benchmarks), not after every request.

Config:
  {"tenants": {"TENANT": {"clients": {"CLIENT_ID": {"secret": "...", "certs": ["cert.pem"],
                                                    "token_lifetime": 3600, "token_delay": S}}}},
   "managed_identity": {"client_ids": ["ID", ...], "system": true, "token_lifetime": 3600},
   "denied": {"PRINCIPAL": ["Microsoft.Compute/virtualMachines/runCommands/write", ...]},
   "permissions": {"PRINCIPAL": [{"actions": ["Microsoft.Compute/*"], "notActions": [...]},
                                 "Virtual Machine Contributor", "Reader", ...]},
   "vms": {"VM": {"subscription": "...", "resource_group": "...", "location": "westeurope",
                  "power": "running" | "deallocated" | "stopped",
                  "faults": {"put_429": N, "retry_after": S, "put_409": N, "put_500": N,
                             "arm_401": true, "exec_delay": S, "lose": true,
                             "result": {"executionState": "Failed", "exitCode": null, ...}}}}}
"result" overrides the managed run command's final instance view fields (null leaves one out).
"protectedParameters" of a managed run command become environment variables of the script, as
"parameters" do, and are never echoed back; state.json "protected" lists the names each PUT carried,
and a PUT with a protected value also in its script or "parameters" is refused (400) and counted
in "protected_in_clear".
Action Run Command (§2): POST .../virtualMachines/VM/runCommand (needs runCommand/action; one at a
time per VM, else 409 Conflict; a VM not running gets 409 OperationNotAllowed) really runs the script
lines (joined with newlines; "parameters" values become $1, $2, ...) and answers 202 with
Azure-AsyncOperation and Location URLs on .../locations/REGION/operations/ID carrying long signed
query strings (p, t, c, s, h; any change to them is refused with 400, so clients must use them
verbatim). The operation answers {"status": "InProgress"} until the script ends, then "Succeeded"
with properties.output.value; Location answers 202, then 200 {"value": [...]} whose message is
"Enable succeeded: \n[stdout]\n<last 4096 bytes>\n[stderr]\n<last 4096 bytes>" (the exit status
is dropped, as the guest extension does). Faults for it (in the VM's "faults"): "post_429",
"post_409", "post_500" (N times, like put_*), "poll_retry_after": S (Retry-After on the 202 and on
every "not yet" poll answer), "op_429"/"op_500": N (the next N polls), "op_fail": CODE (the
operation ends Failed with that error code after the script), "min_seconds": S (InProgress at
least that long), "post_delay": S (the 202 is sent S seconds after the run started).
Polling discipline, per operation in state.json "operations": "polls" (GETs on either URL),
"asked" (answers that invited one more request: the 202, every "not yet", 429/500, and the
Succeeded status that invites the final GET), "early" (GETs sent before the Retry-After of the
previous answer had passed), "retry_after_sent" (the seconds asked for, summed).

Audiences (§1, §5.2): a token is issued for one resource. The identity platform takes only a
scope "<resource>/.default" (else 400 AADSTS70011, invalid scope) whose resource is one it
knows ("resources", default: the public cloud's Resource Manager App ID URIs, with and without the
trailing slash; else 400 AADSTS500011, no such resource principal); IMDS takes the same resources as
"resource" (else 400 invalid_resource, AADSTS500011). Resource Manager checks the audience of the
token on every call against "arm_audiences" (default: the four §5.2 lists), and answers 401
InvalidAuthenticationTokenAudience with ARM's message otherwise. state.json "audiences" counts the
audiences of the tokens issued.

"lose": the VM's run commands vanish (their scripts are killed) at the next request, recorded in
state.json "lost", not "deleted": a run command that is gone without anyone deleting it.
Principals: a client id, or "mi:CLIENT_ID" / "mi:system" for managed identities.

RBAC: a principal's role assignments on the VM are its "permissions" entries (a role's
{"actions", "notActions"}, or a built-in role's name); a principal not listed holds
{"actions": ["*"], "notActions": its "denied" actions}. Both the permissions API (GET
.../virtualMachines/VM/providers/Microsoft.Authorization/permissions, api-version 2022-04-01, one
entry per assignment) and every ARM call evaluate them as Azure does: an action is granted when some
entry matches it in actions and not in notActions ('*' wildcards, case-insensitive); else 403
AuthorizationFailed. The instance view reports the VM's "power" (PowerState/running by default).
"""
import argparse
import base64
import hashlib
import json
import os
import pwd
import re
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# the public cloud's Resource Manager: the audiences ARM accepts (§5.2), which are also the
# resources the identity platform and IMDS issue tokens for
ARM_AUDIENCES = ["https://management.core.windows.net/", "https://management.core.windows.net",
                 "https://management.azure.com/", "https://management.azure.com"]


def known_resources():
    return CONFIG.get("resources", ARM_AUDIENCES)

LOCK = threading.RLock()
ARGS = None
CONFIG = {}
CONFIG_MTIME = None
STATE = {"requests": [], "token_requests": {}, "run_commands": {}, "deleted": [], "lost": [], "tokens_issued": 0,
         "operations": {}, "token_attempts": {},
         "connections": 0, "protected": [], "protected_in_clear": 0}
ACTIVE_ACTION = {}   # vm -> operation id of its running action run command
SIGN_KEY = secrets.token_bytes(32)
TOKENS = {}      # token -> {"principal", "exp", "aud"}
PROCS = {}       # run command id -> Popen
TAIL = 4096


# Built-in roles (the parts of their definitions that matter here).
ROLES = {
    "Virtual Machine Contributor": {"actions": [
        "Microsoft.Authorization/*/read", "Microsoft.Compute/availabilitySets/*", "Microsoft.Compute/locations/*",
        "Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/virtualMachineScaleSets/*",
        "Microsoft.Compute/disks/write", "Microsoft.Compute/disks/read", "Microsoft.Compute/disks/delete",
        "Microsoft.Network/networkInterfaces/*", "Microsoft.Resources/subscriptions/resourceGroups/read"],
        "notActions": []},
    "Reader": {"actions": ["*/read"], "notActions": []},
    "Owner": {"actions": ["*"], "notActions": []},
}


def action_matches(pattern, action):
    rx = "".join(".*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, action, re.IGNORECASE) is not None


def permissions_of(principal):
    entries = CONFIG.get("permissions", {}).get(principal)
    if entries is None:
        entries = [{"actions": ["*"], "notActions": CONFIG.get("denied", {}).get(principal, [])}]
    out = []
    for e in entries:
        e = ROLES[e] if isinstance(e, str) else e
        out.append({"actions": list(e.get("actions", [])), "notActions": list(e.get("notActions", [])),
                    "dataActions": [], "notDataActions": [], "condition": None, "conditionVersion": None})
    return out


def granted(principal, action):
    return any(any(action_matches(a, action) for a in e["actions"]) and
               not any(action_matches(n, action) for n in e["notActions"]) for e in permissions_of(principal))


def load_config():
    global CONFIG, CONFIG_MTIME
    try:
        m = os.stat(ARGS.config).st_mtime_ns
    except OSError:
        return
    if m != CONFIG_MTIME:
        with open(ARGS.config) as f:
            CONFIG = json.load(f)
        CONFIG_MTIME = m


def apply_losses():
    """Faults "lose": the VM's run commands disappear (no DELETE); their scripts are killed."""
    for vm, vm_cfg in CONFIG.get("vms", {}).items():
        if not vm_cfg.get("faults", {}).get("lose"):
            continue
        for rc_id in [k for k in STATE["run_commands"] if "/virtualMachines/%s/runCommands/" % vm in k]:
            STATE["run_commands"].pop(rc_id)
            STATE["lost"].append({"id": rc_id, "t": time.time()})
            p = PROCS.pop(rc_id, None)
            if p is not None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def apply_action_losses():
    for vm, vm_cfg in CONFIG.get("vms", {}).items():
        if not vm_cfg.get("faults", {}).get("lose"):
            continue
        for op_id in [k for k, o in STATE["operations"].items() if o["vm"] == vm]:
            STATE["operations"].pop(op_id)
            STATE["lost"].append({"id": "operations/" + op_id, "t": time.time()})
            if ACTIVE_ACTION.get(vm) == op_id:
                ACTIVE_ACTION.pop(vm)
            p = PROCS.pop(op_id, None)
            if p is not None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def op_signature(op_id, p, t, c):
    return b64url(hashlib.sha256(SIGN_KEY + ("%s|%s|%s|%s" % (op_id, p, t, c)).encode()).digest())


STATE_DIRTY = threading.Event()


def save_state():
    """Rewrites state.json now; with "state_interval": S in the config (benchmarks: many requests),
    at most every S seconds, from a flusher thread."""
    if CONFIG.get("state_interval"):
        STATE_DIRTY.set()
        return
    write_state()


def state_flusher():
    while True:
        time.sleep(float(CONFIG.get("state_interval") or 0.5))
        if STATE_DIRTY.is_set():
            with LOCK:
                STATE_DIRTY.clear()
                try:
                    write_state()
                except RuntimeError:   # a request's log entry changed while it was written: again
                    STATE_DIRTY.set()


def write_state():
    tmp = os.path.join(ARGS.dir, "state.json.tmp")
    with open(tmp, "w") as f:
        json.dump(STATE, f, indent=1)
    os.replace(tmp, os.path.join(ARGS.dir, "state.json"))


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def arm_headers(status):
    rid = str(uuid.uuid4())
    return {"x-ms-request-id": rid, "x-ms-correlation-request-id": rid,
            "x-ms-routing-request-id": "WESTEUROPE:%s:%s" % (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), rid),
            "Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1",
            "X-Content-Type-Options": "nosniff"}


def verify_assertion(assertion, client, token_url_suffix):
    """Returns None if the JWT client assertion is good, else the AADSTS code (700027/700024)."""
    try:
        h64, c64, s64 = assertion.split(".")
        header = json.loads(b64url_decode(h64))
        claims = json.loads(b64url_decode(c64))
        sig = b64url_decode(s64)
    except Exception:
        return 700027
    if header.get("alg") not in ("RS256", "PS256"):
        return 700027
    cert = None
    for path in client.get("certs", []):
        with open(path) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        if header.get("x5t#S256", "").rstrip("=") == b64url(hashlib.sha256(der).digest()) or \
           header.get("x5t", "").rstrip("=") == b64url(hashlib.sha1(der).digest()):
            cert = path
    if cert is None:
        return 700027
    with tempfile.TemporaryDirectory() as d:
        pub, sigf, data = os.path.join(d, "pub"), os.path.join(d, "sig"), os.path.join(d, "data")
        subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", cert, "-out", pub], check=True)
        with open(sigf, "wb") as f:
            f.write(sig)
        with open(data, "wb") as f:
            f.write((h64 + "." + c64).encode())
        cmd = ["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sigf]
        if header["alg"] == "PS256":
            cmd += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]
        if subprocess.run(cmd + [data], capture_output=True).returncode != 0:
            return 700027
    if not str(claims.get("aud", "")).endswith(token_url_suffix):
        return 700027
    if claims.get("iss") != claims.get("sub") or claims.get("iss") != client["id"]:
        return 700027
    now = time.time()
    if not (claims.get("nbf", claims.get("iat", now)) - 300 <= now <= claims.get("exp", 0) + 300):
        return 700024
    return None


def run_script(rc_id, script, env_params, timeout, delay, result=None):
    if delay:
        time.sleep(delay)
    with LOCK:
        rc = STATE["run_commands"].get(rc_id)
        if rc is None:
            return
        iv = rc["properties"]["instanceView"]
        iv.update(executionState="Running", executionMessage="Execution in progress",
                  startTime=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
        save_state()
    work = tempfile.mkdtemp(prefix="rc-", dir=ARGS.dir)
    os.chmod(work, 0o777)
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "LANG": "C.UTF-8"}
    env.update(env_params)
    kw = {}
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    p = subprocess.Popen(["/bin/sh", "-c", script], cwd=work, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw)
    with LOCK:
        PROCS[rc_id] = p
    try:
        out, err = p.communicate(timeout=timeout or None)
        code = p.returncode if p.returncode >= 0 else -1
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        code = -1
    with LOCK:
        PROCS.pop(rc_id, None)
        rc = STATE["run_commands"].get(rc_id)
        if rc is None:
            return
        iv = rc["properties"]["instanceView"]
        iv.update(exitCode=code, output=out[-TAIL:].decode("utf-8", "replace"),
                  error=err[-TAIL:].decode("utf-8", "replace"),
                  endTime=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                  outputBytes=len(out), errorBytes=len(err))
        if code == 0:
            iv.update(executionState="Succeeded", executionMessage="Execution completed")
        else:
            iv.update(executionState="Failed",
                      executionMessage="Execution failed: failed to execute command: command terminated with exit status=%d" % code)
        for k, v in (result or {}).items():
            # fault "result": the instance view's fields as given (null: the field left out)
            if v is None:
                iv.pop(k, None)
            else:
                iv[k] = v
        rc["properties"]["provisioningState"] = "Succeeded"
        save_state()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with LOCK:   # one handler per connection: count the HTTPS (TLS) ones
            if not self.server.imds:
                STATE["connections"] += 1

    def log_message(self, fmt, *args):   # request lines only: no headers, no bodies
        with open(os.path.join(ARGS.dir, "access.log"), "a") as f:
            f.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

    def reply(self, status, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def arm_error(self, status, code, message, headers=None):
        h = arm_headers(status)
        h.update(headers or {})
        self.reply(status, {"error": {"code": code, "message": message}}, h)

    def body(self):
        """The request body, read once (dispatch() reads it before anything can answer: an answer
        that left it unread would poison the next request on a kept-alive connection)."""
        if getattr(self, "_body", None) is None:
            n = int(self.headers.get("Content-Length") or 0)
            self._body = self.rfile.read(n) if n else b""
        return self._body

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        self._body = None
        self.body()
        with LOCK:
            load_config()
            apply_losses()
            apply_action_losses()
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        parts = [p for p in u.path.split("/") if p]
        try:
            if self.server.imds:
                self.imds(method, u.path, q)
            elif method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
                self.token(parts[0])
            elif len(parts) == 8 and parts[0] == "subscriptions" and parts[2] == "providers" \
                    and parts[4].lower() == "locations" and parts[6] == "operations":
                self.operation(method, parts, q)
            elif len(parts) >= 8 and parts[0] == "subscriptions" and parts[2].lower() == "resourcegroups" \
                    and parts[6].lower() == "virtualmachines":
                self.arm(method, parts, q)
            else:
                self.reply(404, {"error": {"code": "NotFound", "message": "no such endpoint"}})
        finally:
            with LOCK:
                save_state()

    # ---------------------------------------------------------------- identity
    def issue(self, principal, lifetime, audience, imds=False):
        token = "fake-" + secrets.token_hex(24)
        with LOCK:
            TOKENS[token] = {"principal": principal, "exp": time.time() + lifetime, "aud": audience}
            STATE.setdefault("audiences", {})
            STATE["audiences"][audience] = STATE["audiences"].get(audience, 0) + 1
            STATE["token_requests"][principal] = STATE["token_requests"].get(principal, 0) + 1
            STATE["tokens_issued"] += 1
            STATE["requests"].append({"t": time.time(), "kind": "token", "principal": principal})
        if imds:
            now = int(time.time())
            return {"access_token": token, "refresh_token": "", "expires_in": str(lifetime),
                    "expires_on": str(now + lifetime), "not_before": str(now),
                    "resource": audience, "token_type": "Bearer"}
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}

    def aad_error(self, status, error, code, desc):
        self.reply(status, {"error": error, "error_description": "AADSTS%d: %s\r\nTrace ID: %s" % (code, desc, uuid.uuid4()),
                            "error_codes": [code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
                            "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())},
                   {"Cache-Control": "no-store, no-cache"})

    def token(self, tenant):
        form = {k: v[0] for k, v in parse_qs(self.body().decode()).items()}
        t = CONFIG.get("tenants", {}).get(tenant)
        if t is None:
            return self.aad_error(400, "invalid_request", 90002, "Tenant '%s' not found." % tenant)
        cid = form.get("client_id", "")
        client = t.get("clients", {}).get(cid)
        with LOCK:
            STATE["token_attempts"][cid] = STATE["token_attempts"].get(cid, 0) + 1
        if client and client.get("token_delay"):
            time.sleep(float(client["token_delay"]))
        if client is None:
            return self.aad_error(400, "unauthorized_client", 700016,
                                  "Application with identifier '%s' was not found in the directory '%s'." % (cid, tenant))
        client = dict(client, id=cid)
        if "client_secret" in form:
            if form["client_secret"] != client.get("secret"):
                return self.aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        elif "client_assertion" in form:
            bad = verify_assertion(form["client_assertion"], client, "/%s/oauth2/v2.0/token" % tenant)
            if bad:
                return self.aad_error(401, "invalid_client", bad, "Client assertion failed validation.")
        else:
            return self.aad_error(401, "invalid_client", 7000218,
                                  "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        scope = form.get("scope", "")
        if not scope.endswith("/.default") or " " in scope:
            return self.aad_error(400, "invalid_scope", 70011,
                                  "The provided request must include a 'scope' input parameter. The provided value "
                                  "for the input parameter 'scope' is not valid. The scope %s is not valid." % scope)
        resource = scope[:-len("/.default")]
        if resource not in known_resources():
            return self.aad_error(400, "invalid_resource", 500011,
                                  "The resource principal named %s was not found in the tenant named %s. This can "
                                  "happen if the application has not been installed by the administrator of the "
                                  "tenant or consented to by any user in the tenant." % (resource, tenant))
        self.reply(200, self.issue(cid, int(client.get("token_lifetime", 3599)), resource),
                   {"Cache-Control": "no-store, no-cache"})

    def imds(self, method, path, q):
        if path != "/metadata/identity/oauth2/token":
            return self.reply(404, {"error": "not_found"})
        if self.headers.get("Metadata") != "true":
            return self.reply(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
        mi = CONFIG.get("managed_identity")
        cid = q.get("client_id", [None])[0]
        if mi is None or (cid is None and not mi.get("system")) or (cid is not None and cid not in mi.get("client_ids", [])):
            return self.reply(400, {"error": "invalid_request", "error_description": "Identity not found"})
        resource = q.get("resource", [""])[0]
        if resource not in known_resources():
            return self.reply(400, {"error": "invalid_resource",
                                    "error_description": "AADSTS500011: The resource principal named %s was not "
                                                         "found in the tenant named fake." % resource})
        self.reply(200, self.issue("mi:" + (cid or "system"), int(mi.get("token_lifetime", 3599)), resource, imds=True))

    # ---------------------------------------------------------------- Resource Manager
    def principal(self, vm_cfg):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            self.arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                           {"x-ms-failure-cause": "gateway"})
            return None
        tok = TOKENS.get(auth[7:])
        if tok is None or (vm_cfg or {}).get("faults", {}).get("arm_401"):
            self.arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.", {"x-ms-failure-cause": "gateway"})
            return None
        audiences = CONFIG.get("arm_audiences", ARM_AUDIENCES)
        if tok["aud"] not in audiences:
            self.arm_error(401, "InvalidAuthenticationTokenAudience",
                           "The access token has been obtained for wrong audience or resource '%s'. It should exactly "
                           "match with one of the allowed audiences %s." % (tok["aud"], ",".join("'%s'" % a for a in audiences)),
                           {"x-ms-failure-cause": "gateway"})
            return None
        if tok["exp"] < time.time():
            self.arm_error(401, "ExpiredAuthenticationToken",
                           "The access token expiry UTC time is earlier than current UTC time.",
                           {"x-ms-failure-cause": "gateway"})
            return None
        return tok["principal"]

    def allowed(self, principal, action, scope):
        if action in CONFIG.get("denied", {}).get(principal, []) or not granted(principal, action):
            self.arm_error(403, "AuthorizationFailed",
                           "The client '%s' with object id '%s' does not have authorization to perform action '%s' "
                           "over scope '%s' or the scope is invalid. If access was recently granted, please refresh "
                           "your credentials." % (principal, uuid.uuid5(uuid.NAMESPACE_OID, principal), action, scope),
                           {"x-ms-failure-cause": "gateway"})
            return False
        return True

    def arm(self, method, parts, q):
        sub, rg, vm = parts[1], parts[3], parts[7]
        rest = parts[8:]
        vm_cfg = CONFIG.get("vms", {}).get(vm)
        log = {"t": time.time(), "kind": "arm", "method": method, "vm": vm, "path": "/".join(rest)}
        with LOCK:
            STATE["requests"].append(log)
            save_state()   # seen on arrival, even if the answer never gets out
        principal = self.principal(vm_cfg)
        if principal is None:
            log["status"] = 401
            return
        log["principal"] = principal
        if "api-version" not in q:
            return self.arm_error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required.")
        scope = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (sub, rg, vm)
        if vm_cfg is None or vm_cfg.get("subscription", sub) != sub or vm_cfg.get("resource_group", rg) != rg:
            log["status"] = 404
            return self.arm_error(404, "ResourceNotFound",
                                  "The Resource 'Microsoft.Compute/virtualMachines/%s' under resource group '%s' was "
                                  "not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix" % (vm, rg))
        faults = vm_cfg.get("faults", {})
        if not rest:
            if method != "GET" or not self.allowed(principal, "Microsoft.Compute/virtualMachines/read", scope):
                return
            return self.reply(200, {"name": vm, "id": scope, "type": "Microsoft.Compute/virtualMachines",
                                    "location": vm_cfg.get("location", "westeurope"),
                                    "properties": {"provisioningState": "Succeeded"}}, arm_headers(200))
        if [r.lower() for r in rest] == ["providers", "microsoft.authorization", "permissions"]:
            if method != "GET":
                return self.arm_error(405, "MethodNotAllowed", "method not allowed")
            # anyone may list their own permissions (no action needed)
            log["status"] = 200
            return self.reply(200, {"value": permissions_of(principal)}, arm_headers(200))
        if rest == ["instanceView"]:
            if not self.allowed(principal, "Microsoft.Compute/virtualMachines/read", scope):
                return
            log["status"] = 200
            return self.reply(200, {"computerName": vm, "osName": "debian", "osVersion": "12",
                                    "vmAgent": {"vmAgentVersion": "2.9.1.1"}, "statuses": [
                {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
                {"code": "PowerState/" + vm_cfg.get("power", "running"), "level": "Info",
                 "displayStatus": "VM " + vm_cfg.get("power", "running")}]}, arm_headers(200))
        if rest == ["runCommand"]:
            if method != "POST":
                return self.arm_error(405, "MethodNotAllowed", "method not allowed")
            return self.action_post(principal, scope, sub, vm, vm_cfg, faults, q, log)
        if len(rest) != 2 or rest[0] != "runCommands":
            return self.arm_error(404, "NotFound", "no such resource")
        rc_id = scope + "/runCommands/" + rest[1]
        if method == "PUT":
            body = json.loads(self.body() or b"{}")
            if not self.allowed(principal, "Microsoft.Compute/virtualMachines/runCommands/write", scope):
                log["status"] = 403
                return
            if self.injected_fault("put", faults, log):
                return
            if vm_cfg.get("power", "running") != "running":
                log["status"] = 409
                return self.arm_error(409, "OperationNotAllowed", "The operation requires the VM to be running (or set to run).")
            props = body.get("properties", {})
            script = props.get("source", {}).get("script")
            if not body.get("location") or script is None:
                return self.arm_error(400, "InvalidParameter", "location and properties.source.script are required")
            env = {p["name"]: p["value"] for p in props.get("parameters", []) if p.get("name")}
            # protectedParameters: environment variables too, never echoed back; a protected value
            # that also stands in the script or in "parameters" was sent in clear: refused
            protected = [p for p in props.get("protectedParameters", []) if p.get("name")]
            clear = json.dumps({"script": script, "parameters": props.get("parameters", [])})
            if any(p.get("value") and p["value"] in clear for p in protected):
                with LOCK:
                    STATE["protected_in_clear"] += 1
                log["status"] = 400
                return self.arm_error(400, "InvalidParameter", "a protected parameter's value is also in the clear")
            env.update({p["name"]: p.get("value", "") for p in protected})
            with LOCK:
                STATE["protected"].append({"id": rc_id, "names": sorted(p["name"] for p in protected)})
            rc = {"name": rest[1], "id": rc_id, "type": "Microsoft.Compute/virtualMachines/runCommands",
                  "location": body["location"],
                  "properties": {"source": {"script": script}, "parameters": props.get("parameters", []),
                                 "asyncExecution": props.get("asyncExecution", False),
                                 "timeoutInSeconds": props.get("timeoutInSeconds", 0),
                                 "provisioningState": "Creating",
                                 "instanceView": {"executionState": "Pending", "executionMessage": "",
                                                  "exitCode": 0, "output": "", "error": "", "startTime": None,
                                                  "endTime": None, "statuses": None}}}
            with LOCK:
                STATE["run_commands"][rc_id] = rc
            threading.Thread(target=run_script, daemon=True,
                             args=(rc_id, script, env, props.get("timeoutInSeconds", 0), faults.get("exec_delay", 0),
                                   faults.get("result"))).start()
            op = "https://%s/subscriptions/%s/providers/Microsoft.Compute/locations/%s/operations/%s?p=%s&api-version=%s" % (
                self.headers.get("Host"), sub, body["location"], uuid.uuid4(), uuid.uuid4(), q["api-version"][0])
            h = arm_headers(201)
            h["Azure-AsyncOperation"] = op
            log["status"] = 201
            out = json.loads(json.dumps(rc))
            del out["properties"]["instanceView"]
            return self.reply(201, out, h)
        if method == "GET":
            if not self.allowed(principal, "Microsoft.Compute/virtualMachines/runCommands/read", scope):
                return
            with LOCK:
                rc = STATE["run_commands"].get(rc_id)
                rc = json.loads(json.dumps(rc)) if rc else None
            if rc is None:
                return self.arm_error(404, "NotFound", "The entity was not found.")
            iv = rc["properties"].pop("instanceView")
            if q.get("$expand", [""])[0] == "instanceView":
                iv.pop("outputBytes", None)
                iv.pop("errorBytes", None)
                rc["properties"]["instanceView"] = iv
            log["status"] = 200
            return self.reply(200, rc, arm_headers(200))
        if method == "DELETE":
            if not self.allowed(principal, "Microsoft.Compute/virtualMachines/runCommands/delete", scope):
                return
            with LOCK:
                rc = STATE["run_commands"].pop(rc_id, None)
                p = PROCS.pop(rc_id, None)
                if rc:
                    STATE["deleted"].append({"id": rc_id, "t": time.time(),
                                             "state": rc["properties"]["instanceView"]["executionState"]})
            if p is not None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            log["status"] = 200 if rc else 204
            return self.reply(200 if rc else 204, None, arm_headers(200))
        self.arm_error(405, "MethodNotAllowed", "method not allowed")


    def injected_fault(self, what, faults, log):
        """Faults WHAT_429 (with Retry-After: "retry_after"), WHAT_409 (Conflict: another run
        command is in progress), WHAT_500: answered N times. True if one was answered."""
        with LOCK:
            kind = next((k for k in ("429", "409", "500") if faults.get("%s_%s" % (what, k), 0) > 0), None)
            if kind is None:
                return False
            faults["%s_%s" % (what, kind)] -= 1
        log["status"] = int(kind)
        if kind == "429":
            self.arm_error(429, "OperationNotAllowed", "The server rejected the request because too many requests "
                           "have been received for this subscription.", {"Retry-After": str(faults.get("retry_after", 1))})
        elif kind == "409":
            self.arm_error(409, "Conflict", "Run command extension execution is in progress. "
                           "Please wait for completion before invoking a run command.")
        else:
            self.arm_error(500, "InternalServerError", "Internal error.")
        return True

    # ---------------------------------------------------------------- action Run Command (§2)
    def action_post(self, principal, scope, sub, vm, vm_cfg, faults, q, log):
        try:
            body = json.loads(self.body() or b"{}")
        except ValueError:
            body = None
        if not self.allowed(principal, "Microsoft.Compute/virtualMachines/runCommand/action", scope):
            log["status"] = 403
            return
        if self.injected_fault("post", faults, log):
            return
        if vm_cfg.get("power", "running") != "running":
            log["status"] = 409
            return self.arm_error(409, "OperationNotAllowed", "The operation requires the VM to be running (or set to run).")
        if not isinstance(body, dict) or not body.get("commandId"):
            log["status"] = 400
            return self.arm_error(400, "InvalidParameter", "Required parameter 'commandId' is missing (null).")
        if body["commandId"] != "RunShellScript":
            log["status"] = 404
            return self.arm_error(404, "NotFound", "The entity was not found in this Azure location.")
        script = "\n".join(body.get("script") or [])
        args = [p.get("value", "") for p in body.get("parameters") or []]
        region = vm_cfg.get("location", "westeurope")
        op_id = str(uuid.uuid4())
        with LOCK:
            if vm in ACTIVE_ACTION:
                log["status"] = 409
                return self.arm_error(409, "Conflict", "Run command extension execution is in progress. "
                                      "Please wait for completion before invoking a run command.")
            ACTIVE_ACTION[vm] = op_id
            now = time.time()
            op = {"id": op_id, "vm": vm, "sub": sub, "region": region, "status": "InProgress",
                  "start": now, "end": None, "stdout": "", "stderr": "", "error": None,
                  "min_until": now + float(faults.get("min_seconds", 0)),
                  "polls": 0, "asked": 0, "early": 0, "retry_after_sent": 0, "next_ok": now, "result_fetched": False}
            STATE["operations"][op_id] = op
        threading.Thread(target=run_action, daemon=True,
                         args=(op_id, script, args, faults.get("exec_delay", 0), faults.get("op_fail"))).start()
        if faults.get("post_delay"):
            time.sleep(float(faults["post_delay"]))
        p, t = str(uuid.uuid4()), str(int(time.time() * 1e7) + 621355968000000000)
        c = b64url(secrets.token_bytes(1200))
        sig = op_signature(op_id, p, t, c)
        base = "https://%s/subscriptions/%s/providers/Microsoft.Compute/locations/%s/operations/%s" % (
            self.headers.get("Host"), sub, region, op_id)
        qs = "p=%s&api-version=%s&t=%s&c=%s&s=%s&h=%s" % (p, q["api-version"][0], t, c, "x" * 40, sig)
        h = arm_headers(202)
        h["x-ms-request-id"] = op_id
        h["Azure-AsyncOperation"] = base + "?" + qs
        h["Location"] = base + "?" + qs.replace("&api-version=", "&monitor=true&api-version=", 1)
        self.invite(op, faults, h)
        log["status"] = 202
        log["op"] = op_id
        return self.reply(202, None, h)

    def invite(self, op, faults, headers):
        """The answer asks for one more request, after its Retry-After if it has one."""
        ra = faults.get("poll_retry_after")
        if ra is not None and "Retry-After" not in headers:
            headers["Retry-After"] = str(ra)
        with LOCK:
            op["asked"] += 1
            sent = float(headers.get("Retry-After", 0))
            op["retry_after_sent"] += sent
            op["next_ok"] = time.time() + sent

    def operation(self, method, parts, q):
        op_id = parts[7]
        log = {"t": time.time(), "kind": "arm", "method": method, "path": "operations/" + op_id, "op": op_id,
               "monitor": q.get("monitor", [""])[0] == "true"}
        with LOCK:
            STATE["requests"].append(log)
            op = STATE["operations"].get(op_id)
        log["vm"] = op["vm"] if op else None
        vm_cfg = CONFIG.get("vms", {}).get(log["vm"]) if op else None
        principal = self.principal(vm_cfg)
        if principal is None:
            log["status"] = 401
            return
        if method != "GET":
            return self.arm_error(405, "MethodNotAllowed", "method not allowed")
        if op is None:
            log["status"] = 404
            return self.arm_error(404, "NotFound", "The operation '%s' was not found." % op_id)
        get = lambda k: q.get(k, [""])[0]
        if op_signature(op_id, get("p"), get("t"), get("c")) != get("h") or not get("api-version"):
            log["status"] = 400
            return self.arm_error(400, "InvalidRequestContent", "The operation URL's signature is not valid.")
        faults = vm_cfg.get("faults", {}) if vm_cfg else {}
        with LOCK:
            op["polls"] += 1
            now = time.time()
            if now + 0.005 < op["next_ok"]:
                op["early"] += 1
                log["early"] = True
            for kind, status in (("op_429", 429), ("op_500", 500)):
                if faults.get(kind, 0) > 0:
                    faults[kind] -= 1
                    log["status"] = status
                    h = {"Retry-After": str(faults.get("retry_after", 1))} if status == 429 else {}
                    self.invite(op, {}, h)
                    if status == 429:
                        return self.arm_error(429, "OperationNotAllowed", "The server rejected the request because "
                                              "too many requests have been received for this subscription.", h)
                    return self.arm_error(500, "InternalServerError", "Internal error.", h)
            done = op["end"] is not None and now >= op["min_until"]
            status = op["status"] if done else "InProgress"
        start = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(op["start"]))
        result = {"value": [{"code": "ProvisioningState/succeeded", "level": "Info",
                             "displayStatus": "Provisioning succeeded",
                             "message": "Enable succeeded: \n[stdout]\n%s\n[stderr]\n%s" % (op["stdout"], op["stderr"])}]}
        if not log["monitor"]:
            body = {"startTime": start, "status": status, "name": op_id}
            h = arm_headers(200)
            if status == "InProgress":
                self.invite(op, faults, h)
            elif status == "Succeeded":
                body["endTime"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(op["end"]))
                body["properties"] = {"output": result}
                self.invite(op, {}, h)   # the final GET on Location
            else:
                body["error"] = op["error"]
            log["status"] = 200
            log["op_status"] = status
            return self.reply(200, body, h)
        if status == "InProgress":
            h = arm_headers(202)
            self.invite(op, faults, h)
            log["status"] = 202
            return self.reply(202, None, h)
        if status != "Succeeded":
            log["status"] = 400
            return self.arm_error(400, op["error"]["code"], op["error"]["message"])
        with LOCK:
            op["result_fetched"] = True
        log["status"] = 200
        return self.reply(200, result, arm_headers(200))


def run_action(op_id, script, args, delay, fail_code):
    if delay:
        time.sleep(delay)
    work = tempfile.mkdtemp(prefix="action-", dir=ARGS.dir)
    os.chmod(work, 0o777)
    kw = {}
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    with LOCK:
        if op_id not in STATE["operations"]:
            return
        p = subprocess.Popen(["/bin/sh", "-c", script, "sh"] + args, cwd=work, stdin=subprocess.DEVNULL,
                             env={"PATH": "/usr/bin:/bin", "HOME": work, "LANG": "C.UTF-8"},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw)
        PROCS[op_id] = p
    out, err = p.communicate()
    with LOCK:
        PROCS.pop(op_id, None)
        op = STATE["operations"].get(op_id)
        if op is None:
            return
        if ACTIVE_ACTION.get(op["vm"]) == op_id:
            ACTIVE_ACTION.pop(op["vm"])
        # the guest extension keeps the last 4096 bytes of each stream and drops the exit status
        op.update(end=time.time(), stdout=out[-TAIL:].decode("utf-8", "replace"),
                  stderr=err[-TAIL:].decode("utf-8", "replace"), exit_status=p.returncode)
        if fail_code:
            op.update(status="Failed", error={"code": fail_code, "message": {
                "VMExtensionProvisioningTimeout": "Provisioning of VM extension 'RunCommandLinux' has timed out. "
                "Extension installation may be taking too long, or extension status could not be obtained.",
                "VMAgentStatusCommunicationError": "VM '%s' has not reported status for VM agent or extensions. "
                "Please verify the VM has a running VM agent, and can establish outbound connections to Azure "
                "storage." % op["vm"]}.get(fail_code, "The operation failed.")})
        else:
            op["status"] = "Succeeded"
        save_state()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--config", required=True)
    ARGS = ap.parse_args()
    load_config()

    https = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    https.imds = False
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    https.socket = ctx.wrap_socket(https.socket, server_side=True)
    imds = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    imds.imds = True
    for s in (https, imds):
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    write_state()
    threading.Thread(target=state_flusher, daemon=True).start()
    tmp = os.path.join(ARGS.dir, "ports.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"https": https.server_address[1], "imds": imds.server_address[1]}, f)
    os.replace(tmp, os.path.join(ARGS.dir, "ports.json"))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
