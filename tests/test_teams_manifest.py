"""The Teams app package: the manifest filled in, valid against Microsoft's schema, with icons.

``deploy/teams/build_package.py`` is a standalone script (not part of the ``bot`` package), so it
is loaded from its path. The PNG checks read the files here, independently of the script.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

import pytest

from bot.platforms.admin import Action

ROOT = Path(__file__).parent.parent
TEAMS_DIR = ROOT / "deploy" / "teams"
SCRIPT = TEAMS_DIR / "build_package.py"
SCHEMAS = Path(__file__).parent / "schemas"
APP_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
DOMAIN = "bot.example.com"
WEBSITE = "https://intranet.example.com/supportbot"
EXAMPLE_QUESTION = "How many days of annual leave do I get?"
ENV_VARS = ("MICROSOFT_APP_ID", "BOT_DOMAIN", "BOT_WEBSITE_URL")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("teams_build_package", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_script()


@pytest.fixture(autouse=True)
def _no_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return build.build_package(APP_ID, DOMAIN, WEBSITE, tmp_path / "out" / "supportbot.zip")


def _manifest(package: Path) -> dict[str, Any]:
    with zipfile.ZipFile(package) as archive:
        return json.loads(archive.read("manifest.json"))


def _png_header(data: bytes) -> tuple[int, int, int, int]:
    """Width, height, bit depth and colour type, read from the IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour_type


