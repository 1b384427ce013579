"""The base of every domain error: pure Python, no Django.

Each app's ``errors.py`` subclasses :class:`DomainError`; one exception
handler (``config.api.errors_handler``) renders them all in the API's envelope.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: a machine code, human text, and where."""

    code: str
    detail: str
    attr: str | None = None


class DomainError(Exception):
    """A business rule said no. ``status`` is the HTTP status it maps to."""

    status: int = 400
    code: str = "invalid"

    def __init__(self, problems: tuple[Problem, ...] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = (Problem(self.code, problems),)
        elif isinstance(problems, Problem):
            problems = (problems,)
        self.problems: tuple[Problem, ...] = problems
        super().__init__("; ".join(p.detail for p in problems))


class ValidationFailed(DomainError):
    """Input broke a rule: 400, one problem per offending attr."""

    status = 400
    code = "invalid"


class Conflict(DomainError):
    """The request is well formed but conflicts with the current state: 409."""

    status = 409
    code = "conflict"
