"""`release:` in mlops.yaml (mlops_ci/config_release.py): resolved objects and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_config import RAW_JSONSCHEMA, doc_example

from mlops_ci.config import load_config
from mlops_ci.config_release import ReleaseConfig, SigningConfig
from mlops_ci.errors import ConfigError

MODEL = "model: {name: churn, path: model.pkl}\n"
PEM = (
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oT4OBL+FBPYXoAoGCCqGSM49\n"
    "-----END EC PRIVATE KEY-----\n"
)


def load(tmp_path: Path, text: str) -> ReleaseConfig:
    (tmp_path / "mlops.yaml").write_text(MODEL + text, encoding="utf-8")
    return load_config(tmp_path / "mlops.yaml", pipeline=False).release


def refusal(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    for raw in RAW_JSONSCHEMA:
        assert raw not in str(info.value)
    return info.value


def test_the_defaults_sign_nothing_and_check_nothing(tmp_path: Path) -> None:
    assert load(tmp_path, "") == ReleaseConfig(0, None, None, 10)
    assert load(tmp_path, "release:\n") == ReleaseConfig()
    assert load(tmp_path, "release:\n  signing:\n").signing == SigningConfig()


def test_the_documented_example(tmp_path: Path) -> None:
    (tmp_path / ".mlops" / "templates").mkdir(parents=True)
    (tmp_path / "mlops.yaml").write_text(doc_example("Full example"), encoding="utf-8")
    release = load_config(tmp_path / "mlops.yaml", pipeline=False).release
    assert release == ReleaseConfig(
        require_approvals=1, environment="production", history=10,
        signing=SigningConfig(key_env="MLOPS_CI_SIGNING_KEY", public_key="keys/release.pub"),
    )


def test_password_names_a_variable_too(tmp_path: Path) -> None:
    signing = load(tmp_path, "release:\n  signing: {key: K, password: K_PASSWORD}\n").signing
    assert signing == SigningConfig(key_env="K", password_env="K_PASSWORD")


def test_a_private_key_pasted_into_mlops_yaml_is_refused_and_never_repeated(
    tmp_path: Path,
) -> None:
    indented = "".join(f"      {line}\n" for line in PEM.splitlines())
    error = refusal(tmp_path, f"release:\n  signing:\n    key: |\n{indented}")
    message = str(error)
    assert message.startswith("mlops.yaml, line 4: release.signing.key holds a key itself")
    assert "secret" in message and "MLOPS_CI_SIGNING_KEY" in message
    assert "MHcCAQEE" not in message and "BEGIN" not in message
    assert error.location is not None and error.location.line == 4


@pytest.mark.parametrize("value", ["my key", "1KEY", "KEY-NAME", "$KEY", "${{ secrets.K }}"])
def test_the_key_must_be_an_environment_variable_name(tmp_path: Path, value: str) -> None:
    message = str(refusal(tmp_path, f"release:\n  signing: {{key: {value!r}}}\n"))
    assert "names the environment variable" in message and "line 3" in message
    assert value not in message  # whatever it is, it is not shown


def test_public_key_is_a_path_in_the_repository(tmp_path: Path) -> None:
    message = str(refusal(tmp_path, "release:\n  signing: {public_key: /etc/key.pub}\n"))
    assert "relative to the repository root" in message
    indented = "".join(f"      {line}\n" for line in PEM.splitlines())
    message = str(refusal(tmp_path, f"release:\n  signing:\n    public_key: |\n{indented}"))
    assert "takes the path of the public key file" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("release:\n  require_approvals: -1\n", "line 3"),
        ("release:\n  require_approvals: two\n", "require_approvals"),
        ("release:\n  history: 1\n", "history"),
        ("release:\n  environment: ''\n", "environment"),
        ("release:\n  require_aprovals: 1\n", "did you mean 'require_approvals'"),
        ("release:\n  signing: {keys: K}\n", "did you mean 'key'"),
    ],
)
def test_bad_values_name_the_key_and_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in str(refusal(tmp_path, text))
