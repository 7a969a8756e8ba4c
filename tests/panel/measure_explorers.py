"""Explorer latency as a presenter feels it: slider moved in Chromium -> new digit image on screen.

Not a test (no timed assertions): a measuring script whose medians go to benchmarks/RESULTS.md.
    harness serve --run quick --port 7871 &
    python tests/panel/measure_explorers.py http://127.0.0.1:7871/ 20
"""
from __future__ import annotations

import statistics
import sys
import time

from playwright.sync_api import sync_playwright

# (tab name in Spanish, slider, digit image, the slider's span for the moves)
EXPLORERS = (("Explorador VAE", "#vae-z1", "#vae-digit img", (-2.5, 2.5)),
             ("Explorador GAN", "#gan-z1", "#gan-digit img", (-0.9, 0.9)))
CHANGED = "([s, b]) => { const i = document.querySelector(s); return i && i.src !== b; }"


def measure(url: str, moves: int) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url, wait_until="load")
        for tab, slider, image, (lo, hi) in EXPLORERS:
            page.get_by_role("tab", name=tab).click()
            page.locator(image).wait_for(timeout=120000)  # the model is loaded and a first digit shown
            times = []
            for i in range(moves):
                before = page.evaluate("s => document.querySelector(s).src", image)
                started = time.perf_counter()
                page.locator(f"{slider} input[type=range]").fill(f"{lo + (hi - lo) * i / (moves - 1):.2f}")
                page.wait_for_function(CHANGED, arg=[image, before], timeout=20000)
                times.append(1000 * (time.perf_counter() - started))
            times.sort()
            print(f"{tab}: {moves} moves, median {statistics.median(times):.0f} ms, "
                  f"p90 {times[round(0.9 * (moves - 1))]:.0f} ms, min {times[0]:.0f} ms, max {times[-1]:.0f} ms")
        browser.close()


if __name__ == "__main__":
    measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20)
