"""The remote-images view of a stored customer mail."""

from __future__ import annotations

import base64
import re

from helpdesk.errors import NotFound
from helpdesk.inbox.tables import InboundMailRaw
from helpdesk.inbox.parse import parse_message
from helpdesk.mailview.document import bare_content_id, frame_document, with_inline_images
from helpdesk.tickets.tables import Attachment, Blob, Message

# Raster types only, as in the app: an SVG could carry script into any context that runs it.
_SHOWN_IMAGE_TYPES = re.compile(r"^image/(png|jpeg|gif|webp|bmp|avif)$", re.I)


async def _inline_images(message_id: int) -> dict[str, str]:
    rows = await Attachment.select(Attachment.content_id, Attachment.content_type, Attachment.sha256).where(
        (Attachment.message == message_id) & Attachment.content_id.is_not_null()).run()
    images: dict[str, str] = {}
    for row in rows:
        if not _SHOWN_IMAGE_TYPES.match(row["content_type"]):
            continue
        blob = await Blob.select(Blob.content).where(Blob.sha256 == row["sha256"]).first().run()
        if blob is not None:
            encoded = base64.b64encode(bytes(blob["content"])).decode()
            images[bare_content_id(row["content_id"])] = f"data:{row['content_type'].lower()};base64,{encoded}"
    return images


async def remote_images_document(message_id: int) -> str:
    """The message's original HTML, sanitised with https images kept, as a frame document."""
    if not await Message.exists().where(Message.id == message_id).run():
        raise NotFound(f"message {message_id} does not exist", field="message_id")
    stored = await InboundMailRaw.select(InboundMailRaw.raw).where(
        InboundMailRaw.mail.message == message_id).first().run()
    if stored is None:
        raise NotFound(f"message {message_id} did not arrive by mail, so there is no original to show",
                       field="message_id")
    parsed = parse_message(bytes(stored["raw"]), allow_remote_images=True)
    if parsed.html is None:
        raise NotFound(f"message {message_id} has no HTML part", field="message_id")
    return frame_document(with_inline_images(parsed.html, await _inline_images(message_id)))
