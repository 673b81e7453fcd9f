from bot.devtools.render import mrkdwn_to_text, render_blocks


def test_blocks_render_as_text_with_numbered_buttons():
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Approval needed"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Reboot* `orders-db` for <@U0ALICE>"},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Risk*\nhigh"},
                {"type": "mrkdwn", "text": "*Expires*\n14:02"},
            ],
        },
        {"type": "divider"},
        {
            "type": "actions",
            "block_id": "card1",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "value": "req1",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                },
                {
                    "type": "button",
                    "action_id": "deny",
                    "value": "req1",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Deny"},
                },
            ],
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "See <https://x.test/a|the docs>"}],
        },
    ]
    lines, buttons = render_blocks(blocks, first_button=3)
    text = "\n".join(lines)
    assert (
        "APPROVAL NEEDED" in text
        and "@U0ALICE" in text
        and "[3] Approve (primary)" in text
        and "[4] Deny (danger)" in text
    )
    assert "the docs (https://x.test/a)" in text
    assert [(b.number, b.action_id, b.value, b.block_id) for b in buttons] == [
        (3, "approve", "req1", "card1"),
        (4, "deny", "req1", "card1"),
    ]


def test_mrkdwn_entities():
    assert mrkdwn_to_text("a &lt;b&gt; &amp; <#C1|general> <#C2> <@U1>") == "a <b> & #general #C2 @U1"


def test_bold_and_italic_markers_are_dropped_but_identifiers_survive():
    assert mrkdwn_to_text("*Spend* _(estimated)_ *$84,738.99*") == "Spend (estimated) $84,738.99"
    assert mrkdwn_to_text("BoxUsage:m5_large and a*b*c") == "BoxUsage:m5_large and a*b*c"
