"""`tasklink bundle`: an MCP Bundle (`.mcpb`) that desktop clients install with one click.

The bundle is a zip with `manifest.json` (MCP Bundle manifest 0.3, https://github.com/anthropics/mcpb)
and a Python server that runs from it alone:

- `server/main.py`, the entry point: `python server/main.py serve` (stdio);
- `server/lib/`: tasklink's package (with its vendor manifests and tool definitions) and every package it
  needs, copied from the Python environment that runs `tasklink bundle`. Compiled packages (pydantic-core,
  cryptography) are built for that environment, so the manifest declares its platform and Python version.

The manifest lists the tools and prompts as `tools/list` and `prompts/get` give them, and has a
`user_config` entry for each vendor setting (credentials marked sensitive) mapped to the vendor's own
environment variable (`LIGHTFIELD_API_KEY`, ...). A vendor left unconfigured runs on its sandbox.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import re
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__

MANIFEST_VERSION = "0.3"
NAME = "tasklink"
ENTRY_POINT = "server/main.py"
LIB = "server/lib"
#: a fixed time for every zip entry, so the same sources make the same bundle
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PLATFORMS = {"linux": "linux", "darwin": "darwin", "win32": "win32"}
#: words spelled in capitals in a setting's title
ACRONYMS = {"api": "API", "id": "ID", "url": "URL"}
KEYWORDS = ["tasks", "legal intake", "spotdraft", "trackops", "lightfield", "workiva"]

MAIN_PY = '''"""tasklink from its MCP Bundle: the packages it needs are in lib/ beside this file."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
# an optional setting the user left empty reaches us as "" (or as the unexpanded placeholder): unset it, so the
# vendor stays on its sandbox instead of failing on an empty credential
for _name, _value in list(os.environ.items()):
    if _name.startswith(({prefixes})) and (not _value.strip() or _value.startswith("${{user_config.")):
        del os.environ[_name]

from tasklink.cli import main  # noqa: E402

