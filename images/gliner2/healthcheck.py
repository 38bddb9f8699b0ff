"""HEALTHCHECK of the GLiNER2 image: the service answers GET /health with 200 on port 8012.

Uses only the standard library (no curl dependency in the check itself); exit 0 healthy, 1 not.
"""

import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:8012/health", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"unhealthy: GET /health failed: {exc}", file=sys.stderr)
    sys.exit(1)
