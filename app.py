#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this with the project's venv).

Settings come from cdk.json context (override with `-c housekeeper:<key>=<value>`); the initial config file is
validated with the Lambdas' own model, so a broken config fails synth and names each problem's JSON path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The README asks for Node 20, which jsii reports as end-of-life on every run; the Makefile silences it the same way.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# The runtime package is the plain `lambdas/` folder (the Lambda asset); the synth validates the config with it.
sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))

from infra.app import main

if __name__ == "__main__":
    sys.exit(main())
