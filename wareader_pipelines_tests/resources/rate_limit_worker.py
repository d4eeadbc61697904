"""One process taking grants from a shared limiter: `python -m ... URL SCOPE COUNT OUT`.

Limits: 3 requests per 1.0 s. Writes one ISO timestamp (the database's) per grant."""

import sys
from pathlib import Path

from wareader_pipelines.resources.shared_rate_limit import Limit, SharedRateLimiter

LIMIT, WINDOW = 3, 1.0


def main() -> None:
    url, scope, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    limiter = SharedRateLimiter(url, scope, [Limit("requests", LIMIT, WINDOW)])
    stamps = [limiter.acquire({"requests": 1}).granted_at.isoformat() for _ in range(count)]
    limiter.close()
    out.write_text("\n".join(stamps))


if __name__ == "__main__":
    main()
