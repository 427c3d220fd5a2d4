"""Read-only questions the guards and the pages both ask: completeness, counts, budget, rank.

A rule reads the models and answers; it never fires a transition, never writes, never flushes.
Workflow guards ask through here; services call the same functions before they change anything.
Rules import models, states and other rules, never a service, the engine's `fire`, or the outbox.
"""
