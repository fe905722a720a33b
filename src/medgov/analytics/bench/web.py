"""The web stage: the cockpit and a measure page under concurrent signed-in GETs on loopback.

A throwaway data folder is set up by ``medgov demo --no-serve`` (migrations, demo users, measure results and
the other demo data), with the bench's population and warehouse as its clinical data; ``medgov serve`` runs on a free loopback port; one session
cookie is obtained by signing in; one client then sends ``SEQUENTIAL_REQUESTS`` requests one after the other (the
latency a single user sees on an otherwise idle server), then the load generator keeps ``clients`` connections
busy for ``seconds``.
The load generator is wrk when it is installed (Debian package ``wrk``), else a thread pool of ``http.client``
connections; the result names which one ran. Latency percentiles are wrk's (HdrHistogram) or exact over the
recorded requests. The server's CPU time and peak memory are summed over its master and workers from /proc.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medgov.analytics.bench.results import Measured, StageResult
from medgov.analytics.bench.runner import BenchInputError

if TYPE_CHECKING:
    from medgov.analytics.bench.runner import Bench

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "errors": %d, "non_2xx": %d, "duration_us": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %f}\\n',
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""

SEQUENTIAL_REQUESTS = 50


@dataclass(frozen=True, slots=True)
class Load:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    generator: str

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _medgov() -> list[str]:
    # Not ``-m medgov.interfaces.cli.main``: run as __main__, the module would register its subcommands on a
    # second copy of the app.
    return [sys.executable, "-c", "from medgov.interfaces.cli.main import run; run()"]


def _wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"medgov serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=5) as response:  # noqa: S310  (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"medgov serve did not answer on {base} within {timeout:.0f} s")


def sign_in(base: str, username: str, password: str) -> str:
    """Sign in through the login form and return the Cookie header of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/login/", timeout=30) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("the login page has no CSRF token")
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1), "next": "/"}
    ).encode()
    request = urllib.request.Request(f"{base}/login/", data=form, headers={"Referer": f"{base}/login/"})  # noqa: S310
    with opener.open(request, timeout=30) as response:
        response.read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "sessionid" not in cookies:
        raise RuntimeError(f"signing in as {username} did not give a session")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _get(base: str, path: str, cookie: str) -> tuple[int, str]:
    parsed = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=60)
    try:
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def _wrk(base: str, path: str, cookie: str, clients: int, seconds: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        completed = subprocess.run(
            ["wrk", "-t", str(min(clients, os.cpu_count() or 1)), "-c", str(clients), "-d", f"{seconds}s",
             "--timeout", "30s", "-H", f"Cookie: {cookie}", "-s", script.name, f"{base}{path}"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        Path(script.name).unlink(missing_ok=True)
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    return Load(
        requests=int(summary["requests"]),
        errors=int(summary["errors"]) + int(summary["non_2xx"]),
        seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1000,
        p95_ms=summary["p95_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        generator="wrk",
    )


def _thread_pool(base: str, path: str, cookie: str, clients: int, seconds: int) -> Load:
    parsed = urllib.parse.urlsplit(base)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Cookie": cookie})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                connection.close()
                connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return Load(
        len(ordered),
        errors,
        elapsed,
        _percentile(ordered, 0.50),
        _percentile(ordered, 0.95),
        _percentile(ordered, 0.99),
        "python",
    )


def _percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values (seconds), in milliseconds."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))] * 1000


def _sequential(base: str, path: str, cookie: str, requests: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``requests`` GETs sent one after the other on one connection."""
    parsed = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=60)
    latencies = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status} for the signed-in user")
    finally:
        connection.close()
    ordered = sorted(latencies)
    return _percentile(ordered, 0.50), _percentile(ordered, 0.95)


def _process_tree(pid: int) -> list[int]:
    found = [pid]
    for current in found:
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found.extend(int(child) for child in children)
    return found


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _peak_memory_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        total += int(match.group(1)) * 1024 if match else 0
    return total


def web_stage(bench: Bench, files: list[Path], *, username: str, password: str) -> list[StageResult]:
    config = bench.config
    data = bench.work / "web-data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    if not (bench.population / "planted.json").exists():
        # Without it the demo would generate a population of its own into the folder.
        raise BenchInputError(
            f"the web stage needs a population written by `medgov synth` (with its planted.json): {bench.population}"
        )
    # The demo generates and loads its own population unless it finds one of its size: give it the bench's,
    # already loaded, so the pages show the population the other stages measured.
    (data / f"demo-fhir-{config.patients}").symlink_to(bench.population.resolve(), target_is_directory=True)
    env: Mapping[str, str] = {
        **os.environ,
        "MEDGOV_DATA_DIR": str(data),
        "MEDGOV_WAREHOUSE": str(bench.warehouse),
        "MEDGOV_DEMO_PATIENTS": str(config.patients),
        "MEDGOV_LOGIN_MAX_FAILURES": "1000",
    }
    bench.progress("web: setting up a demo data folder (measure results for the whole population)")
    setup = subprocess.run([*_medgov(), "demo", "--no-serve"], env=env, capture_output=True, text=True)
    if setup.returncode != 0:
        raise RuntimeError(f"medgov demo --no-serve failed:\n{setup.stderr[-3000:]}")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*_medgov(), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(config.web_workers), "--threads", str(config.web_threads)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_until_up(base, server)
        cookie = sign_in(base, username, password)
        status, catalogue = _get(base, "/quality/", cookie)
        measure_ids = re.findall(r'href="/quality/measures/([a-z0-9-]+)/"', catalogue) if status == 200 else []
        pages: dict[str, str] = {"cockpit": "/"}
        notes: dict[str, str] = {}
        if measure_ids:
            pages[f"measure page ({measure_ids[0]})"] = f"/quality/measures/{measure_ids[0]}/"
        else:
            pages["measure catalogue"] = "/quality/"
            notes["measure catalogue"] = (
                "the demo data folder has no measure results yet, so no measure page exists: the measure "
                "catalogue was measured instead"
            )
        results = []
        for label, path in pages.items():
            status, _ = _get(base, path, cookie)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status} for the signed-in user")
            for _ in range(3):  # warm the workers' imports and caches
                _get(base, path, cookie)
            single_p50, single_p95 = _sequential(base, path, cookie, SEQUENTIAL_REQUESTS)
            pids = _process_tree(server.pid)
            cpu_before = _cpu_seconds(pids)
            bench.progress(f"web: {label} with {config.web_clients} clients for {config.web_seconds} s")
            if shutil.which("wrk"):
                load = _wrk(base, path, cookie, config.web_clients, config.web_seconds)
            else:
                load = _thread_pool(base, path, cookie, config.web_clients, config.web_seconds)
            pids = _process_tree(server.pid)
            details: dict[str, Any] = {
                "path": path,
                "clients": config.web_clients,
                "load_generator": load.generator,
                "requests": load.requests,
                "errors": load.errors,
                "p50_ms": load.p50_ms,
                "p95_ms": load.p95_ms,
                "p99_ms": load.p99_ms,
                "requests_per_second": load.requests_per_second,
                "server_workers": config.web_workers,
                "server_threads": config.web_threads,
                "single_client_requests": SEQUENTIAL_REQUESTS,
                "single_client_p50_ms": single_p50,
                "single_client_p95_ms": single_p95,
            }
            results.append(
                StageResult(
                    f"web: {label}",
                    Measured(
                        f"medgov serve (gunicorn, {config.web_workers} workers x {config.web_threads} threads)",
                        load.seconds,
                        _cpu_seconds(pids) - cpu_before,
                        _peak_memory_bytes(pids),
                        load.requests,
                        "requests",
                        None,
                        details,
                    ),
                    (),
                    (
                        f"one client, {SEQUENTIAL_REQUESTS} requests in turn: p50 {single_p50:.0f} ms, "
                        f"p95 {single_p95:.0f} ms",
                        f"{load.generator}: {config.web_clients} concurrent clients, {load.requests:,} requests, "
                        f"{load.errors} errors; p50 {load.p50_ms:.0f} ms, p95 {load.p95_ms:.0f} ms, "
                        f"p99 {load.p99_ms:.0f} ms, {load.requests_per_second:.1f} requests/s",
                        *([notes[label]] if label in notes else []),
                    ),
                )
            )
        return results
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
