"""The knowledge repo: layout, index, verification, and no half-written report on failure.

Tests run as root, and ``chmod 0o555`` does not stop root. The read-only cases therefore use
things the kernel enforces for root too: the immutable attribute (``chattr +i``, honoured for
root on ext4/xfs/btrfs/tmpfs), a path whose parent is a regular file, and a real full file
system (a small tmpfs mounted for the test; where mounting is not allowed, a file-size limit
``RLIMIT_FSIZE`` set in a child process, which makes writes fail with EFBIG for root too).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from jupyter_deploy.backends.knowledge_repo import KnowledgeRepoBackend, KnowledgeRepoError
from jupyter_deploy.progress import Reporter
from jupyter_deploy.report.index import read_reports

from report_helpers import need


def _publish(bundle, dest):
    backend = KnowledgeRepoBackend()
    handoff = backend.publish(bundle, str(dest) if dest is not None else None, Reporter())
    return backend, handoff


def _snapshot(root: Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def test_layout_metadata_index_and_proofs(report_bundle, tmp_path):
    repo = tmp_path / "kr"
    backend, h1 = _publish(report_bundle, repo)
    final = Path(h1.destination)
    assert final.parent.parent == repo / "reports"
    assert final.parent.name == "quarterly-sales"
    assert final.name.endswith("Z") and final.name[8] == "T"  # 20261127T105440Z
    assert sorted(p.name for p in final.iterdir()) == ["metadata.json", "report.html"]
    meta = json.loads((final / "metadata.json").read_text())
    for key, value in (("title", "Quarterly sales"), ("author", "Ana"), ("tags", ["sales", "q3"]),
                       ("verdict", "repeatable"), ("slug", "quarterly-sales")):
        assert meta[key] == value
    assert meta["notebook_hash"].startswith("sha256:") and meta["environment"]["python"] == "3.11.7"
    assert h1.url == (final / "report.html").as_uri()

    # A second version of the same report lands next to it; both are listed, newest first.
    _, h2 = _publish(report_bundle, repo)
    assert Path(h2.destination).parent == final.parent and h2.destination != h1.destination
    index = (repo / "index.html").read_text()
    for rel in (h1.details["path"], h2.details["path"]):
        assert f'href="{rel}/report.html"' in index
    for text in ("Quarterly sales", "Ana", "repeatable", "sales", "q3", meta["created"]):
        assert text in index
    listing = json.loads((repo / "index.json").read_text())
    assert [item["path"] for item in listing] == [h2.details["path"], h1.details["path"]]

    proofs = backend.verify(report_bundle, h2, Reporter())
    assert [p.ok for p in proofs] == [True, True], proofs
    # tamper with the published file: the hash proof catches it
    (Path(h2.destination) / "report.html").write_text("changed")
    assert not backend.verify(report_bundle, h2, Reporter())[1].ok
    # no temporary folders left behind
    assert not [p for p in repo.rglob(".tmp-*")]


def test_default_root_is_the_home_knowledge_repo(report_bundle, _deploy_home):
    _, h = _publish(report_bundle, None)
    assert Path(h.destination).is_relative_to(_deploy_home / "knowledge-repo" / "reports")


def test_file_url_and_claims(report_bundle, tmp_path):
    repo = tmp_path / "with space"
    _, h = _publish(report_bundle, repo.as_uri())
    assert Path(h.destination).is_relative_to(repo)
    claims = KnowledgeRepoBackend.claims
    assert claims("/srv/reports", "report") and claims("reports", "report")
    assert claims("file:///srv/reports", "report")
    assert not claims("https://x/y", "report") and not claims("mailto:a@b.org", "report")
    assert not claims("ftp://x/y", "report") and not claims("/srv/reports", "model")


def test_parent_is_a_file(report_bundle, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the repo's parent should be")
    with pytest.raises(KnowledgeRepoError, match="part of the path is a file") as info:
        _publish(report_bundle, blocker / "kr")
    assert "Nothing was published" in info.value.one_line()
    assert blocker.read_text().startswith("a file")


def test_read_only_repo_leaves_index_unchanged(report_bundle, tmp_path):
    chattr = need("chattr", "apt-get install -y e2fsprogs")
    repo = tmp_path / "kr"
    _publish(report_bundle, repo)
    before = _snapshot(repo)
    slug_dir = repo / "reports" / "quarterly-sales"
    locked = [repo, repo / "reports", slug_dir]
    for p in locked:
        subprocess.run([chattr, "+i", str(p)], check=True)
    try:
        with pytest.raises(KnowledgeRepoError, match="permission denied") as info:
            _publish(report_bundle, repo)
        assert "index is unchanged" in info.value.one_line() or "Nothing was published" in info.value.one_line()
    finally:
        for p in reversed(locked):
            subprocess.run([chattr, "-i", str(p)], check=True)
    assert _snapshot(repo) == before
    assert len(read_reports(repo)) == 1


def test_read_only_index_takes_the_report_back_out(report_bundle, tmp_path):
    """The report folder can be written but the index cannot: the report is removed again."""
    chattr = need("chattr", "apt-get install -y e2fsprogs")
    repo = tmp_path / "kr"
    _publish(report_bundle, repo)
    before = _snapshot(repo)
    subprocess.run([chattr, "+i", str(repo)], check=True)  # root entries (index) frozen
    try:
        with pytest.raises(KnowledgeRepoError, match="Cannot rewrite the index") as info:
            _publish(report_bundle, repo)
        assert "taken back out" in info.value.one_line()
    finally:
        subprocess.run([chattr, "-i", str(repo)], check=True)
    assert _snapshot(repo) == before
    assert len(read_reports(repo)) == 1


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True)
    return r.returncode == 0


@pytest.mark.parametrize("how", ["tmpfs", "rlimit"])
def test_full_disk_leaves_no_half_written_report(report_bundle, tmp_path, how):
    size = (report_bundle.path / "report.html").stat().st_size
    repo = tmp_path / "small"
    if how == "tmpfs" and _mount_tmpfs(repo, f"{(size * 3) // 2 // 1024 + 24}k"):
        try:
            _publish(report_bundle, repo)  # the first one fits
            before = _snapshot(repo)
            with pytest.raises(KnowledgeRepoError, match="the disk is full") as info:
                _publish(report_bundle, repo)
            assert "index is unchanged" in info.value.one_line()
            assert _snapshot(repo) == before
            assert not list(repo.rglob(".tmp-*"))
            assert len(read_reports(repo)) == 1
        finally:
            subprocess.run(["umount", str(repo)], check=False)
        return
    # (Also where mounting is not allowed) the same failure through a file-size limit in a
    # child process.
    _publish(report_bundle, repo)
    before = _snapshot(repo)
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from jupyter_deploy.backends.knowledge_repo import KnowledgeRepoBackend
        from jupyter_deploy.progress import Reporter
        from jupyter_deploy.bundle import Bundle
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({size // 2}, {size // 2}))
        b = Bundle("report", Path({str(report_bundle.path)!r}), {report_bundle.manifest!r})
        try:
            KnowledgeRepoBackend().publish(b, {str(repo)!r}, Reporter())
        except Exception as exc:
            print(exc.one_line()); sys.exit(3)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 3, r.stderr
    assert "the disk is full" in r.stdout
    assert _snapshot(repo) == before
    assert not list(repo.rglob(".tmp-*"))


def test_index_skips_unfinished_and_broken_folders(report_bundle, tmp_path):
    repo = tmp_path / "kr"
    _publish(report_bundle, repo)
    (repo / "reports" / "quarterly-sales" / f".tmp-x-{uuid.uuid4().hex[:8]}").mkdir()
    broken = repo / "reports" / "other" / "20200101T000000Z"
    broken.mkdir(parents=True)
    (broken / "metadata.json").write_text("{not json")
    assert len(read_reports(repo)) == 1
    shutil.rmtree(broken.parent)


def test_concurrent_publishers_are_all_listed(report_bundle, tmp_path):
    """Several processes publishing into one repo at once: every report ends up in the index."""
    repo = tmp_path / "kr"
    script = textwrap.dedent(f"""
        from pathlib import Path
        from jupyter_deploy.backends.knowledge_repo import KnowledgeRepoBackend
        from jupyter_deploy.progress import Reporter
        from jupyter_deploy.bundle import Bundle
        b = Bundle("report", Path({str(report_bundle.path)!r}), {report_bundle.manifest!r})
        for _ in range(3):
            KnowledgeRepoBackend().publish(b, {str(repo)!r}, Reporter())
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    folders = [p for p in (repo / "reports" / "quarterly-sales").iterdir() if not p.name.startswith(".")]
    assert len(folders) == 9
    listing = json.loads((repo / "index.json").read_text())
    assert sorted(i["path"] for i in listing) == sorted(f"reports/quarterly-sales/{p.name}" for p in folders)


