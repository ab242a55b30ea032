"""A person's name for a browser: "Chrome 131 on Windows 10", "Mobile Safari 17 on iPhone"."""

from functools import lru_cache

from ua_parser import parse

UNKNOWN_DEVICE = "Unknown browser"


@lru_cache(maxsize=512)
def device_label(user_agent: str) -> str:
    result = parse(user_agent or "")
    if result.user_agent is None:
        return UNKNOWN_DEVICE
    browser = " ".join(filter(None, [result.user_agent.family, result.user_agent.major]))
    where = ""
    if result.device is not None and result.device.family not in ("Other", "Spider"):
        where = result.device.family
    elif result.os is not None and result.os.family != "Other":
        where = " ".join(filter(None, [result.os.family, result.os.major]))
    return f"{browser} on {where}" if where else browser
