"""Build the Microsoft Teams app package for supportbot: a zip to upload to Teams.

    python deploy/teams/build_package.py --app-id <GUID> --domain bot.example.com \\
        [--website-url https://intranet.example.com/supportbot] [--out supportbot-teams.zip] \\
        [--source-dir DIR]

``--app-id`` is the bot's Microsoft App ID (the Azure Bot resource's app registration, the same
value as the server's ``MICROSOFT_APP_ID``); it becomes both the Teams app id and the bot id.
``--domain`` is the host name the bot is served from, without ``https://``. ``--website-url``
(the developer's website, privacy and terms-of-use links; ``https://`` required) defaults to
``https://<domain>``. Each option falls back on an environment variable of the same name as the
placeholder it fills:

    ${{MICROSOFT_APP_ID}}  id, bots[0].botId   --app-id       MICROSOFT_APP_ID
    ${{BOT_DOMAIN}}        validDomains        --domain       BOT_DOMAIN
    ${{BOT_WEBSITE_URL}}   developer.*Url      --website-url  BOT_WEBSITE_URL

``--source-dir`` builds from a customised copy of this directory (your own icons or wording).

The script fills the placeholders in ``manifest.json`` (next to it), checks the result and the
icons against the rules Teams applies on upload (see ``validate_manifest``), and writes a zip with
exactly ``manifest.json``, ``color.png`` and ``outline.png`` at its root, then prints its path. A
value it refuses (an app id that is not a GUID, a URL given as the domain, a placeholder left
without a value, ...) ends it with a one-line message and exit code 2. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
MANIFEST_NAME = "manifest.json"
ICONS = {"color": ("color.png", 192), "outline": ("outline.png", 32)}  # key → file, size
PACKAGE_FILES = (MANIFEST_NAME, "color.png", "outline.png")
DEFAULT_OUT = "supportbot-teams.zip"

PLACEHOLDER = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
NIL_GUID = "00000000-0000-0000-0000-000000000000"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$)(?:{_LABEL}\.)+{_LABEL}$")
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
SCHEMA_URL = re.compile(r"/json-schemas/teams/v(\d+\.\d+)/MicrosoftTeams\.schema\.json$")
BOT_SCOPES = {"personal", "team", "groupChat"}
# Limits from Microsoft's app manifest reference; the JSON schema is looser for commands.
MAX_LENGTHS = {
    "developer.name": 32,
    "name.short": 30,
    "name.full": 100,
    "description.short": 80,
    "description.full": 4000,
}
MAX_COMMAND_TITLE, MAX_COMMAND_DESCRIPTION, MAX_COMMANDS = 32, 128, 10
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same inputs give the same zip


class PackageError(ValueError):
    """A value or file the package cannot be built from; the message is one line."""


def build_package(
    app_id: str,
    domain: str,
    website_url: str | None = None,
    out: str | os.PathLike[str] = DEFAULT_OUT,
    *,
    source_dir: Path = HERE,
) -> Path:
    """Fill ``source_dir/manifest.json``, validate it and its icons, and write the zip ``out``.

    ``website_url`` defaults to ``https://<domain>``. Returns the path of the zip. Raises
    ``PackageError`` (and writes nothing) when a value is refused or the result would not pass
    Teams' checks.
    """
    app_id, domain = check_app_id(app_id), check_domain(domain)
    values = {
        "MICROSOFT_APP_ID": app_id,
        "BOT_DOMAIN": domain,
        "BOT_WEBSITE_URL": check_website_url(website_url or f"https://{domain}"),
    }
    try:
        template = json.loads((source_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PackageError(f"cannot read {source_dir / MANIFEST_NAME}: {_one_line(e)}") from e
    manifest = fill_placeholders(template, values)
    icons = {name: _read_file(source_dir / name) for name in PACKAGE_FILES[1:]}
    validate_manifest(manifest, icons)

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    contents = {MANIFEST_NAME: json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"}
    contents |= icons
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in PACKAGE_FILES:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, contents[name])
    return out_path


def check_app_id(app_id: str | None) -> str:
    """The Microsoft App ID, a GUID such as ``3f2504e0-4f89-41d3-9a0c-0305e82c3301``."""
    value = (app_id or "").strip()
    if not value:
        raise PackageError("no app id: pass --app-id or set MICROSOFT_APP_ID")
    if not GUID.match(value):
        raise PackageError(
            f"app id {value!r} is not a GUID (like 3f2504e0-4f89-41d3-9a0c-0305e82c3301): "
            "use the bot's Microsoft App ID"
        )
    if value == NIL_GUID:
        raise PackageError("app id is the all-zero GUID: use the bot's Microsoft App ID")
    return value


def check_domain(domain: str | None) -> str:
    """A host name such as ``bot.example.com``: no scheme, port, path or trailing dot."""
    value = (domain or "").strip()
    if not value:
        raise PackageError("no domain: pass --domain or set BOT_DOMAIN (e.g. bot.example.com)")
    if "://" in value or "/" in value:
        host = urlsplit(value if "://" in value else f"//{value}").hostname or "bot.example.com"
        raise PackageError(
            f"domain {value!r} is a URL, not a host name: give just the host, e.g. {host}"
        )
    if not HOST_NAME.match(value):
        raise PackageError(
            f"domain {value!r} is not a host name like bot.example.com (no port or spaces)"
        )
    return value.lower()


def check_website_url(url: str) -> str:
    """An ``https://`` URL for the developer's website, privacy and terms-of-use links."""
    value = url.strip()
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or re.search(r"[\s\"'<>\\]", value):
        raise PackageError(f"website URL {value!r} is not an https:// URL")
    if len(value) > 2048:
        raise PackageError("website URL is longer than 2048 characters")
    return value


