// Customer HTML in a sandboxed frame. The server has already sanitised it (nh3 allow-list,
// remote images dropped); this is the second wall: the frame runs no script (no allow-scripts),
// has an opaque origin (no allow-same-origin, so no cookies and no access to the app), and its
// own CSP lets it load nothing but data: images. Inline cid: images are fetched by the app and
// handed in as data: URLs, because the frame itself can make no authenticated request.
// Remote images are shown only when the agent asks: the frame then loads a server document
// (api.remoteImagesUrl) whose own CSP allows https images. A srcdoc frame could not do that
// without widening the app's CSP, because srcdoc documents inherit the policy of the page.
import type { Attachment, Message } from "./api";

/** Links open in a new, unsandboxed tab; nothing else is allowed. */
export const FRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox";

const FRAME_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:";

const FRAME_STYLE = `
  html { color-scheme: light; }
  body { margin: 0; padding: 2px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933;
         overflow-wrap: anywhere; }
  img { max-width: 100%; height: auto; }
  blockquote { margin: 0.5em 0; padding-left: 0.8em; border-left: 3px solid #cbd2d9; color: #52606d; }
  table { max-width: 100%; }
  pre { white-space: pre-wrap; }
`;

/** Raster image types the app shows; anything else (SVG included) is only offered as a download. */
export const SHOWN_IMAGE_TYPES = /^image\/(png|jpeg|gif|webp|bmp|avif)$/i;

/** Inline images the HTML refers to by Content-ID (`<img src="cid:…">`). */
export function inlineImageAttachments(message: Message): Attachment[] {
  return message.attachments.filter((a) => a.content_id && SHOWN_IMAGE_TYPES.test(a.content_type));
}

function bareContentId(value: string): string {
  return value.trim().replace(/^cid:/i, "").replace(/^<|>$/g, "").toLowerCase();
}

/**
 * The frame's whole document. `inlineImages` maps Content-IDs to data: URLs; a cid: image
 * without one is replaced by its alt text. Parsing with DOMParser runs no script and loads nothing.
 */
export function buildFrameDocument(html: string, inlineImages: Map<string, string>): string {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  for (const image of Array.from(parsed.querySelectorAll("img"))) {
    const source = image.getAttribute("src") ?? "";
    if (source.toLowerCase().startsWith("data:image/")) continue;
    const dataUrl = source.toLowerCase().startsWith("cid:") ? inlineImages.get(bareContentId(source)) : undefined;
    if (dataUrl) {
      image.setAttribute("src", dataUrl);
    } else {
      image.replaceWith(parsed.createTextNode(image.getAttribute("alt") ? `[${image.getAttribute("alt")}]` : ""));
    }
  }
  return (
    "<!doctype html><html><head><meta charset=\"utf-8\">" +
    `<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">` +
    `<base target="_blank"><style>${FRAME_STYLE}</style></head>` +
    `<body>${parsed.body.innerHTML}</body></html>`
  );
}

export function contentIdKey(attachment: Attachment): string {
  return bareContentId(attachment.content_id ?? "");
}

/**
 * Whether the server removed image sources from this HTML: the sanitiser keeps an <img> whose
 * remote src it dropped, so an image without a source is one the "Show remote images" switch can bring back.
 */
export function hasRemovedImages(html: string): boolean {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  return Array.from(parsed.querySelectorAll("img")).some((image) => !image.getAttribute("src"));
}

const REMOTE_CONTENT_HINT = /\[(?:image|cid):|\bhttps?:\/\/\S+\.(?:png|jpe?g|gif|webp|svg)\b/i;

/**
 * Whether the mail probably had remote images the server removed: its plain-text part mentions
 * image URLs or image placeholders. (The server keeps no remote images, so there is nothing to reveal.)
 */
export function mentionsRemoteContent(message: Message): boolean {
  return message.html !== null && REMOTE_CONTENT_HINT.test(message.text);
}

const BLOCKS = "p, div, br, li, tr, h1, h2, h3, h4, h5, h6, blockquote, pre, hr, table";

/**
 * A first height for the frame, from its content: the app may not look inside the sandbox to
 * measure it, so the holder is also resizable.
 */
export function estimateFrameHeight(html: string): number {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  const text = parsed.body.textContent ?? "";
  const lines = parsed.body.querySelectorAll(BLOCKS).length + Math.ceil(text.length / 100);
  let imageHeight = 0;
  for (const image of Array.from(parsed.body.querySelectorAll("img"))) {
    if (!/^(cid|data):/i.test(image.getAttribute("src") ?? "")) continue; // dropped in the frame
    const declared = Number(image.getAttribute("height"));
    imageHeight += Number.isFinite(declared) && declared > 0 ? Math.min(declared, 400) : 160;
  }
  return Math.min(640, Math.max(48, lines * 22 + imageHeight + 24));
}