# ---------------------------------------------------------------- only folders that are ours


def test_new_and_empty_folders_get_the_marker(report_bundle, tmp_path):
    from jupyter_deploy.backends.knowledge_repo import MARKER

    new = tmp_path / "new" / "kr"
    _publish(report_bundle, new)
    assert (new / MARKER).is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    _publish(report_bundle, empty)
    assert (empty / MARKER).is_file() and len(read_reports(empty)) == 1
    _publish(report_bundle, empty)  # marked: written again without question
    assert len(read_reports(empty)) == 2


@pytest.mark.parametrize("how", ["site", "index-of-others", "stray-file", "hidden-file"])
def test_a_folder_that_is_not_ours_is_refused_untouched(report_bundle, tmp_path, how):
    from jupyter_deploy.backends.knowledge_repo import MARKER, NotAKnowledgeRepo

    site = tmp_path / "some" / "site"
    site.mkdir(parents=True)
    if how == "site":
        (site / "index.html").write_text("<h1>my site</h1>")
        (site / "index.json").write_text('{"pages": ["a", "b"]}')
    elif how == "index-of-others":  # index.json shaped like a list, but not of our reports
        (site / "index.json").write_text('[{"path": "blog/post-1"}]')
        (site / "reports").mkdir()
    elif how == "stray-file":
        _publish(report_bundle, site)
        (site / MARKER).unlink()  # an old repo someone added their own notes to
        (site / "notes.txt").write_text("mine")
    else:
        (site / ".DS_Store").write_bytes(b"\0")
    before = _snapshot(site)
    with pytest.raises(NotAKnowledgeRepo) as info:
        _publish(report_bundle, site)
    line = info.value.one_line()
    assert str(site) in line and "not a knowledge repo" in line and "--to" in line
    assert str(site / MARKER) in line and "\n" not in line
    assert info.value.status == 409
    assert _snapshot(site) == before
    assert not (site / MARKER).exists()
    # the preflight (what api.deploy runs before the check) refuses it the same way
    with pytest.raises(NotAKnowledgeRepo):
        KnowledgeRepoBackend.preflight(str(site))
    # creating the marker on purpose adopts the folder
    (site / MARKER).write_text("")
    _publish(report_bundle, site)
    assert (site / "index.html").read_text() != before.get("index.html", b"").decode()


