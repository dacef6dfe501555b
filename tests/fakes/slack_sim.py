#!/usr/bin/python3
"""Slack simulator for firebreak's integration tests.

One aiohttp server on 127.0.0.1 plays both halves of Slack that
`firebreak serve` talks to:

  * the Web API (POST /api/<method>) with Slack's auth rules, JSON-body
    rules, error codes and Block Kit limits (see
    /work/shared/reference/slack.md sections 2 and 4);
  * Socket Mode (GET /link/?ticket=...) with hello, envelopes, acks,
    disconnect messages and ping/pong (slack.md section 1, payload shapes
    from section 3).

Tests drive it, and read back what the app did, through the /_sim/...
control endpoints (see tests/fakes/simclient.py).  Everything the app does
that real Slack would refuse or that the reference calls a pitfall is
written to the "violations" list as "<kind>: <detail>", so a test can
assert that the list stays empty.

Run:  /usr/bin/python3 tests/fakes/slack_sim.py --port-file FILE [--port 0]
          [--app-token xapp-1-SIM] [--bot-token xoxb-SIM] [--limits]
With --limits the Web API enforces Slack's published rate limits
(slack.md 2.5, LIMITS below): chat.postMessage about one a second per
channel with a short burst, the other methods by tier per method; a call
over its limit gets 429 with Retry-After (whole seconds), and a call
before that Retry-After has passed is a violation.  Every call is recorded
with its time ("t"), channel, and any Retry-After it got.
The chosen port is written to FILE (via FILE.tmp + rename) once the socket
is bound.  Logs go to stderr, one line per request or event.  Only the
Python standard library and aiohttp are used.
"""

import argparse
import asyncio
import base64
import copy
import json
import os
import random
import signal
import socket
import sys
import time
import uuid
from collections import defaultdict
from functools import partial
from urllib.parse import parse_qs

from aiohttp import WSMsgType, web

TEAM_ID, TEAM_DOMAIN, APP_ID, BOT_USER, BOT_ID = "TSIM", "sim", "ASIM", "UBOT", "BSIM"
ACK_DEADLINE_MS = 3000.0      # slack.md 1.6: ack within 3 s
TRIGGER_TTL = 3.0             # slack.md 2.3: triggers expire in three seconds
TEXT_LIMIT = 40000            # slack.md 4: top-level text truncated above this
BLOCKS_TEXT_LIMIT = 12000     # slack.md 4: msg_blocks_too_long at ~11-13k chars
# --limits: (seconds between calls, burst).  chat.postMessage is per
# channel ("1 per second per channel, short bursts allowed"); the tiers are
# per method: Tier 2 20/min, Tier 3 50/min, Tier 4 100/min.
LIMITS = {"chat.postMessage": (1.0, 4), "chat.update": (60 / 50, 5), "chat.delete": (60 / 50, 5),
          "chat.postEphemeral": (60 / 100, 10), "views.open": (60 / 100, 10),
          "views.update": (60 / 100, 10), "conversations.history": (60 / 50, 5),
          "conversations.info": (60 / 50, 5)}
LIMIT_SLACK = 0.05            # network jitter: a call this early is still in time
DISCONNECT_REASONS = ("warning", "refresh_requested", "link_disabled", "too_many_websockets")
# Read methods outside Slack's "Methods supporting JSON POSTs": arguments as
# a query string (GET) or a form body (slack.md 2.1).
READ_METHODS = ("conversations.history", "conversations.replies")
ALL_SCOPES = ("commands", "chat:write", "chat:write.public", "channels:history",
              "groups:history", "im:history", "mpim:history")
METADATA_MAX = 8000           # serialized metadata kept per message (bytes)


