"""Passages that are never evidence, whatever they match: navigation, download links, document
boilerplate, and restatements of the framework itself.

Real submissions, web pages above all, carry lines an assessor skips at a glance ("Skip to main
content", "Download our action plan (PDF)", "Under the Concordat, institutions must ...") that
share a framework's vocabulary and so score high against it. A restatement says what the framework
asks, not what the organisation did; it becomes evidence only when an actor of the submitter's
(we, our, the University, a named school or office) is doing it in the same passage.
"""

from __future__ import annotations

import re

import numpy as np

NAVIGATION = re.compile(
    r"^(?:skip to (?:main )?content|skip navigation|back to top|home\s*[>/|»›]|you are here|breadcrumb|related (?:links|pages|content)|"
    r"share (?:this|on)\b|print this page|last (?:updated|reviewed|modified)|page last|cookies?\b|accept (?:all )?cookies|"
    r"on this page\b|in this section\b|quick links|contact us\b|follow us\b|main menu|search (?:this site|the site)|"
    r"previous\b|next\b|back to\b|return to\b|menu\b|close\b)", re.I)
DOWNLOAD = re.compile(
    r"\b(?:download|read|view|see|access|open|watch)\b[^.]{0,80}?\b(?:here|below|pdf|docx?|report|action plan|plan|document|video|link|summary)\b"
    r"|\bclick here\b|\bavailable (?:here|below|at the (?:following )?links?)\b|\bcan be found (?:here|below|at)\b|\bfollowing links?\b", re.I)
# a file-type mark makes a line a link only when the line is little more than the link
FILE_MARK = re.compile(r"\((?:pdf|docx?|word|xlsx?)[^)]{0,30}\)", re.I)
CONTACT = re.compile(r"^(?:[^.]{0,80}\b(?:e-?mail|contact|enquiries|tel(?:ephone)?|phone)\b[^.]{0,80})?\S+@\S+\.\w+\W*$", re.I)
# the framework's voice: a generic stakeholder and a modal of obligation, as the framework writes
_VOICE = re.compile(
    r"(?:^|[.;:]\s+|\b(?:that|concordat,?|which)\s+)(?:all\s+)?(?:institutions|employers|research organisations|organisations|funders|"
    r"managers of researchers|research managers|principal investigators|researchers|signatories)\s+"
    r"(?:should|must|shall|will be expected to|are expected to|are required to|need to|have a responsibility to|commit to|agree to)\b", re.I)
_ABOUT_FRAMEWORK = re.compile(
    r"\b(?:the (?:researcher development )?concordat|the (?:revised |2019 )?concordat)\b[^.]{0,40}?\b(?:sets out|asks|requires|expects|states|"
    r"says|commits|calls (?:on|for)|outlines|describes|defines|recognises|aims)\b|\bunder the concordat\b|\bthe concordat'?s? (?:three )?principles (?:are|of)\b", re.I)
# an actor of the submitter's doing something: then it is a claim of its own, not a restatement
_OWN_ACTOR = re.compile(
    r"\b(?:we|our|us|we've|we're|we have|you|your)\b|\b(?:the|this) (?:university|institute|institution|college|school|faculty|trust|council|"
    r"foundation|centre|department|organisation|society|association|network|group|committee|office|team|rsa|board)\b"
    r"(?! (?:should|must|will be expected|are expected))", re.I)
_WORD = re.compile(r"[a-z]+")
# a figure that is not a year: a passage that counts something reports, it does not restate
_FIGURE = re.compile(r"\d+(?:\.\d+)?\s*(?:%|per ?cent)|\b(?!(?:19|20)\d\d\b)\d+\b")

REASONS = {"navigation": "navigation", "download": "a download link", "contact": "contact details", "restatement": "restates the framework"}


def _grams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    w = _WORD.findall(text.lower())
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def framework_grams(framework) -> set[tuple[str, ...]]:
    """The word 4-grams of a framework's own wording (statements, requirements, forms)."""
    out: set = set()
    for ind in framework.indicators:
        for t in (ind.title, ind.text, *ind.extra):
            out |= _grams(t)
    return out


def reason(text: str, fw_grams: set | None = None) -> str | None:
    """Why a passage can never be evidence, or None when it may be."""
    s = text.strip()
    words = s.split()
    if not words:
        return "navigation"
    short = len(words) <= 14
    if short and NAVIGATION.match(s):
        return "navigation"
    if CONTACT.match(s):
        return "contact"
    own = bool(_OWN_ACTOR.search(s))
    link = DOWNLOAD.search(s) or (len(words) <= 15 and FILE_MARK.search(s))
    if len(words) <= 30 and link and not re.search(r"\d{2,}\s*(?:%|per cent|researchers|staff|people|participants)", s):
        return "download"
    own = own or bool(_FIGURE.search(s))
    if not own and (_VOICE.search(s) or _ABOUT_FRAMEWORK.search(s)):
        return "restatement"
    if fw_grams and not own and len(words) >= 8:
        g = _grams(s)
        if g and len(g & fw_grams) / len(g) >= 0.5:
            return "restatement"
    return None


def mask(passages, framework) -> np.ndarray:
    """True for each passage that can never be evidence."""
    grams = framework_grams(framework)
    return np.asarray([reason(p.text, grams) is not None for p in passages], dtype=bool)


def gate(ctx, probs: np.ndarray) -> np.ndarray:
    """Scores with never-evidence passages set to 0: they are neither claimed nor offered as the
    nearest passage to build on."""
    if not len(probs):
        return probs
    if "never_evidence" not in ctx.cache:
        ctx.cache["never_evidence"] = mask(ctx.passages, ctx.framework)
    m = ctx.cache["never_evidence"]
    if not m.any():
        return probs
    out = np.array(probs, copy=True)
    out[m] = 0.0
    return out
