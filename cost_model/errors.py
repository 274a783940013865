"""The one kind of error a user can cause: bad input, with every problem named."""

MAX_LISTED = 20


class InputError(Exception):
    """Input that is rejected whole: a trace file, a plan, a workload or a link.

    `problems` holds one sentence per problem, each naming where it is (file, line, column or
    key) and the bad value. The message lists at most 20 and counts the rest.
    """

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        shown = self.problems[:MAX_LISTED]
        rest = len(self.problems) - len(shown)
        lines = [f"{self.source} was rejected:"] + [f"- {p}" for p in shown]
        if rest:
            lines.append(f"- and {rest} more problem{'s' if rest > 1 else ''}")
        return "\n".join(lines)
