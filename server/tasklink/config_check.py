"""The environment checked before anything starts: every setting read and validated, one line per mistake.

- A value a settings class refuses becomes `TASKLINK_READ_ONLY='maybe' is not valid: expected a boolean
  (1/0, true/false)`: the variable, the value (hidden for a secret) and what is allowed.
- A `TASKLINK_*` variable no settings class reads, or a `<VENDOR>_*` variable (a shipped vendor or one
  from TASKLINK_MANIFEST_DIRS) its vendor's settings do not read, is a mistake too (a typo such as
  `TASKLINK_READONLY=1` would otherwise be ignored): the line names the closest known variable.

The known names are the fields of `TaskLinkSettings`, of `HttpSettings` (mcp/deployment.py, imported only
when a variable is not one of the first) and of each vendor's settings class (its adapter is loaded only
when one of its variables is set, as the registry does), plus `ALSO_READ`. `problem_lines` turns any
configuration exception (pydantic, pydantic-settings, ConfigurationError) into such lines.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo
    from pydantic_settings import BaseSettings

    from .errors import TaskLinkError
    from .settings import TaskLinkSettings

S = TypeVar("S", bound="BaseSettings")

#: TASKLINK_* variables read without a settings field (os.environ), or planned ones: not reported as unknown
ALSO_READ = frozenset({"TASKLINK_LOG_FORMAT"})
#: tasklink's own prefix; each vendor's is `<NAME>_`
PREFIX = "TASKLINK_"
#: a value longer than this is shown shortened
SHOWN_CHARACTERS = 60


class ConfigurationProblems(Exception):
    """One or more configuration mistakes, one line each."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def env_name(cls: type[BaseSettings], field: str) -> str:
    return (str(cls.model_config.get("env_prefix", "")) + field).upper()


def known_names(cls: type[BaseSettings]) -> set[str]:
    return {env_name(cls, field) for field in cls.model_fields}


def _environ() -> dict[str, tuple[str, str]]:
    """The environment by upper-cased name (the settings read names case-insensitively): (name, value)."""

    return {key.upper(): (key, value) for key, value in os.environ.items()}


# -- one line per refused value ------------------------------------------------------------------


def _is_secret(info: FieldInfo | None) -> bool:
    return info is not None and "SecretStr" in str(info.annotation)


def _shown(value: str, info: FieldInfo | None) -> str:
    if _is_secret(info):
        return " (value hidden)"
    text = value if len(value) <= SHOWN_CHARACTERS else value[: SHOWN_CHARACTERS - 1] + "…"
    return "=" + repr(text)


def _bounds(info: FieldInfo) -> str:
    limits: dict[str, Any] = {}
    for item in info.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(item, name, None) is not None:
                limits[name] = getattr(item, name)
    if "ge" in limits and "le" in limits:
        return f" from {limits['ge']} to {limits['le']}"
    words = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}
    return "".join(f", {words[name]} {value}" for name, value in limits.items())


def _example(info: FieldInfo) -> str:
    found = re.search(r"e\.g\. (.+?)\.?$", info.description or "")
    return f", e.g. {found.group(1)}" if found else ""


def allowed(info: FieldInfo) -> str | None:
    """What a field accepts from the environment, in words (None: pydantic's message says it better)."""

    annotation = info.annotation
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        annotation = kept[0] if len(kept) == 1 else annotation
        args = get_args(annotation)
    origin = get_origin(annotation)
    if annotation is bool:
        return "a boolean (1/0, true/false)"
    if annotation is int:
        return "a whole number" + _bounds(info)
    if annotation is float:
        return "a number" + _bounds(info)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if isinstance(annotation, type) and hasattr(annotation, "__members__"):  # an Enum
        return "one of " + ", ".join(str(m.value) for m in annotation.__members__.values())
    if origin is dict:
        what = (info.description or "").split(", e.g.")[0].rstrip(".")
        return "a JSON object" + (f" ({what[:1].lower() + what[1:]})" if what else "")
    if origin is list:
        return f"folders separated by {os.pathsep!r}" if args and args[0] is Path else "names separated by commas"
    if "Url" in str(annotation):
        return "an http:// or https:// URL"
    return None


