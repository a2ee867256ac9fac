"""Transcript cleaning shared by both stages.

Stage 1 (``data_prep``'s ``bert_tokens`` / ``bert_mean``) cleans every transcript with
:func:`clean_transcript` before tokenising it; stage 2 tokenises raw transcripts in its input
pipeline and must clean them exactly the same way, so the one definition lives here
(``ser_keras`` never imports ``data_prep``). Pure Python: importing it loads no TensorFlow.
"""
from __future__ import annotations

import re

# A transcription tag: upper-case letters (underscores, spaces) in square brackets,
# e.g. ``[LAUGHTER]``, ``[BREATHING]``, ``[GARBAGE]``.
TAG = re.compile(r"\[[A-Z][A-Z_ ]*\]")


def clean_transcript(text: str, strip_tags: bool = True) -> str:
    """The transcript as the text encoder sees it.

    - Transcription tags such as ``[LAUGHTER]`` or ``[BREATHING]`` are not words: with
      ``strip_tags`` (the default) each is replaced by a space (``TAG``: upper-case letters,
      underscores and spaces in square brackets; lower-case brackets are kept).
    - Whitespace is normalised: runs of spaces, tabs and newlines become one space, and the
      ends are stripped.

    An empty transcript, or one made only of tags, cleans to ``""`` (stage 1 encodes it as
    ``[CLS] [SEP]`` and notes it ``empty_text``).

    >>> clean_transcript("Do you [LAUGHTER] get it?")
    'Do you get it?'
    >>> clean_transcript("Do you [LAUGHTER] get it?", strip_tags=False)
    'Do you [LAUGHTER] get it?'
    """
    if strip_tags:
        text = TAG.sub(" ", text)
    return " ".join(text.split())


__all__ = ["TAG", "clean_transcript"]
