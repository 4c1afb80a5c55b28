"""Probes of what a student has learnt, beyond forward accuracy (`revthink probe ...`)."""
