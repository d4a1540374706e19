/** UTF-8 bytes of a string that is already JSON text (JSON.stringify output: surrogates come in pairs). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdfff)
      bytes += 2; // half of a 4-byte pair
    else bytes += 3;
  }
  return bytes;
}

/** Bytes of `value` as a JSON string literal, quotes and escapes included, without building it. */
export function jsonStringBytes(value: string): number {
  let bytes = 2;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) bytes += 2;
    else if (c < 0x20) bytes += 6;
    else if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdfff)
      bytes += 6; // a lone surrogate is escaped; a pair costs 4 of these 12
    else bytes += 3;
  }
  return bytes;
}
