"""English and Polish: language negotiation and the short texts of outgoing mail."""

from __future__ import annotations

LANGUAGES = ("en", "pl")


DEFAULT_LANGUAGE = "en"


def supported(language: str | None) -> str | None:
    """`pl-PL` → `pl`; None when the language is not one we speak."""
    if not language:
        return None
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The best supported language of an Accept-Language header, honouring q-values."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = supported(tag)
        if language and quality > 0:
            choices.append((-quality, position, language))
    return min(choices)[2] if choices else None


def pick_language(*candidates: str | None) -> str:
    """The first candidate we speak, else English."""
    for candidate in candidates:
        language = supported(candidate)
        if language:
            return language
    return DEFAULT_LANGUAGE


SUBJECTS: dict[str, dict[str, str]] = {
    "verify_email": {
        "en": "Confirm your email address",
        "pl": "Potwierdź swój adres e-mail",
    },
    "password_reset": {
        "en": "Reset your password",
        "pl": "Zresetuj hasło",
    },
    "ticket_received": {
        "en": "We received your report: {title}",
        "pl": "Otrzymaliśmy Twoje zgłoszenie: {title}",
    },
    "ticket_status": {
        "en": "Your report is now {state_label}: {title}",
        "pl": "Status Twojego zgłoszenia: {state_label} – {title}",
    },
    "inbox_signin_problem": {
        "en": "Your inbox {inbox_name} needs you",
        "pl": "Skrzynka {inbox_name} wymaga Twojej uwagi",
    },
}

STATE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "new": "new",
        "in_progress": "in progress",
        "closed": "closed",
        "rejected": "rejected",
    },
    "pl": {
        "new": "nowe",
        "in_progress": "w realizacji",
        "closed": "zamknięte",
        "rejected": "odrzucone",
    },
}


def state_label(state: str, language: str) -> str:
    return STATE_LABELS[pick_language(language)].get(state, state)


def subject(kind: str, language: str, **values: str) -> str:
    return SUBJECTS[kind][pick_language(language)].format(**values)