def test_a_repo_from_an_older_release_is_adopted(report_bundle, tmp_path):
    """What an older release wrote (no marker): only our files, and our index.json."""
    from jupyter_deploy.backends.knowledge_repo import MARKER

    repo = tmp_path / "old"
    _publish(report_bundle, repo)
    (repo / MARKER).unlink()
    reports = _snapshot(repo / "reports")
    _publish(report_bundle, repo)
    assert (repo / MARKER).is_file()
    assert len(read_reports(repo)) == 2
    after = _snapshot(repo / "reports")
    assert all(after[k] == v for k, v in reports.items())  # the old report is kept as it was


def test_cli_refuses_a_foreign_folder_before_the_check(tmp_path, _deploy_home):
    """`jupyter deploy report nb.ipynb --to some/site` never replaces the site's index."""
    import time

    from jdtest import run_cli

    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    site = tmp_path / "some" / "site"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<h1>my site</h1>")
    (site / "index.json").write_text("[]")
    before = _snapshot(site)
    start = time.monotonic()
    proc = run_cli("report", nb, "--to", site, cwd=tmp_path)
    seconds = time.monotonic() - start
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode != 0, out
    assert f"{site} is not a knowledge repo" in out and "Traceback" not in out
    assert len(out.splitlines()) == 1
    assert seconds < 10  # refused before the clean run
    assert _snapshot(site) == before
    assert not (_deploy_home / "history.jsonl").exists()
