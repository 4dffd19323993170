"""Keeping the photos claimed ahead reserved while a rater is away from the keyboard.

A claim expires (so that a crashed session does not hold photos forever), but a rater who
leaves the app open over lunch must not come back to photos that were meanwhile handed to
someone else. The Store has no call to extend given claims, so `renew` asks `claim_next` again:
the photos this rater holds are, for this rater, the first ones that qualify (they were picked
as the first, and others cannot take claimed photos), so asking for a few more than are held
refreshes their claims; whatever else comes back is released at once. A held photo that does
not come back was taken by someone else after its claim lapsed, and is passed over.
"""

from __future__ import annotations

from collections.abc import Sequence

from tuilabel.store.base import Store

#: Extra photos asked for, in case others that now qualify sort before the held ones.
SLACK = 3


def renew(
    store: Store,
    held: Sequence[int],
    skipped: Sequence[int],
    rater: str,
    order: str,
    model: str | None,
    overlap: int,
    claim_seconds: int,
) -> set[int]:
    """Extend `rater`'s claims on `held`; returns the ids still held (run on the store thread)."""
    got = store.claim_next(rater, n=len(held) + SLACK, order=order, model=model,
                           overlap=overlap, exclude=skipped, claim_seconds=claim_seconds)
    wanted = set(held)
    kept = {img.id for img in got if img.id in wanted}
    extra = [img.id for img in got if img.id not in wanted]
    lost = sorted(wanted - kept)
    if extra or lost:
        store.release_claims(rater, extra + lost)
    return kept
