"""`make audit` never turns "could not check" into a pass."""

import subprocess
import sys
from pathlib import Path

from tools.audit_lock import NOT_AUDITED, PASSED, VULNERABLE, verdict

REPO = Path(__file__).resolve().parents[2]


def test_vulnerabilities_are_listed_with_their_fixes() -> None:
    results = {
        "dependencies": [
            {"name": "ok", "version": "1.0", "vulns": []},
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}],
            },
        ]
    }
    outcome = verdict(1, results, "", "pypi")
    assert outcome.code == VULNERABLE
    assert "jinja2==3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in outcome.report


def test_a_clean_complete_audit_passes() -> None:
    results = {"dependencies": [{"name": "a", "version": "1", "vulns": []}]}
    assert verdict(0, results, "", "osv").code == PASSED


def test_skipped_packages_are_not_a_pass_even_with_exit_code_zero() -> None:
    # What pip-audit prints offline without --strict: every package skipped, exit 0.
    results = {
        "dependencies": [
            {"name": "a", "skip_reason": "Dependency not found on PyPI and could not be audited"}
        ]
    }
    outcome = verdict(0, results, "", "pypi")
    assert outcome.code == NOT_AUDITED and outcome.report.startswith("AUDIT NOT DONE")


def test_make_audit_here_says_plainly_that_it_could_not_audit(tmp_path: Path) -> None:
    """This machine reaches no vulnerability service: the real run must say so, exit 2."""
    lock = tmp_path / "requirements.lock"
    lock.write_text("idna==3.10\n")
    done = subprocess.run(
        [sys.executable, "-m", "tools.audit_lock", "--lock", str(lock), "--timeout", "5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode == PASSED:
        # A machine that can reach PyPI's JSON API audits for real; that is fine too.
        assert "no known vulnerabilities" in done.stdout
    else:
        assert done.returncode == NOT_AUDITED, done.stderr
        assert "AUDIT NOT DONE" in done.stderr
        assert "No known vulnerabilities" not in done.stdout + done.stderr
