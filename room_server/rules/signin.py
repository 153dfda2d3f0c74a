"""When failed sign-ins lock a member or a device, or tell the chair the room is being swept.

Failures are counted three ways, each over its own window: per member (the delegate id
tried, whoever tries it, from whichever tablet), per device (the tablet, whatever seat
it claims) and room-wide. The member and the device are locked for a while; the room is
never locked (one device could then lock everyone out), a sweep raises an alert instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FailureLimits:
    member_failures: int = 5  # failed PINs for one member ...
    member_window_s: float = 600.0  # ... within this many seconds ...
    member_lockout_s: float = 300.0  # ... lock that member for this long
    device_failures: int = 10  # failed PINs or unknown badges from one tablet ...
    device_window_s: float = 600.0
    device_lockout_s: float = 900.0
    room_failures: int = 30  # failures anywhere in the room within the window: an alert
    room_window_s: float = 600.0


@dataclass(frozen=True, slots=True)
class EarlierFailures:
    """Failures already counted within each window (the one being judged not included)."""

    member: int | None  # None: the attempt named no member on the roster
    device: int
    room: int
    sweep_alerted: bool  # a sweep alert went out within the room window


@dataclass(frozen=True, slots=True)
class Verdict:
    lock_member: bool
    lock_device: bool
    sweep_alert: bool

    @property
    def locks(self) -> bool:
        return self.lock_member or self.lock_device


def after_failure(earlier: EarlierFailures, limits: FailureLimits) -> Verdict:
    """What one more failure does."""
    return Verdict(
        lock_member=earlier.member is not None and earlier.member + 1 >= limits.member_failures,
        lock_device=earlier.device + 1 >= limits.device_failures,
        sweep_alert=not earlier.sweep_alerted and earlier.room + 1 >= limits.room_failures,
    )


def needs_badge_and_pin(badge_and_pin: bool, voting: bool) -> bool:
    """Whether a member signs in with their badge *and* their PIN."""
    return badge_and_pin and voting
