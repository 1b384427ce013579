"""When a sign-in to the admin is refused for too many failures. Pure.

Two limits, each over its own count of failed sign-ins: one account from one
client address, and one client address whatever the account. A count is
forgotten once the window passes without a new attempt; a count that reaches
its limit locks that scope (the account *from that address*, or the address)
for the lockout. An account is never locked for every address: anyone could
then lock the staff out by typing wrong passwords for their emails.

The store counts an attempt *before* the password is checked (and gives it
back when the password was right), so requests sent side by side cannot each
get a guess in before the first failure is written: an attempt whose number
is beyond a limit is refused without checking the password at all.
"""

import math
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    ACCOUNT = "account"  # one account from one client address
    IP = "ip"  # one client address, every account


@dataclass(frozen=True, slots=True)
class SigninLimits:
    per_account: int  # failures of one account from one address
    per_ip: int  # failures from one address
    lockout_seconds: float  # how long a scope stays locked; also the counting window

    def __post_init__(self) -> None:
        if self.per_account < 1 or self.per_ip < 1 or self.lockout_seconds <= 0:
            raise ValueError(f"sign-in limits must be positive: {self}")


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    scope: Scope | None = None  # the limit that refused, when refused
    seconds_left: float = 0.0

    @property
    def minutes_left(self) -> int:
        """Whole minutes to say on the page: rounded up, never "0 minutes"."""
        return max(1, math.ceil(self.seconds_left / 60))


ALLOWED = Verdict(allowed=True)


def verdict_from_locks(*, account_until: float | None, ip_until: float | None, now: float) -> Verdict:
    """Refused while a lock stands (``*_until`` are the moments each lock ends,
    None for no lock). With both, the one that ends last is the wait."""
    standing = [
        (until - now, scope)
        for until, scope in ((account_until, Scope.ACCOUNT), (ip_until, Scope.IP))
        if until is not None and until > now
    ]
    if not standing:
        return ALLOWED
    seconds_left, scope = max(standing)
    return Verdict(allowed=False, scope=scope, seconds_left=seconds_left)


def verdict_for_attempt(*, account_attempts: int, ip_attempts: int, limits: SigninLimits) -> Verdict:
    """An attempt numbered beyond a limit (counting itself) is refused without
    checking the password, for the full lockout: only attempts sent side by
    side while the limit's last failure was being checked get here, before
    its lock is written."""
    if ip_attempts > limits.per_ip:
        return Verdict(allowed=False, scope=Scope.IP, seconds_left=limits.lockout_seconds)
    if account_attempts > limits.per_account:
        return Verdict(allowed=False, scope=Scope.ACCOUNT, seconds_left=limits.lockout_seconds)
    return ALLOWED


def scopes_to_lock(*, account_attempts: int, ip_attempts: int, limits: SigninLimits) -> tuple[Scope, ...]:
    """After a failure: the scopes whose count reached their limit."""
    due = []
    if account_attempts >= limits.per_account:
        due.append(Scope.ACCOUNT)
    if ip_attempts >= limits.per_ip:
        due.append(Scope.IP)
    return tuple(due)


def verdict_after_failure(*, account_attempts: int, ip_attempts: int, limits: SigninLimits) -> Verdict:
    """Whether the failure just counted locked a scope (the address first: it is
    the wider refusal), for the message shown with it."""
    due = scopes_to_lock(account_attempts=account_attempts, ip_attempts=ip_attempts, limits=limits)
    if not due:
        return ALLOWED
    scope = Scope.IP if Scope.IP in due else Scope.ACCOUNT
    return Verdict(allowed=False, scope=scope, seconds_left=limits.lockout_seconds)
