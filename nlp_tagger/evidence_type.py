"""What kind of evidence a passage is: an outcome, an action taken, a plan, or a statement.

Assessors weigh a measured outcome above an action, and an action above a plan. These rules read
tense, modality and figures; a trained classifier can replace them (same function signature).
"""

from __future__ import annotations

import re

from .types import EvidenceType

PLAN_RE = re.compile(
    r"\b(will|shall|plan(?:s|ned)? to|intend(?:s)? to|aim(?:s)? to|going to|we propose|propose to|next steps?|by (?:the end of )?(?:20\d\d|summer|autumn|spring|winter|july|december)|"
    r"is to be|are to be|to be (?:introduced|developed|launched|reviewed)|future|forthcoming|over the next)\b",
    re.I,
)
OUTCOME_RE = re.compile(
    r"(\d+(?:\.\d+)?\s?%|\bper ?cent\b|\b(?:rose|risen|increased?|decreased?|fell|fallen|reduced|improved|doubled|tripled|halved|grew|up from|down from)\b.*\d|"
    r"\d.*\b(?:rose|risen|increase|decrease|fell|fallen|reduction|improvement|doubled|completed|attended|participated|responded|secured|promoted|awarded)\b|"
    r"\b(?:resulted in|as a result|led to|achieved|outcome|impact was|evaluation showed|feedback showed|survey (?:showed|found))\b)",
    re.I,
)
ACTION_RE = re.compile(
    r"\b(?:we|the university|the institution|the school|the team|the group|the committee|the office|hr|staff|managers)\b[^.]{0,60}?\b(?:have|has|had)?\s*"
    r"(?:introduced|launched|established|created|developed|implemented|delivered|ran|held|set up|appointed|rolled out|piloted|reviewed|revised|embedded|provided|funded|trained|published|adopted|extended|expanded|ran)\b|"
    r"\b(?:was|were|has been|have been)\s+(?:introduced|launched|established|created|developed|implemented|delivered|held|set up|appointed|rolled out|piloted|reviewed|revised|embedded|provided|funded|published|adopted|extended|expanded)\b|"
    r"\b(?:introduced|launched|established|implemented|delivered|piloted|rolled out)\s+(?:in|during|last)\b",
    re.I,
)


def classify(text: str) -> EvidenceType:
    plan = PLAN_RE.search(text)
    if OUTCOME_RE.search(text) and not (plan and plan.start() < 40):
        return "outcome"
    if plan:
        return "plan"
    if ACTION_RE.search(text):
        return "action"
    return "statement"
