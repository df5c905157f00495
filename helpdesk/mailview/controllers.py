from __future__ import annotations

from litestar import Controller, Response, get
from litestar.params import FromPath

from helpdesk.mailview import service
from helpdesk.mailview.document import FRAME_POLICY


class RemoteImagesController(Controller):
    path = "/api/messages"
    tags = ["tickets"]

    @get("/{message_id:int}/with-remote-images", operation_id="message_with_remote_images", media_type="text/html")
    async def with_remote_images(self, message_id: FromPath[int]) -> Response[str]:
        """The mail's HTML with remote https images kept, as a sandboxed document for the app's frame."""
        document = await service.remote_images_document(message_id)
        return Response(
            document,
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": FRAME_POLICY,
                "X-Frame-Options": "SAMEORIGIN",  # the app's frame only; every other page says DENY
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