def log(msg):
    print(f"[slack_sim {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def now():
    return time.monotonic()


# ---------------------------------------------------------------------------
# Block Kit validation (slack.md section 4).  Each problem becomes one error
# string shaped like Slack's: "<what> [json-pointer:/blocks/0/text/text]".
# ---------------------------------------------------------------------------

TEXT_TYPES = ("plain_text", "mrkdwn")
# Interactive elements allowed in actions blocks and as section accessories.
ACTION_ELEMENTS = {"button", "static_select", "external_select", "users_select",
                   "conversations_select", "channels_select", "multi_static_select",
                   "multi_external_select", "multi_users_select", "multi_conversations_select",
                   "multi_channels_select", "overflow", "datepicker", "timepicker",
                   "datetimepicker", "checkboxes", "radio_buttons"}
# Elements allowed inside input blocks.
INPUT_ELEMENTS = (ACTION_ELEMENTS - {"button", "overflow"}) | {
    "plain_text_input", "email_text_input", "url_text_input", "number_input",
    "rich_text_input", "file_input"}


class BlockCheck:
    """Collects Block Kit problems for one message or view.  `base` prefixes
    every json-pointer ("" for messages, "/view" for modals); `chars` sums
    the text of all text objects, for msg_blocks_too_long."""

    def __init__(self, base=""):
        self.base, self.chars, self.has_input = base, 0, False
        self.errors = []      # "must be ... [json-pointer:...]"
        self.messages = []    # response_metadata.messages ("[ERROR] ...")

    def bad(self, what, ptr):
        self.errors.append(f"{what} [json-pointer:{self.base}{ptr}]")

    def maxlen(self, s, n, ptr):
        if isinstance(s, str) and len(s) > n:
            self.bad(f"must be less than {n + 1} characters", ptr)

    def obj(self, o, ptr):
        if not isinstance(o, dict):
            self.bad("must provide an object", ptr)
        return isinstance(o, dict)

    def text(self, o, ptr, n=3000, plain=False):
        """A text object: type plain_text|mrkdwn (plain_text only if `plain`),
        text a non-empty string of at most n characters."""
        if not self.obj(o, ptr):
            return
        t, s = o.get("type"), o.get("text")
        if t not in TEXT_TYPES or (plain and t != "plain_text"):
            self.bad("must be a valid enum value" + (" (plain_text)" if plain else ""),
                     ptr + "/type")
        if not isinstance(s, str):
            self.bad("must be a string", ptr + "/text")
            return
        if not s:
            self.bad("must be more than 0 characters", ptr + "/text")
        self.maxlen(s, n, ptr + "/text")
        self.chars += len(s)

    def element(self, el, ptr, allowed, seen):
        """One block element.  seen: action_ids already used in this block."""
        if not self.obj(el, ptr):
            return
        t, aid = el.get("type"), el.get("action_id")
        if t not in allowed:
            self.bad(f"unsupported element type '{t}' here", ptr + "/type")
            return
        if aid is not None:   # action_id <= 255 and unique within its block
            self.maxlen(aid, 255, ptr + "/action_id")
            if aid in seen:
                self.bad(f"duplicate action_id '{aid}' in block", ptr + "/action_id")
            seen.add(aid)
        c = el.get("confirm")  # confirm dialog: title<=100 text<=300 confirm/deny<=30
        if c is not None and self.obj(c, ptr + "/confirm"):
            p = ptr + "/confirm"
            self.text(c.get("title"), p + "/title", 100, plain=True)
            self.text(c.get("text"), p + "/text", 300)
            self.text(c.get("confirm"), p + "/confirm", 30, plain=True)
            self.text(c.get("deny"), p + "/deny", 30, plain=True)
            if c.get("style") not in (None, "primary", "danger"):
                self.bad("must be a valid enum value", p + "/style")
        if "placeholder" in el:
            self.text(el["placeholder"], ptr + "/placeholder", 150, plain=True)
        if t == "button":
            self.text(el.get("text"), ptr + "/text", 75, plain=True)
            self.maxlen(el.get("value"), 2000, ptr + "/value")
            self.maxlen(el.get("url"), 3000, ptr + "/url")
            self.maxlen(el.get("accessibility_label"), 75, ptr + "/accessibility_label")
            if "style" in el and el["style"] not in ("primary", "danger"):
                self.bad("must be a valid enum value (primary|danger)", ptr + "/style")
        elif t == "plain_text_input":
            for key, lo in (("max_length", 1), ("min_length", 0)):
                v = el.get(key)
                if v is not None and (not isinstance(v, int) or not lo <= v <= 3000):
                    self.bad(f"must be between {lo} and 3000", ptr + "/" + key)
            self.maxlen(el.get("initial_value"), 3000, ptr + "/initial_value")
        elif t == "image":
            self.maxlen(el.get("image_url"), 3000, ptr + "/image_url")
            self.maxlen(el.get("alt_text"), 2000, ptr + "/alt_text")
        if isinstance(el.get("options"), list) and len(el["options"]) > 100:
            self.bad("must be less than 101 items", ptr + "/options")

    def items(self, b, key, ptr, limit):
        """b[key] must be a non-empty list of at most `limit` items."""
        v = b.get(key)
        if not isinstance(v, list) or not v:
            self.bad("must provide a non-empty array", f"{ptr}/{key}")
            return []
        if len(v) > limit:
            self.bad(f"must be less than {limit + 1} items", f"{ptr}/{key}")
        return v

    def block(self, b, ptr, block_ids):
        if not self.obj(b, ptr):
            return
        bid, t, seen = b.get("block_id"), b.get("type"), set()
        if bid is not None:   # block_id <= 255 and unique within the message
            self.maxlen(bid, 255, ptr + "/block_id")
            if bid in block_ids:
                self.bad(f"duplicate block_id '{bid}'", ptr + "/block_id")
            block_ids.add(bid)
        if t == "section":    # text 1..3000, fields <= 10 of <= 2000, accessory
            if "text" not in b and "fields" not in b:
                self.bad("must provide either text or fields", ptr)
            if "text" in b:
                self.text(b["text"], ptr + "/text", 3000)
            if "fields" in b:
                for i, x in enumerate(self.items(b, "fields", ptr, 10)):
                    self.text(x, f"{ptr}/fields/{i}", 2000)
            if "accessory" in b:
                self.element(b["accessory"], ptr + "/accessory", ACTION_ELEMENTS | {"image"}, seen)
        elif t == "header":   # plain_text <= 150
            self.text(b.get("text"), ptr + "/text", 150, plain=True)
        elif t == "actions":  # <= 25 interactive elements
            for i, el in enumerate(self.items(b, "elements", ptr, 25)):
                self.element(el, f"{ptr}/elements/{i}", ACTION_ELEMENTS, seen)
        elif t == "context":  # <= 10 images or text objects
            for i, el in enumerate(self.items(b, "elements", ptr, 10)):
                if isinstance(el, dict) and el.get("type") == "image":
                    self.element(el, f"{ptr}/elements/{i}", {"image"}, seen)
                else:
                    self.text(el, f"{ptr}/elements/{i}", 3000)
        elif t == "input":    # label/hint plain_text <= 2000, one input element
            self.has_input = True
            self.text(b.get("label"), ptr + "/label", 2000, plain=True)
            if "hint" in b:
                self.text(b["hint"], ptr + "/hint", 2000, plain=True)
            self.element(b.get("element"), ptr + "/element", INPUT_ELEMENTS, seen)
        elif t == "image":
            self.maxlen(b.get("image_url"), 3000, ptr + "/image_url")
            if not isinstance(b.get("alt_text"), str):
                self.bad("must provide a string", ptr + "/alt_text")
            self.maxlen(b.get("alt_text"), 2000, ptr + "/alt_text")
        elif t == "rich_text":  # not validated deeply; its text counts toward the total
            if not isinstance(b.get("elements"), list):
                self.bad("must be an array", ptr + "/elements")
            self.chars += rich_chars(b.get("elements"))
        elif t == "markdown":
            s = b.get("text")
            if not isinstance(s, str) or not s:
                self.bad("must provide a non-empty string", ptr + "/text")
            else:
                self.maxlen(s, 12000, ptr + "/text")
                self.chars += len(s)
        elif t != "divider":
            self.bad(f"unsupported block type '{t}'", ptr + "/type")

    def blocks(self, blocks, max_blocks):
        if not isinstance(blocks, list) or len(blocks) > max_blocks:
            self.bad("must be an array" if not isinstance(blocks, list) else
                     f"must be less than {max_blocks + 1} items", "/blocks")
            self.messages.append("[ERROR] " + self.errors[-1])
            if not isinstance(blocks, list):
                return
        block_ids = set()
        for i, b in enumerate(blocks):
            start = len(self.errors)
            self.block(b, f"/blocks/{i}", block_ids)
            if len(self.errors) > start:
                # Slack prefixes a block's own errors with this summary line.
                self.messages.append("[ERROR] failed to match all allowed schemas "
                                     f"[json-pointer:{self.base}/blocks/{i}]")
                self.messages += ["[ERROR] " + e for e in self.errors[start:]]


def rich_chars(x):
    """Total length of all "text" strings inside a rich_text structure."""
    if isinstance(x, list):
        return sum(rich_chars(i) for i in x)
    if isinstance(x, dict):
        return (len(x["text"]) if isinstance(x.get("text"), str) else 0) + \
            rich_chars(x.get("elements"))
    return 0


def with_block_ids(blocks):
    """Slack fills in a random block_id for blocks posted without one; clicks
    then report that id, so do the same on stored copies."""
    out = copy.deepcopy(blocks)
    for b in out if isinstance(out, list) else []:
        if isinstance(b, dict) and "block_id" not in b:
            b["block_id"] = uuid.uuid4().hex[:5]
    return out


def fail(error, **extra):
    return dict(ok=False, error=error, **extra)

# ---------------------------------------------------------------------------
# The simulator state and its handlers
# ---------------------------------------------------------------------------

class Conn:
    """One Socket Mode WebSocket connection as seen by the server."""

    def __init__(self, cid, ws, request):
        self.id, self.ws, self.request = cid, ws, request
        self.opened, self.hello_at, self.closed, self.how = now(), None, None, None
        self.last_ping, self.pings, self.disconnects = None, 0, []
        self.closer = None           # task closing this connection from our side

    def is_open(self):
        return self.closed is None and not self.ws.closed

    def to_json(self):
        return {k: getattr(self, k) for k in ("id", "opened", "hello_at", "closed", "how",
                                              "last_ping", "pings", "disconnects")}


class SlackSim:
    def __init__(self, app_token, bot_token, limits=False):
        self.limits = limits
        self.tokens = {app_token: "app", bot_token: "bot"}
        self.port, self.view_seq, self.conn_seq, self.last_ts_us = 0, 0, 0, 0
        self.messages, self.by_ts = [], {}  # all messages; (channel, ts) -> message
        self.ephemerals, self.views = [], {}
        self.tickets = {}                   # WSS ticket -> already used?
        self.triggers = {}                  # trigger_id -> {"issued", "used"}
        self.envelopes = {}                 # envelope_id -> record
        self.deliveries = []                # one per send of an envelope (acks match these)
        self.pending = []                   # envelope ids waiting for a connection
        self.conns, self.disconnects = [], []
        self.no_pong, self.reject = False, {"count": 0, "status": 500}
        self.outage = None                  # /_sim/outage: {"until", "status", "mode", "calls"}
        # /_sim/config: the token's scopes, channels that do not exist, and
        # channels the bot is not a member of (for conversations.*).
        self.scopes, self.missing_channels, self.not_member = set(ALL_SCOPES), set(), set()
        self.reset()

    def reset(self):
        """Clears what /_sim/reset clears: calls, counters, violations, acks,
        pending faults and rate-limit windows.  Messages, views and
        connections stay."""
        self.calls, self.counters = [], defaultdict(int)
        self.violations, self.acks = [], []
        self.faults, self.rl_until = [], {}
        self.tat = {}                       # --limits: rate key -> theoretical arrival time

    def violation(self, kind, detail=""):
        v = f"{kind}: {detail}" if detail else kind
        self.violations.append(v)
        log("VIOLATION " + v)

    def new_ts(self):
        """Message ts: a string "seconds.micros", strictly increasing."""
        us = max(int(time.time() * 1e6), self.last_ts_us + 100)
        self.last_ts_us = us
        return f"{us // 1000000}.{us % 1000000:06d}"

    def new_trigger(self):
        tid = f"{random.randint(10**10, 10**11)}.{random.randint(10**9, 10**10)}.{uuid.uuid4().hex}"
        self.triggers[tid] = {"issued": now(), "used": False}
        return tid

    # ------------------------------------------------------------------ Web API

    async def api(self, request):
        method = request.match_info["method"]
        call = {"method": method, "t": now(), "status": 200, "error": None,
                "token_kind": None, "body": None, "channel": None, "retry_after": None}
        self.calls.append(call)
        self.counters[method] += 1
        resp = await self.api_inner(request, method, call)
        call["status"] = resp.status
        log(f"api {method} -> {resp.status}" + (f" error={call['error']}" if call["error"] else " ok"))
        return resp

    async def api_inner(self, request, method, call):
        t = call["t"]
        raw = await request.read() if request.method == "POST" else b""
        call["channel"] = self.channel_of(raw) if raw else request.query.get("channel")
        # A method under a 429 must not be called again before Retry-After
        # has elapsed (slack.md 2.5); other methods are unaffected, and
        # chat.postMessage's limit is per channel.
        for key in {method, self.rate_key(method, call["channel"])}:
            until = self.rl_until.get(key)
            if until is not None and t < until - 0.02:
                self.violation("retry_after_ignored",
                               f"{key} called {until - t:.2f}s before Retry-After elapsed")
                call["early"] = True
        out = self.outage_response(request, method, call)  # down: nothing counts
        if out is not None:
            return out
        if self.limits:
            limited = self.over_limit(method, call)
            if limited is not None:
                return limited
        fault = self.take_fault(method)
        if fault:
            return self.fault_response(method, fault, call)
        if request.method == "GET":
            body, err = {k: v for k, v in request.query.items()}, None
            if method not in READ_METHODS:
                self.violation("get_write_method", f"{method} called with GET")
        else:
            body, err = self.parse_body(method, request, raw)
        if method in READ_METHODS and request.content_type == "application/json" and raw:
            # Not a JSON-POST method: Slack does not read a JSON body's arguments.
            self.violation("json_body_unsupported", f"{method} sent a JSON body")
            body = {}
        call["body"] = body
        if err:
            return self.reply(call, fail(err))
        # Tokens only travel in the Authorization header (slack.md 2.1).
        if "token" in request.query or "token" in body:
            where = "query string" if "token" in request.query else "body"
            self.violation("token_not_in_header", f"{method} sent the token in the {where}")
            call["token_kind"] = where
            return self.reply(call, fail("invalid_auth"))
        handler = self.methods().get(method)
        if handler is None:
            return self.reply(call, fail("unknown_method"))
        auth = request.headers.get("Authorization", "")
        if not auth:
            return self.reply(call, fail("not_authed"))
        kind = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        call["token_kind"] = kind or "unknown"
        if kind is None:
            return self.reply(call, fail("invalid_auth"))
        # apps.connections.open takes the app token; everything else the bot token.
        if kind != ("app" if method == "apps.connections.open" else "bot"):
            return self.reply(call, fail("not_allowed_token_type"))
        return self.reply(call, handler(body))

    def reply(self, call, result):
        if not result.get("ok"):
            call["error"] = result.get("error")
        return web.json_response(result)

    def parse_body(self, method, request, raw):
        """JSON for everything (charset suffix allowed, aiohttp strips it);
        apps.connections.open may also be empty or form-encoded."""
        ct = request.content_type if raw or "Content-Type" in request.headers else ""
        if ct == "application/json":
            if not raw.strip() and method == "apps.connections.open":
                return {}, None
            try:
                body = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return {}, "invalid_json"
            if not isinstance(body, dict):
                return {}, "json_not_object"
            return body, None
        if ct in ("", "application/x-www-form-urlencoded"):
            if method != "apps.connections.open" and method not in READ_METHODS:
                self.violation("not_json_body", f"{method} sent with content type '{ct}'")
            form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            return {k: v[-1] for k, v in form.items()}, None
        self.violation("not_json_body", f"{method} sent with content type '{ct}'")
        return {}, "invalid_form_data"

    @staticmethod
    def channel_of(raw):
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return None
        ch = body.get("channel") if isinstance(body, dict) else None
        return ch if isinstance(ch, str) else None

    @staticmethod
    def rate_key(method, channel):
        return f"{method}#{channel}" if method == "chat.postMessage" and channel else method

    def over_limit(self, method, call):
        """--limits: a GCRA per rate key; over it, 429 with Retry-After."""
        rule = LIMITS.get(method)
        if not rule:
            return None
        interval, burst = rule
        key, t = self.rate_key(method, call["channel"]), call["t"]
        tat = max(self.tat.get(key, t), t)
        allowed_at = tat - (burst - 1) * interval
        if t + LIMIT_SLACK < allowed_at:
            ra = max(1, int(allowed_at - t + 0.999))
            return self.too_many(key, ra, call)
        self.tat[key] = tat + interval
        return None

    def too_many(self, key, ra, call):
        self.rl_until[key] = max(self.rl_until.get(key, 0), call["t"] + ra)
        call["error"], call["retry_after"] = "ratelimited", ra
        self.counters["429"] += 1
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                 headers={"Retry-After": str(ra)})

    def take_fault(self, method):
        for f in self.faults:
            if f["method"] in (method, "*") and f["count"] > 0:
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return f
        return None

    def fault_response(self, method, f, call):
        status = int(f.get("status") or 200)
        if status == 429:  # per channel for chat.postMessage, as its limit is
            return self.too_many(self.rate_key(method, call["channel"]),
                                 int(f.get("retry_after", 1)), call)
        if status >= 300:
            call["error"] = f"http_{status}"
            return web.Response(status=status, text="internal error")
        return self.reply(call, fail(f.get("error") or "internal_error"))

    def outage_response(self, request, method, call):
        """/_sim/outage: every Web API method (apps.connections.open too)
        answers 5xx, or the connection is dropped, until the outage ends."""
        o = self.outage
        if not o or call["t"] >= o["until"]:
            return None
        o["calls"] += 1
        if o["mode"] == "refuse":
            call["error"] = "connection_dropped"
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503, text="")
        call["error"] = f"http_{o['status']}"
        return web.Response(status=o["status"], text="service unavailable")

    async def ctl_outage(self, request):
        """{"seconds": N, "status": 503} or {"seconds": N, "mode": "refuse"}."""
        b = await self.body_of(request)
        secs = float(b.get("seconds", 0))
        self.outage = {"until": now() + secs, "status": int(b.get("status", 503)),
                       "mode": b.get("mode", "status"), "calls": 0} if secs > 0 else None
        log(f"outage for {secs}s")
        return web.json_response({"ok": True, "seconds": secs})

    def methods(self):
        return {"apps.connections.open": self.m_connections_open, "auth.test": self.m_auth_test,
                "chat.postMessage": self.m_post, "chat.update": self.m_update,
                "chat.postEphemeral": self.m_ephemeral, "views.open": self.m_views_open,
                "views.update": self.m_views_update,
                "conversations.history": self.m_history, "conversations.replies": self.m_replies}

    def m_connections_open(self, body):
        ticket = str(uuid.uuid4())
        self.tickets[ticket] = False
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}"}

    def m_auth_test(self, body):
        return {"ok": True, "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": TEAM_DOMAIN,
                "user": "firebreak", "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID,
                "is_enterprise_install": False}

    def check_message_blocks(self, body, method):
        """Shared text/blocks checks for chat.*: returns (blocks, error dict)."""
        blocks = body.get("blocks")
        if isinstance(blocks, str):           # form posts carry blocks as a JSON string
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return None, fail("invalid_blocks_format")
        if blocks is None:
            return None, None
        chk = BlockCheck()
        chk.blocks(blocks, 50)
        if chk.errors:
            return None, fail("invalid_blocks", errors=chk.errors,
                              response_metadata={"messages": chk.messages})
        if chk.chars > BLOCKS_TEXT_LIMIT:
            return None, fail("msg_blocks_too_long")
        if blocks and not body.get("text"):
            # Allowed by Slack but the fallback is "highly recommended" (slack.md 4).
            self.violation("missing_text_fallback", f"{method} with blocks but no text")
        return blocks, None

    def ts_arg(self, body, key, method):
        """ts values are strings; a number means the client parsed it (slack.md 3.4)."""
        ts = body.get(key)
        if ts is not None and not isinstance(ts, str):
            self.violation("ts_not_string", f"{method} {key} sent as {type(ts).__name__}")
            ts = str(ts)
        return ts

    def m_post(self, body):
        ch, text, warn = body.get("channel"), body.get("text"), None
        if not ch:
            return fail("channel_not_found")
        if not text and not body.get("blocks") and not body.get("attachments"):
            return fail("no_text")
        thread_ts = self.ts_arg(body, "thread_ts", "chat.postMessage")
        if thread_ts is not None:
            parent = self.by_ts.get((ch, thread_ts))
            if parent is None or parent["thread_ts"]:
                if parent is not None:
                    # slack.md 3.4: always thread on the parent's ts, never a reply's.
                    self.violation("thread_ts_is_reply", f"{ch} {thread_ts}")
                return fail("thread_not_found")
        blocks, err = self.check_message_blocks(body, "chat.postMessage")
        if err:
            return err
        metadata, err = self.check_metadata(body)
        if err:
            return err
        if isinstance(text, str) and len(text) > TEXT_LIMIT:
            text, warn = text[:TEXT_LIMIT], "message_truncated"
        ts = self.new_ts()
        msg = {"channel": ch, "ts": ts, "thread_ts": thread_ts, "text": text or "",
               "blocks": with_block_ids(blocks), "history": [], "posted_at": now(),
               "metadata": metadata}
        self.messages.append(msg)
        self.by_ts[(ch, ts)] = msg
        out = {"ok": True, "channel": ch, "ts": ts, "message": self.message_json(msg)}
        if warn:
            out["warning"] = warn
            out["response_metadata"] = {"warnings": [warn], "messages": [
                "[WARN] Your message was truncated but still posted. "
                "The `text` field accepts up to 40,000 characters."]}
        return out

    def message_json(self, msg, metadata=True):
        m = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID,
             "team": TEAM_ID, "ts": msg["ts"], "text": msg["text"]}
        if msg["blocks"] is not None:
            m["blocks"] = msg["blocks"]
        if msg["thread_ts"]:
            m["thread_ts"] = msg["thread_ts"]
        if metadata and msg.get("metadata"):
            m["metadata"] = msg["metadata"]
        return m

    @staticmethod
    def check_metadata(body):
        """chat.postMessage/chat.update "metadata": an object (or its JSON
        string in a form post) with a string event_type and an object
        event_payload.  Returns (metadata or None, error dict or None)."""
        md = body.get("metadata")
        if md is None:
            return None, None
        if isinstance(md, str):
            try:
                md = json.loads(md)
            except ValueError:
                return None, fail("invalid_metadata_format")
        if not isinstance(md, dict) or not isinstance(md.get("event_type"), str) \
                or not md["event_type"] or not isinstance(md.get("event_payload"), dict):
            return None, fail("invalid_metadata_schema")
        if len(json.dumps(md)) > METADATA_MAX:
            return None, fail("metadata_too_large")
        return {"event_type": md["event_type"], "event_payload": md["event_payload"]}, None

    def m_update(self, body):
        ch, ts = body.get("channel"), self.ts_arg(body, "ts", "chat.update")
        if not ch:
            return fail("channel_not_found")
        msg = self.by_ts.get((ch, ts))
        if msg is None:
            return fail("message_not_found")
        if "text" not in body and "blocks" not in body:
            return fail("no_text")
        blocks, err = self.check_message_blocks(body, "chat.update")
        if err:
            return err
        metadata, err = self.check_metadata(body)
        if err:
            return err
        text = body.get("text")
        if isinstance(text, str) and len(text) > TEXT_LIMIT:
            return fail("msg_too_long")
        if metadata is not None:  # omitted metadata is kept, as Slack does
            msg["metadata"] = metadata
        msg["history"].append({"text": msg["text"], "blocks": msg["blocks"], "replaced_at": now()})
        if text is not None:
            msg["text"] = text
        if "blocks" in body:      # omitted blocks are kept, as Slack does
            msg["blocks"] = with_block_ids(blocks)
        return {"ok": True, "channel": ch, "ts": ts, "text": msg["text"],
                "message": self.message_json(msg)}

    # -- conversations.history / conversations.replies (channels:history and
    # friends; Tier 3).  Cursors are opaque to the app; like Slack's they are
    # base64 of "next_ts:<ts>".

    def conversation_check(self, ch):
        """None when the bot may read channel ch, else the error dict."""
        if not ch or ch in self.missing_channels:
            return fail("channel_not_found")
        needed = {"G": "groups:history", "D": "im:history"}.get(ch[0], "channels:history")
        if needed not in self.scopes:
            return fail("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))
        if ch in self.not_member:
            return fail("not_in_channel")
        return None

    @staticmethod
    def ts_key(ts):
        try:
            sec, _, frac = str(ts).partition(".")
            return (int(sec), int((frac + "000000")[:6]))
        except ValueError:
            return None

    def window(self, body, msgs, newest_first, default_limit, max_limit):
        """oldest/latest/inclusive/limit/cursor over msgs -> (page, next cursor) or error."""
        oldest = self.ts_key(body.get("oldest") or "0")
        latest = self.ts_key(body.get("latest")) if body.get("latest") else (1 << 62, 0)
        if oldest is None or latest is None:
            return None, None, fail("invalid_ts_oldest" if oldest is None else "invalid_ts_latest")
        inclusive = str(body.get("inclusive", "")).lower() in ("1", "true")
        try:
            limit = int(body.get("limit") or default_limit)
        except ValueError:
            return None, None, fail("invalid_limit")
        limit = max(1, min(limit, max_limit))
        sel = [m for m in msgs if (oldest <= self.ts_key(m["ts"]) <= latest if inclusive
                                   else oldest < self.ts_key(m["ts"]) < latest)]
        sel.sort(key=lambda m: self.ts_key(m["ts"]), reverse=newest_first)
        cur = body.get("cursor")
        if cur:
            try:
                tag, _, ts = base64.b64decode(cur, validate=True).decode().partition(":")
                start = self.ts_key(ts)
                if tag != "next_ts" or start is None:
                    raise ValueError(cur)
            except (ValueError, UnicodeDecodeError):
                return None, None, fail("invalid_cursor")
            sel = [m for m in sel if (self.ts_key(m["ts"]) <= start if newest_first
                                      else self.ts_key(m["ts"]) >= start)]
        page, rest = sel[:limit], sel[limit:]
        nxt = base64.b64encode(f"next_ts:{rest[0]['ts']}".encode()).decode() if rest else None
        return page, nxt, None

    def m_history(self, body):
        ch = body.get("channel")
        err = self.conversation_check(ch)
        if err:
            return err
        msgs = [m for m in self.messages if m["channel"] == ch and not m["thread_ts"]]
        page, nxt, err = self.window(body, msgs, True, 100, 999)
        if err:
            return err
        md = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        out = {"ok": True, "messages": [self.message_json(m, md) for m in page],
               "has_more": nxt is not None, "pin_count": 0}
        if nxt:
            out["response_metadata"] = {"next_cursor": nxt}
        return out

    def m_replies(self, body):
        ch, ts = body.get("channel"), body.get("ts")
        err = self.conversation_check(ch)
        if err:
            return err
        if not ts:
            return fail("invalid_arguments")
        parent = self.by_ts.get((ch, ts))
        if parent is None or parent["thread_ts"]:
            return fail("thread_not_found")
        replies = [m for m in self.messages if m["channel"] == ch and m["thread_ts"] == ts]
        page, nxt, err = self.window(body, replies, False, 1000, 1000)
        if err:
            return err
        md = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        first = [] if body.get("cursor") else [parent]  # the parent leads the first page
        out = {"ok": True, "messages": [self.message_json(m, md) for m in first + page],
               "has_more": nxt is not None}
        if nxt:
            out["response_metadata"] = {"next_cursor": nxt}
        return out

    def m_ephemeral(self, body):
        ch, user = body.get("channel"), body.get("user")
        if not ch:
            return fail("channel_not_found")
        if not user:
            return fail("user_not_in_channel")
        if not body.get("text") and not body.get("blocks"):
            return fail("no_text")
        blocks, err = self.check_message_blocks(body, "chat.postEphemeral")
        if err:
            return err
        ts = self.new_ts()
        self.ephemerals.append({"channel": ch, "user": user, "text": body.get("text", ""),
                                "blocks": blocks, "thread_ts": body.get("thread_ts"),
                                "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def check_view(self, view):
        """Modal limits (slack.md 4 "Modal view fields"); problems come back
        as invalid_arguments with /view/... json-pointers."""
        if not isinstance(view, dict):
            return fail("invalid_arguments", response_metadata={"messages": [
                "[ERROR] must provide an object [json-pointer:/view]"]})
        if len(json.dumps(view)) > 250000:
            return fail("view_too_large")
        chk = BlockCheck("/view")
        if view.get("type") != "modal":
            chk.bad("must be a valid enum value (modal)", "/type")
        chk.text(view.get("title"), "/title", 24, plain=True)
        for k in ("submit", "close"):
            if k in view:
                chk.text(view[k], "/" + k, 24, plain=True)
        chk.maxlen(view.get("callback_id"), 255, "/callback_id")
        chk.maxlen(view.get("private_metadata"), 3000, "/private_metadata")
        chk.messages += ["[ERROR] " + e for e in chk.errors]
        chk.blocks(view.get("blocks", []), 100)
        if chk.has_input and "submit" not in view:
            chk.bad("must provide submit when the view has input blocks", "/submit")
            chk.messages.append("[ERROR] " + chk.errors[-1])
        if chk.errors:
            return fail("invalid_arguments", errors=chk.errors,
                        response_metadata={"messages": chk.messages})
        return None

    def store_view(self, vid, view):
        v = copy.deepcopy(view)
        v["blocks"] = with_block_ids(v.get("blocks", []))
        v.update(id=vid, team_id=TEAM_ID, app_id=APP_ID, bot_id=BOT_ID,
                 hash=f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
                 state={"values": {}}, root_view_id=vid, previous_view_id=None)
        v.setdefault("private_metadata", "")
        v.setdefault("callback_id", "")
        self.views[vid] = v
        return v

    def m_views_open(self, body):
        tid = body.get("trigger_id")
        trig = self.triggers.get(tid) if isinstance(tid, str) else None
        if trig is None:
            return fail("invalid_trigger_id")
        if trig["used"]:
            return fail("exchanged_trigger_id")
        age = now() - trig["issued"]
        if age >= TRIGGER_TTL:
            log(f"trigger {tid[:20]}... used after {age:.2f}s")
            return fail("expired_trigger_id")
        err = self.check_view(body.get("view"))
        if err:
            return err
        trig["used"] = True
        self.view_seq += 1
        return {"ok": True, "view": self.store_view(f"V{self.view_seq}", body["view"])}

    def m_views_update(self, body):
        vid = body.get("view_id")
        if not vid and body.get("external_id"):
            vid = next((k for k, v in self.views.items()
                        if v.get("external_id") == body["external_id"]), None)
        if vid not in self.views:
            return fail("not_found")
        if body.get("hash") and body["hash"] != self.views[vid]["hash"]:
            return fail("hash_conflict")
        err = self.check_view(body.get("view"))
        if err:
            return err
        return {"ok": True, "view": self.store_view(vid, body["view"])}

    # -------------------------------------------------------------- Socket Mode

    async def link(self, request):
        """WebSocket endpoint handed out by apps.connections.open."""
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:
            self.violation("unknown_ticket", ticket)
            return web.Response(status=401, text="invalid ticket")
        if self.tickets[ticket]:
            # slack.md 1.1: call apps.connections.open again for every connect.
            self.violation("ticket_reused", ticket)
            return web.Response(status=401, text="ticket already used")
        self.tickets[ticket] = True         # consumed even if we refuse below
        if self.reject["count"] > 0:        # /_sim/reject_connections
            self.reject["count"] -= 1
            log(f"ws handshake rejected on request: HTTP {self.reject['status']}")
            return web.Response(status=self.reject["status"], text="rejected by simulator")
        # autoping=False always: we answer pings ourselves so we can record
        # them and can stop answering them in no_pong mode.
        ws = web.WebSocketResponse(autoping=False, heartbeat=None)
        await ws.prepare(request)
        self.conn_seq += 1
        conn = Conn(self.conn_seq, ws, request)
        self.conns.append(conn)
        log(f"ws conn {conn.id} open (ticket {ticket[:8]})")
        try:
            await ws.send_str(json.dumps({
                "type": "hello", "num_connections": sum(c.is_open() for c in self.conns),
                "connection_info": {"app_id": APP_ID},
                "debug_info": {"host": "sim-1", "build_number": 1,
                               "approximate_connection_time": 18060}}))
            conn.hello_at = now()
            await self.flush_pending()
            while True:
                msg = await ws.receive()
                if msg.type == WSMsgType.TEXT:
                    self.on_frame(conn, msg.data)
                elif msg.type == WSMsgType.PING:
                    conn.last_ping, conn.pings = now(), conn.pings + 1
                    if not self.no_pong:
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    pass
                elif msg.type == WSMsgType.BINARY:
                    self.violation("binary_frame", f"conn {conn.id} sent {len(msg.data)} bytes")
                elif msg.type == WSMsgType.CLOSE:
                    if conn.closed is None:
                        conn.closed, conn.how = now(), f"client_close:{msg.data}"
                    break
                else:                 # CLOSING (we closed), CLOSED, ERROR
                    break
        except Exception as e:        # noqa: BLE001 - a test fake logs and moves on
            log(f"ws conn {conn.id} error: {e!r}")
        finally:
            if conn.closer is not None:      # a server-side close is in progress
                await asyncio.shield(conn.closer)
            if conn.closed is None:
                conn.closed, conn.how = now(), f"lost:{ws.close_code}"
            log(f"ws conn {conn.id} closed ({conn.how})")
        return ws

    def target(self):
        """The newest open connection that got hello; envelopes go there."""
        live = [c for c in self.conns if c.is_open() and c.hello_at is not None]
        return max(live, key=lambda c: c.hello_at) if live else None

    async def deliver(self, eid):
        env = self.envelopes[eid]
        conn = self.target()
        if conn is None:
            if eid not in self.pending:
                self.pending.append(eid)
            log(f"envelope {eid} queued: no open connection")
            return None
        t = now()
        try:
            await conn.ws.send_str(json.dumps(env["envelope"]))
        except Exception as e:        # noqa: BLE001
            log(f"envelope {eid} send failed on conn {conn.id}: {e!r}; queued")
            if eid not in self.pending:
                self.pending.append(eid)
            return None
        if not env["sent_at"]:
            # The trigger's 3 s starts when the app can first see it.
            tid = env["envelope"]["payload"].get("trigger_id")
            if tid in self.triggers:
                self.triggers[tid]["issued"] = t
        env["sent_at"].append(t)
        self.deliveries.append({"envelope_id": eid, "sent_at": t, "conn": conn.id, "acked": False})
        log(f"envelope {eid} ({env['kind']}) sent on conn {conn.id}")
        return conn.id

    async def flush_pending(self):
        while self.pending and self.target() is not None:
            await self.deliver(self.pending.pop(0))

    async def send_new(self, kind, payload, accepts, eid=None):
        eid = eid or str(uuid.uuid4())
        env = {"envelope_id": eid, "type": kind, "accepts_response_payload": accepts,
               "payload": payload}
        self.envelopes[eid] = {"id": eid, "type": kind, "kind": payload.get("type", kind),
                               "envelope": env, "sent_at": []}
        await self.deliver(eid)
        return {"envelope_id": eid, "trigger_id": payload.get("trigger_id")}

    def on_frame(self, conn, data):
        """A text frame from the app: must be an ack {"envelope_id", "payload"?}."""
        t = now()
        try:
            obj = json.loads(data)
        except ValueError:
            self.violation("non_json_frame", f"conn {conn.id}: {data[:80]!r}")
            return
        if not isinstance(obj, dict) or not isinstance(obj.get("envelope_id"), str):
            self.violation("bad_frame", f"conn {conn.id}: {data[:80]!r}")
            return
        eid, payload = obj["envelope_id"], obj.get("payload")
        ack = {"envelope_id": eid, "latency_ms": None, "payload": payload,
               "connection": conn.id, "at": t}
        self.acks.append(ack)
        dels = [d for d in self.deliveries if d["envelope_id"] == eid]
        if not dels:
            self.violation("unknown_envelope_ack", eid)
            return
        open_dels = [d for d in dels if not d["acked"]]
        if not open_dels:
            self.violation("duplicate_ack", f"{eid} acked more times than delivered")
            return
        # Prefer the delivery that went out on this connection.
        d = next((d for d in open_dels if d["conn"] == conn.id), open_dels[0])
        d["acked"] = True
        ack["latency_ms"] = (t - d["sent_at"]) * 1000.0
        log(f"ack {eid} on conn {conn.id} after {ack['latency_ms']:.1f} ms")
        if ack["latency_ms"] > ACK_DEADLINE_MS:
            self.violation("late_ack", f"{eid} acked after {ack['latency_ms']:.0f} ms")
        self.check_ack_payload(self.envelopes[eid], payload)

    def check_ack_payload(self, env, payload):
        """What an ack may carry depends on the envelope (slack.md 1.5)."""
        if not payload:
            return
        eid = env["id"]
        if not env["envelope"]["accepts_response_payload"]:
            self.violation("unexpected_ack_payload", f"{eid} ({env['kind']}) does not accept one")
            return
        if not isinstance(payload, dict):
            self.violation("bad_ack_payload", f"{eid}: payload is not an object")
            return
        if env["kind"] == "view_submission" and payload.get("response_action") == "errors":
            view = env["envelope"]["payload"]["view"]
            inputs = {b.get("block_id") for b in view.get("blocks", [])
                      if isinstance(b, dict) and b.get("type") == "input"}
            for k in (payload.get("errors") or {}):
                if k not in inputs:
                    self.violation("bad_ack_payload", f"{eid}: errors key '{k}' is not an input block_id")
        elif "blocks" in payload:
            chk = BlockCheck()
            chk.blocks(payload["blocks"], 50)
            for e in chk.errors:
                self.violation("bad_ack_payload", f"{eid}: {e}")

    # ----------------------------------------------------------------- control

    async def body_of(self, request):
        """A control request's JSON object (empty body = {}); 400 otherwise."""
        try:
            b = json.loads(await request.read() or b"{}")
        except ValueError:
            b = None
        if not isinstance(b, dict):
            raise web.HTTPBadRequest(text='{"error": "need a JSON object"}',
                                     content_type="application/json")
        return b

    @staticmethod
    def err(status, error):
        return web.json_response({"error": error}, status=status)

    async def ctl_fault(self, request):
        b = await self.body_of(request)
        if "method" not in b or not ("status" in b or "error" in b):
            return self.err(400, "need method and status or error")
        f = {"method": b["method"], "status": b.get("status"), "error": b.get("error"),
             "retry_after": b.get("retry_after", 1), "count": int(b.get("count", 1))}
        self.faults.append(f)
        return web.json_response({"ok": True, "fault": f})

    def user(self, uid):
        return {"id": uid, "username": "user-" + uid.lower(), "name": "user-" + uid.lower(),
                "team_id": TEAM_ID}

    async def ctl_slash(self, request):
        b = await self.body_of(request)
        ch, uid = b.get("channel_id", "C1"), b.get("user_id", "U1")
        payload = {"token": "SIMVERIFICATION", "team_id": TEAM_ID, "team_domain": TEAM_DOMAIN,
                   "channel_id": ch, "channel_name": b.get("channel_name", "chan-" + ch.lower()),
                   "user_id": uid, "user_name": b.get("user_name", "user-" + uid.lower()),
                   "command": b.get("command", "/incidents"), "text": b.get("text", ""),
                   "api_app_id": APP_ID, "is_enterprise_install": "false",
                   "response_url": f"https://hooks.slack.com/commands/{TEAM_ID}/1/{uuid.uuid4().hex}",
                   "trigger_id": self.new_trigger()}
        return web.json_response(await self.send_new("slash_commands", payload, True,
                                                     b.get("envelope_id")))

    @staticmethod
    def find_button(blocks, action_id):
        """A button with this action_id in an actions block or section accessory."""
        for b in blocks or []:
            if not isinstance(b, dict):
                continue
            els = b.get("elements", []) if b.get("type") == "actions" else \
                [b.get("accessory")] if b.get("type") == "section" else []
            for el in els:
                if isinstance(el, dict) and el.get("type") in ("button", "static_select") \
                        and el.get("action_id") == action_id:
                    return b.get("block_id"), el
        return None, None

    async def click(self, request, stale):
        b = await self.body_of(request)
        ch, ts, uid = b.get("channel"), b.get("ts"), b.get("user_id", "U1")
        msg = self.by_ts.get((ch, ts))
        if msg is None:
            return self.err(404, "no_such_message")
        versions = msg["history"] + [{"text": msg["text"], "blocks": msg["blocks"]}]
        ver = versions[-1]
        if stale:
            k = int(b.get("version", 0))
            if not 0 <= k < len(versions):
                return self.err(404, "no_such_version")
            ver = versions[k]
        block_id, el = self.find_button(ver["blocks"], b.get("action_id"))
        if el is None:
            return self.err(404, "no_such_button")
        shown = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "ts": ts,
                 "text": ver["text"], "blocks": ver["blocks"]}
        if msg["thread_ts"]:
            shown["thread_ts"] = msg["thread_ts"]
        action = {"type": "button", "action_id": el["action_id"], "block_id": block_id,
                  "text": el.get("text"), "action_ts": f"{time.time():.6f}"}
        action.update({k: el[k] for k in ("value", "style") if k in el})
        if "value" in b:  # a forged or mangled button value, as a hostile client sends
            action["value"] = b["value"]
        if el["type"] == "static_select":  # a menu: "option" is the value picked
            opt = next((o for o in el.get("options", []) if o.get("value") == b.get("option")), None)
            if opt is None:
                return self.err(404, "no_such_option")
            action = {"type": "static_select", "action_id": el["action_id"], "block_id": block_id,
                      "selected_option": opt, "placeholder": el.get("placeholder"),
                      "action_ts": f"{time.time():.6f}"}
        payload = {"type": "block_actions", "user": self.user(uid),
                   "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN}, "api_app_id": APP_ID,
                   "token": "SIMVERIFICATION",
                   "container": {"type": "message", "message_ts": ts, "channel_id": ch,
                                 "is_ephemeral": False},
                   "trigger_id": self.new_trigger(),
                   "channel": {"id": ch, "name": "chan-" + ch.lower()}, "message": shown,
                   "response_url": f"https://hooks.slack.com/actions/{TEAM_ID}/1/{uuid.uuid4().hex}",
                   "state": {"values": {}}, "actions": [action]}
        return web.json_response(await self.send_new("interactive", payload, False,
                                                     b.get("envelope_id")))

    async def ctl_submit(self, request):
        b = await self.body_of(request)
        view = self.views.get(b.get("view_id"))
        if view is None:
            return self.err(404, "no_such_view")
        values = {}
        for bid, acts in (b.get("values") or {}).items():
            values[bid] = {aid: (v if isinstance(v, dict) else
                                 {"type": "plain_text_input", "value": v})
                           for aid, v in acts.items()}
        v = copy.deepcopy(view)
        v["state"] = {"values": values}
        payload = {"type": "view_submission", "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
                   "user": self.user(b.get("user_id", "U1")), "api_app_id": APP_ID,
                   "token": "SIMVERIFICATION", "trigger_id": self.new_trigger(), "view": v,
                   "response_urls": [], "is_enterprise_install": False, "enterprise": None}
        out = await self.send_new("interactive", payload, True, b.get("envelope_id"))
        # Optional {"wait": seconds}: wait for the ack and return it too.
        deadline = now() + float(b.get("wait", 0))
        while now() < deadline:
            ack = next((a for a in self.acks if a["envelope_id"] == out["envelope_id"]), None)
            if ack:
                out["ack"] = ack
                break
            await asyncio.sleep(0.02)
        return web.json_response(out)

    async def ctl_redeliver(self, request):
        b = await self.body_of(request)
        eid = b.get("envelope_id")
        if eid not in self.envelopes:
            return self.err(404, "no_such_envelope")
        conn = await self.deliver(eid)
        env = self.envelopes[eid]
        return web.json_response({"envelope_id": eid, "connection": conn,
                                  "trigger_id": env["envelope"]["payload"].get("trigger_id")})

    async def ctl_disconnect(self, request):
        b = await self.body_of(request)
        reason = b.get("reason", "refresh_requested")
        if reason not in DISCONNECT_REASONS:
            return self.err(400, "unknown reason")
        close_after = b.get("close_after")
        if close_after is None:
            close_after = 10 if reason in ("warning", "refresh_requested") else 0
        targets = [c for c in self.conns if c.is_open()]
        rec = {"reason": reason, "at": now(), "connections": [c.id for c in targets],
               "close_after": close_after}
        self.disconnects.append(rec)
        msg = {"type": "disconnect", "reason": reason, "debug_info": {"host": "sim-1"}}
        if reason == "too_many_websockets":
            msg.update(num_connections=len(targets), connection_info={"app_id": APP_ID})
        for c in targets:
            c.disconnects.append(reason)
            try:
                await c.ws.send_str(json.dumps(msg))
            except Exception as e:    # noqa: BLE001
                log(f"disconnect send failed on conn {c.id}: {e!r}")
        log(f"disconnect {reason} sent to conns {rec['connections']} (close_after={close_after})")
        if close_after and targets:
            asyncio.get_running_loop().create_task(self.force_close(targets, float(close_after)))
        return web.json_response({"ok": True, "connections": rec["connections"]})

    async def force_close(self, conns, delay):
        """After a disconnect message, close what the client left open."""
        await asyncio.sleep(delay)
        for c in conns:
            if c.is_open():
                c.closed, c.how = now(), "forced_after_disconnect"
                log(f"ws conn {c.id}: client ignored disconnect, closing it")
                await self.server_close(c, b"sim: disconnect")

    async def server_close(self, c, message):
        """Send a close frame (1001 going away) and wait briefly for the
        reply; abort the TCP connection if that fails.  Runs as a task the
        connection's handler waits for, because returning from the handler
        would otherwise make aiohttp close with 1000 first."""
        async def closer():
            try:
                await asyncio.wait_for(c.ws.close(code=1001, message=message), 3)
            except Exception:         # noqa: BLE001
                self.abort(c)
        c.closer = asyncio.ensure_future(closer())
        await c.closer

    @staticmethod
    def abort(c):
        """Drop the TCP connection without a close frame."""
        tr = c.request.transport
        if tr is not None:
            tr.abort()

    async def ctl_close(self, request):
        ids = [c.id for c in self.conns if c.is_open()]
        for c in self.conns:
            if c.id in ids:
                c.closed, c.how = now(), "abort"
                self.abort(c)
        log(f"aborted conns {ids}")
        return web.json_response({"ok": True, "connections": ids})

    async def ctl_no_pong(self, request):
        self.no_pong = bool((await self.body_of(request)).get("on", True))
        log(f"no_pong = {self.no_pong}")
        return web.json_response({"ok": True, "no_pong": self.no_pong})

    async def ctl_reject(self, request):
        b = await self.body_of(request)
        self.reject = {"count": int(b.get("count", 1)), "status": int(b.get("status", 500))}
        return web.json_response({"ok": True, **self.reject})

    async def ctl_config(self, request):
        """{"scopes": [...], "missing_channels": [...], "not_member": [...]};
        keys left out keep their value."""
        b = await self.body_of(request)
        if "scopes" in b:
            self.scopes = set(b["scopes"])
        if "missing_channels" in b:
            self.missing_channels = set(b["missing_channels"])
        if "not_member" in b:
            self.not_member = set(b["not_member"])
        return web.json_response({"ok": True, "scopes": sorted(self.scopes)})

    async def ctl_reset(self, request):
        self.reset()
        log("reset")
        return web.json_response({"ok": True})

    def gap_ms(self, d):
        """Coverage gap after warning/refresh_requested: from the last old
        connection's close to the first newer connection's hello.  0 when a
        new connection had hello before the old one(s) closed
        (make-before-break); None while that can't be known yet."""
        if d["reason"] not in ("warning", "refresh_requested") or not d["connections"]:
            return None
        olds = [c for c in self.conns if c.id in d["connections"]]
        newer = [c.hello_at for c in self.conns
                 if c.id > max(d["connections"]) and c.hello_at is not None]
        if not newer:
            return None
        if any(c.closed is None for c in olds):
            return 0.0
        return max(0.0, (min(newer) - max(c.closed for c in olds)) * 1000.0)

    async def ctl_state(self, request):
        return web.json_response({
            "now": now(), "port": self.port,
            "messages": [{k: m.get(k) for k in ("channel", "ts", "thread_ts", "text", "blocks",
                                                "history", "posted_at", "metadata")}
                         for m in self.messages],
            "ephemerals": self.ephemerals, "views": list(self.views.values()), "calls": self.calls,
            "envelopes": [{"id": e["id"], "type": e["type"], "kind": e["kind"],
                           "sent_at": e["sent_at"], "queued": e["id"] in self.pending,
                           "payload": e["envelope"]["payload"]} for e in self.envelopes.values()],
            "acks": self.acks, "connections": [c.to_json() for c in self.conns],
            "disconnects": [dict(d, gap_ms=self.gap_ms(d)) for d in self.disconnects],
            "violations": self.violations, "counters": self.counters,
            "triggers": self.triggers, "faults": self.faults, "no_pong": self.no_pong})


# ---------------------------------------------------------------------------
# Server plumbing
# ---------------------------------------------------------------------------

@web.middleware
async def log_control(request, handler):
    """One log line per control request (state polling is too chatty)."""
    resp = await handler(request)
    if request.path.startswith("/_sim/") and request.path != "/_sim/state":
        log(f"control {request.method} {request.path} -> {resp.status}")
    return resp


def make_app(sim):
    app = web.Application(middlewares=[log_control], client_max_size=8 * 1024 * 1024)
    app.router.add_post("/api/{method}", sim.api)
    app.router.add_get("/api/{method}", sim.api)
    app.router.add_get("/link/", sim.link)
    app.router.add_get("/link", sim.link)
    for name, fn in (("fault", sim.ctl_fault), ("slash", sim.ctl_slash),
                     ("click", partial(sim.click, stale=False)),
                     ("click_stale", partial(sim.click, stale=True)),
                     ("submit", sim.ctl_submit), ("redeliver", sim.ctl_redeliver),
                     ("disconnect", sim.ctl_disconnect), ("close", sim.ctl_close),
                     ("no_pong", sim.ctl_no_pong), ("reject_connections", sim.ctl_reject),
                     ("reset", sim.ctl_reset), ("outage", sim.ctl_outage),
                     ("config", sim.ctl_config)):
        app.router.add_post("/_sim/" + name, fn)
    app.router.add_get("/_sim/state", sim.ctl_state)

    async def close_all(_app):
        for c in sim.conns:
            if c.is_open():
                c.closed, c.how = now(), "server_shutdown"
                await sim.server_close(c, b"sim shutdown")
    app.on_shutdown.append(close_all)
    return app


async def serve(args):
    sim = SlackSim(args.app_token, args.bot_token, limits=args.limits)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sim.port = sock.getsockname()[1]
    runner = web.AppRunner(make_app(sim), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{sim.port}\n")
    os.rename(tmp, args.port_file)
    log(f"listening on 127.0.0.1:{sim.port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    log("stopping")
    await runner.cleanup()


def main():
    p = argparse.ArgumentParser(description="Slack Web API + Socket Mode simulator")
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--app-token", default="xapp-1-SIM")
    p.add_argument("--bot-token", default="xoxb-SIM")
    p.add_argument("--limits", action="store_true",
                   help="enforce Slack's published rate limits (429 with Retry-After)")
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
