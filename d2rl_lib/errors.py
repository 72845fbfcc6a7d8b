"""Errors a user can fix. The CLI prints them as one line, without a traceback."""


class UserError(Exception):
    """Bad input: the message says what was wrong and how to fix it."""


class DivergenceError(RuntimeError):
    """Training stopped because a loss became NaN/inf or a GAN collapsed.

    The message is a short report (stage, step, which loss, recent values) and
    where the last good checkpoint is, so the run can be resumed with other
    settings.
    """
