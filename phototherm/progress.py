"""Progress bars for long runs, shared by the bioheat and light solvers.

:class:`ProgressBar` wraps a tqdm bar that is either off, shown from the start,
or shown only once a run has lasted :data:`DELAY_S` seconds of wall-clock time,
so that short runs (tests, small examples) print nothing.
"""

from __future__ import annotations

__all__ = ["ProgressBar", "DELAY_S"]

#: Wall-clock time [s] after which a delayed bar (``show=None``) appears.
DELAY_S = 2.0


class ProgressBar:
    """A tqdm bar over a known number of updates, used as a context manager.

    Parameters
    ----------
    total : int
        Number of updates the run will make (steps, batches). No bar is made
        when it is 0 or less.
    unit : str
        What one update is, for the bar's rate (``"step"``, ``"batch"``).
    description : str
        Label shown in front of the bar.
    show : bool or None
        ``True`` shows the bar from the start, ``None`` once the run has lasted
        :data:`DELAY_S` seconds, any other false value (``False``, ``0``,
        ``numpy.False_``) never.

    Notes
    -----
    The bar is transient (``leave=False``): it disappears when the ``with``
    block ends, whether the run finished or raised. tqdm is imported only when
    a bar is made.

    Examples
    --------
    >>> with ProgressBar(3, unit="step", description="demo", show=False) as bar:
    ...     for _ in range(3):
    ...         bar.update(1)
    """

    def __init__(self, total: int, *, unit: str, description: str, show: bool | None):
        self._bar = None
        hidden = show is not None and not show
        if not hidden and total > 0:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit=unit, delay=0.0 if show else DELAY_S, desc=description,
                             leave=False, dynamic_ncols=True)

    def __enter__(self) -> "ProgressBar":
        return self

    def update(self, n: int) -> None:
        """Advance the bar by ``n`` updates (nothing when there is no bar)."""
        if self._bar is not None:
            self._bar.update(n)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
