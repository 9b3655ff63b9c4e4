"""One rule compares message texts: the CRM's de-duplication key and the DM read-back that
decides whether a send went out (a text not recognised after a lost answer is sent again)."""

from __future__ import annotations

import pytest

from crm.text import text_key
from dm.clients.types import Message
from dm.verify import matching
from safari_auto.text import normalise_text


@pytest.mark.parametrize(
    ("sent", "read_back"),
    [
        ("Café au lait", "Cafe\u0301 au lait"),  # composed vs decomposed accent
        ("Straße", "STRASSE"),  # case-folding beyond ASCII
        (
            "\uff28\uff25\uff2c\uff2c\uff2f \uff54\uff48\uff45\uff52\uff45",
            "hello there",
        ),  # full-width letters
        ("See you soon…", "see you soon..."),  # the ellipsis character vs three dots
        ("\ufb01ne by me", "fine by me"),  # a ligature
        ("hi\u00a0there", "hi there"),  # a no-break space
        ("  line one\n\tline two ", "line one line two"),  # runs of whitespace
    ],
)
def test_a_platform_rewrite_of_our_text_is_still_the_same_text(sent, read_back):
    assert normalise_text(sent) == normalise_text(read_back)
    assert text_key(sent) == text_key(read_back)
    ours: Message = {"id": "", "text": read_back, "is_outbound": True, "sent_at": None}
    assert matching([ours], sent) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [("hello", "hello!"), ("Café", "Cafe"), ("Straße", "strase"), ("😀", "😃")],
)
def test_different_texts_stay_different(one, other):
    assert normalise_text(one) != normalise_text(other)
    assert text_key(one) != text_key(other)


def test_an_inbound_message_never_counts_as_ours():
    theirs: Message = {"id": "", "text": "Straße", "is_outbound": False, "sent_at": None}

    assert matching([theirs], "STRASSE") == 0