def _rgba_rows(data: bytes) -> list[list[tuple[int, ...]]]:
    """Decode an 8-bit, non-interlaced RGBA PNG (any scanline filter) into rows of pixels."""
    width, height, depth, colour_type = _png_header(data)
    assert (depth, colour_type, data[28]) == (8, 6, 0), "expected 8-bit RGBA, not interlaced"
    idat, offset = b"", 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"IDAT":
            idat += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw, stride, rows, above = zlib.decompress(idat), width * 4, [], bytes(width * 4)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 :][:stride])
        for i in range(stride):
            a, b, c = line[i - 4] if i >= 4 else 0, above[i], above[i - 4] if i >= 4 else 0
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            line[i] = (line[i] + (0, a, b, (a + b) // 2, paeth)[kind]) & 0xFF
        rows.append([tuple(line[i : i + 4]) for i in range(0, stride, 4)])
        above = bytes(line)
    return rows


def test_the_package_holds_exactly_the_manifest_and_the_two_icons_at_its_root(
    package: Path,
) -> None:
    assert package.is_file()
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        for icon in ("color.png", "outline.png"):
            assert archive.read(icon) == (TEAMS_DIR / icon).read_bytes()
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_every_placeholder_is_filled_with_the_given_values(package: Path) -> None:
    template = (TEAMS_DIR / "manifest.json").read_text()
    for placeholder in ("${{MICROSOFT_APP_ID}}", "${{BOT_DOMAIN}}", "${{BOT_WEBSITE_URL}}"):
        assert placeholder in template
    with zipfile.ZipFile(package) as archive:
        text = archive.read("manifest.json").decode()
    assert "${{" not in text
    manifest = json.loads(text)
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == [DOMAIN]
    developer = manifest["developer"]
    assert developer["name"] == "Supportbot contributors"
    assert developer["websiteUrl"] == developer["privacyUrl"] == developer["termsOfUseUrl"]
    assert developer["websiteUrl"] == WEBSITE


def test_the_website_defaults_to_the_bots_domain(tmp_path: Path) -> None:
    manifest = _manifest(build.build_package(APP_ID, DOMAIN, None, tmp_path / "p.zip"))
    assert manifest["developer"]["privacyUrl"] == f"https://{DOMAIN}"


def test_the_manifest_is_valid_against_microsofts_schema_for_its_version(package: Path) -> None:
    import jsonschema  # a dev dependency; the script itself needs only the standard library

    manifest = _manifest(package)
    version = manifest["manifestVersion"]
    schema = json.loads((SCHEMAS / f"teams-manifest-{version}.schema.json").read_text())
    assert manifest["$schema"] == (
        f"https://developer.microsoft.com/json-schemas/teams/v{version}/MicrosoftTeams.schema.json"
    )
    # Draft-04 has no `const`, so the validator would not check manifestVersion: do it here.
    assert schema["properties"]["manifestVersion"]["const"] == version
    validator_class = jsonschema.validators.validator_for(schema)
    assert validator_class is jsonschema.Draft4Validator
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]
    assert errors == []
    # The schema does bite: a bot id that is not a GUID and an unknown field are both errors.
    broken = copy.deepcopy(manifest)
    broken["bots"][0]["botId"] = "supportbot"
    broken["colour"] = "blue"
    assert len(list(validator.iter_errors(broken))) == 2


def test_the_bot_works_in_personal_chats_teams_and_group_chats_and_takes_files(
    package: Path,
) -> None:
    manifest = _manifest(package)
    [bot] = manifest["bots"]
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert bot["supportsFiles"] is True
    assert bot["isNotificationOnly"] is False
    assert sorted(manifest["permissions"]) == ["identity", "messageTeamMembers"]
    # It answers only when mentioned: no resource-specific consent to read every message.
    assert "authorization" not in manifest and "webApplicationInfo" not in manifest
    assert "ChannelMessage" not in json.dumps(manifest)


def test_the_commands_are_the_kb_commands_in_personal_chats_and_an_example_question(
    package: Path,
) -> None:
    [bot] = _manifest(package)["bots"]
    by_scope = {
        scope: {command["title"]: command["description"] for command in commands["commands"]}
        for commands in bot["commandLists"]
        for scope in commands["scopes"]
    }
    assert sorted(by_scope) == ["groupChat", "personal", "team"]
    kb_commands = {f"kb {action}" for action in get_args(Action)}
    assert kb_commands == {
        "kb add",
        "kb remove",
        "kb list",
        "kb stale",
        "kb sources",
        "kb sync",
        "kb console",
        "kb gaps",
        "kb help",
    }
    [personal_example] = set(by_scope["personal"]) - kb_commands
    assert kb_commands <= set(by_scope["personal"])
    for scope in ("team", "groupChat"):
        [example] = by_scope[scope]
        assert example == personal_example
        assert EXAMPLE_QUESTION in by_scope[scope][example]
    for commands in by_scope.values():
        for title, description in commands.items():
            assert 0 < len(title) <= 32, title
            assert 0 < len(description) <= 128, title


def test_the_icons_are_192_and_32_pixels_square(package: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        assert _png_header(archive.read("color.png"))[:2] == (192, 192)
        assert _png_header(archive.read("outline.png"))[:2] == (32, 32)


def test_the_outline_icon_is_white_on_a_transparent_background(package: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        data = archive.read("outline.png")
    colour_type = _png_header(data)[3]
    assert colour_type in (4, 6), "no alpha channel"
    rows = _rgba_rows(data)
    assert [rows[y][x][3] for x in (0, 31) for y in (0, 31)] == [0, 0, 0, 0]
    visible = [pixel for row in rows for pixel in row if pixel[3]]
    assert len(visible) > 32 * 32 // 4, "the glyph is missing"
    assert {pixel[:3] for pixel in visible} == {(255, 255, 255)}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--app-id", "supportbot", "--domain", DOMAIN], "is not a GUID"),
        (["--app-id", APP_ID[:-1], "--domain", DOMAIN], "is not a GUID"),
        (["--app-id", APP_ID, "--domain", f"https://{DOMAIN}/api/messages"], "is a URL"),
        (["--app-id", APP_ID, "--domain", f"{DOMAIN}/api/messages"], "is a URL"),
        (["--app-id", APP_ID, "--domain", f"{DOMAIN}:443"], "is not a host name"),
        (["--domain", DOMAIN], "no app id"),
    ],
)
def test_bad_values_are_refused_with_exit_code_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    out = tmp_path / "p.zip"
    assert build.main([*arguments, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err
    assert not out.exists()


def test_a_placeholder_without_a_value_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "teams"
    shutil.copytree(TEAMS_DIR, source, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["name"]["full"] = "Supportbot at ${{COMPANY_NAME}}"
    (source / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "p.zip"
    argv = ["--app-id", APP_ID, "--domain", DOMAIN, "--source-dir", str(source), "--out", str(out)]
    assert build.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "${{COMPANY_NAME}}" in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("icon", "replacement", "message"),
    [
        ("color.png", "outline.png", "color.png is 32x32"),
        ("outline.png", "color.png", "outline.png is 192x192"),
    ],
)
def test_icons_of_the_wrong_size_are_refused(
    tmp_path: Path, icon: str, replacement: str, message: str
) -> None:
    source = tmp_path / "teams"
    shutil.copytree(TEAMS_DIR, source, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copyfile(TEAMS_DIR / replacement, source / icon)
    with pytest.raises(build.PackageError, match=message):
        build.build_package(APP_ID, DOMAIN, None, tmp_path / "p.zip", source_dir=source)


def _png(size: int, colour_type: int, pixel: bytes) -> bytes:
    """A square, single-colour 8-bit PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, colour_type, 0, 0, 0)
    image = zlib.compress((b"\x00" + pixel * size) * size)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", image) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("outline", "message"),
    [
        (_png(32, 6, b"\xff\xff\xff\xff"), "transparent background"),
        (_png(32, 2, b"\xff\xff\xff"), "no alpha channel"),
    ],
)
def test_an_outline_icon_without_a_transparent_background_is_refused(
    tmp_path: Path, outline: bytes, message: str
) -> None:
    source = tmp_path / "teams"
    shutil.copytree(TEAMS_DIR, source, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (source / "outline.png").write_bytes(outline)
    with pytest.raises(build.PackageError, match=message):
        build.build_package(APP_ID, DOMAIN, None, tmp_path / "p.zip", source_dir=source)


def test_the_script_runs_from_the_command_line_with_values_from_the_environment(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "MICROSOFT_APP_ID": APP_ID, "BOT_DOMAIN": DOMAIN}
    command = [sys.executable, str(SCRIPT), "--out", "teams.zip"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip() == "teams.zip"
    assert _manifest(tmp_path / "teams.zip")["id"] == APP_ID

    env["BOT_DOMAIN"] = f"https://{DOMAIN}"
    command[-1] = "refused.zip"
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "is a URL" in done.stderr
