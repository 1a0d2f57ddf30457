#!/usr/bin/env python3
"""The README examples work when copied: each tagged example is run.

Every README.md of the tree is read. An example is tagged by an HTML comment
on the line right before its fenced block (invisible when rendered):

  <!-- readme-test: check-config -->   TOML: `pushgated --check-config` passes
  <!-- readme-test: config -->         TOML: checked, and part of the config
                                       of the daemon this README's examples run on
  <!-- readme-test: POST /api/... -->  JSON: sent to that daemon's REST API in
                                       the order shown; 200 expected, or the
                                       status after the path (`PUT /x 409`)
  <!-- readme-test: sh -->             shell: run with bash against that daemon
                                       (the default ports 8090, 8081 and 1502 in
                                       the text are replaced by the test's;
                                       $PUSHGATE_TOKEN is an admin API token)

Untagged ```json blocks must still parse (one document, or one per line):
a reader copies them. The main README's SIGHUP table must list exactly the
keys the config schema marks (reload) (`pushgated --print-default-config`).
One pushgated per README with API or shell examples, on loopback ports.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "system"))
import systest  # noqa: E402
from systest import check, log  # noqa: E402

TAG_RE = re.compile(r"^<!--\s*readme-test:\s*(.*?)\s*-->\s*$")
FENCE_RE = re.compile(r"^(```+)\s*([A-Za-z0-9_+-]*)")
REQUEST_RE = re.compile(r"^(GET|POST|PUT|DELETE)\s+(/\S*)(?:\s+(\d{3}))?$")


class Block:
    def __init__(self, path, line, lang, tag, text):
        self.path, self.line, self.lang, self.tag, self.text = path, line, lang, tag, text

    def where(self):
        return f"{self.path}:{self.line}"


def fenced_blocks(path):
    """Every fenced block of a Markdown file with the tag just before it."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2)
        tag = None
        if i > 0:
            t = TAG_RE.match(lines[i - 1])
            if t:
                tag = t.group(1)
        body = []
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence):
            body.append(lines[j])
            j += 1
        check(j < len(lines), f"{path}:{i + 1}: fenced block never closed")
        blocks.append(Block(path, i + 1, lang, tag, "\n".join(body) + "\n"))
        i = j + 1
    # A tag must sit right before a fence: a stray one is a typo that would
    # silently test nothing.
    tagged_lines = {b.line - 1 for b in blocks if b.tag is not None}
    for n, line in enumerate(lines, start=1):
        if TAG_RE.match(line) and n not in tagged_lines:
            raise systest.TestFailure(f"{path}:{n}: readme-test tag not right before a fence")
    return blocks


def readmes(source_dir):
    out = []
    for root, dirs, files in os.walk(source_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "build")))
        if "README.md" in files:
            out.append(os.path.join(root, "README.md"))
    return sorted(out)


