"""Named event codes of the Indiana high-resolution controller log, and NTCIP 1202 values."""

from __future__ import annotations

from typing import Final

# Phase events (parameter: phase number).
PHASE_ON: Final = 0
BEGIN_GREEN: Final = 1
GAP_OUT: Final = 4
MAX_OUT: Final = 5
FORCE_OFF: Final = 6
GREEN_TERMINATION: Final = 7
BEGIN_YELLOW: Final = 8
END_YELLOW: Final = 9
BEGIN_RED_CLEARANCE: Final = 10
END_RED_CLEARANCE: Final = 11
PHASE_INACTIVE: Final = 12

# Pedestrian events (parameter: phase number).
BEGIN_WALK: Final = 21
BEGIN_PED_CLEARANCE: Final = 22
SOLID_DONT_WALK: Final = 23
PED_CALL: Final = 45

# Detector events (parameter: detector channel).
DETECTOR_OFF: Final = 81
DETECTOR_ON: Final = 82
DETECTOR_RESTORED: Final = 83
DETECTOR_FAULT_OTHER: Final = 84
DETECTOR_WATCHDOG_FAULT: Final = 85
DETECTOR_OPEN_LOOP: Final = 86
DETECTOR_SHORTED_LOOP: Final = 87
DETECTOR_EXCESSIVE_CHANGE: Final = 88

# Preemption and transit signal priority.
PREEMPT_CALL_ON: Final = 102
PREEMPT_CALL_OFF: Final = 104
TSP_CHECK_IN: Final = 112
TSP_EARLY_GREEN: Final = 113
TSP_EXTEND_GREEN: Final = 114
TSP_CHECK_OUT: Final = 115

# Coordination (131: pattern number; 132, 133: seconds; 150: cycle state; 151, 152: phase).
PATTERN_CHANGE: Final = 131
CYCLE_LENGTH_CHANGE: Final = 132
OFFSET_CHANGE: Final = 133
SPLIT_1_CHANGE: Final = 134
SPLIT_16_CHANGE: Final = 149
CYCLE_STATE: Final = 150
YIELD_POINT: Final = 151
COORDINATED_PHASE_BEGIN: Final = 152

# Cabinet and unit.
UNIT_FLASH_STATUS: Final = 173
UNIT_ALARM_STATUS_1: Final = 174
POWER_FAILURE: Final = 182
POWER_RESTORED: Final = 184

# The enumeration is one byte; anything outside is a vendor extension or corruption.
MAX_EVENT_CODE: Final = 255

DETECTOR_FAULTS: Final = frozenset({
    DETECTOR_FAULT_OTHER, DETECTOR_WATCHDOG_FAULT, DETECTOR_OPEN_LOOP,
    DETECTOR_SHORTED_LOOP, DETECTOR_EXCESSIVE_CHANGE,
})

# NTCIP 1202 unitFlashStatus, the parameter of event 173.
FLASH_NOT_FLASH: Final = 2
FLASH_STATUS: Final = {
    1: "other", 2: "notFlash", 3: "automatic", 4: "localManual",
    5: "faultMonitor", 6: "mmu", 7: "startup", 8: "preempt",
}

# NTCIP 1202 pattern numbers that mean "no coordination plan".
PATTERN_FREE: Final = 254
PATTERN_FLASH: Final = 255

# Parameter of event 150 (coordination cycle state).
CYCLE_STATE_FREE: Final = 0
CYCLE_STATE_IN_STEP: Final = 1
CYCLE_STATE_TRANSITIONS: Final = frozenset({2, 3, 4})
