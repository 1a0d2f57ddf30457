#!/usr/bin/env python3
"""The web console in a real headless Chromium (Debian's chromium and
chromium-driver, driven by python3-selenium), against the real pushgated and
a terminal simulated by pushgate-sim, all on loopback (issue 18).

It logs in (and sees a wrong password refused), sees the simulator's
terminal waiting for approval and approves it, sees the simulator's punches
appear in the live events within 1 s without a reload and pages back in the
event history, makes a viewer account on the settings page, renames the
terminal and sets its time zone, edits the attendance rules (a field error
shown next to its field, then a good save), opens a door as an
operator and sees the simulator run the command and the audit entry,
downloads the month's timecards as CSV, and as a viewer finds the door
buttons disabled while the API answers 403, and logs in as the viewer made
on the settings page. A screenshot of each page goes
to --screenshots.

Exit 77 (skipped) only when chromium or chromedriver is not installed.
"""

import csv
import datetime
import io
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "system"))
import systest  # noqa: E402
from systest import check, log, wait_until  # noqa: E402

SN = "WEB00001"
USERS = {"admin": "admin", "olga": "operator", "victor": "viewer"}
PUNCHES = 12  # more than one page of 10 in the event history
PASSWORD = "correct horse battery staple"
VIEWER_PASSWORD = "viewer from the settings page"


def find_browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, None
    return chromium, driver


def rules(month_start):
    """Attendance rules for the simulator's PINs 1..3: one shift every day."""
    return {
        "periods": [{"id": "day", "start": "08:00", "end": "17:00"}],
        "shifts": [{"id": 1, "name": "Day", "periods": ["day"]}],
        "cycles": [{"id": "daily", "start_date": month_start, "mode": "day", "length": 1,
                    "days": [1]}],
        "users": [{"pin": str(p), "name": f"Worker {p}", "schedule_mode": "personal"}
                  for p in (1, 2, 3)],
        "schedules": [{"user": str(p), "cycle": "daily"} for p in (1, 2, 3)],
    }


class Console:
    """The browser on the console, with the few moves the test makes."""

    def __init__(self, chromium, driver_path, base, shots, downloads):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                  "--window-size=1280,900", "--no-first-run", "--disable-extensions",
                  "--disable-background-networking", "--disable-sync"):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {"download.default_directory": downloads,
                                               "download.prompt_for_download": False})
        self.d = webdriver.Chrome(service=Service(driver_path), options=opts)
        self.d.set_script_timeout(20)
        self.d.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": downloads})
        self.base = base
        self.shots = shots

    def by(self, css):
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def wait(self, css, what, timeout=20, text=None):
        from selenium.common.exceptions import StaleElementReferenceException

        def found():
            try:
                for e in self.by(css):
                    if text is None or text in e.text:
                        return e
            except StaleElementReferenceException:
                pass  # the page redrew that part: look again
            return None
        return wait_until(found, timeout, what)

    def shot(self, name):
        path = os.path.join(self.shots, f"{name}.png")
        self.d.save_screenshot(path)
        log(f"screenshot {path}")

    def go(self, page):
        self.d.get(f"{self.base}/console/#/{page}")
        self.wait(f"#page-{page}", f"the {page} page")

    def login(self, name, password):
        self.d.get(f"{self.base}/console/")
        self.wait("#login-form", "the login form")
        self.by("#login-name")[0].send_keys(name)
        self.by("#login-password")[0].send_keys(password)
        self.by("#login-submit")[0].click()

    def logout(self):
        self.by("#logout")[0].click()
        self.wait("#login-form", "the login form after logout")

    def confirm(self):
        self.wait("#confirm[open]", "the confirmation dialog")
        self.by("#confirm-ok")[0].click()

    def api(self, method, path, body=None):
        """A call from the page itself, with its session (and CSRF token for changes)."""
        return self.d.execute_async_script("""
            const [method, path, body, done] = arguments;
            (async () => {
              const s = await (await fetch('/api/v1/session')).json();
              const headers = {'Content-Type': 'application/json'};
              if (method !== 'GET') headers['X-CSRF-Token'] = s.csrf_token || '';
              const r = await fetch(path, {method, headers,
                                           body: body === null ? undefined : JSON.stringify(body)});
              done({status: r.status, body: await r.text()});
            })().catch((e) => done({status: 0, body: String(e)}));
        """, method, path, body)

    def quit(self):
        self.d.quit()