def fill_placeholders(template: Any, values: Mapping[str, str]) -> Any:
    """A copy of ``template`` with every ``${{NAME}}`` in its strings replaced by ``values[NAME]``.

    Raises ``PackageError`` naming the first placeholder that has no value, so none can reach
    the package.
    """

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: fill(value) for key, value in node.items()}
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, str):
            return PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), node)
        return node

    filled = fill(template)
    left = _placeholders_left(filled)
    if left:
        raise PackageError(
            f"placeholder {left} in {MANIFEST_NAME} has no value "
            f"(this script fills {', '.join('${{' + name + '}}' for name in values)})"
        )
    return filled


def validate_manifest(manifest: Mapping[str, Any], icons: Mapping[str, bytes]) -> None:
    """Check a filled manifest and its icons against what Teams requires of a bot app.

    ``icons`` maps file names to PNG bytes. The checks: the required fields, ``manifestVersion``
    matching the version in ``$schema``, a semantic ``version``, GUIDs for ``id`` and
    ``botId`` (the same one), the length limits of names, descriptions and commands, the bot
    scopes, https developer URLs, host names in ``validDomains``, no placeholder left, a 192x192
    colour icon and a 32x32 outline icon that is white on a transparent background. The official
    schema is applied by the tests (``tests/test_teams_manifest.py``), which may use packages
    beyond the standard library. Raises ``PackageError`` on the first problem.
    """
    left = _placeholders_left(manifest)
    if left:
        raise PackageError(f"placeholder {left} is left in the manifest")
    required = ("manifestVersion", "version", "id", "developer", "name", "description")
    for field in (*required, "icons", "accentColor", "bots"):
        if field not in manifest:
            raise PackageError(f"the manifest has no {field!r}")

    schema = SCHEMA_URL.search(str(manifest.get("$schema", "")))
    if not schema or schema[1] != manifest["manifestVersion"]:
        raise PackageError(
            f"manifestVersion {manifest['manifestVersion']!r} does not match $schema "
            f"{manifest.get('$schema')!r}"
        )
    if not SEMVER.match(str(manifest["version"])):
        raise PackageError(f"version {manifest['version']!r} is not MAJOR.MINOR.PATCH")
    if not GUID.match(str(manifest["id"])):
        raise PackageError(f"id {manifest['id']!r} is not a GUID")
    if not HEX_COLOUR.match(str(manifest["accentColor"])):
        raise PackageError(f"accentColor {manifest['accentColor']!r} is not #RRGGBB")

    for path, limit in MAX_LENGTHS.items():
        section, key = path.split(".")
        text = manifest[section].get(key)
        if text is None and path != "name.full":
            raise PackageError(f"the manifest has no {path}")
        if text is not None and not 0 < len(text) <= limit:
            raise PackageError(f"{path} must have 1 to {limit} characters, has {len(text)}")
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        url = manifest["developer"].get(key, "")
        if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
            raise PackageError(f"developer.{key} {url!r} is not an https:// URL")

    _validate_bot(manifest)
    domains = manifest.get("validDomains", [])
    if len(domains) > 16:
        raise PackageError("validDomains has more than 16 entries")
    for domain in domains:
        if not HOST_NAME.match(domain.removeprefix("*.")):
            raise PackageError(f"validDomains entry {domain!r} is not a host name")
    _validate_icons(manifest["icons"], icons)


def _validate_bot(manifest: Mapping[str, Any]) -> None:
    bots = manifest["bots"]
    if not isinstance(bots, list) or len(bots) != 1:
        raise PackageError("the manifest must have exactly one bot")
    bot = bots[0]
    if bot.get("botId") != manifest["id"]:
        raise PackageError(f"bots[0].botId {bot.get('botId')!r} differs from id {manifest['id']!r}")
    scopes = bot.get("scopes", [])
    if not scopes or not set(scopes) <= BOT_SCOPES:
        raise PackageError(f"bots[0].scopes {scopes!r} must be among {sorted(BOT_SCOPES)}")
    for commands in bot.get("commandLists", []):
        if not set(commands["scopes"]) <= set(scopes):
            raise PackageError(f"a command list's scopes {commands['scopes']} are not the bot's")
        if len(commands["commands"]) > MAX_COMMANDS:
            raise PackageError(f"a command list has more than {MAX_COMMANDS} commands")
        for command in commands["commands"]:
            title, description = command["title"], command["description"]
            if not 0 < len(title) <= MAX_COMMAND_TITLE:
                raise PackageError(f"command title {title!r} is over {MAX_COMMAND_TITLE} chars")
            if not 0 < len(description) <= MAX_COMMAND_DESCRIPTION:
                raise PackageError(
                    f"description of command {title!r} is over {MAX_COMMAND_DESCRIPTION} chars"
                )


