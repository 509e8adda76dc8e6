"""Every `housekeeper` command: its name, the module that implements it, and its one-line help. One source.

`housekeeper --help` lists them all from here; only the module of the command being run is imported, so an offline
command (`validate`, `policy`, `simulate`) never loads the AWS SDK or Powertools.
"""

from __future__ import annotations

# (name, module under housekeeper.cli, help); the order is the order of `housekeeper --help`.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("validate", "validate", "check a config file; exit 2 listing every problem with its JSON path"),
    ("policy", "policy", "print the lifecycle policy JSON that a repository gets from the config"),
    ("simulate", "simulate", "offline preview: which images a lifecycle policy would expire or archive"),
    ("tag", "tag", "add a tag to an ECR image, byte-exact (the pipeline retag)"),
    ("backfill", "backfill", "tag the images ECS runs now with their env tag (dry run unless --yes)"),
    (
        "plan",
        "plan",
        "per repository: policy drift, images that would expire, safety guard verdicts (writes nothing)",
    ),
    ("apply", "plan", "write the lifecycle policies that plan shows, with the same guard (only with --yes)"),
    ("inventory", "inventory", "what is in use, per repository and consumer (the images the safety model protects)"),
    ("report", "report", "images, storage and Inspector findings per repository, now and after the policy"),
)
HELP = {name: text for name, _, text in COMMANDS}