def run(workdir, args):
    chromium, driver = find_browser()
    shots = os.path.abspath(args.screenshots)
    os.makedirs(shots, exist_ok=True)
    downloads = os.path.join(workdir, "downloads")
    os.makedirs(downloads)
    data_dir = os.path.join(workdir, "data")
    os.makedirs(data_dir)
    today = datetime.date.today()
    month_start = today.replace(day=1).isoformat()
    rules_path = os.path.join(workdir, "rules.json")
    with open(rules_path, "w") as f:
        json.dump(rules(month_start), f)

    config = systest.base_config(
        data_dir, log_level="info",
        gateway_extra='unknown_terminals = "pending"\ntimezone = "UTC"',
        extra=f"""
[attendance]
rules_file = "{rules_path}"
terminal_states = false
""").replace('[api]\n', f'[api]\nauth = "required"\nconsole_dir = "{args.console_dir}"\n')
    daemon = systest.Daemon(args.pushgated, workdir, config)
    # The accounts, made the way an installer does, before the first start.
    pw = os.path.join(workdir, "password")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    for name, role in USERS.items():
        r = systest.subprocess.run([args.pushgated, "--config", daemon.config_path, "--add-user",
                                    name, "--role", role, "--password-file", pw],
                                   capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"--add-user {name}: {r.returncode} {r.stderr}")
    daemon.start()
    base = f"http://127.0.0.1:{daemon.api_port}"
    log(f"pushgated: API {daemon.api_port}, PUSH {daemon.zkpush_port}")

    # A terminal that registers, keeps trying to upload 12 punches of this
    # month (one per request) until the gateway takes them, and polls for
    # commands for the rest of the test (killed at its end).
    sim = systest.spawn([args.sim, "--host", "127.0.0.1", "--port", str(daemon.zkpush_port),
                         "--terminals", "1", "--records-per-terminal", str(PUNCHES), "--batch", "1",
                         "--users", "3", "--sn-prefix", "WEB", "--poll-ms", "200",
                         "--error-delay-ms", "300", "--duration", "150",
                         "--start", f"{month_start} 07:00:00", "--report-ms", "0",
                         ], os.path.join(workdir, "sim.log"))

    b = Console(chromium, driver, base, shots, downloads)
    try:
        # 1. Login: a wrong password is refused with the server's words.
        b.login("admin", "not the password")
        err = b.wait("#login-error .error", "the login error")
        check("401" in err.text, f"login error says {err.text!r}")
        b.shot("login")
        b.by("#login-name")[0].clear()
        b.login("admin", PASSWORD)
        b.wait("#page-overview", "the overview after login")
        # 2. The simulator's terminal, waiting for approval.
        b.wait("#overview-terminals td", "the terminal on the overview", text=SN)
        b.wait("#count-pending .n", "one pending terminal", text="1")
        b.shot("overview")

        # 3. Live events open in a second tab before the approval: the
        #    punches the approval lets through arrive there by themselves.
        main_tab = b.d.current_window_handle
        b.d.switch_to.new_window("tab")
        events_tab = b.d.current_window_handle
        b.go("events")
        b.wait("#stream-state", "the live stream", text="live")
        b.d.execute_script("window.__noReload = 'same page';")
        b.d.switch_to.window(main_tab)
        b.go("terminals")
        b.wait(f'button[data-approve="{SN}"]', "the Approve button").click()
        b.confirm()
        b.wait("#terminals-table td", "the terminal accepted", text="online")
        b.shot("terminals")

        b.d.switch_to.window(events_tab)
        rows = wait_until(lambda: (r := b.d.execute_script("""
            return [...document.querySelectorAll('#live-body tr[data-kind="attendance"]')]
              .map(tr => ({received: Date.parse(tr.dataset.received), shown: Number(tr.dataset.shown),
                           text: tr.textContent}));""")) and len(r) >= PUNCHES and r, 60,
                          f"{PUNCHES} punches in the live events")
        check(b.d.execute_script("return window.__noReload;") == "same page",
              "the events page was reloaded")
        late = [r for r in rows if r["shown"] - r["received"] > 1000]
        check(not late, f"punches shown more than 1 s after they were stored: {late}")
        check(all(SN in r["text"] for r in rows), f"rows without {SN}: {rows}")
        log("live events: " + ", ".join(f"{r['shown'] - r['received']} ms" for r in rows))
        b.shot("events")
        # Paging back in the history: newest first, 10 a page, then older.
        from selenium.webdriver.support.ui import Select
        Select(b.by("#f-kind")[0]).select_by_value("attendance")
        b.by("#page-events form button[type=submit]")[0].click()
        Select(b.by("#history-size")[0]).select_by_value("10")
        page_ids = """return [...document.querySelectorAll('#history tr[data-id]')]
                        .map(tr => Number(tr.dataset.id));"""
        first = wait_until(lambda: (i := b.d.execute_script(page_ids)) and len(i) == 10 and i, 20,
                           "a first history page of 10 punches")
        check(first == sorted(first, reverse=True), f"history not newest first: {first}")
        b.wait("#history-older:enabled", "the Older button").click()
        second = wait_until(lambda: (i := b.d.execute_script(page_ids)) and i[0] < first[-1] and i,
                            20, "the older history page")
        check(len(second) == PUNCHES - 10 and second == sorted(second, reverse=True),
              f"the older page: {second} after {first}")
        check(not b.by("#history-older")[0].is_enabled(), "Older enabled on the oldest page")
        b.shot("events-older")
        b.by("#history-newer")[0].click()
        wait_until(lambda: b.d.execute_script(page_ids) == first, 20, "the newer page again")
        b.d.close()
        b.d.switch_to.window(main_tab)
        check(sim.poll() is None, f"pushgate-sim exited early with {sim.returncode}")

        # 4. Settings and access, as the admin.
        b.go("settings")
        b.wait("#config-table td", "the configuration", text="api.")
        cfg = json.loads(b.api("GET", "/api/v1/config")["body"])
        check({"key": "api.auth", "value": "required", "secret": False, "set": True}
              in cfg["keys"], "api.auth not in the configuration in effect")
        check("correct horse" not in b.d.page_source, "a password on the settings page")
        b.shot("settings")
        # A viewer account made on the settings page (logged in with at the end).
        b.by("#user-name")[0].send_keys("vera")
        Select(b.by("#user-role")[0]).select_by_value("viewer")
        b.by("#user-password")[0].send_keys("vera")  # too short: the server's words
        b.by("#user-create button[type=submit]")[0].click()
        err = b.wait("#user-password-error", "the password refused", text="characters")
        log(f"password refused: {err.text}")
        b.by("#user-password")[0].clear()
        b.by("#user-password")[0].send_keys(VIEWER_PASSWORD)
        b.by("#user-create button[type=submit]")[0].click()
        b.wait("#users-table td", "the new account listed", text="vera")
        check(b.by('select[data-user-role="vera"]')[0].get_attribute("value") == "viewer",
              "vera is not a viewer")
        b.shot("settings-accounts")

        # Rename the terminal and set its zone; a zone the server refuses first.
        b.go("terminals")
        b.wait(f'button[data-sn="{SN}"]', "the terminal's serial").click()
        b.wait("#term-settings", "the terminal's settings form")
        b.by("#term-name")[0].clear()
        b.by("#term-name")[0].send_keys("Lobby")
        b.by("#term-timezone")[0].clear()
        b.by("#term-timezone")[0].send_keys("Mars/Olympus_Mons")
        b.by("#term-settings button[type=submit]")[0].click()
        b.wait("#term-timezone-error", "the time zone refused next to its field", text="Mars")
        b.by("#term-timezone")[0].clear()
        b.by("#term-timezone")[0].send_keys("Europe/Berlin")
        b.by("#term-settings button[type=submit]")[0].click()
        b.wait("#terminals-table td", "the new name in the list", text="Lobby")
        t = [x for x in json.loads(b.api("GET", "/api/v1/terminals")["body"])["terminals"]
             if x["sn"] == SN][0]
        check(t["name"] == "Lobby" and t["timezone"] == "Europe/Berlin", f"terminal: {t}")
        b.shot("terminals-renamed")
        # Back to the site's zone: the month's timecards below stay in UTC.
        r = b.api("PATCH", f"/api/v1/terminals/{SN}", {"timezone": None})
        check(r["status"] == 200, f"zone taken back: {r}")

        # The attendance rules: a bad period end shown next to the periods,
        # then a good save.
        b.go("attendance")
        area = b.wait("#rule-periods", "the rules editor")
        wait_until(lambda: "08:00" in area.get_attribute("value"), 20, "the rules loaded")
        bad = [{"id": "day", "start": "08:00", "end": "26:00"}]
        area.clear()
        area.send_keys(json.dumps(bad))
        b.by("#rules-save")[0].click()
        err = b.wait("#rule-periods-error", "the field error next to the periods",
                     text="periods[0].end")
        log(f"rules refused: {err.text}")
        b.shot("attendance-rules-error")
        area.clear()
        area.send_keys(json.dumps([{"id": "day", "start": "08:00", "end": "17:30"}]))
        b.by("#rules-save")[0].click()
        b.wait("#rules-saved", "the rules saved")
        saved = json.loads(b.api("GET", "/api/v1/attendance/rules")["body"])
        check(saved["source"] != "file" and saved["rules"]["periods"][0]["end"] == "17:30",
              f"rules after the save: {saved}")
        b.go("access")
        b.wait("#access-panel .table-wrap, #access-panel .error", "the access lists")
        b.shot("access")
        b.logout()

        # 5. The operator opens door 1; the simulator runs AC_UNLOCK.
        b.login("olga", PASSWORD)
        b.wait("#page-overview", "the operator's overview")
        b.go("doors")
        b.wait(f'button[data-door-action="open_door"][data-terminal="{SN}"]',
               "the Open button").click()
        b.confirm()
        done = b.wait('#door-status .cmd[data-state="done"]', "the door command done",
                      timeout=30)
        cmd_id = done.get_attribute("data-command")
        b.shot("doors")
        cmd = json.loads(b.api("GET", f"/api/v1/commands/{cmd_id}")["body"])
        check(cmd["wire"].startswith("AC_UNLOCK") and cmd["return_code"] == 0,
              f"the simulator did not run the unlock: {cmd}")
        audit = json.loads(b.api("GET", "/api/v1/events?kind=audit&limit=1000")["body"])
        opened = [e for e in audit["events"]
                  if e["extra"].get("target") == f"/api/v1/terminals/{SN}/commands"
                  and e["extra"].get("actor") == "olga"]
        check(opened, f"no audit entry for olga's door command: {audit}")
        # The audit entry in the console's event history.
        b.go("events")
        Select(b.by("#f-kind")[0]).select_by_value("audit")
        b.by("#page-events form button[type=submit]")[0].click()
        b.wait("#history td", "olga's audit entry", text="api_change by olga")

        # 6. The month's timecards as CSV.
        b.go("attendance")
        b.wait("#attendance-body table", "the month's timecards")
        b.shot("attendance")
        b.by("#csv-link")[0].click()
        got = wait_until(lambda: [n for n in os.listdir(downloads) if n.endswith(".csv")],
                         20, "the CSV download")
        with open(os.path.join(downloads, got[0]), newline="") as f:
            table = list(csv.DictReader(f))
        check(table and {"1", "2", "3"} <= {r["pin"] for r in table},
              f"CSV without the rules' people: {table[:3]}")
        b.logout()

        # 7. A viewer sees the doors but cannot act; the API says 403 too.
        b.login("victor", PASSWORD)
        b.wait("#page-overview", "the viewer's overview")
        b.go("doors")
        btn = b.wait(f'button[data-door-action="open_door"][data-terminal="{SN}"]',
                     "the viewer's Open button")
        check(not btn.is_enabled(), "the viewer's Open button acts")
        check(b.by("#doors-readonly"), "no word that acting needs the operator role")
        b.shot("doors-viewer")
        r = b.api("POST", f"/api/v1/terminals/{SN}/commands",
                  {"verb": "open_door", "params": {"door": 1, "seconds": 5}})
        check(r["status"] == 403, f"the viewer's door command: {r}")
        check(not [n for n in b.by('a[data-page="settings"]') if n.is_displayed()],
              "the viewer sees Settings")
        b.logout()

        # 8. The viewer the admin made on the settings page logs in.
        b.login("vera", VIEWER_PASSWORD)
        b.wait("#page-overview", "vera's overview")
        check(b.by("#who")[0].text == "vera (viewer)", f"logged in as {b.by('#who')[0].text}")
        b.go("account")
        b.wait("#pw-form", "vera's account page")
        b.shot("account")
    except Exception:
        # What the browser showed when it went wrong.
        b.shot("failure")
        log("page text at the failure:\n" + b.d.find_element("tag name", "body").text[:3000])
        raise
    finally:
        b.quit()


def main():
    p = systest.common_args(__doc__.splitlines()[0], need_sim=True)
    p.add_argument("--console-dir", required=True, help="the console's files")
    p.add_argument("--screenshots", required=True, help="where the screenshots go")
    args = p.parse_args()
    args.pushgated = os.path.abspath(args.pushgated)
    args.sim = os.path.abspath(args.sim)
    args.console_dir = os.path.abspath(args.console_dir)
    chromium, driver = find_browser()
    if not chromium or not driver:
        print("SKIPPED: chromium, chromium-driver or python3-selenium not installed "
              "(packaging/install-deps.sh installs them)", flush=True)
        return 77
    started = time.monotonic()
    rc = systest.run_main(run, args, "pushgate-browser-")
    log(f"took {time.monotonic() - started:.1f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
