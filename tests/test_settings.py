"""Settings: parsed from a mapping, errors name the variable, secrets never print."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from bot.service import messages
from bot.service.settings import Settings, SettingsError
from bot.service.wiring import build_embedder, load_options
from knowledge.embedders import HashingEmbedder, LocalEmbedder, OpenAIEmbedder
from knowledge.loading import ParseLimits
from knowledge.loading.addresses import AllowList


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None and settings.redis_url is None
    assert settings.embedder == "local"
    assert settings.top_k == 4
    assert "supportbot" in str(settings.home)
    assert isinstance(build_embedder(settings), LocalEmbedder)


def test_values_are_parsed_and_secrets_hidden() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://bot:hunter2@db/kb",
            "OPENAI_API_KEY": "sk-secret",
            "SUPPORTBOT_EMBEDDER": "openai",
            "SUPPORTBOT_HOME": "/srv/bot",
            "SUPPORTBOT_TOP_K": "6",
        }
    )
    assert settings.home == Path("/srv/bot")
    assert settings.embedding_model == "text-embedding-3-small"
    assert settings.top_k == 6
    assert settings.database_url is not None
    assert settings.database_url.reveal() == "postgresql://bot:hunter2@db/kb"
    assert "hunter2" not in repr(settings) and "sk-secret" not in repr(settings)
    embedder = build_embedder(settings)
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.dimension == 1536


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SUPPORTBOT_EMBEDDER": "magic"}, "SUPPORTBOT_EMBEDDER must be one of local, openai"),
        ({"SUPPORTBOT_TOP_K": "0"}, "SUPPORTBOT_TOP_K must be at least 1"),
        ({"SUPPORTBOT_CHUNK_SIZE": "big"}, "SUPPORTBOT_CHUNK_SIZE must be a number"),
        ({"SUPPORTBOT_CHUNK_OVERLAP": "600"}, "SUPPORTBOT_CHUNK_OVERLAP must be less than half"),
        ({"SUPPORTBOT_MIN_SIMILARITY": "2"}, "SUPPORTBOT_MIN_SIMILARITY must be between"),
        ({"SUPPORTBOT_JOB_WORKERS": "-1"}, "SUPPORTBOT_JOB_WORKERS must be at least 0"),
        (
            {"SUPPORTBOT_JOB_STALLED_SECONDS": "1"},
            "SUPPORTBOT_JOB_STALLED_SECONDS must be at least 3",
        ),
        (
            {"SUPPORTBOT_SOCKET_LOCK_SECONDS": "x"},
            "SUPPORTBOT_SOCKET_LOCK_SECONDS must be a number",
        ),
        ({"SUPPORTBOT_SHUTDOWN_TIMEOUT": "-5"}, "SUPPORTBOT_SHUTDOWN_TIMEOUT must be at least 0"),
        (
            {"SUPPORTBOT_FETCH_ALLOWED_NETWORKS": "10.0.0.0/8 10.0.0.0/33"},
            "SUPPORTBOT_FETCH_ALLOWED_NETWORKS: '10.0.0.0/33' is neither",
        ),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_the_networks_chat_may_fetch_from_are_parsed() -> None:
    assert Settings.from_env({}).fetch_allowed == AllowList()
    allowed = Settings.from_env(
        {"SUPPORTBOT_FETCH_ALLOWED_NETWORKS": "10.20.0.0/16, wiki.corp.example  .intranet.test ::1"}
    ).fetch_allowed
    assert allowed.allows_address(ip_address("10.20.3.4"))
    assert not allowed.allows_address(ip_address("10.21.0.1"))
    assert allowed.allows_address(ip_address("::1"))
    assert allowed.allows_host("WIKI.corp.example") and allowed.allows_host("hr.intranet.test")
    assert not allowed.allows_host("corp.example") and not allowed.allows_host(
        "evil-wiki.corp.example"
    )


def test_replica_settings_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "SUPPORTBOT_SHUTDOWN_TIMEOUT": "25",
            "SUPPORTBOT_JOB_WORKERS": "0",
            "SUPPORTBOT_JOB_STALLED_SECONDS": "60",
            "SUPPORTBOT_SOCKET_LOCK_SECONDS": "10",
        }
    )
    assert (settings.shutdown_timeout, settings.job_workers) == (25.0, 0)
    assert (settings.job_stalled_seconds, settings.socket_lock_seconds) == (60.0, 10.0)


def test_hashing_embedder_for_tests_and_benchmarks() -> None:
    embedder = build_embedder(Settings.from_env({"SUPPORTBOT_EMBEDDER": "hashing"}))
    assert isinstance(embedder, HashingEmbedder)


@pytest.mark.parametrize(
    ("environ", "model", "languages"),
    [
        ({}, None, "en"),
        ({"SUPPORTBOT_EMBEDDING_MODEL": "all-MiniLM-L6-v2"}, None, "en"),
        ({"SUPPORTBOT_EMBEDDER": "hashing"}, None, "en"),
        ({"SUPPORTBOT_EMBEDDER": "openai"}, "text-embedding-3-small", "any"),
        ({"SUPPORTBOT_EMBEDDING_MODEL": "/srv/models/e5"}, "/srv/models/e5", "any"),
        ({"SUPPORTBOT_SEARCH_LANGUAGES": "EN, de"}, None, "en,de"),
        (
            {"SUPPORTBOT_EMBEDDER": "openai", "SUPPORTBOT_SEARCH_LANGUAGES": "en"},
            "text-embedding-3-small",
            "en",
        ),
    ],
)
def test_the_languages_searched_follow_the_model(
    environ: dict[str, str], model: str | None, languages: str
) -> None:
    settings = Settings.from_env(environ)
    assert str(settings.search_languages) == languages
    assert settings.embedding_model == model


def test_a_local_model_is_configured_by_path() -> None:
    settings = Settings.from_env({"SUPPORTBOT_EMBEDDING_MODEL": "/srv/models/e5"})
    embedder = build_embedder(settings)
    assert isinstance(embedder, LocalEmbedder) and embedder.model == "/srv/models/e5"
    assert build_embedder(Settings.from_env({})).model == "sentence-transformers/all-MiniLM-L6-v2"


def test_bad_search_languages_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="SUPPORTBOT_SEARCH_LANGUAGES: 'english' is not"):
        Settings.from_env({"SUPPORTBOT_SEARCH_LANGUAGES": "english"})


def test_slack_settings_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s3cret",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "SLACK_ADMINS": "U1, U2  U3",
            "SLACK_EXPERTS": "U9,S7",
        }
    )
    assert settings.slack_enabled
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.slack_admins == ("U1", "U2", "U3")
    assert settings.slack_experts == ("U9", "S7")
    assert "xoxb-1" not in repr(settings) and "s3cret" not in repr(settings)
    assert not Settings.from_env({}).slack_enabled


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        (
            {"SLACK_BOT_TOKEN": "x", "SLACK_APP_TOKEN": "xapp", "SLACK_API_URL": "slack.com"},
            "SLACK_API_URL",
        ),
        ({"SUPPORTBOT_ACCESS_FILE": "/nonexistent/access.yml"}, "SUPPORTBOT_ACCESS_FILE"),
    ],
)
def test_bad_slack_settings_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("slack: [hr]", "expected a mapping"),
        ("slack:\n  channels:\n    C1: [Hr, 3]", "C1: expected a list of scope names"),
        ("teams:\n  rooms: {}", "unknown key 'rooms'"),
        ("discord: {}", "unknown section 'discord'"),
        ("slack: {channels: {C1: [hr}", "not valid YAML"),
    ],
)
def test_a_bad_access_file_is_refused_with_the_entry_named(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "access.yml"
    path.write_text(content)
    with pytest.raises(SettingsError, match=problem):
        Settings.from_env({"SUPPORTBOT_ACCESS_FILE": str(path)})


def test_access_rules_map_channels_users_and_groups_to_scopes(tmp_path: Path) -> None:
    path = tmp_path / "access.yml"
    path.write_text(
        "slack:\n  channels: {CHR: [hr]}\n  users: {UBOB: finance}\n  groups: {SPEOPLE: [hr]}\n"
    )
    slack = Settings.from_env({"SUPPORTBOT_ACCESS_FILE": str(path)}).access.slack
    assert slack.channel_scopes("CHR") == ("hr", "public")
    assert slack.channel_scopes("COTHER") == ("public",)
    assert slack.person_scopes("UBOB") == ("finance", "public")
    assert slack.person_scopes("UANN", ["SPEOPLE"]) == ("hr", "public")
    assert slack.channel_scopes("COTHER", "CHR") == ("hr", "public")  # a Teams channel + team


def test_teams_settings_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "MICROSOFT_APP_ID": "0b6fe6d1-fece-44f7-9a48-56465e2d5ab8",
            "MICROSOFT_APP_PASSWORD": "client-s3cret",
            "MICROSOFT_APP_TENANT_ID": "tenant",
            "TEAMS_ADMINS": "aad-1 aad-2",
            "TEAMS_ESCALATION_CHANNEL": "19:experts@thread.tacv2",
            "TEAMS_REPLY_WITHIN_SECONDS": "5",
        }
    )
    assert settings.teams_authenticated
    assert settings.teams_app_type == "SingleTenant"
    assert settings.teams_admins == ("aad-1", "aad-2")
    assert settings.teams_reply_within_seconds == 5.0
    assert "client-s3cret" not in repr(settings)
    unauthenticated = Settings.from_env({})
    assert not unauthenticated.teams_authenticated
    assert unauthenticated.teams_app_type == "MultiTenant"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"MICROSOFT_APP_ID": "app"}, "MICROSOFT_APP_PASSWORD"),
        ({"MICROSOFT_APP_PASSWORD": "pw"}, "MICROSOFT_APP_ID is not"),
        (
            {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "pw",
             "MICROSOFT_APP_TYPE": "SingleTenant"},
            "MICROSOFT_APP_TENANT_ID",
        ),
        ({"MICROSOFT_APP_TYPE": "Anonymous"}, "MICROSOFT_APP_TYPE must be one of"),
        ({"TEAMS_ESCALATION_CHANNEL": "General"}, "TEAMS_ESCALATION_CHANNEL"),
        ({"TEAMS_REPLY_WITHIN_SECONDS": "soon"}, "TEAMS_REPLY_WITHIN_SECONDS"),
        ({"TEAMS_ALLOW_UNAUTHENTICATED": "maybe"}, "TEAMS_ALLOW_UNAUTHENTICATED must be 1 or 0"),
        (
            {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "pw",
             "TEAMS_ALLOW_UNAUTHENTICATED": "1"},
            "TEAMS_ALLOW_UNAUTHENTICATED is for local development without MICROSOFT_APP_ID",
        ),
    ],
)  # fmt: skip
def test_bad_teams_settings_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_teams_is_on_with_credentials_or_the_development_setting_only() -> None:
    assert not Settings.from_env({}).teams_enabled
    development = Settings.from_env({"TEAMS_ALLOW_UNAUTHENTICATED": "1"})
    assert development.teams_enabled and not development.teams_authenticated
    tenants = Settings.from_env({"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "pw",
                                 "TEAMS_ALLOWED_TENANTS": "t-1, t-2"})  # fmt: skip
    assert tenants.teams_enabled and tenants.teams_allowed_tenants == ("t-1", "t-2")


def test_the_server_says_how_teams_requests_are_taken() -> None:
    def teams_line(**kwargs: Any) -> str:
        return messages.serving("127.0.0.1", 3000, slack=False, socket_mode=False, **kwargs)

    assert "Teams: off (set MICROSOFT_APP_ID" in teams_line(teams="off")
    assert "/api/messages" not in teams_line(teams="off")
    development = teams_line(teams="development")
    assert "NOT authenticated (TEAMS_ALLOW_UNAUTHENTICATED is on)" in development
    assert "only directly from loopback" in development
    assert "Bot Framework tokens required, any tenant" in teams_line(teams="authenticated")
    limited = teams_line(teams="authenticated", tenants=("t-1", "t-2"))
    assert "Bot Framework tokens required, tenants t-1, t-2 only" in limited


def test_the_server_says_when_admin_channel_members_are_not_admins() -> None:
    line = messages.serving("0.0.0.0", 3000, slack=True, socket_mode=True, teams="off",
                            unsafe_admin_channel="public")  # fmt: skip
    assert "members of SLACK_ADMIN_CHANNEL are NOT admins: the channel is public" in line


def test_parsing_limits_reach_the_loader() -> None:
    assert load_options(Settings.from_env({})).limits == ParseLimits()
    settings = Settings.from_env(
        {
            "SUPPORTBOT_PARSE_TIMEOUT": "5",
            "SUPPORTBOT_PARSE_MEMORY_MB": "256",
            "SUPPORTBOT_MAX_PDF_PAGES": "50",
        }
    )
    limits = load_options(settings).limits
    assert (limits.seconds, limits.memory_mb, limits.pdf_max_pages) == (5.0, 256, 50)
    with pytest.raises(SettingsError, match="SUPPORTBOT_PARSE_MEMORY_MB must be at least 64"):
        Settings.from_env({"SUPPORTBOT_PARSE_MEMORY_MB": "8"})