main(prog_name="tasklink")
'''

LONG_DESCRIPTION = """\
tasklink is one MCP server for tasks and legal intakes across SpotDraft, Trackops, Lightfield and Workiva, with
guardrails: idempotent writes, a duplicate check before creating, confirmations before deleting, dry runs, and an
audit log of every write.

Fill in the settings of the vendors you use. A vendor without credentials runs on tasklink's built-in sandbox,
so every tool can be tried before any account is connected."""


class BundleError(Exception):
    """The bundle cannot be made from this environment."""


@dataclass
class Bundle:
    path: Path
    manifest: dict[str, Any]
    files: int
    size: int


# -- the manifest ---------------------------------------------------------------------------------


async def catalog() -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The tools (every one, on the sandbox) and the prompts, as a client sees them."""

    from mcp import Client

    from .mcp.server import build_server
    from .settings import TaskLinkSettings

    with tempfile.TemporaryDirectory() as data:
        settings = TaskLinkSettings(
            data_dir=Path(data), sandbox=True, read_only=False, tools=[], exclude_tools=[], vendors=[]
        )
        async with Client(build_server(settings)) as client:
            listed = (await client.list_tools()).tools
            tools = [{"name": t.name, "description": t.description or t.title or t.name} for t in listed]
            prompts = []
            for prompt in (await client.list_prompts()).prompts:
                names = [a.name for a in prompt.arguments or []]
                got = await client.get_prompt(prompt.name, {n: f"${{arguments.{n}}}" for n in names})
                text = "\n\n".join(getattr(m.content, "text", "") for m in got.messages)
                prompts.append(
                    {"name": prompt.name, "description": prompt.description or "", "arguments": names, "text": text}
                )
    return tools, prompts


def _title(vendor_title: str, field: str) -> str:
    words = [ACRONYMS.get(w, w) for w in field.split("_")]
    return f"{vendor_title}: {' '.join(words)[:1].upper() + ' '.join(words)[1:]}"


def user_config() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """One optional entry per vendor setting (not the shared-server identity), and the environment each maps to."""

    from pydantic import SecretStr

    from .generated import _types
    from .manifests import load_manifests
    from .vendors.registry import adapter_for

    config: dict[str, dict[str, Any]] = {
        "read_only": {
            "type": "boolean",
            "title": "Read only",
            "description": "Only read tools are listed and callable: nothing is ever written to a vendor.",
            "default": False,
            "required": False,
        }
    }
    env = {"TASKLINK_READ_ONLY": "${user_config.read_only}"}
    for name, manifest in load_manifests().items():
        settings_class = adapter_for(manifest).settings_class
        prefix = str(settings_class.model_config.get("env_prefix", "")).upper()
        for field, info in settings_class.model_fields.items():
            if field == "identity":  # whom requests act as on a shared server: not a desktop setting
                continue
            kinds = _types(info.annotation) - {type(None)}
            key = f"{name}_{field}"
            entry: dict[str, Any] = {
                "type": "number" if kinds and kinds <= {int, float} else "string",
                "title": _title(manifest.title, field),
                "description": info.description or field,
                "required": False,
            }
            if SecretStr in kinds:
                entry["sensitive"] = True
            config[key] = entry
            env[prefix + field.upper()] = f"${{user_config.{key}}}"
    return config, env


def python_range() -> str:
    major, minor = sys.version_info[:2]
    return f">={major}.{minor},<{major}.{minor + 1}"


def manifest(tools: list[dict[str, str]], prompts: list[dict[str, Any]]) -> dict[str, Any]:
    from .generated import REGISTRY_DESCRIPTION

    config, env = user_config()
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": NAME,
        "display_name": "tasklink",
        "version": __version__,
        "description": REGISTRY_DESCRIPTION,
        "long_description": LONG_DESCRIPTION,
        "author": {"name": "tasklink"},
        "license": "Apache-2.0",
        "keywords": KEYWORDS,
        "server": {
            "type": "python",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "python",
                "args": [f"${{__dirname}}/{ENTRY_POINT}", "serve"],
                "env": {"PYTHONPATH": f"${{__dirname}}/{LIB}", **env},
            },
        },
        "tools": tools,
        "prompts": prompts,
        "compatibility": {
            "platforms": [PLATFORMS.get(sys.platform, sys.platform)],
            "runtimes": {"python": python_range()},
        },
        "user_config": config,
    }


# -- what goes into server/lib --------------------------------------------------------------------

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> list[str]:
    """tasklink's own dependencies: from pyproject.toml in a checkout, else from the installed metadata."""

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == NAME:
            return [str(r) for r in project.get("dependencies", [])]
    try:
        found = metadata.distribution(NAME).requires or []
    except metadata.PackageNotFoundError:
        raise BundleError(
            "tasklink is not installed in this Python environment, so its dependencies are unknown"
        ) from None
    return [r for r in found if not _EXTRA.search(r)]


def _parse(requirement: str) -> tuple[str, set[str], str]:
    spec, _, marker = requirement.partition(";")
    match = _REQUIREMENT.match(spec)
    if match is None:
        raise BundleError(f"cannot read the requirement {requirement!r}")
    extras = {canonical(e) for e in (match.group(2) or "").split(",") if e.strip()}
    return match.group(1), extras, marker.strip()


def dependencies() -> list[metadata.Distribution]:
    """Every installed distribution tasklink needs, recursively. A requirement behind an environment marker is
    taken when it is installed (its marker held when it was installed); one behind an extra only when that
    extra is wanted."""

    found: dict[str, metadata.Distribution] = {}
    todo = [(r, set[str]()) for r in requirements()]
    while todo:
        requirement, wanted_extras = todo.pop()
        name, extras, marker = _parse(requirement)
        needed_by_extra = _EXTRA.findall(marker)
        if needed_by_extra and not {canonical(e) for e in needed_by_extra} & wanted_extras:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if marker:
                continue  # its marker excluded it here
            raise BundleError(
                f"{name} (needed by tasklink) is not installed in this Python environment; install tasklink into it "
                "first (pip install .)"
            ) from None
        key = canonical(dist.metadata["Name"] or name)
        if key == NAME:
            continue
        if key in found:
            continue  # (the extras a second path asks for are installed anyway when they matter)
        found[key] = dist
        todo.extend((r, extras) for r in dist.requires or [])
    return sorted(found.values(), key=lambda d: canonical(d.metadata["Name"] or ""))


def _skipped(relative: str) -> bool:
    parts = relative.split("/")
    return "__pycache__" in parts or relative.endswith((".pyc", ".pth")) or parts[0] == ".."


def dependency_files(dist: metadata.Distribution) -> Iterator[tuple[str, Path]]:
    for entry in dist.files or []:
        relative = str(entry).replace("\\", "/")
        if _skipped(relative):
            continue
        source = Path(str(dist.locate_file(entry)))
        if source.is_file():
            yield f"{LIB}/{relative}", source


def package_files() -> Iterator[tuple[str, Path]]:
    """tasklink's package, with its manifests and tool definitions as an installed wheel has them."""

    from .manifests import manifests_dir

    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*")):
        relative = source.relative_to(package).as_posix()
        if source.is_file() and not _skipped(relative):
            yield f"{LIB}/{NAME}/{relative}", source
    manifests = manifests_dir()
    if manifests.parent != package:  # a checkout: the wheel puts tool_manifests/ at tasklink/_manifests
        for source in sorted(manifests.rglob("*")):
            relative = source.relative_to(manifests).as_posix()
            if source.is_file() and not _skipped(relative):
                yield f"{LIB}/{NAME}/_manifests/{relative}", source


def dist_info() -> dict[str, str]:
    """Metadata so `importlib.metadata` (and `tasklink --version`) finds tasklink in the bundle."""

    folder = f"{LIB}/{NAME}-{__version__}.dist-info"
    return {
        f"{folder}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {__version__}\n",
        f"{folder}/entry_points.txt": f"[console_scripts]\n{NAME} = tasklink.cli:main\n",
    }


def main_py() -> str:
    from .manifests import load_manifests

    prefixes = sorted({"TASKLINK_", *(f"{name.upper()}_" for name in load_manifests())})
    return MAIN_PY.format(prefixes=", ".join(json.dumps(p) for p in prefixes) + ",")


# -- writing it --------------------------------------------------------------------------------------


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100000 | mode) << 16
    archive.writestr(info, data)


def write_bundle(out_dir: Path) -> Bundle:
    """Write `tasklink-<version>.mcpb` into `out_dir`."""

    import anyio

    tools, prompts = anyio.run(catalog)
    made = manifest(tools, prompts)
    files: dict[str, Path] = dict(package_files())
    for dist in dependencies():
        files.update(dependency_files(dist))
    texts = {"manifest.json": json.dumps(made, indent=2, ensure_ascii=False) + "\n", ENTRY_POINT: main_py()}
    texts |= dist_info()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{NAME}-{__version__}.mcpb"
    partial = path.with_suffix(".mcpb.partial")
    with zipfile.ZipFile(partial, "w", compresslevel=6) as archive:
        for name in sorted(texts):
            _add(archive, name, texts[name].encode(), 0o755 if name == ENTRY_POINT else 0o644)
        for name in sorted(files):
            _add(archive, name, files[name].read_bytes())
    partial.replace(path)
    return Bundle(path=path, manifest=made, files=len(texts) + len(files), size=path.stat().st_size)
