"""Text fields that can be stored and sent on: no control characters, no lone surrogates.

PostgreSQL cannot store U+0000 in `text` (the driver's error was a 500), a lone
surrogate (`"\\ud800"` is valid JSON) cannot be encoded as UTF-8 at all, and a CR or
LF in a value that ends up in a mail header or an IMAP/SMTP/HTTP command would
start a new line of that protocol. So request schemas type their free text with
these, and such input is a 422 with the field code `invalid_characters`
(params: `position`, the index of the first offending character, and `character`,
its code point as `U+0000`):

- `Line`: one line of text (names, titles, keywords, usernames, folders, keys). No
  C0 control character (tab, CR and LF included), no DEL, no C1 control, no lone
  surrogate.
- `FoldedLine`: a `Line` a reporter types (a report's title), where tabs and line
  breaks fold into a space first instead of being refused.
- `Text`: text of several lines (descriptions, comments, notes). Tab, LF and CR
  are allowed; the other characters `Line` refuses are not.
- `Secret`: a write-only secret (passwords of mailboxes, API tokens) that is
  stored encrypted and sent in a protocol command or header: refused like `Line`.
- `reject_surrogates`: for secrets that are only hashed (a manager's password, the
  opaque tokens): any character but a lone surrogate, which cannot be hashed.

Leading and trailing whitespace is stripped by the schemas (`str_strip_whitespace`)
before these checks, so a trailing newline from a copied value is no error.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_core import PydanticCustomError

INVALID_CHARACTERS = "invalid_characters"

_SURROGATE = "\ud800-\udfff"
# C0 controls, DEL, C1 controls, lone surrogates.
_NOT_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_SURROGATE}]")
# The same, but tab, LF and CR.
_NOT_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_SURROGATE}]")
_NOT_IN_HASHED = re.compile(f"[{_SURROGATE}]")


def _refuse(pattern: re.Pattern[str], value: str) -> str:
    found = pattern.search(value)
    if found:
        raise PydanticCustomError(
            INVALID_CHARACTERS,
            "contains a character that is not allowed here ({character}) at position {position}",
            {"position": found.start(), "character": f"U+{ord(found.group()):04X}"},
        )
    return value


def clean_line(value: str) -> str:
    return _refuse(_NOT_IN_LINE, value)


def clean_text(value: str) -> str:
    return _refuse(_NOT_IN_TEXT, value)


def clean_secret(value: SecretStr) -> SecretStr:
    _refuse(_NOT_IN_LINE, value.get_secret_value())
    return value


def reject_surrogates(value: str) -> str:
    return _refuse(_NOT_IN_HASHED, value)


def reject_secret_surrogates(value: SecretStr) -> SecretStr:
    _refuse(_NOT_IN_HASHED, value.get_secret_value())
    return value


_LINE_BREAKS = re.compile(r"[\t\r\n]+")


def fold_line_breaks(value: object) -> object:
    """Tabs and line breaks pasted into a one-line field become one space each run."""
    return _LINE_BREAKS.sub(" ", value) if isinstance(value, str) else value


Line = Annotated[str, AfterValidator(clean_line)]
# A one-line field a reporter fills (the report's title): a pasted line break is a
# space, not an error; every other control character is still refused.
FoldedLine = Annotated[str, BeforeValidator(fold_line_breaks), AfterValidator(clean_line)]
Text = Annotated[str, AfterValidator(clean_text)]
Secret = Annotated[SecretStr, AfterValidator(clean_secret)]
HashedSecret = Annotated[SecretStr, AfterValidator(reject_secret_surrogates)]
Token = Annotated[str, AfterValidator(reject_surrogates)]
