"""Headless Chromium for the browser tests: Debian's binary, started with no network of its own."""

CHROMIUM = "/usr/bin/chromium"
# Headless on a machine without a network: no first-run work, no background connections
# (without these, Chromium's attempts are refused by the closed network, many at a time).
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
