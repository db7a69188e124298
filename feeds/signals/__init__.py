"""Traffic signals: controller event logs (Indiana enumeration), unit status and ATSPM measures."""
