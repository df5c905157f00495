// Files picked in the composer, turned into the base64 uploads MessageCreate expects.
import { bytesToBase64, type AttachmentUpload } from "./api";

export async function toUpload(file: File): Promise<AttachmentUpload> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  // The API accepts only "type/subtype"; browsers give "" for unknown files.
  const contentType = /^[\w.+-]+\/[\w.+-]+$/.test(file.type) ? file.type : "application/octet-stream";
  return { filename: file.name || "attachment", content_type: contentType, content_base64: bytesToBase64(bytes) };
}
