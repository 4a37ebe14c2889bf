import pytest


@pytest.fixture(autouse=True)
def deploy_home(tmp_path, monkeypatch):
    home = tmp_path / "deploy-home"
    monkeypatch.setenv("JUPYTER_DEPLOY_HOME", str(home))
    return home