def _validate_icons(entries: Mapping[str, str], files: Mapping[str, bytes]) -> None:
    for key, (name, size) in ICONS.items():
        if entries.get(key) != name:
            raise PackageError(f"icons.{key} must be {name!r} (at the package root)")
        width, height, _, _, _ = _png_header(name, files[name])
        if (width, height) != (size, size):
            raise PackageError(f"{name} is {width}x{height}, Teams wants {size}x{size}")
    name = ICONS["outline"][0]
    pixels = png_pixels(name, files[name])
    size = len(pixels)
    for x, y in ((0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)):
        if pixels[y][x][3] != 0:
            raise PackageError(f"{name} must have a transparent background; pixel {x},{y} is not")
    for y, row in enumerate(pixels):
        for x, (r, g, b, a) in enumerate(row):
            if a and (r, g, b) != (255, 255, 255):
                raise PackageError(f"{name} must be white on transparent; pixel {x},{y} is not")


def _png_header(name: str, data: bytes) -> tuple[int, int, int, int, int]:
    """Width, height, bit depth, colour type and interlace method, from the IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 33:
        raise PackageError(f"{name} is not a PNG file")
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return width, height, depth, colour_type, interlace


def png_pixels(name: str, data: bytes) -> list[list[tuple[int, int, int, int]]]:
    """Rows of RGBA pixels of an 8-bit, non-interlaced PNG with an alpha channel."""
    width, height, depth, colour_type, interlace = _png_header(name, data)
    channels = {4: 2, 6: 4}.get(colour_type)  # grey + alpha, RGB + alpha
    if channels is None:
        raise PackageError(f"{name} has no alpha channel: save it as an RGBA PNG")
    if depth != 8 or interlace:
        raise PackageError(f"{name}: save it as an 8-bit, non-interlaced RGBA PNG")
    idat = b"".join(body for kind, body in _png_chunks(name, data) if kind == b"IDAT")
    try:
        raw = zlib.decompress(idat)
    except zlib.error as e:
        raise PackageError(f"{name}: damaged image data ({e})") from e
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise PackageError(f"{name}: image data has the wrong length")
    rows: list[list[tuple[int, int, int, int]]] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + predictor) & 0xFF
            elif kind != 0:
                raise PackageError(f"{name}: unknown PNG filter type {kind}")
        if channels == 4:
            rows.append(
                [(line[i], line[i + 1], line[i + 2], line[i + 3]) for i in range(0, stride, 4)]
            )
        else:
            rows.append([(line[i], line[i], line[i], line[i + 1]) for i in range(0, stride, 2)])
        previous = line
    return rows


def _png_chunks(name: str, data: bytes) -> Iterator[tuple[bytes, bytes]]:
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4].rjust(4, b"\0"))
        end = offset + 12 + length
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : end - 4]
        if end > len(data) or zlib.crc32(kind + body) != int.from_bytes(data[end - 4 : end]):
            raise PackageError(f"{name}: damaged PNG chunk {kind!r}")
        yield kind, body
        if kind == b"IEND":
            return
        offset = end


def _placeholders_left(node: Any) -> str | None:
    """The first ``${{...`` still in ``node``'s strings (keys included), or None."""
    text = json.dumps(node, ensure_ascii=False)
    start = text.find("${{")
    if start < 0:
        return None
    match = PLACEHOLDER.match(text, start)
    return match[0] if match else text[start : start + 20]


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise PackageError(f"cannot read {path}: {_one_line(e)}") from e


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the package and print its path; exit code 2 on a refused value."""
    parser = argparse.ArgumentParser(
        prog="build_package.py",
        description="Build supportbot's Microsoft Teams app package (manifest.json + icons).",
    )
    env = os.environ.get
    parser.add_argument(
        "--app-id",
        default=env("MICROSOFT_APP_ID"),
        help="the bot's Microsoft App ID, a GUID (default: $MICROSOFT_APP_ID)",
    )
    parser.add_argument(
        "--domain",
        default=env("BOT_DOMAIN"),
        help="host name the bot is served from, e.g. bot.example.com (default: $BOT_DOMAIN)",
    )
    parser.add_argument(
        "--website-url",
        default=env("BOT_WEBSITE_URL"),
        help="https URL for the developer, privacy and terms links "
        "(default: $BOT_WEBSITE_URL, else https://<domain>)",
    )
    parser.add_argument("--out", default=DEFAULT_OUT, help="zip to write (default: %(default)s)")
    parser.add_argument(
        "--source-dir",
        type=Path,
        default=HERE,
        help="directory with manifest.json, color.png and outline.png, for a customised copy "
        "(default: this script's directory)",
    )
    args = parser.parse_args(argv)
    try:
        path = build_package(
            args.app_id, args.domain, args.website_url, args.out, source_dir=args.source_dir
        )
    except PackageError as e:
        print(f"{parser.prog}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
