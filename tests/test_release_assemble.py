"""Pieces of a release that need no repository: asset names, a skops model's evidence, the
registry tag's message, the token git pushes with."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import make_report
from mlops_ci.models import save_model
from mlops_ci.release.assemble import model_evidence
from mlops_ci.release.tagging import ReleaseRequest, _push_env, tag_message

REQUEST = ReleaseRequest(tag="v1.3.0", artifact="churn", version="v1.3.0", prerelease=False,
                         commit="a" * 40, single=True)


def test_a_skops_model_records_the_types_it_may_load(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    trusted = save_model(model, tmp_path / "model.skops")
    evidence = model_evidence(tmp_path / "model.skops", "model.skops")
    assert evidence == {"file": "model.skops", "format": "skops", "trusted_types": trusted}
    assert "sklearn.linear_model._logistic.LogisticRegression" in trusted


def test_a_pickle_records_no_trusted_types(tmp_path: Path) -> None:
    save_model({"w": 1}, tmp_path / "model.pkl", format="pickle")
    assert model_evidence(tmp_path / "model.pkl", "model.pkl") == {
        "file": "model.pkl", "format": "pickle", "trusted_types": []}


def test_the_registry_tag_records_the_verdict_and_each_gate() -> None:
    message = tag_message(REQUEST, make_report())
    lines = message.splitlines()
    assert lines[0] == "mlops-ci release churn v1.3.0: pass"
    assert lines[1] == ""
    assert lines[2] == "roc_auc min 0.85: pass (0.9287)"
    assert len(lines) == 2 + len(make_report().gates)
    assert REQUEST.gto_tag == "churn@v1.3.0"


@pytest.mark.parametrize("url", ["https://github.com/octo-org/ml-model.git", "/srv/origin.git"])
def test_git_pushes_with_the_token_in_a_header_only_to_the_server(
    tmp_path: Path, url: str
) -> None:
    import base64
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", url], check=True)
    env = _push_env(tmp_path, {"GITHUB_SERVER_URL": "https://github.com"}, "ghs_secret123")
    if url.startswith("https://github.com/"):
        assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
        header = env["GIT_CONFIG_VALUE_0"].removeprefix("AUTHORIZATION: basic ")
        assert base64.b64decode(header) == b"x-access-token:ghs_secret123"
    else:  # another remote never sees the token
        assert "GIT_CONFIG_VALUE_0" not in env
    assert all("ghs_secret123" not in value for value in env.values())
