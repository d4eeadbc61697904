"""`make audit`: pip-audit over requirements.lock, where "could not check" is never a pass.

pip-audit asks a vulnerability service (PyPI's JSON API by default, or OSV) about every
pinned package. Offline, or behind a mirror without that API, its default mode skips
each package it cannot look up and still prints "No known vulnerabilities found" with
exit code 0. This runs it with `--strict` and reads what it says, so the outcome is one
of three, each with its own exit code:

- 0: every package was checked and none has a known vulnerability;
- 1: vulnerabilities found (listed, with the fixed versions);
- 2: the audit could not be done (the service was unreachable or did not know the
  packages): said plainly, never reported as a pass.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PASSED, VULNERABLE, NOT_AUDITED = 0, 1, 2
_UNREACHABLE_SIGNS = (
    "could not be audited",
    "ConnectionError",
    "NameResolutionError",
    "Max retries exceeded",
    "ServiceError",
    "Timeout",
)


@dataclass(frozen=True)
class Outcome:
    """The audit's verdict, its exit code, and what to print."""

    code: int
    report: str


def verdict(exit_code: int, results: dict | None, stderr: str, service: str) -> Outcome:
    """Classify one pip-audit run from its exit code, JSON results and error output."""
    if results is not None:
        dependencies = results.get("dependencies", [])
        vulnerable = [d for d in dependencies if d.get("vulns")]
        if vulnerable:
            lines = [f"{len(vulnerable)} locked package(s) with known vulnerabilities:"]
            for dependency in vulnerable:
                for vuln in dependency["vulns"]:
                    fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
                    lines.append(
                        f"  {dependency['name']}=={dependency.get('version')}: {vuln['id']} "
                        f"(fixed in {fixed})"
                    )
            lines.append("Bump them in pyproject.toml, then run `make lock`.")
            return Outcome(VULNERABLE, "\n".join(lines))
        skipped = [d for d in dependencies if d.get("skip_reason")]
        if exit_code == 0 and dependencies and not skipped:
            return Outcome(
                PASSED,
                f"audited {len(dependencies)} locked packages against {service}: "
                "no known vulnerabilities",
            )
    reason = next(
        (
            line.strip()
            for line in stderr.splitlines()
            if any(s in line for s in _UNREACHABLE_SIGNS)
        ),
        (stderr.strip().splitlines() or [f"pip-audit exited with {exit_code}"])[-1],
    )
    return Outcome(
        NOT_AUDITED,
        "AUDIT NOT DONE: pip-audit could not check the lock against the "
        f"{service} vulnerability service, so nothing is known about vulnerabilities. "
        f"First problem: {reason}\n"
        "Run `make audit` where the service is reachable (the weekly GitHub workflow "
        ".github/workflows/audit.yml does), or pass --service osv.",
    )


def audit(lock: Path, service: str, timeout: int) -> Outcome:
    """Run pip-audit on `lock` and classify what it said."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "audit.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--requirement",
                str(lock),
                "--no-deps",  # the lock is complete: nothing to resolve
                "--disable-pip",
                "--strict",
                "--progress-spinner",
                "off",
                "--vulnerability-service",
                service,
                "--timeout",
                str(timeout),
                "--format",
                "json",
                "--output",
                str(output),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        results = (
            json.loads(output.read_text()) if output.exists() and output.stat().st_size else None
        )
    return verdict(done.returncode, results, done.stderr, service)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make audit", description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    parser.add_argument("--timeout", type=int, default=15)
    arguments = parser.parse_args(argv)
    outcome = audit(arguments.lock, arguments.service, arguments.timeout)
    stream = sys.stdout if outcome.code == PASSED else sys.stderr
    print(outcome.report, file=stream)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