def check_json_block(b):
    try:
        json.loads(b.text)
        return
    except json.JSONDecodeError as whole:
        for n, line in enumerate(b.text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError as e:
                raise systest.TestFailure(
                    f"{b.where()}: not valid JSON ({whole}); as one document per line, "
                    f"line {n}: {e}") from None


def check_config(pushgated, workdir, b, text):
    path = os.path.join(workdir, f"snippet-{b.line}.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    r = subprocess.run([pushgated, "--check-config", path], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, f"{b.where()}: pushgated --check-config refused the example "
                             f"(exit {r.returncode}):\n{r.stdout}{r.stderr}")


def merge(into, extra):
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            merge(into[k], v)
        else:
            into[k] = v


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise systest.TestFailure(f"cannot write {v!r} as TOML")


def toml_text(doc, prefix=""):
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    out = []
    if prefix and scalars:
        out.append(f"[{prefix}]")
    out += [f"{k} = {toml_value(v)}" for k, v in scalars.items()]
    for k, v in tables.items():
        name = f"{prefix}.{json.dumps(k) if '.' in k else k}" if prefix else k
        out.append(toml_text(v, name))
    return "\n".join(out) + "\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_request(port, method, target, body):
    data = body.encode("utf-8") if body is not None else None
    headers = {"Content-Type": "application/json"}
    # api.auth = "required" (the default): the admin token Daemon.start() made.
    headers.update(systest.api_headers(port))
    req = urllib.request.Request(f"http://127.0.0.1:{port}{target}", data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", errors="replace")


def run_readme(args, workdir, path, blocks):
    rel = os.path.relpath(path, args.source_dir)
    config = {}
    live = []
    for b in blocks:
        if b.lang == "json" and (b.tag is None or REQUEST_RE.match(b.tag)):
            check_json_block(b)
        if b.tag is None:
            continue
        if b.tag in ("check-config", "config"):
            check(b.lang == "toml", f"{b.where()}: '{b.tag}' tags a ```toml block")
            check_config(args.pushgated, workdir, b, b.text)
            if b.tag == "config":
                merge(config, tomllib.loads(b.text))
        elif b.tag == "sh" or REQUEST_RE.match(b.tag):
            live.append(b)
        else:
            raise systest.TestFailure(f"{b.where()}: unknown readme-test tag '{b.tag}'")
    if not live:
        return 0
    data_dir = os.path.join(workdir, re.sub(r"[^A-Za-z0-9]+", "-", rel) + "-data")
    os.makedirs(data_dir)
    doc = {"gateway": {"data_dir": data_dir}, "log": {"level": "info"}}
    merge(doc, config)
    merge(doc, {"gateway": {"data_dir": data_dir},
                "api": {"listen": "127.0.0.1", "port": 0},
                "zkpush": {"listen": "127.0.0.1", "port": 0}})
    modbus_port = None
    if doc.get("modbus", {}).get("enabled"):
        modbus_port = free_port()
        merge(doc, {"modbus": {"listen": "127.0.0.1", "port": modbus_port}})
    daemon_dir = os.path.join(workdir, re.sub(r"[^A-Za-z0-9]+", "-", rel))
    os.makedirs(daemon_dir)
    daemon = systest.Daemon(args.pushgated, daemon_dir, toml_text(doc)).start()
    log(f"{rel}: pushgated on API port {daemon.api_port}")
    env = dict(os.environ)
    # Debian's python3 (with python3-pymodbus) before a pyenv or venv one.
    env["PATH"] = "/usr/bin:" + env.get("PATH", "")
    # A shell example that calls the API sends "Authorization: Bearer $PUSHGATE_TOKEN".
    env["PUSHGATE_TOKEN"] = getattr(daemon, "api_token", None) or ""
    try:
        for b in live:
            m = REQUEST_RE.match(b.tag)
            if m:
                method, target, status = m.group(1), m.group(2), int(m.group(3) or 200)
                got, body = api_request(daemon.api_port, method, target,
                                        b.text if b.text.strip() else None)
                check(got == status, f"{b.where()}: {method} {target} answered {got}, "
                                     f"the README expects {status}: {body[:2000]}")
                continue
            script = (b.text.replace("localhost:8090", f"127.0.0.1:{daemon.api_port}")
                      .replace("127.0.0.1:8090", f"127.0.0.1:{daemon.api_port}")
                      .replace("--port 8081", f"--port {daemon.zkpush_port}"))
            if modbus_port is not None:
                script = script.replace("1502", str(modbus_port))
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True,
                               text=True, timeout=120, env=env, cwd=daemon_dir)
            check(r.returncode == 0, f"{b.where()}: the shell example failed "
                                     f"(exit {r.returncode}):\n{r.stdout}{r.stderr}")
    finally:
        daemon.signal(15)
        daemon.proc.wait(timeout=30)
    return len(live)


def check_reload_table(args, readme_path):
    """README.md's SIGHUP table lists exactly the keys the schema marks (reload)."""
    text = subprocess.run([args.pushgated, "--print-default-config"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    reload_keys, section, pending = set(), None, False
    for line in text.splitlines():
        m = re.match(r"^\[([^\]]+)\]", line)
        if m:
            section, pending = m.group(1), False
        elif "(reload)" in line:
            pending = True
        elif (m := re.match(r"^#([a-z_0-9]+) =", line)) and section:
            if pending:
                reload_keys.add(f"{section}.{m.group(1)}")
            pending = False
    check(reload_keys, "no (reload) key found in --print-default-config: its format changed?")
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()
    start = readme.find("| applied on SIGHUP (reload) |")
    check(start >= 0, "README.md: the SIGHUP table is gone")
    listed = set()
    for row in readme[start:].split("\n")[2:]:
        if not row.startswith("|"):
            break
        first = row.split("|")[1]
        listed |= set(re.findall(r"`([a-z_]+\.[a-z_0-9]+)`", first))
    check(listed == reload_keys,
          "README.md's SIGHUP table differs from the schema's (reload) keys: missing "
          f"{sorted(reload_keys - listed)}, not reloadable {sorted(listed - reload_keys)}")
    log(f"README.md: SIGHUP table lists the {len(reload_keys)} (reload) keys")


def test(workdir, args):
    paths = readmes(args.source_dir)
    check(len(paths) > 5, f"only {len(paths)} README.md files under {args.source_dir}")
    total = 0
    for path in paths:
        blocks = fenced_blocks(path)
        tagged = sum(1 for b in blocks if b.tag is not None)
        total += tagged
        ran = run_readme(args, workdir, path, blocks)
        if tagged:
            log(f"{os.path.relpath(path, args.source_dir)}: {tagged} tagged examples "
                f"({ran} against a running pushgated) pass")
    check(total >= 10, f"only {total} tagged examples in all READMEs: tags lost?")
    check_reload_table(args, os.path.join(args.source_dir, "README.md"))


def main():
    p = systest.common_args(__doc__.splitlines()[0])
    p.add_argument("--source-dir", required=True, help="the source tree whose READMEs to run")
    args = p.parse_args()
    # The daemon runs in its own directory: relative paths must not break it.
    args.pushgated = os.path.abspath(args.pushgated)
    args.source_dir = os.path.abspath(args.source_dir)
    if shutil.which("bash") is None:
        raise SystemExit("bash is needed")
    return systest.run_main(test, args, "pushgate-readme-")


if __name__ == "__main__":
    sys.exit(main())
