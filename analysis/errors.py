"""Errors that reach the user as one clear line (the CLI exits with code 2)."""


class InputError(Exception):
    """Bad input: names the file and what is wrong with it."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
