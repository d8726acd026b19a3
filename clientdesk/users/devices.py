"""A readable device name from a User-Agent header, for the Security page."""

from __future__ import annotations

_BROWSERS = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
]
_SYSTEMS = [
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


def describe_user_agent(user_agent: str) -> str:
    """``"Chrome on Linux"``; ``"Unknown device"`` when nothing is recognised."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    if "HeadlessChrome" in user_agent:
        browser = "Headless Chrome"
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"
