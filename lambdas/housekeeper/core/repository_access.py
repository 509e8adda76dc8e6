"""Which accounts a repository's permissions policy lets use its images. Pure.

Another account can pull from a private repository only if the repository policy allows it (the registry's own
account needs no policy). An unreadable workload account therefore stops the syncs of only the repositories it
could pull from: with no repository policy, none. The reading is deliberately generous, because a mistake here
can only ever stop a sync, never allow one: any Allow statement counts whatever its actions; a principal of `*`,
any service principal, a `NotPrincipal`, or anything unrecognised means "any account"; conditions are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

ANY_ACCOUNT: Final = "*"
_ACCOUNT_IN_ARN = re.compile(r"arn:aws[a-z-]*:(?:iam|sts)::([0-9]{12}):")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")


def accounts_allowed(policy: Mapping[str, Any] | None) -> frozenset[str]:
    """The account ids the policy lets use the repository, or {ANY_ACCOUNT}. No policy: no other account."""
    if policy is None:
        return frozenset()
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return frozenset({ANY_ACCOUNT})
    found: set[str] = set()
    for statement in statements:
        if not isinstance(statement, Mapping):
            return frozenset({ANY_ACCOUNT})
        if statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement or "Principal" not in statement:
            return frozenset({ANY_ACCOUNT})
        accounts = _principal_accounts(statement["Principal"])
        if ANY_ACCOUNT in accounts:
            return frozenset({ANY_ACCOUNT})
        found.update(accounts)
    return frozenset(found)


def may_use(policy: Mapping[str, Any] | None, account: str) -> bool:
    allowed = accounts_allowed(policy)
    return ANY_ACCOUNT in allowed or account in allowed


def _principal_accounts(principal: Any) -> set[str]:
    if principal == ANY_ACCOUNT:
        return {ANY_ACCOUNT}
    if not isinstance(principal, Mapping):
        return {ANY_ACCOUNT}
    accounts: set[str] = set()
    for kind, value in principal.items():
        if kind != "AWS":  # Service, Federated, CanonicalUser: not read here, so any account
            return {ANY_ACCOUNT}
        for entry in _as_list(value):
            account = _account_of(entry)
            if account is None:
                return {ANY_ACCOUNT}
            accounts.add(account)
    return accounts


def _as_list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else [value]


def _account_of(entry: Any) -> str | None:
    """`123456789012`, `arn:aws:iam::123456789012:root` or any IAM/STS ARN of that account; else None."""
    if not isinstance(entry, str):
        return None
    if _ACCOUNT_ID.fullmatch(entry):
        return entry
    match = _ACCOUNT_IN_ARN.match(entry)
    return match.group(1) if match else None