def _reason(error: Mapping[str, Any], info: FieldInfo | None) -> str:
    kind, message = str(error.get("type", "")), str(error.get("msg", ""))
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "assertion_error":
        return message.removeprefix("Assertion failed, ")
    wanted = allowed(info) if info is not None else None
    if info is None or wanted is None:
        return message[:1].lower() + message[1:]
    reason = "expected " + wanted
    if get_origin(info.annotation) is dict:
        reason += _example(info)
    inner = [str(part) for part in error.get("loc", ())[1:]]
    if inner:  # inside a JSON value: say where
        reason += f" ({'.'.join(inner)}: {message[:1].lower() + message[1:]})"
    return reason


def validation_lines(cls: type[BaseSettings], errors: list[Any]) -> list[str]:
    """A pydantic ValidationError's errors for a settings class, one line each."""

    env = _environ()
    lines: list[str] = []
    for error in errors:
        loc = error.get("loc", ())
        field = str(loc[0]) if loc else ""
        info = cls.model_fields.get(field)
        name = env_name(cls, field) if field else cls.__name__
        given = env.get(name, (name, None))
        value = given[1] if given[1] is not None else error.get("input")
        shown = _shown(value, info) if isinstance(value, str) else ""
        line = f"{given[0]}{shown} is not valid: {_reason(error, info)}"
        if line not in lines:
            lines.append(line)
    return lines


SETTINGS_ERROR = re.compile(r'error parsing value for field "(?P<field>\w+)"')


def read_settings(cls: type[S]) -> S:
    """`cls()` from the environment, or ConfigurationProblems naming every refused variable (but a JSON value
    that does not parse stops pydantic-settings before it checks the others: it alone is named)."""

    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return cls()
    except SettingsError as exc:
        found = SETTINGS_ERROR.search(str(exc))
        if found is None or found.group("field") not in cls.model_fields:
            raise ConfigurationProblems([f"{cls.__name__}: {exc}"]) from None
        info = cls.model_fields[found.group("field")]
        name = env_name(cls, found.group("field"))
        name, value = _environ().get(name, (name, ""))
        wanted = allowed(info) or "a JSON value"
        raise ConfigurationProblems(
            [f"{name}{_shown(value, info)} is not valid: expected {wanted}{_example(info)}"]
        ) from None
    except ValidationError as exc:
        raise ConfigurationProblems(validation_lines(cls, exc.errors())) from None


def operator_line(exc: TaskLinkError) -> str:
    """A configuration error for the person running tasklink: what is wrong, what is allowed, what to do."""

    parts = [exc.message.rstrip(".") + "."]
    if exc.allowed:
        parts.append("Allowed: " + ", ".join(exc.allowed) + ".")
    if exc.hint:
        parts.append(exc.hint.rstrip(".") + ".")
    return " ".join(parts)


# -- unknown names -------------------------------------------------------------------------------


def unknown_line(name: str, known: set[str], prefix: str, vendor_title: str | None = None) -> str:
    """`TASKLINK_READONLY is not one of tasklink's settings; did you mean TASKLINK_READ_ONLY?` (the names
    are compared without their common `prefix`)."""

    import difflib

    whose = f"tasklink's {vendor_title} settings" if vendor_title else "tasklink's settings"
    by_rest = {k.removeprefix(prefix): k for k in known}
    close = [by_rest[k] for k in difflib.get_close_matches(name.upper().removeprefix(prefix), by_rest, n=1)]
    where = f"{vendor_title}'s section" if vendor_title else "the Configuration section"
    hint = f"did you mean {close[0]}?" if close else f"they are listed in {where} of the README"
    return f"{name} is not one of {whose}; {hint}"


