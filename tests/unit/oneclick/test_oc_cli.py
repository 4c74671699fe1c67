import json
from pathlib import Path

import jwt
from typer.testing import CliRunner

from oneclick.cli.main import app

runner = CliRunner()


def test_keys_partners_and_db_commands(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    created = runner.invoke(app, ["keys", "init", *data])
    assert created.exit_code == 0, created.output
    again = runner.invoke(app, ["keys", "init", *data])
    assert again.exit_code == 2
    shown = runner.invoke(app, ["keys", "show", "--json", *data])
    key = json.loads(shown.stdout)["managerPublicKey"]
    assert key.startswith("ed25519:")
    assert key in created.stdout

    added = runner.invoke(app, ["partners", "add", "acme", *data])
    assert added.exit_code == 0, added.output
    claims = jwt.decode(added.stdout.strip(), options={"verify_signature": False})
    assert claims["name"] == "acme"
    assert "exp" in claims
    assert runner.invoke(app, ["partners", "add", "acme", *data]).exit_code == 1

    assert runner.invoke(app, ["partners", "revoke", "acme", *data]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["partners", "list", "--json", *data]).stdout)
    assert [(p["name"], p["revokedAt"] is not None) for p in listed] == [("acme", True)]
    assert runner.invoke(app, ["db", "upgrade", *data]).exit_code == 0
    assert (tmp_path / "oneclick.db").exists()


def test_missing_keys_exit_with_status_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "show", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "keys init" in result.output
