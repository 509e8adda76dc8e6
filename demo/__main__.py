"""`python -m demo` (what `make demo` runs): the seed's clean-up on local emulated AWS accounts.

No AWS account and no credentials are needed: a moto server starts on 127.0.0.1 on a free port, dummy credentials
point boto3 at it, and it is stopped at the end, also on Ctrl-C or failure. The one server holds every emulated
account and region: the registry account (home region and a replica region) and a workload account.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from demo.emulator import running_emulator
from demo.scenario import full_scenario, reduced_scenario

DEFAULT_OUTPUT = Path("demo-output")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--small", action="store_true", help="the reduced scenario (about 200 images), as in the tests")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT, help="where the HTML report and logs go")
    args = parser.parse_args(argv)
    # The emulator's per-request access log would drown the story.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    scenario = reduced_scenario() if args.small else full_scenario()
    started = time.monotonic()
    print(
        "ECR Housekeeper demo: the seed's clean-up, replayed on local emulated AWS accounts "
        "(a registry account in two regions, and a workload account where production runs)."
    )
    try:
        with running_emulator() as account:
            from housekeeper.aws.session import reset_clients

            reset_clients()
            print(f"Emulator (moto server) on {account.endpoint}; dummy credentials; no real AWS is touched.")
            from demo.story import run_story

            result = run_story(scenario, sys.stdout, args.output_dir)
    except KeyboardInterrupt:
        print("\ninterrupted; the emulator is stopped.", file=sys.stderr)
        return 130
    print(f"\nDone in {time.monotonic() - started:.0f} s; the emulator is stopped.")
    return 0 if not result.lost_in_use else 1


if __name__ == "__main__":
    sys.exit(main())
