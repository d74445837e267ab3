"""The dashboard in a real browser: Debian's chromium driven by Playwright, no browser download."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from routesim import compose, simulate
from routesim.outcomes import scalar_outcomes

BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("ROUTESIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# set ROUTESIM_SCREENSHOT=docs/dashboard.png to refresh the README's picture
SCREENSHOT = os.environ.get("ROUTESIM_SCREENSHOT")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard():
    """``routesim-dashboard`` on a free local port; stopped (its whole process group) afterwards."""
    port = free_port()
    server = subprocess.Popen([str(BIN / "routesim-dashboard"), "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                os.killpg(server.pid, signal.SIGKILL)
                pytest.fail(f"routesim-dashboard did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
    yield url
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def test_dashboard_shows_what_simulate_gives_for_the_chosen_settings(dashboard, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: `make test` installs it (apt-get install -y chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1560})
        page.goto(dashboard)
        status = page.locator("#status")
        expect(status).to_contain_text("status_quo vs no_routing", timeout=60_000)

        page.locator(".v-select", has_text="Scenario").click()  # change a control: the scenario
        page.get_by_role("option", name="price_war").click()
        expect(status).to_contain_text("price_war vs no_routing", timeout=30_000)
        expect(status).to_have_attribute("data-state", "done", timeout=30_000)
        expect(page.locator("img")).to_have_count(3)  # the charts of the new comparison
        page.screenshot(path=SCREENSHOT or tmp_path / "dashboard.png", full_page=True)

        shown = page.locator("#frontier_revenue_usd_2030-chosen").inner_text()
        savings = page.locator("#enterprise_savings_usd-chosen").inner_text()
        browser.close()

    expected = scalar_outcomes(simulate(compose(["scenario=price_war", "population.n_enterprises=2000"])))
    assert float(shown.replace(",", "")) == pytest.approx(expected["frontier_revenue_usd_2030"] / 1e6, abs=0.006)
    assert float(savings.replace(",", "")) == pytest.approx(expected["enterprise_savings_usd"] / 1e6, abs=0.006)
