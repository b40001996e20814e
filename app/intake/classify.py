"""Auto-replies, bounces and bulk mail (SPEC 4.3, step 4)."""

from __future__ import annotations

import re
from typing import Literal

from app.intake.parse import IncomingEmail

Kind = Literal["autoreply", "bounce", "bulk", "normal"]
_DAEMON = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)


def classify(mail: IncomingEmail) -> Kind:
    """`autoreply` and `bounce` are recorded and ignored; `bulk` is routed but never
    acknowledged; `normal` is a report like any other.

    A missing Return-Path is no signal: many servers strip it on delivery.
    """
    h = mail.headers
    auto_submitted = h.get("auto-submitted", "").split(";")[0].strip().lower()
    precedence = h.get("precedence", "").strip().lower()
    if mail.is_delivery_report:
        return "bounce"
    return_path = h.get("return-path")
    if (
        return_path is not None
        and return_path.strip() in ("<>", "")
        and mail.sender_email
        and _DAEMON.match(mail.sender_email)
    ):
        return "bounce"
    if (auto_submitted and auto_submitted != "no") or "x-autoreply" in h or "x-autorespond" in h:
        return "autoreply"
    if precedence == "auto_reply":
        return "autoreply"
    if "list-id" in h or precedence in ("list", "bulk", "junk"):
        return "bulk"
    return "normal"
