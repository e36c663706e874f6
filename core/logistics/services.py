"""Every write of the logistics area, one module per concern; import from here."""

from core.logistics.changes import dispatch_cancel, dispatch_sync_booking
from core.logistics.dispatch import (
    dispatch_prepare,
    dispatch_request,
    dispatch_run,
    dispatch_sweep,
    redispatch_leg,
)
from core.logistics.events import leg_apply_event, tracking_update_process, tracking_update_receive
from core.logistics.legs import dispatch_blockers, dispatch_mode
from core.logistics.local import leg_local_move
from core.logistics.proof import proof_archive
from core.logistics.reconciliation import dispatch_mismatch_resolve, drift_run

__all__ = [
    "dispatch_blockers", "dispatch_cancel", "dispatch_mismatch_resolve", "dispatch_mode", "dispatch_prepare",
    "dispatch_request", "dispatch_run", "dispatch_sweep", "dispatch_sync_booking", "drift_run", "leg_apply_event",
    "leg_local_move", "proof_archive", "redispatch_leg", "tracking_update_process", "tracking_update_receive",
]
