"""Credentials: environment, a private file or a prompt; the password never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from camaudit.credentials import CredentialsError, load_credentials
from camaudit.fingerprint.interface import Credentials

SECRET = "Zz9!top-secret:with=signs"


def private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def never_called(prompt: str) -> str:
    raise AssertionError(f"unexpected prompt {prompt!r}")


def test_credentials_come_from_the_environment():
    env = {"CAMAUDIT_USERNAME": "auditor", "CAMAUDIT_PASSWORD": SECRET}
    assert load_credentials(env, None, False) == Credentials("auditor", SECRET)


def test_no_credentials_configured_and_no_prompt_means_none():
    assert load_credentials({}, None, False) is None


def test_toml_credentials_file_is_read(tmp_path):
    path = private(tmp_path / "creds.toml", f'username = "auditor"\npassword = "{SECRET}"\n')
    assert load_credentials({}, path, False) == Credentials("auditor", SECRET)


def test_user_colon_password_file_splits_at_the_first_colon(tmp_path):
    path = private(tmp_path / "creds", f"auditor:{SECRET}\n")
    assert load_credentials({}, path, False) == Credentials("auditor", SECRET)


def test_a_world_readable_credentials_file_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "creds"
    path.write_text(f"auditor:{SECRET}\n")
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match=r"readable by every user.*chmod 600"):
        load_credentials({}, path, False)


def test_a_malformed_file_is_refused_without_quoting_its_content(tmp_path):
    path = private(tmp_path / "creds", f'username = "auditor"\npassword = {SECRET}\n')
    with pytest.raises(CredentialsError) as caught:
        load_credentials({}, path, False)
    assert SECRET not in str(caught.value)


def test_the_prompt_asks_for_user_name_and_hidden_password():
    creds = load_credentials({}, None, True, ask=lambda _: "auditor", ask_secret=lambda _: SECRET)
    assert creds == Credentials("auditor", SECRET)


def test_a_user_name_from_the_environment_is_completed_by_the_password_prompt():
    env = {"CAMAUDIT_USERNAME": "auditor"}
    creds = load_credentials(env, None, True, ask=never_called, ask_secret=lambda _: SECRET)
    assert creds == Credentials("auditor", SECRET)


def test_a_half_set_environment_without_a_prompt_is_an_error():
    with pytest.raises(CredentialsError, match="CAMAUDIT_PASSWORD is set"):
        load_credentials({"CAMAUDIT_PASSWORD": SECRET}, None, False)
    with pytest.raises(CredentialsError, match="CAMAUDIT_PASSWORD is not"):
        load_credentials({"CAMAUDIT_USERNAME": "auditor"}, None, False)


def test_credentials_repr_and_str_hide_the_password():
    creds = Credentials("auditor", SECRET)
    assert SECRET not in repr(creds) and SECRET not in str(creds)
    assert SECRET not in repr((creds,)) and SECRET not in f"{creds}"
