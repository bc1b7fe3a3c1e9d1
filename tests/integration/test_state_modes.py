"""Issue 13, item 8, on real vigild processes: nothing in the state dir is readable by group
or others (the CIB holds fence passwords), a state dir left open is tightened at start-up,
and an authkey that group or others may read is refused by vigild and --check-config."""

import os
import stat
import subprocess
import sys

import pytest

from vigil.testing.loop import LoopCluster, _env

pytestmark = pytest.mark.cluster


def modes(state):
    """{relative path: mode} of everything vigild wrote (not the agents' own run/)."""
    return {str(p.relative_to(state)): stat.S_IMODE(p.stat().st_mode)
            for p in [state, *state.rglob("*")]
            if p.relative_to(state).parts[:1] != ("run",)}


def test_the_state_dir_and_every_file_in_it_are_for_root_only(tmp_path):
    c = LoopCluster(tmp_path / "c", size=1)
    state = c.node_dir("node1") / "state"
    state.mkdir(mode=0o755, parents=True)  # as older versions left it
    os.chmod(state, 0o755)
    (state / "pe").mkdir(mode=0o755)
    os.chmod(state / "pe", 0o755)
    try:
        c.start()
        c.wait_quorate()
        res = c.vigilctl("node1", "property", "set", "fence-password", "hunter2")
        assert res.returncode == 0, res.stderr
        res = c.vigilctl("node1", "property", "set", "stonith-enabled", "false")
        assert res.returncode == 0, res.stderr
        res = c.vigilctl("node1", "resource", "create", "d1", "ocf:vigil:Dummy")
        assert res.returncode == 0, res.stderr  # a transition: a scheduler input archived
        c.wait(lambda: list((state / "pe").glob("pe-input-*.xml")), 10, "a scheduler input")
        c.wait(lambda: list((state / "backups").glob("cib-*.xml")), 10, "a backup")
    finally:
        c.close()
    found = modes(state)
    assert "cib.xml" in found and "cib.xml.sha256" in found, found
    assert any(p.startswith("pe/pe-input-") for p in found), found
    assert any(p.startswith("backups/cib-") for p in found), found
    wrong = {p: f"{m:04o}" for p, m in found.items()
             if m != (0o700 if (state / p).is_dir() else 0o600)}
    assert wrong == {}, wrong
    assert b"hunter2" in (state / "cib.xml").read_bytes()  # the secret that must be kept
    log = c.log_path("node1").read_text()
    assert f"{state} was readable by group or others: tightened to 0700" in log


def vigild(*argv):
    return subprocess.run([sys.executable, "-m", "vigil.cli.vigild", *argv],
                          capture_output=True, text=True, env=_env(), timeout=60)


def test_an_authkey_that_others_may_read_is_refused_by_vigild_and_check_config(tmp_path):
    c = LoopCluster(tmp_path / "c", size=1)
    config = c.config_path("node1")
    assert vigild("--check-config", str(config)).returncode == 0
    os.chmod(c.authkey, 0o644)
    for argv in (["--check-config", str(config)], ["--config", str(config)]):
        res = vigild(*argv)
        assert res.returncode == 2, (argv, res.returncode, res.stderr)
        assert f"authkey: {c.authkey} has mode 0644" in res.stderr, res.stderr
        assert not (c.node_dir("node1") / "state").exists()  # refused before anything
    os.chmod(c.authkey, 0o640)
    assert "mode 0640" in vigild("--check-config", str(config)).stderr
    os.chmod(c.authkey, 0o600)
    assert vigild("--check-config", str(config)).returncode == 0


def test_a_reload_naming_a_key_others_may_read_is_refused_and_changes_nothing(tmp_path):
    extra = tmp_path / "next.key"
    extra.write_bytes(os.urandom(32))
    extra.chmod(0o644)
    accept = []
    c = LoopCluster(tmp_path / "c", size=1,
                    config_hook=lambda node, cfg: cfg.update(authkey_accept=accept))
    try:
        c.start()
        c.wait_quorate()
        accept.append(str(extra))
        c.write_config("node1")
        res = c.vigilctl("node1", "reload")
        assert res.returncode != 0 and f"{extra} has mode 0644" in res.stderr, res
        assert c.status("node1")["quorate"]
    finally:
        c.close()