def _tasklink_names(env: dict[str, tuple[str, str]], problems: list[str]) -> None:
    from .settings import TaskLinkSettings

    known = known_names(TaskLinkSettings) | ALSO_READ
    ours = [upper for upper in env if upper.startswith(PREFIX)]
    if all(upper in known for upper in ours):
        return
    from .mcp.deployment import HttpSettings  # only now: it imports the HTTP stack

    http = known_names(HttpSettings)
    if any(upper in http for upper in ours):
        try:
            read_settings(HttpSettings)
        except ConfigurationProblems as exc:
            problems += exc.lines
    known |= http
    problems += [unknown_line(env[upper][0], known, PREFIX) for upper in ours if upper not in known]


def _vendor_names(settings: TaskLinkSettings, env: dict[str, tuple[str, str]], problems: list[str]) -> None:
    from .errors import ConfigurationError
    from .manifests import load_manifests
    from .vendors.registry import adapter_for

    try:
        manifests = load_manifests(settings.manifest_dirs)
    except ConfigurationError as exc:
        problems.append(exc.message)
        return
    unknown_rates = sorted(set(settings.rate_limits) - set(manifests))
    if unknown_rates:
        name = env.get(env_name(type(settings), "rate_limits"), ("TASKLINK_RATE_LIMITS", ""))[0]
        problems.append(f"{name} names unknown vendors {unknown_rates}; the vendors are {', '.join(manifests)}")
    for vendor, manifest in manifests.items():
        prefix = f"{vendor.upper()}_"
        theirs = [upper for upper in env if upper.startswith(prefix)]
        if not theirs:
            continue
        try:
            cls = adapter_for(manifest).settings_class
        except ConfigurationError as exc:
            problems.append(exc.message)
            continue
        known = known_names(cls)
        problems += [
            unknown_line(env[upper][0], known, prefix, manifest.title) for upper in theirs if upper not in known
        ]
        try:
            read_settings(cls)
        except ConfigurationProblems as exc:
            problems += exc.lines


def check_environment() -> TaskLinkSettings:
    """The settings, after checking every TASKLINK_* and vendor variable; ConfigurationProblems (every
    mistake, one line each) when any is refused or unknown. Imports an adapter only for a vendor with a
    variable set, and the HTTP settings only for a variable tasklink's own settings do not read."""

    from .settings import TaskLinkSettings

    env = _environ()
    problems: list[str] = []
    settings: TaskLinkSettings | None = None
    try:
        settings = read_settings(TaskLinkSettings)
    except ConfigurationProblems as exc:
        problems += exc.lines
    _tasklink_names(env, problems)
    # with tasklink's own settings refused, the shipped vendors' variables are still checked
    _vendor_names(settings or TaskLinkSettings.model_construct(), env, problems)
    if problems:
        raise ConfigurationProblems(problems)
    assert settings is not None
    return settings


# -- any configuration exception, as lines -------------------------------------------------------


def _settings_class_of(exc: Exception) -> type[BaseSettings] | None:
    from pydantic_settings import BaseSettings

    title = getattr(exc, "title", None)
    for cls in _all_subclasses(BaseSettings):
        if cls.__name__ == title:
            return cls
    return None


def _all_subclasses(cls: type[Any]) -> list[type[Any]]:
    out: list[type[Any]] = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


def problem_lines(exc: BaseException) -> list[str] | None:
    """The lines to print for a configuration exception (one of a group of one, too), or None for any other."""

    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return problem_lines(exc.exceptions[0])
    if isinstance(exc, ConfigurationProblems):
        return exc.lines
    from .errors import ConfigurationError, StateUnavailable

    if isinstance(exc, ConfigurationError | StateUnavailable):
        return [operator_line(exc)]
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    if isinstance(exc, ValidationError):
        cls = _settings_class_of(exc)
        if cls is None:
            return None  # not a setting: a bug, which keeps its traceback
        return validation_lines(cls, exc.errors())
    if isinstance(exc, SettingsError):
        return [str(exc)]
    return None
